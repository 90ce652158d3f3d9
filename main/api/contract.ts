/**
 * The one typed API between Moor's main process and its renderer. The preload exposes exactly a
 * `MoorApi` object as `window.moor`; main implements `MoorInvoke` (main/services) and pushes
 * `MoorEvents`. The e2e bridge carries the same contract over a WebSocket.
 *
 * Types, plus the few constants and pure helpers both sides need at runtime (method/event names,
 * channel names, flow-control numbers): this file imports nothing with side effects so the renderer
 * and the sandboxed preload can import it freely.
 * Argument validation (zod) lives in main/api/validate.ts, checked against these types.
 */
import type { ProgressEvent } from '../base/progress.js';
import type { HostReason, MachineState } from '../base/state.js';
import type {
  ChoiceSource,
  DriverCapabilities,
  FlagChoice,
  FlagGroup,
  FlagSpec,
  FlagValue,
  PowerAction,
} from '../drivers/types.js';
import type {
  ConnectionStep,
  ConnectionStepName,
  ConnectionTestRequest,
  ConnectionTestResult,
  KeyFileCheck,
  KeyFileKind,
} from '../ssh/check-types.js';

export type {
  ChoiceSource,
  ConnectionStep,
  ConnectionStepName,
  ConnectionTestRequest,
  ConnectionTestResult,
  DriverCapabilities,
  FlagChoice,
  FlagGroup,
  FlagSpec,
  FlagValue,
  HostReason,
  KeyFileCheck,
  KeyFileKind,
  MachineState,
  PowerAction,
  ProgressEvent,
};

/** The Docker context name meaning "no machine": the local engine (or DOCKER_HOST). */
export const DEFAULT_CONTEXT = 'default';

/**
 * The active Docker host, in two fields because "default" is both the docker CLI's default
 * context and a valid machine name. `machine`: the machine of this store whose Docker context is
 * current, or null. `context`: the current Docker context's name: DEFAULT_CONTEXT (the local
 * engine, or DOCKER_HOST), a machine's context, or one Moor did not make.
 */
export interface ActiveHost {
  machine: string | null;
  context: string;
}

/** The default context is current (no machine of ours, nor anyone else's context). */
export function isDefaultContext(active: ActiveHost): boolean {
  return active.machine === null && active.context === DEFAULT_CONTEXT;
}

/** What the app is doing to a machine right now (shown as a spinner, disables conflicting actions). */
export type MachineBusy =
  | 'creating'
  | 'starting'
  | 'stopping'
  | 'restarting'
  | 'killing'
  | 'hibernating'
  | 'waking'
  | 'removing'
  | 'provisioning'
  | 'leaving-swarm';

/** One row of the host list (and of the tray). */
export interface MachineSummary {
  name: string;
  driver: string;
  /** docker-machine's state string; '' while unknown (first poll pending). */
  state: MachineState;
  /** tcp://host:2376, or '' when the machine has none (stopped, or error). */
  url: string;
  /** The engine's version, '' when unknown (stopped, unreachable). */
  dockerVersion: string;
  /** Why the state or URL could not be read (or why the config did not load). */
  error: string;
  /**
   * Why it is not simply Running (Stopped, Timeout, Error, or an engine that does not answer):
   * what was tried and what happened, one line; null when there is nothing to explain.
   */
  reason: HostReason | null;
  /** This machine is the active Docker context. */
  active: boolean;
  busy: MachineBusy | null;
  /** The user stopped it from Moor: no automatic logic may start it again. */
  stoppedByUser: boolean;
  /**
   * What its driver can do (power actions, SSH, what rm deletes): views offer only these. None at
   * all when the driver is unknown or the config did not load.
   */
  capabilities: DriverCapabilities;
}

export interface DriverInfo {
  name: string;
  description: string;
  /** `create` provisions the host over SSH (Docker install, TLS) after creating it. */
  provisions: boolean;
  capabilities: DriverCapabilities;
  flags: FlagSpec[];
}

