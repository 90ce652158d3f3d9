import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../main/base/errors.js';
import { sleep } from '../../main/base/sleep.js';
import { EngineUnreachableError, waitForEngine } from '../../main/docker/engine.js';

/** A loopback port nobody listens on (bound, then closed): pings fail fast with ECONNREFUSED. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const tls = { ca: '', cert: '', key: '' };

describe('waitForEngine', () => {
  it('gives up after its tries and reports the last ping error', async () => {
    const url = `tcp://127.0.0.1:${await closedPort()}`;
    const result = await waitForEngine(url, tls, { tries: 2, intervalMs: 10, pingTimeoutMs: 1_000 });
    expect(result.up).toBe(false);
    if (result.up) return;
    expect(result.attempts).toBe(2);
    expect(result.lastError).toBeInstanceOf(EngineUnreachableError);
  });

  it('stops at its deadline, throws errors it must not retry, and cancels on abort', async () => {
    const url = `tcp://127.0.0.1:${await closedPort()}`;
    const result = await waitForEngine(url, tls, { deadlineMs: 50, intervalMs: 20, pingTimeoutMs: 1_000 });
    expect(result.up).toBe(false);
    await expect(
      waitForEngine(url, tls, { tries: 5, intervalMs: 10, pingTimeoutMs: 1_000, retryOn: () => false }),
    ).rejects.toBeInstanceOf(EngineUnreachableError);
    const controller = new AbortController();
    const waiting = waitForEngine(url, tls, {
      tries: 100,
      intervalMs: 60_000,
      pingTimeoutMs: 1_000,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await expect(waiting).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('sleep', () => {
  it('rejects at once when aborted, with the signal reason or the given error', async () => {
    const aborted = AbortSignal.abort(new Error('why'));
    await expect(sleep(60_000, aborted)).rejects.toThrow('why');
    await expect(sleep(60_000, aborted, () => new CancelledError())).rejects.toBeInstanceOf(CancelledError);
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal, () => new CancelledError());
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
