/**
 * An error meant for the user: its message is printed as-is (docker-machine's wording where
 * one exists) and `exitCode` becomes the process exit status.
 */
export class MoorError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'MoorError';
  }
}

/** docker-machine exits 3 when a create fails its pre-create check (cause quoted like Go's %q). */
export class PreCreateError extends MoorError {
  constructor(cause: string) {
    super(`Error with pre-create check: ${JSON.stringify(cause)}`, 3);
    this.name = 'PreCreateError';
  }
}

/** docker-machine's text with Moor's commands in it (the hint must be runnable as printed). */
export class MachineNotFoundError extends MoorError {
  constructor(readonly machineName: string) {
    super(
      `Docker machine "${machineName}" does not exist. Use "moor ls" to list machines. Use "moor create" to add a new one.`,
    );
    this.name = 'MachineNotFoundError';
  }
}

/** Returned by drivers when an operation needs a running host (docker-machine's ErrHostIsNotRunning). */
export class HostNotRunningError extends MoorError {
  constructor() {
    super('Host is not running');
    this.name = 'HostNotRunningError';
  }
}

/** A create, provision or wait stopped by its AbortSignal (the app's Cancel, Ctrl-C). */
export class CancelledError extends MoorError {
  constructor() {
    super('Cancelled', 130);
    this.name = 'CancelledError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Throws CancelledError once `signal` has aborted (what the CLI and the app expect of a cancel). */
export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}
