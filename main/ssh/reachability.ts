/**
 * Is anything listening at host:port, and if not, why not? Used while waiting for a host's SSH
 * port, so the wait can say what is wrong (DNS, refused, no route, timeout) and stop early on
 * errors that will not heal instead of retrying in silence for minutes.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { CancelledError, MoorError } from '../base/errors.js';
import type { ProgressReporter } from '../base/progress.js';
import { cancellableSleep } from '../base/sleep.js';

export type DialFailureKind = 'dns' | 'refused' | 'no-route' | 'timeout' | 'other';

export interface DialFailure {
  kind: DialFailureKind;
  /** What a user reads: "connection refused", "no answer within 10 s", ... */
  reason: string;
  code?: string;
}

/** A Node socket or DNS error, named the way a user thinks of it. */
export function classifyDialError(err: NodeJS.ErrnoException, host: string, timeoutMs: number): DialFailure {
  const code = err.code ?? '';
  switch (code) {
    case 'ENOTFOUND':
      return { kind: 'dns', code, reason: `"${host}" does not resolve (DNS: no such host)` };
    case 'EAI_AGAIN':
      return { kind: 'other', code, reason: `DNS lookup of "${host}" failed for now (EAI_AGAIN)` };
    case 'ECONNREFUSED':
      return { kind: 'refused', code, reason: 'connection refused (the host is up, nothing listens there)' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { kind: 'no-route', code, reason: `no route to the host (${code})` };
    case 'ETIMEDOUT':
      return { kind: 'timeout', code, reason: noAnswer(timeoutMs) };
    default:
      return { kind: 'other', code, reason: err.message };
  }
}

function noAnswer(timeoutMs: number): string {
  return `no answer within ${Math.round(timeoutMs / 1000)} s (wrong address, host down, or a firewall drops the packets)`;
}

/** One TCP connection attempt: null when it opened, else why it did not. */
export async function probeTcp(
  host: string,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<DialFailure | null> {
  let address: string;
  try {
    // Resolved apart from the connect, so a DNS failure is told apart from a network one.
    address = net.isIP(host) ? host : (await lookup(host)).address;
  } catch (err) {
    return classifyDialError(err as NodeJS.ErrnoException, host, timeoutMs);
  }
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (failure: DialFailure | null) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(failure);
    };
    const onAbort = () => done({ kind: 'other', reason: 'cancelled' });
    const timer = setTimeout(() => done({ kind: 'timeout', reason: noAnswer(timeoutMs) }), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(null));
    socket.once('error', (err) => done(classifyDialError(err, host, timeoutMs)));
  });
}

export interface WaitForPortOptions {
  host: string;
  port: number;
  progress: ProgressReporter;
  signal?: AbortSignal;
  /** Give up after this long in all (docker-machine waited 60 × 3 s). */
  deadlineMs: number;
  /**
   * Give up on a host that keeps refusing for this long: it is up (it answers) but nothing
   * listens on that port, and a rebooting host refuses only for the seconds before sshd starts.
   */
  refusedGiveUpMs?: number;
  intervalMs?: number;
  dialTimeoutMs?: number;
  /** Failed attempts are only logged this long, then reported as warnings too (default 10 s). */
  quietMs?: number;
  /** Appended to the final error: which flag to check ("check --generic-ssh-port"). */
  hint?: (kind: DialFailureKind) => string;
}

export const REFUSED_GIVE_UP_MS = 30_000;

/**
 * Waits until host:port accepts a TCP connection. Each failed attempt is logged, and reported as
 * a warning after the first 10 s (again when its kind changes, and every 30 s), with address, attempt and reason. Fails at
 * once when the name does not resolve, after `refusedGiveUpMs` of refusals, else at the deadline.
 */
export async function waitForPort(options: WaitForPortOptions): Promise<void> {
  const { host, port, progress, signal } = options;
  const interval = options.intervalMs ?? 3_000;
  const dialTimeout = options.dialTimeoutMs ?? 10_000;
  const refusedGiveUp = options.refusedGiveUpMs ?? REFUSED_GIVE_UP_MS;
  const quiet = options.quietMs ?? 10_000;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const started = Date.now();
  const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
  let refusedSince: number | undefined;
  let lastWarnedKind: DialFailureKind | undefined;
  let lastWarned = 0;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw new CancelledError();
    const failure = await probeTcp(host, port, dialTimeout, signal);
    if (signal?.aborted) throw new CancelledError();
    if (!failure) {
      if (attempt > 1)
        progress.log(`${where} answers (attempt ${attempt}, after ${seconds(Date.now() - started)})`);
      return;
    }
    const now = Date.now();
    const elapsed = now - started;
    const hint = options.hint?.(failure.kind) ?? '';
    const fail = (summary: string) =>
      new MoorError(`cannot reach ${where}: ${summary}${hint ? `; ${hint}` : ''}`);
    if (failure.kind === 'dns') throw fail(failure.reason);
    refusedSince = failure.kind === 'refused' ? (refusedSince ?? now) : undefined;
    const line = `Waiting for ${where}: ${failure.reason} (attempt ${attempt}, ${seconds(elapsed)})`;
    progress.log(line);
    // Quiet for the first seconds (a booting host), then said, again when the reason changes.
    if (elapsed >= quiet && (failure.kind !== lastWarnedKind || now - lastWarned >= 30_000)) {
      progress.warn(line);
      lastWarned = now;
      lastWarnedKind = failure.kind;
    }
    if (refusedSince !== undefined && now - refusedSince >= refusedGiveUp) {
      throw fail(
        `connection refused for ${seconds(now - refusedSince)} (${attempt} attempts): the host answers but nothing listens on port ${port}`,
      );
    }
    if (elapsed + interval >= options.deadlineMs) {
      throw fail(`still ${failure.reason} after ${seconds(elapsed)} and ${attempt} attempts`);
    }
    await cancellableSleep(interval, signal);
  }
}
