/**
 * The renderer's view of main's state: filled from one snapshot, then kept current only by pushed
 * events (the renderer never polls). Read from React with useSyncExternalStore.
 */
import { useSyncExternalStore } from 'react';
import {
  type ActiveHost,
  type AppSnapshot,
  DEFAULT_CONTEXT,
  type MachineSummary,
  type MoorEvents,
  OPERATION_LOG_LIMIT,
  type OperationInfo,
  type ProgressEvent,
  type TerminalInfo,
} from '../../main/api/contract.js';

export interface OperationView {
  info: OperationInfo;
  log: ProgressEvent[];
}

export interface AppState {
  ready: boolean;
  machines: MachineSummary[];
  active: ActiveHost;
  operations: Record<string, OperationView>;
  terminals: TerminalInfo[];
  platform: string;
  version: string;
  /** The last failed action, shown as a dismissible banner. */
  notice: { kind: 'error' | 'info'; text: string } | null;
}

let state: AppState = {
  ready: false,
  machines: [],
  active: { machine: null, context: DEFAULT_CONTEXT },
  operations: {},
  terminals: [],
  platform: '',
  version: '',
  notice: null,
};
const listeners = new Set<() => void>();

function set(patch: Partial<AppState>): void {
  state = { ...state, ...patch };
  for (const l of listeners) l();
}

export function getState(): AppState {
  return state;
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useAppState<T>(select: (s: AppState) => T): T {
  return useSyncExternalStore(subscribe, () => select(state));
}

export function notify(kind: 'error' | 'info', text: string): void {
  set({ notice: { kind, text } });
}

export function clearNotice(): void {
  set({ notice: null });
}

/** Runs an API call, turning a rejection into the error banner. */
export async function attempt<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    notify('error', err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

function onProgress({ operation, event }: MoorEvents['createProgress']): void {
  const prev = state.operations[operation.id];
  const log = prev ? prev.log : [];
  set({
    operations: {
      ...state.operations,
      // Bounded like main's copy: a chatty provisioning log must not grow the page without end.
      [operation.id]: { info: operation, log: event ? [...log, event].slice(-OPERATION_LOG_LIMIT) : log },
    },
  });
}

type NavigateRequest = MoorEvents['navigate'];
const navigateListeners = new Set<(request: NavigateRequest) => void>();
/** A tray request that arrived before the app subscribed (main sends it once the page loaded). */
let pendingNavigate: NavigateRequest | null = null;

/** Calls `listener` for each navigate request of main, first any that arrived before; returns the unsubscribe. */
export function onNavigate(listener: (request: NavigateRequest) => void): () => void {
  navigateListeners.add(listener);
  const pending = pendingNavigate;
  pendingNavigate = null;
  if (pending) listener(pending);
  return () => navigateListeners.delete(listener);
}

/** Connects the store to window.moor; call once before rendering. */
export async function connect(): Promise<void> {
  const moor = window.moor;
  moor.on('navigate', (request) => {
    if (navigateListeners.size) for (const l of navigateListeners) l(request);
    else pendingNavigate = request;
  });
  moor.on('machineState', ({ machines }) => set({ machines }));
  moor.on('activeChanged', ({ active }) => set({ active }));
  moor.on('createProgress', onProgress);
  moor.on('terminalsChanged', ({ terminals }) => set({ terminals }));
  const snap: AppSnapshot = await moor.snapshot();
  const operations: Record<string, OperationView> = {};
  await Promise.all(
    snap.operations.map(async (info) => {
      operations[info.id] = { info, log: await moor.readLogs({ operationId: info.id }).catch(() => []) };
    }),
  );
  set({
    ready: true,
    machines: snap.machines,
    active: snap.active,
    terminals: snap.terminals,
    operations: { ...operations, ...state.operations },
    platform: snap.platform,
    version: snap.version,
  });
}
