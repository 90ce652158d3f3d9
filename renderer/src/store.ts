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
  type ScheduleInfo,
  type SwarmClusterInfo,
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
  /** Toasts, newest last: info ones close by themselves, errors stay until dismissed. */
  notices: Notice[];
  /** The task panel is open, showing this operation expanded (or none). */
  tasks: { open: boolean; focus: string | null };
  /** Each machine's schedule and cost by name (listSchedules, then scheduleChanged events). */
  schedules: Record<string, ScheduleInfo>;
  /** Swarms among the machines (listClusters, asked again when the list's hosts or states change). */
  clusters: SwarmClusterInfo[];
}

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  /** Bold first line (a notification's title); the text follows. */
  title: string;
  text: string;
  /** The operation it is about: the toast offers "Show task". */
  operationId?: string;
}

/** How long a toast stays: long enough to read, never for good (it would cover buttons). */
export const NOTICE_MS = { info: 6_000, error: 20_000 } as const;
/** At most this many toasts at once (the oldest go first). */
const MAX_NOTICES = 3;
let noticeIds = 0;

let state: AppState = {
  ready: false,
  machines: [],
  active: { machine: null, context: DEFAULT_CONTEXT },
  operations: {},
  terminals: [],
  platform: '',
  version: '',
  notices: [],
  tasks: { open: false, focus: null },
  schedules: {},
  clusters: [],
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

/** Shows a toast. The same text already showing is not shown twice. */
export function notify(
  kind: 'error' | 'info',
  text: string,
  extra: { title?: string; operationId?: string } = {},
): void {
  const title = extra.title ?? '';
  if (state.notices.some((n) => n.text === text && n.title === title)) return;
  const notice: Notice = { id: ++noticeIds, kind, title, text, operationId: extra.operationId };
  set({ notices: [...state.notices, notice].slice(-MAX_NOTICES) });
  setTimeout(() => dismissNotice(notice.id), NOTICE_MS[kind]);
}

/**
 * Operations the user is looking at right now (the Create view's progress, the task panel's
 * expanded one): their end is shown there, so no toast repeats it.
 */
const viewedOperations = new Map<string, number>();

/** Marks an operation as on screen; returns the unmark (call it from a useEffect cleanup). */
export function viewingOperation(id: string): () => void {
  viewedOperations.set(id, (viewedOperations.get(id) ?? 0) + 1);
  return () => {
    const n = (viewedOperations.get(id) ?? 1) - 1;
    if (n > 0) viewedOperations.set(id, n);
    else viewedOperations.delete(id);
  };
}

export function dismissNotice(id: number): void {
  if (state.notices.some((n) => n.id === id)) set({ notices: state.notices.filter((n) => n.id !== id) });
}

/** Opens the task panel (from anywhere), optionally with one operation expanded. */
export function openTasks(focus: string | null = null): void {
  set({ tasks: { open: true, focus } });
}

export function closeTasks(): void {
  set({ tasks: { ...state.tasks, open: false } });
}

export function focusTask(focus: string | null): void {
  set({ tasks: { ...state.tasks, focus } });
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

let clustersRunning: Promise<void> | null = null;
let clustersAgain = false;

/**
 * Asks main for the swarms again (one request at a time; a change meanwhile asks once more). A
 * failure keeps the last clusters: the list itself never waits for this.
 */
export function refreshClusters(): Promise<void> {
  if (clustersRunning) {
    clustersAgain = true;
    return clustersRunning;
  }
  clustersRunning = (async () => {
    do {
      clustersAgain = false;
      try {
        set({ clusters: await window.moor.listClusters() });
      } catch {
        // keep the last known clusters
      }
    } while (clustersAgain);
  })().finally(() => {
    clustersRunning = null;
  });
  return clustersRunning;
}

/** Keeps one machine's schedule as main returned it (setSchedule, getSchedule). */
export function putSchedule(info: ScheduleInfo): void {
  set({ schedules: { ...state.schedules, [info.name]: info } });
}

/** Removes one machine's schedule after clearSchedule (its cost stays: asked again). */
export async function reloadSchedule(name: string): Promise<void> {
  putSchedule(await window.moor.getSchedule({ name }));
}

/** Asks main for every machine's schedule and cost (a new machine may have a price). */
export async function refreshSchedules(): Promise<void> {
  try {
    const rows = await window.moor.listSchedules();
    set({ schedules: Object.fromEntries(rows.map((r) => [r.name, r])) });
  } catch {
    // keep the last known ones
  }
}

/** What decides swarm membership and prices: which hosts exist and their state and URL. */
export function hostsKey(machines: readonly MachineSummary[]): string {
  return machines.map((m) => `${m.name}|${m.state}|${m.url}|${m.busy ?? ''}`).join('\n');
}

/** Connects the store to window.moor; call once before rendering. */
export async function connect(): Promise<void> {
  const moor = window.moor;
  moor.on('navigate', (request) => {
    if (navigateListeners.size) for (const l of navigateListeners) l(request);
    else pendingNavigate = request;
  });
  moor.on('machineState', ({ machines }) => {
    const before = state.machines;
    set({ machines });
    if (hostsKey(before) !== hostsKey(machines)) void refreshClusters();
    const names = (ms: readonly MachineSummary[]) => ms.map((m) => m.name).join('\n');
    if (names(before) !== names(machines)) void refreshSchedules();
  });
  moor.on('scheduleChanged', ({ schedule }) =>
    set({ schedules: { ...state.schedules, [schedule.name]: schedule } }),
  );
  moor.on('activeChanged', ({ active }) => set({ active }));
  moor.on('createProgress', onProgress);
  moor.on('notify', (n) => {
    if (n.operationId && viewedOperations.has(n.operationId)) return;
    notify(n.level, n.body, { title: n.title, ...(n.operationId ? { operationId: n.operationId } : {}) });
  });
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
  // Neither holds up the list: each fills in when main has it.
  void refreshClusters();
  void refreshSchedules();
}
