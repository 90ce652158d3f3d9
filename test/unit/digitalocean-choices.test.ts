import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DigitalOceanApi } from '../../main/drivers/digitalocean/api.js';
import {
  hourlyText,
  imageChoices,
  memoryText,
  monthlyText,
  regionChoices,
  sizeChoices,
} from '../../main/drivers/digitalocean/choices.js';
import digitalocean from '../../main/drivers/digitalocean/index.js';
import type { SecretStore } from '../../main/secrets/types.js';
import { AppServices } from '../../main/services/app-services.js';
import { machineBackend } from '../../main/services/wiring.js';
import { type BaseDriverConfig, baseDriverConfig } from '../../main/store/config.js';
import { Store } from '../../main/store/store.js';
import { type DigitalOceanEmulator, startDigitalOceanEmulator } from '../emulators/digitalocean/server.js';

// The create form's lists: DigitalOcean's regions, sizes and images, fetched by the real driver
// from the emulator (fake backend: no hosts), paginated, and cached by the app's services.
let emulator: DigitalOceanEmulator;

beforeAll(async () => {
  emulator = await startDigitalOceanEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.clearFaults();
  emulator.requests.length = 0;
});

const gets = (p: string) => emulator.requests.filter((r) => r.method === 'GET' && r.path === p).length;

describe('choice lists from the API objects', () => {
  it('regions: open ones first by name, a closed one marked', () => {
    const list = regionChoices([
      { slug: 'nyc2', name: 'New York 2', sizes: [], available: false, features: [] },
      { slug: 'sfo3', name: 'San Francisco 3', sizes: [], available: true, features: [] },
      { slug: 'ams3', name: 'Amsterdam 3', sizes: [], available: true, features: [] },
    ]);
    expect(list).toEqual([
      { value: 'ams3', label: 'Amsterdam 3', detail: 'ams3', available: true },
      { value: 'sfo3', label: 'San Francisco 3', detail: 'sfo3', available: true },
      { value: 'nyc2', label: 'New York 2', detail: 'nyc2 · not accepting new droplets', available: false },
    ]);
  });

  it('sizes: cheapest first, with hourly and monthly prices and resources', () => {
    const size = (slug: string, monthly: number, extra = {}) => ({
      slug,
      memory: 1024,
      vcpus: 1,
      disk: 25,
      price_monthly: monthly,
      price_hourly: monthly / 672,
      regions: ['nyc3'],
      available: true,
      description: 'Basic',
      ...extra,
    });
    const list = sizeChoices([
      size('s-2vcpu-4gb', 24, { vcpus: 2, memory: 4096, disk: 80 }),
      size('s-1vcpu-1gb', 6),
      size('old', 5, { available: false, regions: [] }),
    ]);
    expect(list.map((c) => [c.value, c.label, c.detail, c.available])).toEqual([
      ['old', 'Basic · 1 vCPU · 1 GB RAM · 25 GB disk', '$0.007/h · $5/mo · old', false],
      ['s-1vcpu-1gb', 'Basic · 1 vCPU · 1 GB RAM · 25 GB disk', '$0.009/h · $6/mo · s-1vcpu-1gb', true],
      ['s-2vcpu-4gb', 'Basic · 2 vCPUs · 4 GB RAM · 80 GB disk', '$0.036/h · $24/mo · s-2vcpu-4gb', true],
    ]);
    expect([memoryText(512), memoryText(1536), memoryText(2048)]).toEqual(['512 MB', '1.5 GB', '2 GB']);
    expect([hourlyText(0.00893), hourlyText(1.19), monthlyText(6.5)]).toEqual([
      '$0.009/h',
      '$1.19/h',
      '$6.50/mo',
    ]);
  });

  it('images: by distribution and name; one without a slug is named by its ID', () => {
    const image = (id: number, slug: string | null, distribution: string, name: string) => ({
      id,
      slug,
      distribution,
      name,
      public: true,
      regions: ['nyc3'],
      status: 'available',
    });
    const list = imageChoices([
      image(3, 'ubuntu-24-04-x64', 'Ubuntu', '24.04 (LTS) x64'),
      image(2, null, 'Debian', '12 x64'),
      image(1, 'flatcar-stable', 'Unknown OS', 'Flatcar Container Linux (stable)'),
    ]);
    expect(list.map((c) => [c.value, c.label])).toEqual([
      ['2', 'Debian 12 x64'],
      ['flatcar-stable', 'Flatcar Container Linux (stable)'],
      ['ubuntu-24-04-x64', 'Ubuntu 24.04 (LTS) x64'],
    ]);
  });
});

