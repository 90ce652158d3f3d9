/**
 * docker-machine's `-D` / `--debug` / `MACHINE_DEBUG`: what Moor does under the hood (SSH commands
 * run, API calls, timings) on stderr. Off by default; the CLI turns it on from its flags and
 * environment, the app may route it to its log. Messages are built lazily, so a disabled debug
 * costs nothing on hot paths. Never pass secrets: callers redact tokens and keys before logging.
 */
export type DebugSink = (line: string) => void;

let sink: DebugSink | null = null;

/** Enables debug output to `write` (stderr in the CLI); null turns it off. */
export function setDebugSink(write: DebugSink | null): void {
  sink = write;
}

export function debugEnabled(): boolean {
  return sink !== null;
}

/** Logs `message` under `scope` ("ssh", "digitalocean", ...) when debug output is on. */
export function debug(scope: string, message: string | (() => string)): void {
  if (!sink) return;
  sink(`(${scope}) ${typeof message === 'function' ? message() : message}`);
}
