/**
 * Builds the `MoorApi` object over any transport: the preload uses Electron IPC, the e2e bridge a
 * WebSocket. No Node or Electron imports: it runs in the sandboxed preload and in a browser page.
 */
import {
  EVENT_NAMES,
  type EventName,
  INVOKE_METHODS,
  type MoorApi,
  type MoorEvents,
  type MoorInvoke,
} from './contract.js';

export interface ApiTransport {
  invoke(method: string, arg: unknown): Promise<unknown>;
  /** Registers the one handler for every pushed event. */
  onEvent(handler: (event: string, payload: unknown) => void): void;
}

/** Electron prefixes errors thrown by handlers ("Error invoking remote method 'x': Error: msg"). */
export function cleanRemoteError(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(message.replace(/^Error invoking remote method '[^']*': (\w*Error: )?/, ''));
}

export function createApiClient(transport: ApiTransport): MoorApi {
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  transport.onEvent((event, payload) => {
    if (!(EVENT_NAMES as readonly string[]).includes(event)) return;
    for (const listener of listeners.get(event as EventName) ?? []) {
      (listener as (p: unknown) => void)(payload);
    }
  });

  const api: Record<string, unknown> = {};
  for (const method of INVOKE_METHODS) {
    api[method] = (arg?: unknown) =>
      transport.invoke(method, arg).catch((err: unknown) => {
        throw cleanRemoteError(err);
      });
  }
  api.on = <E extends EventName>(event: E, listener: (payload: MoorEvents[E]) => void) => {
    const set = listeners.get(event) ?? new Set();
    listeners.set(event, set);
    set.add(listener as (payload: never) => void);
    return () => {
      set.delete(listener as (payload: never) => void);
    };
  };
  return api as unknown as MoorInvoke & Pick<MoorApi, 'on'>;
}
