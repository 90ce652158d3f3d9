import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  md5Fingerprint as driverFingerprint,
  generateRsaKeyPair,
} from '../../main/drivers/digitalocean/keys.js';
import { type DigitalOceanEmulator, startDigitalOceanEmulator } from '../emulators/digitalocean/server.js';

// The emulator speaks DigitalOcean's API v2 as its published reference documents it: status
// codes, bodies and headers the driver (and any other client) relies on.
let emulator: DigitalOceanEmulator;
beforeAll(async () => {
  // Long enough that the "busy" request lands mid-action on a loaded box too.
  emulator = await startDigitalOceanEmulator({ actionMinMs: 1000 });
});
afterAll(async () => {
  await emulator.close();
});

async function call(method: string, path: string, body?: unknown, token = emulator.token) {
  const res = await fetch(emulator.url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}

describe('DigitalOcean API emulator', () => {
  it('answers 401 {"id":"unauthorized"} without a valid bearer token', async () => {
    const r = await call('GET', '/v2/regions', undefined, 'bad');
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ id: 'unauthorized', message: 'Unable to authenticate you' });
    expect(r.json.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends the rate-limit headers on every answer', async () => {
    const r = await call('GET', '/v2/regions');
    expect(r.status).toBe(200);
    expect(Number(r.headers.get('ratelimit-limit'))).toBe(5000);
    expect(Number(r.headers.get('ratelimit-remaining'))).toBeLessThan(5000);
    expect(Number(r.headers.get('ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(r.json.meta.total).toBe(r.json.regions.length);
  });

  it('runs the key → droplet → action → delete lifecycle with the reference status codes', async () => {
    const { publicKey } = await generateRsaKeyPair();
    const key = await call('POST', '/v2/account/keys', { name: 'k', public_key: publicKey });
    expect(key.status).toBe(201);
    expect(key.json.ssh_key.fingerprint).toBe(driverFingerprint(publicKey));
    expect(
      (await call('POST', '/v2/account/keys', { name: 'k2', public_key: publicKey })).json,
    ).toMatchObject({
      id: 'unprocessable_entity',
      message: 'SSH Key is already in use on your account',
    });
    expect((await call('GET', `/v2/account/keys/${key.json.ssh_key.fingerprint}`)).json.ssh_key.id).toBe(
      key.json.ssh_key.id,
    );

    const created = await call('POST', '/v2/droplets', {
      name: 'd1',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-24-04-x64',
      ssh_keys: [key.json.ssh_key.id],
    });
    expect(created.status).toBe(202);
    expect(created.json.droplet).toMatchObject({ name: 'd1', status: 'new', networks: { v4: [], v6: [] } });
    expect(created.json.links.actions[0]).toMatchObject({ rel: 'create' });
    const id = created.json.droplet.id;
    await emulator.idle();
    const active = await call('GET', `/v2/droplets/${id}`);
    expect(active.json.droplet.status).toBe('active');
    expect(active.json.droplet.networks.v4[0]).toMatchObject({ type: 'public' });

    const action = await call('POST', `/v2/droplets/${id}/actions`, { type: 'shutdown' });
    expect(action.status).toBe(201);
    expect(action.json.action).toMatchObject({
      status: 'in-progress',
      type: 'shutdown',
      resource_type: 'droplet',
    });
    const busy = await call('POST', `/v2/droplets/${id}/actions`, { type: 'power_on' });
    expect(busy.status).toBe(422);
    await emulator.idle();
    expect((await call('GET', `/v2/actions/${action.json.action.id}`)).json.action.status).toBe('completed');
    expect((await call('GET', `/v2/droplets/${id}`)).json.droplet.status).toBe('off');
    expect((await call('POST', `/v2/droplets/${id}/actions`, { type: 'explode' })).status).toBe(422);

    const deleted = await call('DELETE', `/v2/droplets/${id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await call('DELETE', `/v2/droplets/${id}`)).json).toMatchObject({ id: 'not_found' });
    expect((await call('DELETE', `/v2/account/keys/${key.json.ssh_key.id}`)).status).toBe(204);
    expect(emulator.state()).toMatchObject({ droplets: [], keys: [] });
  });

  it('validates droplet creates like the API (422 unprocessable_entity)', async () => {
    const bad = await call('POST', '/v2/droplets', {
      name: 'x',
      region: 'nyc2',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-24-04-x64',
    });
    expect(bad.status).toBe(422);
    expect(bad.json.message).toMatch(/region is not available/);
    expect(
      (
        await call('POST', '/v2/droplets', {
          name: 'x',
          region: 'nyc3',
          size: 'x',
          image: 'ubuntu-24-04-x64',
        })
      ).json.message,
    ).toMatch(/invalid size/);
  });

  it('exposes state and faults over its control API too', async () => {
    const res = await fetch(`${emulator.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ path: '/v2/regions', status: 503 }),
    });
    expect(res.status).toBe(204);
    expect((await call('GET', '/v2/regions')).status).toBe(503);
    expect((await call('GET', '/v2/regions')).status).toBe(200);
    const state = await (await fetch(`${emulator.url}/_emulator/state`)).json();
    expect(state).toMatchObject({ droplets: [], keys: [] });
  });
});
