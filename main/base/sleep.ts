import { CancelledError } from './errors.js';

/**
 * Waits `ms`, or rejects as soon as `signal` aborts (also when it already has): with
 * `abortError()` when given, else with the signal's reason.
 */
export function sleep(ms: number, signal?: AbortSignal, abortError?: () => unknown): Promise<void> {
  const reason = () => (abortError ? abortError() : signal?.reason);
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(reason());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(reason());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits between tries; an abort rejects with CancelledError (what the CLI and the app expect). */
export function cancellableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, signal, () => new CancelledError());
}
