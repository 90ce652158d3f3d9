import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DigitalOceanApi,
  DigitalOceanApiError,
  isNotFound,
  rateLimitDelay,
} from '../../main/drivers/digitalocean/api.js';
import { type DigitalOceanEmulator, startDigitalOceanEmulator } from '../emulators/digitalocean/server.js';

// The API client against the emulator (fake backend: no hosts): retries, errors, shapes.
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

function api(extra: Partial<ConstructorParameters<typeof DigitalOceanApi>[0]> = {}) {
  return new DigitalOceanApi({ token: emulator.token, baseUrl: emulator.url, retryBaseMs: 10, ...extra });
}

describe('DigitalOcean API client', () => {
  it('sends the bearer token and JSON headers; lists regions', async () => {
    const regions = await api().listRegions();
    expect(regions.map((r) => r.slug)).toContain('ams3');
    expect(regions.find((r) => r.slug === 'ams3')?.sizes).toContain('s-2vcpu-4gb');
  });

  it('names the flag and env var on a 401', async () => {
    const err = await api({ token: 'wrong' })
      .listRegions()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigitalOceanApiError);
    expect((err as Error).message).toMatch(/^invalid DigitalOcean access token/);
    expect((err as Error).message).toContain('--digitalocean-access-token or $DIGITALOCEAN_ACCESS_TOKEN');
    expect(emulator.requests).toHaveLength(1); // a 401 is not retried
  });

  it('waits for RateLimit-Reset after a 429 and then succeeds', async () => {
    emulator.injectFault({ path: '/v2/regions', status: 429, times: 2, resetInSeconds: 1 });
    const retries: string[] = [];
    const regions = await api({ onRetry: (m) => retries.push(m) }).listRegions();
    expect(regions.length).toBeGreaterThan(0);
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatch(/rate limited \(429\)/);
    expect(emulator.requests.map((r) => r.status)).toEqual([429, 429, 200]);
  });

  it('a request without an answer times out: retried when idempotent, a clear error for a create', async () => {
    emulator.injectFault({ path: '/v2/regions', delayMs: 600 });
    const retries: string[] = [];
    const regions = await api({ requestTimeoutMs: 200, onRetry: (m) => retries.push(m) }).listRegions();
    expect(regions.length).toBeGreaterThan(0);
    expect(retries).toEqual([
      expect.stringMatching(/^GET \/v2\/regions: no answer within 0\.2s \(timed out\)/),
    ]);

    emulator.injectFault({ method: 'POST', path: '/v2/account/keys', delayMs: 600 });
    const err = await api({ requestTimeoutMs: 200 })
      .createKey('t', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq7f0mN3zj3Q2c1aXgYwG0dUu0xW5mX1rQw6V3kYy9c t')
      .catch((e: unknown) => e);
    // Not an API error: the caller treats it as "may have been made" and looks the key up.
    expect(err).not.toBeInstanceOf(DigitalOceanApiError);
    expect((err as Error).message).toMatch(
      /POST \/v2\/account\/keys failed: no answer within 0\.2s \(timed out\)/,
    );
    await emulator.idle();
  });

  it('computes the 429 wait from RateLimit-Reset (epoch seconds), else Retry-After', () => {
    const now = 1_700_000_000_000;
    expect(rateLimitDelay(new Headers({ 'RateLimit-Reset': String(now / 1000 + 3) }), 10, 0, now)).toBe(3100);
    expect(rateLimitDelay(new Headers({ 'Retry-After': '2' }), 10, 0, now)).toBe(2000);
  });

  it('gives up with a clear error when the rate limit resets too far ahead', async () => {
    emulator.injectFault({ path: '/v2/regions', status: 429, resetInSeconds: 3600 });
    await expect(api().listRegions()).rejects.toThrow(/rate limit exceeded.*resets at/);
  });

  it('retries idempotent requests on 5xx with backoff', async () => {
    emulator.injectFault({ method: 'GET', path: '/v2/regions', status: 500, times: 3 });
    await api().listRegions();
    expect(emulator.requests.map((r) => r.status)).toEqual([500, 500, 500, 200]);
  });

  it('does not repeat a create after a 5xx (it could make a second droplet)', async () => {
    emulator.injectFault({ method: 'POST', path: '/v2/account/keys', status: 503 });
    await expect(
      api().createKey(
        'k',
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBCjwCj1n5ktHVOz1Ia1p1YSXSvfOWCcfTuNSuFEfMbs',
      ),
    ).rejects.toThrow(/POST \/v2\/account\/keys: HTTP 503/);
    expect(emulator.requests).toHaveLength(1);
    // (An earlier test's timed-out create of key `t` has landed by now: idle() waited for it.)
    expect(emulator.state().keys.filter((k) => k.name === 'k')).toHaveLength(0);
  });

  it('reports 404s as not found (what rm tolerates)', async () => {
    const err = await api()
      .deleteDroplet(12345)
      .catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toContain('not_found');
  });

  it('stops retrying when cancelled', async () => {
    emulator.injectFault({ path: '/v2/regions', status: 429, times: 5, resetInSeconds: 30 });
    const controller = new AbortController();
    const pending = api({ signal: controller.signal }).listRegions();
    setTimeout(() => controller.abort(new Error('cancelled by test')), 100);
    await expect(pending).rejects.toThrow('cancelled by test');
  });
});

// Issue 9, item 21: with -D every API call is one debug line (method, path, status, duration);
// the token (a header) and query strings never appear.
describe('DigitalOcean API debug output', () => {
  it('logs method, path, status and duration, never the token', async () => {
    const { setDebugSink } = await import('../../main/base/debug.js');
    const lines: string[] = [];
    setDebugSink((line) => lines.push(line));
    try {
      await api().listRegions();
      await api({ token: 'dop_v1_wrongwrongwrong' })
        .listRegions()
        .catch(() => undefined);
    } finally {
      setDebugSink(null);
    }
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\(digitalocean\) GET \/v2\/regions → 200 in \d+ ms$/);
    expect(lines[1]).toMatch(/^\(digitalocean\) GET \/v2\/regions → 401 in \d+ ms$/);
    expect(lines.join('\n')).not.toContain(emulator.token);
    expect(lines.join('\n')).not.toContain('dop_v1_wrong');
  });
});