export interface DriverCatalog {
  drivers: DriverInfo[];
  /** Flags every driver's create takes (engine-install-url, engine-opt, tls-san, ...). */
  commonFlags: FlagSpec[];
  /** Environment variables set in the app's environment among the flags' envVar (for hints). */
  envSet: string[];
}

/** What driverChoices asks for: a flag's list from its provider. */
export interface ChoicesRequest {
  driver: string;
  /** A flag of the driver that declares `choices` ("digitalocean-region"). */
  flag: string;
  /**
   * The form's values of the driver's secret flags (the access token typed before the host
   * exists), by flag name; others are ignored. Absent: the app's environment (and keychain) only.
   */
  credentials?: Record<string, string>;
  /** Ask the provider again instead of answering from the short-lived cache. */
  refresh?: boolean;
}

export interface DriverChoices {
  driver: string;
  flag: string;
  choices: FlagChoice[];
  /** When main fetched them (epoch ms): a cached answer is at most a few minutes old. */
  fetchedAt: number;
}

export interface CreateRequest {
  name: string;
  driver: string;
  /** Flag values by flag name (without `--`); absent = the flag's default (or its env var). */
  flags: Record<string, FlagValue>;
}

export type OperationStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface OperationInfo {
  id: string;
  kind: 'create' | 'provision' | 'regenerate-certs';
  machine: string;
  driver: string;
  status: OperationStatus;
  /** The request that started it (secrets blanked), so the form can retry. */
  request: CreateRequest;
  error: string;
  /**
   * It failed but the machine stays in the store: provisioning a host Moor did not make (generic)
   * failed after changing it. `provisionMachine` finishes the job (a new create would say "exists").
   */
  machineKept: boolean;
  startedAt: number;
  endedAt: number | null;
}

