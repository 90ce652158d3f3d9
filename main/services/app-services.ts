/**
 * The app's main-process state and behaviour behind the API contract: the machine list with live
 * state (polled here, pushed to views — views never poll), the active Docker host, create
 * operations with progress and cancel, and terminal sessions. No electron import: the Electron
 * glue (main/app) and the test bridge both drive this same object.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  type AboutInfo,
  type ActiveHost,
  type AppNotification,
  type AppSettings,
  type AppSnapshot,
  type ChoicesRequest,
  type ConnectionTestResult,
  type CreateRequest,
  DEFAULT_CONTEXT,
  type DriverCatalog,
  type DriverChoices,
  type InvokeArgs,
  type KeyFileCheck,
  type MachineBusy,
  type MachineDetails,
  type MachineSummary,
  type MoorEvents,
  type MoorInvoke,
  OPERATION_LOG_LIMIT,
  type OperationInfo,
  type ProgressEvent,
  type ScheduleAction,
  type ScheduleInfo,
  type SwarmClusterInfo,
  type TerminalAttachResult,
  type TerminalInfo,
} from '../api/contract.js';
import { errorMessage, MoorError } from '../base/errors.js';
import { canPower, NO_CAPABILITIES, unsupportedActionMessage } from '../drivers/capabilities.js';
import type { Store } from '../store/store.js';
import { validateMachineName } from '../store/store.js';
import type { ActiveHostBackend, MachineAction, MachineBackend, MachineRow, ShellOpener } from './backend.js';
import { machineDetails } from './inspect.js';
import {
  DEFAULT_PREFERENCES,
  memoryPreferences,
  type Preferences,
  type PreferencesStore,
} from './preferences.js';
import { type Clock, ScheduleService, scheduleLoopError, systemClock } from './schedules.js';
import { TerminalSession } from './terminals.js';

/** One pushed event as (name, payload) pairs: checking the name narrows the payload. */
export type EventArgs = { [E in keyof MoorEvents]: [event: E, payload: MoorEvents[E]] }[keyof MoorEvents];
export type EventListener = (...args: EventArgs) => void;
type Emit = <E extends keyof MoorEvents>(event: E, payload: MoorEvents[E]) => void;

export interface AppServicesOptions {
  store: Store;
  machines: MachineBackend;
  active: ActiveHostBackend;
  openShell: ShellOpener;
  /** How often host states are refreshed while idle (default 5 s). */
  pollIntervalMs?: number;
  /** Faster refresh while an operation runs (default 1 s). */
  busyPollIntervalMs?: number;
  version?: string;
  /** Called by dispose() (e.g. to stop the contexts watcher). */
  onDispose?: () => void;
  /** How long dispose() waits for aborted operations to roll back (default 60 s). */
  disposeTimeoutMs?: number;
  /** Shows a file in the system file manager (Electron's shell.showItemInFolder). */
  revealPath?: (path: string) => void | Promise<void>;
  /** The system's open-file dialog (main/app/file-picker.ts); resolves null when cancelled. */
  pickFile?: FilePicker;
  /** The schedules' clock (tests drive a fake one). */
  clock?: Clock;
  /** How long before a scheduled stop `scheduleStopSoon` comes (default 5 min). */
  scheduleNoticeMs?: number;
  /** Keeps the OS scheduler's job in line with the store's schedules (wiring.ts; none in unit tests). */
  syncOsScheduler?: (now: number) => Promise<void>;
  /** Look up cloud prices for schedules (default true). */
  scheduleCosts?: boolean;
  /** Idle stop's activity probe and running check (default: over SSH, from the driver). */
  idleProbe?: import('../core/schedule.js').ActivityProbe;
  idleIsRunning?: (name: string) => Promise<boolean>;
  env?: NodeJS.ProcessEnv;
  /** Where the app's preferences are kept (default: in memory). */
  preferences?: PreferencesStore;
  /** Start at login (Electron's login item settings); absent where the build cannot. */
  loginItem?: { get(): boolean; set(enabled: boolean): void };
  /** Runtime versions for About (process.versions in Electron: electron, chrome, node). */
  versions?: Record<string, string>;
}