describe('DigitalOcean lists over the API', () => {
  it('follows links.pages.next to the last page (emulator pages as DigitalOcean does)', async () => {
    const api = new DigitalOceanApi({ token: emulator.token, baseUrl: emulator.url, perPage: 2 });
    const regions = await api.listRegions();
    expect(regions.map((r) => r.slug)).toHaveLength(11);
    expect(new Set(regions.map((r) => r.slug)).size).toBe(11);
    expect(gets('/v2/regions')).toBe(6);
    const sizes = await api.listSizes();
    expect(sizes).toHaveLength(8);
    expect(sizes.find((x) => x.slug === 'g-2vcpu-8gb')?.regions).toEqual(['nyc3', 'sfo3']);
    const images = await api.listDistributionImages();
    expect(images.map((i) => i.slug)).toContain('debian-12-x64');

    const res = await fetch(`${emulator.url}/v2/sizes?page=2&per_page=3`, {
      headers: { Authorization: `Bearer ${emulator.token}` },
    });
    const body = (await res.json()) as {
      sizes: unknown[];
      links: { pages: Record<string, string> };
      meta: object;
    };
    expect(body.sizes).toHaveLength(3);
    expect(body.meta).toEqual({ total: 8 });
    expect(body.links.pages).toEqual({
      first: `${emulator.url}/v2/sizes?page=1&per_page=3`,
      prev: `${emulator.url}/v2/sizes?page=1&per_page=3`,
      next: `${emulator.url}/v2/sizes?page=3&per_page=3`,
      last: `${emulator.url}/v2/sizes?page=3&per_page=3`,
    });
    const other = await fetch(`${emulator.url}/v2/images?type=application`, {
      headers: { Authorization: `Bearer ${emulator.token}` },
    });
    expect(await other.json()).toMatchObject({ images: [], meta: { total: 0 } });
  });

  it('the driver uses the token the form holds, else $DIGITALOCEAN_ACCESS_TOKEN, and says which failed', async () => {
    const env = { DIGITALOCEAN_API_URL: emulator.url };
    await expect(digitalocean.choices!('regions', { env, given: {} })).rejects.toThrow(
      /enter an access token \(or set \$DIGITALOCEAN_ACCESS_TOKEN\) to list DigitalOcean's regions/,
    );
    await expect(
      digitalocean.choices!('sizes', { env, given: { 'digitalocean-access-token': 'wrong' } }),
    ).rejects.toThrow(/invalid DigitalOcean access token \(401 .*check the access token field/);
    const fromEnv = await digitalocean.choices!('images', {
      env: { ...env, DIGITALOCEAN_ACCESS_TOKEN: emulator.token },
      given: {},
    });
    expect(fromEnv.find((c) => c.value === 'ubuntu-24-04-x64')?.label).toBe('Ubuntu 24.04 (LTS) x64');
  });

  it("else a stored machine's token: in config.json, or behind its keychain reference", async () => {
    const env = { DIGITALOCEAN_API_URL: emulator.url };
    const config = (extra: Record<string, string>) =>
      ({ ...baseDriverConfig('old', '/s'), AccessToken: '', ...extra }) as BaseDriverConfig;
    const plain = await digitalocean.choices!('regions', {
      env,
      given: {},
      stored: async () => [{ name: 'old', config: config({ AccessToken: emulator.token }) }],
    });
    expect(plain.map((c) => c.value)).toContain('ams3');
    const secrets: SecretStore = {
      scheme: 'moor-safestorage',
      description: 'test store',
      get: async (id) => (id === 'digitalocean-kept' ? emulator.token : null),
      set: async () => {},
      delete: async () => {},
    };
    const kept = await digitalocean.choices!('sizes', {
      env,
      given: {},
      secrets,
      stored: async () => [
        { name: 'gone', config: config({ AccessTokenRef: 'moor-safestorage:digitalocean-missing' }) },
        { name: 'kept', config: config({ AccessTokenRef: 'moor-safestorage:digitalocean-kept' }) },
      ],
    });
    expect(kept).toHaveLength(8);
    // A wrong stored token is named in the error.
    await expect(
      digitalocean.choices!('regions', {
        env,
        given: {},
        stored: async () => [{ name: 'old', config: config({ AccessToken: 'stale' }) }],
      }),
    ).rejects.toThrow(/check the token of machine "old"/);
  });
});

describe('driverChoices (app services, real driver)', () => {
  let dir: string;
  let services: AppServices;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'moor-choices-'));
    const store = new Store(dir);
    services = new AppServices({
      store,
      machines: machineBackend(store, { DIGITALOCEAN_API_URL: emulator.url }, 1_000),
      active: {
        current: async () => ({ machine: null, context: 'default' }),
        use: async () => {},
        watch: () => () => {},
      },
      openShell: async () => {
        throw new Error('no shells here');
      },
      pollIntervalMs: 60_000,
    });
  });
  afterAll(async () => {
    await services.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers from a short-lived cache per token; refresh asks again; failures are not kept', async () => {
    const credentials = { 'digitalocean-access-token': emulator.token };
    const first = await services.driverChoices({
      driver: 'digitalocean',
      flag: 'digitalocean-size',
      credentials,
    });
    expect(first.choices.map((c) => c.value)).toContain('s-1vcpu-1gb');
    expect(first.choices.find((c) => c.value === 's-1vcpu-1gb')?.detail).toBe(
      '$0.009/h · $6/mo · s-1vcpu-1gb',
    );
    const again = await services.driverChoices({
      driver: 'digitalocean',
      flag: 'digitalocean-size',
      credentials,
    });
    expect(again.fetchedAt).toBe(first.fetchedAt);
    expect(gets('/v2/sizes')).toBe(1);
    await services.driverChoices({
      driver: 'digitalocean',
      flag: 'digitalocean-size',
      credentials,
      refresh: true,
    });
    expect(gets('/v2/sizes')).toBe(2);

    // Another token is another entry; a wrong one fails and is asked again next time.
    const wrong = { 'digitalocean-access-token': 'wrong' };
    await expect(
      services.driverChoices({ driver: 'digitalocean', flag: 'digitalocean-size', credentials: wrong }),
    ).rejects.toThrow(/401/);
    await expect(
      services.driverChoices({ driver: 'digitalocean', flag: 'digitalocean-size', credentials: wrong }),
    ).rejects.toThrow(/401/);
    expect(emulator.requests.filter((r) => r.path === '/v2/sizes' && r.status === 401)).toHaveLength(2);
  });

  it('passes only the driver’s secret flags on, and refuses flags without a list', async () => {
    // Not a secret flag: ignored, so no token at all (the app's env has none).
    await expect(
      services.driverChoices({
        driver: 'digitalocean',
        flag: 'digitalocean-region',
        credentials: { 'digitalocean-ssh-user': emulator.token },
      }),
    ).rejects.toThrow(/enter an access token/);
    await expect(
      services.driverChoices({ driver: 'digitalocean', flag: 'digitalocean-ssh-user' }),
    ).rejects.toThrow(/--digitalocean-ssh-user has no list of values/);
    await expect(services.driverChoices({ driver: 'generic', flag: 'digitalocean-region' })).rejects.toThrow(
      /The generic driver has no flag --digitalocean-region/,
    );
    await expect(services.driverChoices({ driver: 'nope', flag: 'x' })).rejects.toThrow(
      /Driver "nope" not found/,
    );
  });
});