export interface CertificateInfo {
  label: string;
  path: string;
  exists: boolean;
  subject: string;
  issuer: string;
  notAfter: string;
  /** Subject alternative names, for the server certificate. */
  sans: string;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface MachineDetails {
  summary: MachineSummary;
  /** config.json as stored (what `inspect` prints). */
  config: JsonValue;
  ip: string;
  sshUser: string;
  sshPort: number;
  sshKeyPath: string;
  certificates: CertificateInfo[];
  engineOptions: JsonValue;
}

export interface TerminalInfo {
  id: string;
  machine: string;
  /** "name #n": several sessions per machine are numbered. */
  title: string;
  startedAt: number;
  /** A renderer view is showing it (bytes are then flow-controlled by its acks). */
  attached: boolean;
  /** null while running; the exit code (or -1 for a lost connection) once ended. */
  exitCode: number | null;
}

export interface TerminalAttachResult {
  info: TerminalInfo;
  /** The most recent output (bounded ring buffer) to paint before live data continues. */
  replay: string;
}

export type ScheduleAction = 'start' | 'stop';

/** What a cloud host costs this month (DigitalOcean: from the size's price_hourly). */
export interface HostCost {
  currency: string;
  size: string;
  hourly: number;
  /** The most a calendar month costs. */
  monthly: number;
  soFar: number;
  /** The month's bill if the schedule (or always-on) holds. */
  projected: number;
  /** e.g. "billed while stopped: a stop schedule does not lower the cost"; '' if none. */
  note: string;
}

/** A machine's schedule (times as users write them, "mon-fri 08:30") and cost. */
export interface ScheduleInfo {
  name: string;
  /** IANA zone of the times; '' when the machine has no schedule. */
  zone: string;
  start: string;
  stop: string;
  next: { action: ScheduleAction; at: number } | null;
  /** The pending stop's new time after "Postpone 1 h". */
  postponedUntil: number | null;
  lastRun: { action: ScheduleAction; event: number; ranAt: number; error: string } | null;
  /** Stop after this many idle minutes (no containers, no Docker/SSH connection); null: off. */
  idleStopMinutes: number | null;
  /** Scheduled and idle stops hibernate the host, starts wake it (`--hibernate`; cloud hosts). */
  hibernate: boolean;
  /** Since when the machine has been idle, as last probed. */
  idleSince: number | null;
  /** null for hosts without a provider price (generic, none). */
  cost: HostCost | null;
  costError: string;
  /** The schedule file does not load. */
  error: string;
}

/** One node of a swarm, as the manager lists it (`moor swarm ls`). */
export interface SwarmNodeInfo {
  /** The Moor machine that is this node; '' for a node Moor does not manage. */
  machine: string;
  hostname: string;
  nodeId: string;
  role: 'manager' | 'worker';
  /** The engine's node state: ready, down, unknown, disconnected. */
  status: string;
  /** active, pause or drain. */
  availability: string;
  /** Leader / Reachable / Unreachable for managers, '' for workers. */
  managerStatus: string;
  engineVersion: string;
  address: string;
}

/** A swarm among the machines, listed through one of its managers (whose context drives it). */
export interface SwarmClusterInfo {
  clusterId: string;
  manager: string;
  /** Managers first, then workers, by name. */
  nodes: SwarmNodeInfo[];
}

/** Everything the renderer needs on start (then kept current by events). */
export interface AppSnapshot {
  machines: MachineSummary[];
  active: ActiveHost;
  operations: OperationInfo[];
  terminals: TerminalInfo[];
  platform: string;
  version: string;
}

/**
 * Something the user should hear about even when not looking at it: a long operation that ended,
 * a tray action that failed. The window shows it as a toast; main also shows it as a desktop
 * notification.
 */
export interface AppNotification {
  level: 'error' | 'info';
  title: string;
  body: string;
  /** The operation it is about: the toast offers to show it in the task panel. */
  operationId?: string;
  machine?: string;
}

/** Which finished operations become desktop notifications (the window's toasts show them all). */
export type NotifyChoice = 'all' | 'failures' | 'off';

/** The app's own preferences (kept by main, outside the docker-machine store). */
export interface AppSettings {
  /** Start Moor when the user logs in; null where this build cannot (e.g. Linux AppImage). */
  openAtLogin: boolean | null;
  /** The driver the create form starts with. */
  defaultDriver: string;
  notifications: NotifyChoice;
}

/** About Moor: versions and where things are. */
export interface AboutInfo {
  version: string;
  /** The machine store ($MACHINE_STORAGE_PATH or ~/.docker/machine). */
  storePath: string;
  platform: string;
  /** Runtime versions: node, and electron/chrome when running in Electron. */
  versions: Record<string, string>;
}

/** What updateSettings may change: any of the settings (openAtLogin only where supported). */
export interface SettingsChange {
  openAtLogin?: boolean;
  defaultDriver?: string;
  notifications?: NotifyChoice;
}

/**
 * Request/response calls, renderer → main. Every method takes at most one plain-object argument
 * (validated in main) and resolves with structured-clone-safe data; failures reject with the
 * MoorError message.
 */
export interface MoorInvoke {
  snapshot(): Promise<AppSnapshot>;
  listMachines(): Promise<MachineSummary[]>;
  listDrivers(): Promise<DriverCatalog>;
  /**
   * A flag's values from the provider (DigitalOcean's regions, sizes with prices, images), for
   * the create form's searchable lists; cached briefly in main. Rejects with the provider's error
   * (a missing or invalid token, the API down): the form shows it and keeps free text.
   */
  driverChoices(request: ChoicesRequest): Promise<DriverChoices>;
  /** Starts a create; progress arrives as `createProgress` events. Resolves with the operation id. */
  createMachine(request: CreateRequest): Promise<{ operationId: string }>;
  /** Aborts a running create; the create rolls back (no machine directory, no cloud resources left). */
  cancelCreate(args: { operationId: string }): Promise<void>;
  start(args: { name: string }): Promise<void>;
  stop(args: { name: string }): Promise<void>;
  restart(args: { name: string }): Promise<void>;
  kill(args: { name: string }): Promise<void>;
  /** Cloud hosts (capability `hibernate`): snapshot, destroy the server, keep the record (state `Hibernated`). */
  hibernate(args: { name: string }): Promise<void>;
  /** A hibernated host back from its snapshot (new server, its new address followed). */
  wake(args: { name: string }): Promise<void>;
  remove(args: { name: string; force?: boolean }): Promise<void>;
  /** Switch the active Docker host for every terminal: a machine's context, or null for `default`. */
  setActiveHost(args: { name: string | null }): Promise<void>;
  regenerateCerts(args: { name: string }): Promise<{ operationId: string }>;
  /**
   * Provisions a stored machine again (`moor provision`): Docker install if missing, certificates,
   * engine config. Finishes a create that kept its machine (`OperationInfo.machineKept`). Progress
   * arrives as `createProgress` events; cancel with `cancelCreate`.
   */
  provisionMachine(args: { name: string }): Promise<{ operationId: string }>;
  inspect(args: { name: string }): Promise<MachineDetails>;
  terminalOpen(args: { machine: string; rows: number; cols: number }): Promise<TerminalAttachResult>;
  /** Shows an existing session again: returns the replay buffer, then data events resume. */
  terminalAttach(args: { id: string; rows: number; cols: number }): Promise<TerminalAttachResult>;
  /** The view went away (tab or window closed); the session keeps running. */
  terminalDetach(args: { id: string }): Promise<void>;
  /** Ends the session (closes the remote shell). */
  terminalClose(args: { id: string }): Promise<void>;
  terminalResize(args: { id: string; rows: number; cols: number }): Promise<void>;
  terminalWrite(args: { id: string; data: string }): Promise<void>;
  /** Flow control: the renderer has written `chars` more characters of this session's output. */
  terminalAck(args: { id: string; chars: number }): Promise<void>;
  listTerminals(): Promise<TerminalInfo[]>;
  /** The log of a create/regenerate operation so far. */
  readLogs(args: { operationId: string }): Promise<ProgressEvent[]>;
  /**
   * Shows the machine's config.json (or its folder, if the file is missing) in the system file
   * manager, for a broken machine the user repairs by hand. Resolves with the path shown.
   */
  revealInFolder(args: { name: string }): Promise<{ path: string }>;
  /** Every machine's schedule and cost (`moor schedule ls`). */
  listSchedules(): Promise<ScheduleInfo[]>;
  getSchedule(args: { name: string }): Promise<ScheduleInfo>;
  /** Sets or changes a schedule (`moor schedule NAME --start … --stop … --tz …`; '' removes a time). */
  setSchedule(args: {
    name: string;
    start?: string;
    stop?: string;
    zone?: string;
    /** "30m", "2h"; "0" turns idle stop off. */
    idleStop?: string;
    /** Stops hibernate, starts wake (the driver must be able to hibernate). */
    hibernate?: boolean;
  }): Promise<ScheduleInfo>;
  clearSchedule(args: { name: string }): Promise<void>;
  /** "Postpone 1 h": the machine's coming (or due) scheduled stop happens later. */
  postponeStop(args: { name: string; hours?: number }): Promise<{ until: number }>;
  /**
   * "Pause schedule today": the start and stop times left today (in the schedule's zone) are
   * skipped; it resumes tomorrow. Resolves with the end of today (epoch ms). Idle stop goes on.
   */
  pauseScheduleToday(args: { name: string }): Promise<{ until: number }>;
  /**
   * Every swarm among the machines (`moor swarm ls`), each host asked with a short timeout: a dead
   * host is simply in no cluster. Rejects only when a manager's node list cannot be read.
   */
  listClusters(): Promise<SwarmClusterInfo[]>;
  /** `moor swarm leave NAME`: drain, demote if a manager, leave, remove the node from the list. */
  swarmLeave(args: { name: string; force?: boolean }): Promise<void>;
  settings(): Promise<{ settings: AppSettings; about: AboutInfo }>;
  /** Changes and keeps settings; resolves with all of them as now in effect. */
  updateSettings(change: SettingsChange): Promise<AppSettings>;
  /** The system's file picker (the create form's Browse…); `path` is null when the user cancelled. */
  pickFile(args: { title: string; defaultPath?: string }): Promise<{ path: string | null }>;
  /** Whether a file is a private key that can log in (exists, regular, readable, not encrypted). */
  checkKeyFile(args: { path: string }): Promise<KeyFileCheck>;
  /** Tries an SSH host for the generic driver step by step, before creating (nothing is kept). */
  testConnection(args: ConnectionTestRequest): Promise<ConnectionTestResult>;
}

/** Pushed main → renderer. */
export interface MoorEvents {
  /** The machine list changed (a state, URL, version, error, busy flag; added or removed). */
  machineState: { machines: MachineSummary[] };
  createProgress: { operation: OperationInfo; event: ProgressEvent | null };
  activeChanged: { active: ActiveHost };
  terminalData: { id: string; data: string };
  terminalExit: { id: string; exitCode: number };
  terminalsChanged: { terminals: TerminalInfo[] };
  /** A tray item asked the window to show something. */
  navigate: { view: 'hosts' | 'create' | 'terminal' | 'details' | 'tasks' | 'settings'; machine?: string };
  /** An operation ended or a background action failed (also a desktop notification). */
  notify: AppNotification;
  /** A scheduled stop comes soon (once per stop): the notification offering "Postpone 1 h" (postponeStop). */
  scheduleStopSoon: { name: string; at: number; postponeHours: number };
  /** The app ran a scheduled start or stop ('' error: it worked). */
  scheduleRan: { name: string; action: ScheduleAction; event: number; error: string };
  /** A schedule was set, changed, cleared or postponed (from the app or by a run). */
  scheduleChanged: { schedule: ScheduleInfo };
}

export type InvokeMethod = keyof MoorInvoke;
export type EventName = keyof MoorEvents;
export type InvokeArgs<M extends InvokeMethod> = Parameters<MoorInvoke[M]>[0];
export type InvokeResult<M extends InvokeMethod> = Awaited<ReturnType<MoorInvoke[M]>>;

/** The object the renderer sees as `window.moor`. */
export interface MoorApi extends MoorInvoke {
  on<E extends EventName>(event: E, listener: (payload: MoorEvents[E]) => void): () => void;
}

type Exhaustive<T extends string, L extends readonly T[]> = [T] extends [L[number]] ? L : never;

const invokeMethods = [
  'snapshot',
  'listMachines',
  'listDrivers',
  'driverChoices',
  'createMachine',
  'cancelCreate',
  'start',
  'stop',
  'restart',
  'kill',
  'hibernate',
  'wake',
  'remove',
  'setActiveHost',
  'regenerateCerts',
  'provisionMachine',
  'inspect',
  'terminalOpen',
  'terminalAttach',
  'terminalDetach',
  'terminalClose',
  'terminalResize',
  'terminalWrite',
  'terminalAck',
  'listTerminals',
  'readLogs',
  'revealInFolder',
  'listSchedules',
  'getSchedule',
  'setSchedule',
  'clearSchedule',
  'postponeStop',
  'pauseScheduleToday',
  'listClusters',
  'swarmLeave',
  'settings',
  'updateSettings',
  'pickFile',
  'checkKeyFile',
  'testConnection',
] as const;
/** Every invoke method, checked exhaustive at compile time. */
export const INVOKE_METHODS: Exhaustive<InvokeMethod, typeof invokeMethods> = invokeMethods;

const eventNames = [
  'machineState',
  'createProgress',
  'activeChanged',
  'terminalData',
  'terminalExit',
  'terminalsChanged',
  'navigate',
  'notify',
  'scheduleStopSoon',
  'scheduleRan',
  'scheduleChanged',
] as const;
export const EVENT_NAMES: Exhaustive<EventName, typeof eventNames> = eventNames;

/** IPC channel names: one per invoke method, one for all events. */
export const invokeChannel = (method: InvokeMethod): string => `moor:${method}`;
export const EVENT_CHANNEL = 'moor:event';

/** Terminal flow control (measured: Ctrl-C during a flood lands in 0.26–0.46 s with these). */
export const TERMINAL_HIGH_WATERMARK = 100_000;
export const TERMINAL_LOW_WATERMARK = 10_000;
/** The renderer acks after writing this many characters (and when its write queue drains). */
export const TERMINAL_ACK_EVERY = 8_000;

/** Progress events kept per operation (main's log, and the renderer's copy of it). */
export const OPERATION_LOG_LIMIT = 5_000;