/** Shows an open-file dialog: the chosen path, or null when the user cancelled. */
export type FilePicker = (options: { title: string; defaultPath?: string }) => Promise<string | null>;

const MAX_FINISHED_OPERATIONS = 20;

/** How long a provider's list (regions, sizes, images) is answered from main's cache. */
export const CHOICES_TTL_MS = 5 * 60_000;

/** Whether every promise settled within `ms` (rejections count as settled). */
async function settledWithin(work: Array<Promise<unknown> | null>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(work).then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Operation {
  info: OperationInfo;
  log: ProgressEvent[];
  controller: AbortController;
  /** Settles once the operation has ended (after its rollback, when aborted). */
  done: Promise<void>;
}

const KIND_LABEL: Record<OperationInfo['kind'], { doing: string; done: string }> = {
  create: { doing: 'Creating', done: 'is ready' },
  provision: { doing: 'Provisioning', done: 'is provisioned' },
  'regenerate-certs': { doing: 'Regenerating the certificates of', done: 'has new certificates' },
};

/** What to tell the user when an operation ends: a failure or a success; a cancel was their own doing. */
export function operationNotice(info: OperationInfo): AppNotification | null {
  const label = KIND_LABEL[info.kind];
  const about = { operationId: info.id, machine: info.machine };
  if (info.status === 'failed') {
    const kept = info.machineKept ? ' The machine was kept: Retry provisions it again.' : '';
    return {
      level: 'error',
      title: `${label.doing} "${info.machine}" failed`,
      body: `${info.error}${kept}`,
      ...about,
    };
  }
  if (info.status === 'succeeded') {
    return {
      level: 'info',
      title: `"${info.machine}" ${label.done}`,
      body: 'Docker is up and running on it.',
      ...about,
    };
  }
  return null;
}

const ACTION_BUSY: Record<MachineAction, MachineBusy> = {
  start: 'starting',
  stop: 'stopping',
  restart: 'restarting',
  kill: 'killing',
  hibernate: 'hibernating',
  wake: 'waking',
};

export class AppServices implements MoorInvoke {
  private rows: MachineRow[] = [];
  private active: ActiveHost = { machine: null, context: DEFAULT_CONTEXT };
  private readonly busy = new Map<string, MachineBusy>();
  private readonly stoppedByUser = new Set<string>();
  private readonly operations = new Map<string, Operation>();
  private readonly terminals = new Map<string, TerminalSession>();
  private readonly listeners = new Set<EventListener>();
  private lastPushed = '';
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private unwatchActive: (() => void) | null = null;
  private catalog: Promise<DriverCatalog> | null = null;
  /** Provider lists by driver, flag and credentials (hashed): failures are never kept. */
  private readonly choicesCache = new Map<string, Promise<DriverChoices>>();
  private disposed = false;
  private disposing: Promise<boolean> | null = null;
  private readonly preferences: PreferencesStore;
  private prefs: Preferences = { ...DEFAULT_PREFERENCES };

  private readonly schedules: ScheduleService;

  constructor(private readonly options: AppServicesOptions) {
    this.schedules = new ScheduleService({
      store: options.store,
      clock: options.clock ?? systemClock,
      emit: this.emit,
      runAction: (name, action, how) => this.runScheduledAction(name, action, how),
      syncOsScheduler: options.syncOsScheduler,
      noticeMs: options.scheduleNoticeMs,
      withCost: options.scheduleCosts,
      env: options.env,
      probe: options.idleProbe,
      isRunning: options.idleIsRunning,
      onError: (err) => console.error(scheduleLoopError(err)),
    });
    this.preferences = options.preferences ?? memoryPreferences();
  }

  /** Whether a notice should also be a desktop notification (the user's Notifications setting). */
  wantsDesktopNotification(notification: AppNotification): boolean {
    const choice = this.prefs.notifications;
    return choice === 'all' || (choice === 'failures' && notification.level === 'error');
  }

  /**
   * Tells the user about something that happened in the background (an operation's end, a failed
   * tray action): a toast in the window and, through main/app, a desktop notification.
   */
  report(notification: AppNotification): void {
    this.emit('notify', notification);
  }

  /** Subscribes to pushed events; returns the unsubscribe. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private readonly emit: Emit = (event, payload) => {
    for (const listener of this.listeners) (listener as (e: string, p: unknown) => void)(event, payload);
  };

  /** Starts polling and watching the active context. Never changes the active host by itself. */
  async init(): Promise<void> {
    this.prefs = await this.preferences.load();
    this.unwatchActive = this.options.active.watch((active) => this.setActive(active));
    this.active = await this.options.active.current().catch(() => this.active);
    await this.refresh();
    this.schedules.start();
  }

  /**
   * Stops polling and terminals, aborts every running operation and waits for them to end: an
   * aborted create rolls back (removes its cloud resources and machine directory), and quitting
   * before that finishes would leave exactly the orphans Moor promises not to. Waits at most
   * `disposeTimeoutMs`; resolves false if it gave up. Calling it again returns the same promise.
   */
  dispose(): Promise<boolean> {
    this.disposing ??= this.shutdown();
    return this.disposing;
  }

  private async shutdown(): Promise<boolean> {
    this.disposed = true;
    this.schedules.stop();
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.unwatchActive?.();
    this.options.onDispose?.();
    const running = [...this.operations.values()].filter((op) => op.info.status === 'running');
    for (const op of running) op.controller.abort(new MoorError('Moor is quitting'));
    for (const session of this.terminals.values()) session.close();
    this.terminals.clear();
    const work = [...running.map((op) => op.done), this.polling];
    return settledWithin(work, this.options.disposeTimeoutMs ?? 60_000);
  }

  private setActive(active: ActiveHost): void {
    if (active.machine === this.active.machine && active.context === this.active.context) return;
    this.active = { machine: active.machine, context: active.context };
    this.emit('activeChanged', { active: this.active });
    this.pushMachines();
  }

  /** Re-reads every machine's state now (coalesced with a poll already running). */
  refresh(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = (async () => {
      do {
        this.pollAgain = false;
        try {
          this.rows = await this.options.machines.list();
        } catch (err) {
          // Keep the last known rows; the error shows on each (the store itself failed to read).
          this.rows = this.rows.map((r) => ({ ...r, error: errorMessage(err) }));
        }
        this.pushMachines();
      } while (this.pollAgain && !this.disposed);
    })().finally(() => {
      this.polling = null;
      this.schedulePoll();
    });
    return this.polling;
  }

  private schedulePoll(): void {
    if (this.disposed) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    const busy = this.busy.size > 0;
    const delay = busy ? (this.options.busyPollIntervalMs ?? 1_000) : (this.options.pollIntervalMs ?? 5_000);
    this.pollTimer = setTimeout(() => void this.refresh(), delay);
    this.pollTimer.unref?.();
  }

  machines(): MachineSummary[] {
    const byName = new Map(this.rows.map((r) => [r.name, r]));
    // A machine being created shows up before its directory exists.
    for (const op of this.operations.values()) {
      if (op.info.kind === 'create' && op.info.status === 'running' && !byName.has(op.info.machine)) {
        byName.set(op.info.machine, {
          name: op.info.machine,
          driver: op.info.driver,
          state: '',
          url: '',
          dockerVersion: '',
          error: '',
          reason: null,
          capabilities: NO_CAPABILITIES,
        });
      }
    }
    return [...byName.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => ({
        ...r,
        active: r.name === this.active.machine,
        busy: this.busy.get(r.name) ?? null,
        stoppedByUser: this.stoppedByUser.has(r.name),
      }));
  }

  private pushMachines(): void {
    const machines = this.machines();
    const text = JSON.stringify(machines);
    if (text === this.lastPushed) return;
    this.lastPushed = text;
    this.emit('machineState', { machines });
  }

  private setBusy(name: string, busy: MachineBusy | null): void {
    if (busy) this.busy.set(name, busy);
    else this.busy.delete(name);
    this.pushMachines();
  }

  get activeHost(): ActiveHost {
    return this.active;
  }

  get isBusy(): boolean {
    return this.busy.size > 0;
  }

  // ---- MoorInvoke ----

  async snapshot(): Promise<AppSnapshot> {
    return {
      machines: this.machines(),
      active: this.active,
      operations: [...this.operations.values()].map((o) => o.info),
      terminals: [...this.terminals.values()].map((t) => t.info()),
      platform: process.platform,
      version: this.options.version ?? '',
    };
  }

  async listMachines(): Promise<MachineSummary[]> {
    return this.machines();
  }

  async listDrivers(): Promise<DriverCatalog> {
    this.catalog ??= this.options.machines.drivers().catch((err) => {
      this.catalog = null;
      throw err;
    });
    return this.catalog;
  }

  async driverChoices(request: ChoicesRequest): Promise<DriverChoices> {
    const catalog = await this.listDrivers();
    const driver = catalog.drivers.find((d) => d.name === request.driver);
    if (!driver) throw new MoorError(`Driver "${request.driver}" not found`);
    const flag = driver.flags.find((f) => f.name === request.flag);
    if (!flag) throw new MoorError(`The ${driver.name} driver has no flag --${request.flag}`);
    const source = flag.choices;
    const backend = this.options.machines;
    if (!source || !backend.choices) throw new MoorError(`--${flag.name} has no list of values to offer`);
    // Only the driver's secret flags are passed on (the token the form holds).
    const secretNames = new Set(driver.flags.filter((f) => f.secret).map((f) => f.name));
    const given = Object.fromEntries(
      Object.entries(request.credentials ?? {}).filter(([k, v]) => secretNames.has(k) && v.trim() !== ''),
    );
    const hash = createHash('sha256')
      .update(JSON.stringify(Object.entries(given).sort()))
      .digest('hex');
    const key = `${driver.name}\0${source}\0${hash}`;
    const cached = this.choicesCache.get(key);
    if (cached && !request.refresh) {
      const answer = await cached;
      if (Date.now() - answer.fetchedAt < CHOICES_TTL_MS) return { ...answer, flag: flag.name };
    }
    const fetching = backend.choices(driver.name, source, given).then(
      (choices) => ({ driver: driver.name, flag: flag.name, choices, fetchedAt: Date.now() }),
      (err: unknown) => {
        if (this.choicesCache.get(key) === fetching) this.choicesCache.delete(key);
        throw err;
      },
    );
    this.choicesCache.set(key, fetching);
    return fetching;
  }

  async createMachine(request: CreateRequest): Promise<{ operationId: string }> {
    validateMachineName(request.name);
    const catalog = await this.listDrivers();
    const driver = catalog.drivers.find((d) => d.name === request.driver);
    if (!driver) throw new MoorError(`Driver "${request.driver}" not found`);
    if (this.busy.has(request.name) || this.rows.some((r) => r.name === request.name)) {
      throw new MoorError(`Docker machine "${request.name}" already exists`);
    }
    const secrets = new Set(
      [...driver.flags, ...catalog.commonFlags].filter((f) => f.secret).map((f) => f.name),
    );
    const shown: CreateRequest = {
      ...request,
      flags: Object.fromEntries(Object.entries(request.flags).filter(([k]) => !secrets.has(k))),
    };
    const op = this.beginOperation('create', request.name, request.driver, shown);
    this.setBusy(request.name, 'creating');
    this.settle(
      op,
      this.options.machines.create(request, (event) => this.logProgress(op, event), op.controller.signal),
      // core/create.ts MachineKeptError (matched by name: that module loads lazily).
      (err) => (err as Error | undefined)?.name === 'MachineKeptError',
    );
    return { operationId: op.info.id };
  }

  private beginOperation(
    kind: OperationInfo['kind'],
    machine: string,
    driver: string,
    request: CreateRequest,
  ): Operation {
    // dispose() would neither abort nor wait for an operation started after it.
    if (this.disposed) throw new MoorError('Moor is quitting');
    const op: Operation = {
      info: {
        id: randomUUID(),
        kind,
        machine,
        driver,
        status: 'running',
        request,
        error: '',
        machineKept: false,
        startedAt: Date.now(),
        endedAt: null,
      },
      log: [],
      controller: new AbortController(),
      done: Promise.resolve(),
    };
    this.operations.set(op.info.id, op);
    this.emit('createProgress', { operation: op.info, event: null });
    return op;
  }

  private logProgress(op: Operation, event: ProgressEvent): void {
    if (op.log.length >= OPERATION_LOG_LIMIT) op.log.splice(0, op.log.length - OPERATION_LOG_LIMIT + 1);
    op.log.push(event);
    this.emit('createProgress', { operation: op.info, event });
  }

  /** Ends `op` when `work` settles: succeeded, cancelled (aborted) or failed with its error. */
  private settle(op: Operation, work: Promise<void>, machineKept: (err: unknown) => boolean): void {
    op.done = work.then(
      () => this.endOperation(op, 'succeeded', ''),
      (err: unknown) =>
        this.endOperation(
          op,
          op.controller.signal.aborted ? 'cancelled' : 'failed',
          errorMessage(err),
          machineKept(err),
        ),
    );
  }

  private endOperation(
    op: Operation,
    status: OperationInfo['status'],
    error: string,
    machineKept = false,
  ): void {
    op.info = { ...op.info, status, error, machineKept, endedAt: Date.now() };
    this.busy.delete(op.info.machine);
    // A create that rolled back removed its machine: the list says so before the operation's end
    // is told (a poll taken while it ran still holds the row until the next one finishes).
    if (op.info.kind === 'create' && status !== 'succeeded' && !machineKept) {
      this.rows = this.rows.filter((r) => r.name !== op.info.machine);
    }
    this.pushMachines();
    this.emit('createProgress', { operation: op.info, event: null });
    const notice = operationNotice(op.info);
    if (notice && !this.disposed) this.report(notice);
    this.pruneOperations();
    if (!this.disposed) void this.refresh();
  }

  private pruneOperations(): void {
    const finished = [...this.operations.values()].filter((o) => o.info.status !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_OPERATIONS))) {
      this.operations.delete(old.info.id);
    }
  }

  async cancelCreate({ operationId }: InvokeArgs<'cancelCreate'>): Promise<void> {
    const op = this.operations.get(operationId);
    if (!op) throw new MoorError(`No operation ${operationId}`);
    if (op.info.status === 'running') op.controller.abort(new MoorError('Cancelled by the user'));
  }

  private async runAction(action: MachineAction, name: string): Promise<void> {
    if (this.busy.has(name)) throw new MoorError(`"${name}" is busy (${this.busy.get(name)})`);
    const row = this.rows.find((r) => r.name === name);
    if (!row) throw new MoorError(`Docker machine "${name}" does not exist`);
    // Refused before anything runs (or is marked busy): the driver cannot do it.
    if (!canPower(row.capabilities, action)) {
      throw new MoorError(unsupportedActionMessage(row.driver, action, name));
    }
    this.setBusy(name, ACTION_BUSY[action]);
    try {
      await this.options.machines.action(action, name);
      // Only a user action that worked records intent: stop/kill mark the machine so that nothing
      // automatic brings it back; start/restart clear the mark. A failed one changes nothing.
      if (action === 'stop' || action === 'kill' || action === 'hibernate') this.stoppedByUser.add(name);
      else this.stoppedByUser.delete(name);
    } finally {
      this.setBusy(name, null);
      await this.refresh();
    }
  }

  /**
   * A schedule's start or stop: shown busy like a user's action. A scheduled start is the user's
   * own setting, so it lifts the stopped-by-user mark; a machine already so is left alone.
   */
  private async runScheduledAction(
    name: string,
    scheduled: ScheduleAction,
    how?: { hibernate?: boolean },
  ): Promise<void> {
    if (this.busy.has(name)) throw new MoorError(`"${name}" is busy (${this.busy.get(name)})`);
    if (scheduled === 'start') this.stoppedByUser.delete(name);
    const action = scheduled === 'stop' && how?.hibernate ? 'hibernate' : scheduled;
    this.setBusy(name, ACTION_BUSY[action]);
    try {
      await this.options.machines.action(action, name);
    } catch (err) {
      if (!/is already (running|stopped|hibernated)/.test(errorMessage(err))) throw err;
    } finally {
      this.setBusy(name, null);
      await this.refresh();
    }
  }

  /** The schedule loop (tests: tick after moving the fake clock). */
  get scheduleService(): ScheduleService {
    return this.schedules;
  }

  listSchedules(): Promise<ScheduleInfo[]> {
    return this.schedules.list();
  }
  getSchedule({ name }: InvokeArgs<'getSchedule'>): Promise<ScheduleInfo> {
    return this.schedules.get(name);
  }
  setSchedule(args: InvokeArgs<'setSchedule'>): Promise<ScheduleInfo> {
    return this.schedules.set(args);
  }
  clearSchedule({ name }: InvokeArgs<'clearSchedule'>): Promise<void> {
    return this.schedules.clear(name);
  }
  postponeStop({ name, hours }: InvokeArgs<'postponeStop'>): Promise<{ until: number }> {
    return this.schedules.postpone(name, hours);
  }
  pauseScheduleToday({ name }: InvokeArgs<'pauseScheduleToday'>): Promise<{ until: number }> {
    return this.schedules.pauseToday(name);
  }

  /** Bounded like the list: each host's /info within 1 s, a manager's node list within 5 s. */
  async listClusters(): Promise<SwarmClusterInfo[]> {
    const { listSwarms } = await import('../core/swarm/index.js');
    const ctx = { store: this.options.store, env: this.options.env, signal: AbortSignal.timeout(5_000) };
    return listSwarms(ctx, undefined, 1_000);
  }

  /** Shown as the node's busy state while it drains and leaves (no other action meanwhile). */
  async swarmLeave({ name, force }: InvokeArgs<'swarmLeave'>): Promise<void> {
    if (this.busy.has(name)) throw new MoorError(`"${name}" is busy (${this.busy.get(name)})`);
    if (!this.rows.some((r) => r.name === name))
      throw new MoorError(`Docker machine "${name}" does not exist`);
    const { leaveSwarm } = await import('../core/swarm/index.js');
    this.setBusy(name, 'leaving-swarm');
    try {
      await leaveSwarm({ store: this.options.store, env: this.options.env }, name, { force });
    } finally {
      this.setBusy(name, null);
      await this.refresh();
    }
  }

  start({ name }: InvokeArgs<'start'>): Promise<void> {
    return this.runAction('start', name);
  }
  stop({ name }: InvokeArgs<'stop'>): Promise<void> {
    return this.runAction('stop', name);
  }
  restart({ name }: InvokeArgs<'restart'>): Promise<void> {
    return this.runAction('restart', name);
  }
  kill({ name }: InvokeArgs<'kill'>): Promise<void> {
    return this.runAction('kill', name);
  }
  hibernate({ name }: InvokeArgs<'hibernate'>): Promise<void> {
    return this.runAction('hibernate', name);
  }
  wake({ name }: InvokeArgs<'wake'>): Promise<void> {
    return this.runAction('wake', name);
  }

  async remove({ name, force }: InvokeArgs<'remove'>): Promise<void> {
    if (this.busy.has(name)) throw new MoorError(`"${name}" is busy (${this.busy.get(name)})`);
    for (const session of this.terminals.values()) {
      if (session.machine === name) this.endTerminal(session);
    }
    this.setBusy(name, 'removing');
    try {
      await this.options.machines.remove(name, Boolean(force));
      this.stoppedByUser.delete(name);
    } finally {
      this.setBusy(name, null);
      await this.refresh();
    }
  }

  /** `name` null = the default context (a machine may itself be named "default"). */
  async setActiveHost({ name }: InvokeArgs<'setActiveHost'>): Promise<void> {
    if (name !== null && !this.rows.some((r) => r.name === name)) {
      throw new MoorError(`Docker machine "${name}" does not exist`);
    }
    await this.options.active.use(name);
    // The backend knows the context's real name (a machine's context may be prefixed).
    const fallback: ActiveHost = { machine: name, context: name ?? DEFAULT_CONTEXT };
    this.setActive(await this.options.active.current().catch(() => fallback));
  }

  async regenerateCerts({ name }: InvokeArgs<'regenerateCerts'>): Promise<{ operationId: string }> {
    if (this.busy.has(name)) throw new MoorError(`"${name}" is busy (${this.busy.get(name)})`);
    const row = this.rows.find((r) => r.name === name);
    // Checked before anything is marked busy: a missing machine must not show as provisioning.
    if (!row && !(await this.options.store.exists(name))) {
      throw new MoorError(`Docker machine "${name}" does not exist`);
    }
    const op = this.beginOperation('regenerate-certs', name, row?.driver ?? '', {
      name,
      driver: row?.driver ?? '',
      flags: {},
    });
    this.setBusy(name, 'provisioning');
    this.settle(
      op,
      this.options.machines.regenerateCerts(
        name,
        (event) => this.logProgress(op, event),
        op.controller.signal,
      ),
      () => false,
    );
    return { operationId: op.info.id };
  }

  /** `moor provision NAME` from the app: finishes a create that kept its machine, or repairs one. */
  async provisionMachine({ name }: InvokeArgs<'provisionMachine'>): Promise<{ operationId: string }> {
    if (this.busy.has(name)) throw new MoorError(`"${name}" is busy (${this.busy.get(name)})`);
    const row = this.rows.find((r) => r.name === name);
    if (!row && !(await this.options.store.exists(name))) {
      throw new MoorError(`Docker machine "${name}" does not exist`);
    }
    const driver = row?.driver ?? '';
    const op = this.beginOperation('provision', name, driver, { name, driver, flags: {} });
    this.setBusy(name, 'provisioning');
    this.settle(
      op,
      this.options.machines.provision(name, (event) => this.logProgress(op, event), op.controller.signal),
      () => true, // provisioning never removes the machine: it stays for another try
    );
    return { operationId: op.info.id };
  }

  async inspect({ name }: InvokeArgs<'inspect'>): Promise<MachineDetails> {
    const summary = this.machines().find((m) => m.name === name);
    if (!summary) throw new MoorError(`Docker machine "${name}" does not exist`);
    return machineDetails(this.options.store, summary);
  }

  // ---- terminals ----

  private terminal(id: string): TerminalSession {
    const session = this.terminals.get(id);
    if (!session) throw new MoorError('This terminal session no longer exists');
    return session;
  }

  private pushTerminals(): void {
    this.emit('terminalsChanged', { terminals: [...this.terminals.values()].map((t) => t.info()) });
  }

  /** "name", then "name #2", ...: the lowest number no open session of the machine uses. */
  private terminalTitle(machine: string): string {
    const taken = new Set([...this.terminals.values()].map((t) => t.title));
    const title = (n: number) => (n > 1 ? `${machine} #${n}` : machine);
    let n = 1;
    while (taken.has(title(n))) n++;
    return title(n);
  }

  async terminalOpen({ machine, rows, cols }: InvokeArgs<'terminalOpen'>): Promise<TerminalAttachResult> {
    const target = await this.options.machines.sshTarget(machine);
    if (!target) throw new MoorError(`"${machine}" has no SSH access (driver without SSH)`);
    const open = await this.options.openShell(target, { rows, cols, term: 'xterm-256color' });
    const session = new TerminalSession(machine, this.terminalTitle(machine), open, this.emit, () =>
      this.pushTerminals(),
    );
    this.terminals.set(session.id, session);
    this.pushTerminals();
    return { info: session.info(), replay: '' };
  }

  async terminalAttach({ id, rows, cols }: InvokeArgs<'terminalAttach'>): Promise<TerminalAttachResult> {
    const result = this.terminal(id).attach(rows, cols);
    this.pushTerminals();
    return result;
  }

  async terminalDetach({ id }: InvokeArgs<'terminalDetach'>): Promise<void> {
    this.terminal(id).detach();
    this.pushTerminals();
  }

  private endTerminal(session: TerminalSession): void {
    session.close();
    this.terminals.delete(session.id);
    this.pushTerminals();
  }

  async terminalClose({ id }: InvokeArgs<'terminalClose'>): Promise<void> {
    const session = this.terminals.get(id);
    if (session) this.endTerminal(session);
  }

  async terminalResize({ id, rows, cols }: InvokeArgs<'terminalResize'>): Promise<void> {
    this.terminal(id).resize(rows, cols);
  }

  async terminalWrite({ id, data }: InvokeArgs<'terminalWrite'>): Promise<void> {
    this.terminal(id).write(data);
  }

  async terminalAck({ id, chars }: InvokeArgs<'terminalAck'>): Promise<void> {
    this.terminals.get(id)?.ack(chars); // a late ack for an ended session is harmless
  }

  async listTerminals(): Promise<TerminalInfo[]> {
    return [...this.terminals.values()].map((t) => t.info());
  }

  async revealInFolder({ name }: InvokeArgs<'revealInFolder'>): Promise<{ path: string }> {
    const { store, revealPath } = this.options;
    if (!(await store.exists(name))) throw new MoorError(`Docker machine "${name}" does not exist`);
    if (!revealPath) throw new MoorError('Showing files is not available here');
    const config = store.configPath(name);
    const { existsSync } = await import('node:fs');
    const path = existsSync(config) ? config : store.machineDir(name);
    await revealPath(path);
    return { path };
  }

  async pickFile(args: InvokeArgs<'pickFile'>): Promise<{ path: string | null }> {
    const { pickFile } = this.options;
    if (!pickFile) throw new MoorError('Choosing files is not available here');
    return { path: await pickFile(args) };
  }

  async checkKeyFile({ path }: InvokeArgs<'checkKeyFile'>): Promise<KeyFileCheck> {
    const { checkKeyFile } = await import('../ssh/check.js');
    return checkKeyFile(path);
  }

  async testConnection(request: InvokeArgs<'testConnection'>): Promise<ConnectionTestResult> {
    const { validateHostAddress } = await import('../base/validate-input.js');
    validateHostAddress(request.ip, 'invalid IP address');
    const { testConnection } = await import('../ssh/check.js');
    return testConnection(request);
  }

  private currentSettings(): AppSettings {
    const login = this.options.loginItem;
    return { ...this.prefs, openAtLogin: login ? login.get() : null };
  }

  async settings(): Promise<{ settings: AppSettings; about: AboutInfo }> {
    return {
      settings: this.currentSettings(),
      about: {
        version: this.options.version ?? '',
        storePath: this.options.store.root,
        platform: process.platform,
        versions: this.options.versions ?? { node: process.versions.node },
      },
    };
  }

  async updateSettings(change: InvokeArgs<'updateSettings'>): Promise<AppSettings> {
    if (change.defaultDriver !== undefined) {
      const catalog = await this.listDrivers();
      if (!catalog.drivers.some((d) => d.name === change.defaultDriver)) {
        throw new MoorError(`Driver "${change.defaultDriver}" not found`);
      }
    }
    if (change.openAtLogin !== undefined) {
      if (!this.options.loginItem) throw new MoorError('Starting at login is not available in this build');
      this.options.loginItem.set(change.openAtLogin);
    }
    const next: Preferences = {
      defaultDriver: change.defaultDriver ?? this.prefs.defaultDriver,
      notifications: change.notifications ?? this.prefs.notifications,
    };
    await this.preferences.save(next);
    this.prefs = next;
    return this.currentSettings();
  }

  async readLogs({ operationId }: InvokeArgs<'readLogs'>): Promise<ProgressEvent[]> {
    const op = this.operations.get(operationId);
    if (!op) throw new MoorError(`No operation ${operationId}`);
    return [...op.log];
  }
}
