/**
 * The machine service layer shared by the CLI and the app: create, list, act on and remove
 * machines. No console output and no electron: progress goes through a ProgressReporter, results
 * are returned as data, user-facing failures are MoorErrors worded like docker-machine's.
 */
import { bootstrapCertificates, copyClientCertsToMachine } from '../certs/index.js';
import { engineVersion, readEngineTls, waitForEngine } from '../docker/engine.js';
import { loadDriver } from '../drivers/registry.js';
import type { Driver, DriverModule, FlagValues } from '../drivers/types.js';
import type { SecretStore } from '../secrets/types.js';
import {
  type AuthOptions,
  baseDriverConfig,
  type EngineOptions,
  type HostConfig,
  newHostConfig,
  type SwarmOptions,
} from '../store/config.js';
import { authPaths } from '../store/paths.js';
import { type Store, type StoreEntry, validateMachineName } from '../store/store.js';
import { type DriverOptions, driverContext, driverFor } from './driver-context.js';
import { CancelledError, errorMessage, MoorError, PreCreateError } from './errors.js';
import {
  clearCreateMarker,
  markCreateInProgress,
  type RecoveryResult,
  recoverInterruptedCreate,
  recoverInterruptedCreates,
} from './interrupted-create.js';
import {
  type FilterOptions,
  matchesHostFilters,
  matchesStateFilter,
  naturalCompare,
} from './machine-filters.js';
import { type ProgressReporter, silentProgress } from './progress.js';
import { sleep as abortableSleep } from './sleep.js';
import type { MachineState } from './state.js';

export { CancelledError } from './errors.js';

/**
 * How long `ls`/`active` wait for one host. docker-machine waited 10 s, so one dead host stalled
 * the whole listing; a live engine answers a TLS /version in well under a second, even far away.
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 1_000;

/** How long `ls` waits for the cleanup of interrupted creates (see interrupted-create.ts). */
const RECOVERY_TIMEOUT_MS = 10_000;

/** docker-machine's mcnutils.WaitFor: 60 tries, 3 s apart. */
export const DEFAULT_WAIT = { tries: 60, intervalMs: 3_000 };

export { type DriverOptions, driverContext, driverFor } from './driver-context.js';

// ---------------------------------------------------------------------------------------------
// Listing

/** One row of `ls`: docker-machine's HostListItem, field for field (the --format names). */
export interface HostListItem {
  Name: string;
  /** "-", "*" or "* (swarm)"; empty for timed-out hosts. */
  Active: string;
  ActiveHost: boolean;
  ActiveSwarm: boolean;
  DriverName: string;
  State: MachineState;
  URL: string;
  SwarmOptions: SwarmOptions | null;
  Swarm: string;
  EngineOptions: EngineOptions | null;
  Error: string;
  DockerVersion: string;
  /** Milliseconds the query of this host took. */
  ResponseTime: number;
}

export interface ListOptions {
  store: Store;
  /** Per-host bound; a host that has not answered by then is listed as Timeout. */
  timeoutMs?: number;
  filters?: FilterOptions;
  /** Where DOCKER_HOST is read from (the ACTIVE column). */
  env?: NodeJS.ProcessEnv;
  /** Told about each interrupted create that was cleaned up (or could not be) before listing. */
  onRecovered?: (result: RecoveryResult) => void;
  /** The app's secret store (safeStorage), so drivers can read tokens it keeps. */
  secrets?: SecretStore;
}

/**
 * Every machine with its live state, sorted like docker-machine's table (natural order of the
 * lowercased names). All hosts are queried at once and each is bounded by the timeout, so the
 * call takes at most about `timeoutMs` however many hosts hang. Machines that fail to load are
 * rows with State Error and the reason; filters never hide them.
 */
export async function listMachines(options: ListOptions): Promise<HostListItem[]> {
  const { store, filters } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const env = options.env ?? process.env;
  await recoverBeforeListing(options);
  const entries = await store.list();
  const hosts = loadedHosts(entries);
  const swarmMasters = swarmMastersOf(hosts);
  const selected = filters ? hosts.filter((h) => matchesHostFilters(h, filters, swarmMasters)) : hosts;

  const items = await Promise.all(
    selected.map((host) => queryHost(store, host, timeoutMs, env, options.secrets)),
  );
  if (!env.DOCKER_HOST) {
    // No DOCKER_HOST: the machine the Docker context selects (moor use) is the active one.
    const { activeMachineFromContext } = await import('../docker/contexts/resolve.js');
    const fromContext = await activeMachineFromContext(store.root, env).catch(() => null);
    for (const item of items) {
      if (item.Name !== fromContext || item.State !== 'Running') continue;
      item.ActiveHost = true;
      item.Active = '*';
    }
  }
  const kept = filters ? items.filter((item) => matchesStateFilter(item.State, filters)) : items;
  for (const item of kept) item.Swarm = swarmColumn(item, swarmMasters);
  for (const entry of entries) if (entry.error) kept.push(errorItem(entry.name, entry.error));
  return kept.sort((a, b) => naturalCompare(a.Name.toLowerCase(), b.Name.toLowerCase()));
}

/** Names `ls -q` prints: loaded machines in store (byte) order, filtered; broken ones are left out. */
export async function listMachineNames(options: ListOptions): Promise<string[]> {
  const { store, filters } = options;
  if (filters && filters.State.length > 0) {
    // Filtering by state needs every host's live state: listMachines (which also recovers) has it.
    const items = await listMachines(options);
    const keep = new Set(items.filter((i) => i.DriverName !== 'not found').map((i) => i.Name));
    return (await store.names()).filter((n) => keep.has(n));
  }
  await recoverBeforeListing(options);
  const hosts = loadedHosts(await store.list());
  if (!filters) return hosts.map((h) => h.Name);
  const masters = swarmMastersOf(hosts);
  return hosts.filter((h) => matchesHostFilters(h, filters, masters)).map((h) => h.Name);
}

/** A create killed mid-way (kill -9) left a record: delete what it made (bounded, ls stays fast). */
async function recoverBeforeListing(options: ListOptions): Promise<void> {
  const recovered = await recoverInterruptedCreates(options.store, {
    env: options.env ?? process.env,
    timeoutMs: RECOVERY_TIMEOUT_MS,
    secrets: options.secrets,
  });
  for (const r of recovered) options.onRecovered?.(r);
}

function loadedHosts(entries: StoreEntry[]): HostConfig[] {
  return entries.flatMap((e) => (e.config ? [e.config] : []));
}

function swarmMastersOf(hosts: HostConfig[]): Map<string, string> {
  const masters = new Map<string, string>();
  for (const h of hosts) {
    const swarm = h.HostOptions.SwarmOptions;
    if (swarm?.Master) masters.set(swarm.Discovery, h.Name);
  }
  return masters;
}

function swarmColumn(item: HostListItem, masters: Map<string, string>): string {
  const swarm = item.SwarmOptions;
  if (!swarm?.Discovery) return '';
  const master = masters.get(swarm.Discovery) ?? '';
  return swarm.Master ? `${master} (master)` : master;
}

function errorItem(name: string, error: string): HostListItem {
  return {
    Name: name,
    Active: '',
    ActiveHost: false,
    ActiveSwarm: false,
    DriverName: 'not found',
    State: 'Error',
    URL: '',
    SwarmOptions: null,
    Swarm: '',
    EngineOptions: null,
    Error: error.replace(/\n/g, ''),
    DockerVersion: '',
    ResponseTime: 0,
  };
}

/** Queries one host, bounded by `timeoutMs`: past it the row says Timeout and nothing waits on it. */
export async function queryHost(
  store: Store,
  host: HostConfig,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
  secrets?: SecretStore,
): Promise<HostListItem> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<HostListItem>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({
        ...baseItem(host),
        DriverName: host.DriverName,
        State: 'Timeout',
        ResponseTime: timeoutMs,
      });
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      attemptHostState(store, host, timeoutMs, env, controller.signal, secrets),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function baseItem(host: HostConfig): HostListItem {
  return {
    Name: host.Name,
    Active: '',
    ActiveHost: false,
    ActiveSwarm: false,
    DriverName: host.DriverName,
    State: '',
    URL: '',
    SwarmOptions: host.HostOptions.SwarmOptions ?? null,
    Swarm: '',
    EngineOptions: host.HostOptions.EngineOptions ?? null,
    Error: '',
    DockerVersion: '',
    ResponseTime: 0,
  };
}

/**
 * docker-machine's attemptGetHostState, with one deliberate change: where it assumed "URL known
 * ⇒ Running" (so a dead `none` host showed Running), a failed version query asks the driver
 * for the real state.
 */
async function attemptHostState(
  store: Store,
  host: HostConfig,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  secrets?: SecretStore,
): Promise<HostListItem> {
  const started = Date.now();
  const item = baseItem(host);
  item.Active = '-';
  item.DockerVersion = 'Unknown';
  let driver: Driver;
  try {
    driver = (await driverFor(store, host, { signal, env, secrets })).driver;
  } catch (err) {
    return { ...item, DriverName: 'not-found', State: 'Error', Error: errorMessage(err) };
  }

  let error = '';
  let url = '';
  try {
    url = await driver.url();
  } catch (err) {
    error = errorMessage(err);
  }
  const state = async (): Promise<MachineState> => {
    try {
      return await driver.state();
    } catch (err) {
      error ||= errorMessage(err);
      return 'Error';
    }
  };

  if (url && !error) {
    try {
      const tls = await readEngineTls(authPaths(host, store.root));
      item.DockerVersion = `v${await engineVersion(url, tls, timeoutMs, signal)}`;
      item.State = 'Running';
    } catch (err) {
      item.State = await state();
      if (item.State === 'Running') error ||= `Unable to query docker version: ${errorMessage(err)}`;
    }
  } else {
    item.State = await state();
  }

  if (error === 'Host is not running') error = '';
  item.URL = url;
  item.Error = error.replace(/\n/g, ' ');
  const dockerHost = env.DOCKER_HOST ?? '';
  item.ActiveHost = item.State === 'Running' && url === dockerHost;
  const swarm = host.HostOptions.SwarmOptions;
  item.ActiveSwarm =
    Boolean(swarm?.Master) && item.State === 'Running' && toSwarmUrl(url, swarm?.Host ?? '') === dockerHost;
  item.Active = item.ActiveSwarm ? '* (swarm)' : item.ActiveHost ? '*' : '-';
  item.ResponseTime = Date.now() - started;
  return item;
}

function lastPort(url: string): string {
  const parts = url.split(':');
  return parts[parts.length - 1] ?? '';
}

/** The swarm master's URL: the engine URL with the port of SwarmOptions.Host (docker-machine's toSwarmURL). */
export function toSwarmUrl(hostUrl: string, swarmHost: string): string {
  return hostUrl.replace(`:${lastPort(hostUrl)}`, `:${lastPort(swarmHost)}`);
}

/**
 * The machine `DOCKER_HOST` points at (docker-machine's `active`): only hosts whose URL matches
 * are asked for their state, so unrelated dead hosts cost nothing.
 */
export async function findActiveMachine(options: ListOptions): Promise<string> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const dockerHost = env.DOCKER_HOST ?? '';
  if (!dockerHost) throw new MoorError('No active host found');
  const hosts = loadedHosts(await options.store.list()).sort((a, b) =>
    naturalCompare(a.Name.toLowerCase(), b.Name.toLowerCase()),
  );
  const candidates = await Promise.all(
    hosts.map(async (host) => {
      const swarm = host.HostOptions.SwarmOptions;
      const urls = await withTimeout(
        (async () => {
          const { driver } = await driverFor(options.store, host, { env });
          const url = await driver.url();
          return [url, swarm?.Master ? toSwarmUrl(url, swarm.Host) : ''];
        })(),
        timeoutMs,
      ).catch(() => ['', '']);
      return urls === TIMEOUT || urls.includes(dockerHost) ? host : undefined;
    }),
  );
  const items = await Promise.all(
    candidates.flatMap((h) => (h ? [queryHost(options.store, h, timeoutMs, env)] : [])),
  );
  const active = items.find((i) => i.ActiveHost || i.ActiveSwarm);
  if (active) return active.Name;
  if (items.some((i) => i.State === 'Timeout')) throw new MoorError('Error getting active host: timeout');
  throw new MoorError('No active host found');
}

const TIMEOUT = Symbol('timeout');

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<typeof TIMEOUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMEOUT), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// One machine

/** The driver's state (what `status` prints); errors worded like docker-machine's. */
export async function hostState(
  store: Store,
  host: HostConfig,
  options: DriverOptions = {},
): Promise<MachineState> {
  const { driver } = await driverFor(store, host, options);
  try {
    return await driver.state();
  } catch (err) {
    throw new MoorError(`error getting state for host ${host.Name}: ${errorMessage(err)}`);
  }
}

/**
 * docker-machine's MachineConnChecker: the engine URL (or the swarm master's with `swarm`), after
 * a real TLS handshake with the machine's certificates. `env` and `config` print nothing unless it
 * passes; the error tells how to regenerate the certificates.
 */
export async function checkedDockerHost(
  store: Store,
  host: HostConfig,
  options: { swarm?: boolean; timeoutMs?: number; programName?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const { driver } = await driverFor(store, host, { env: options.env });
  const dockerHost = await driver.url();
  let dockerUrl = dockerHost;
  if (options.swarm) {
    const swarm = host.HostOptions.SwarmOptions;
    if (!swarm?.Master) {
      throw new MoorError(
        `"${host.Name}" is not a swarm master. The --swarm flag is intended for use with swarm masters`,
      );
    }
    const swarmPort = lastPort(swarm.Host);
    const machineIp = new URL(dockerHost).hostname;
    dockerUrl = `tcp://${machineIp}:${swarmPort}`;
  }
  let hostPort: string;
  try {
    hostPort = new URL(dockerUrl).host;
  } catch (err) {
    throw new MoorError(`Error parsing URL: ${errorMessage(err)}`);
  }
  const { checkEngineTls } = await import('../docker/tls-check.js');
  try {
    const creds = await readEngineTls(authPaths(host, store.root)).catch((err: NodeJS.ErrnoException) => {
      throw new Error(
        err.code === 'ENOENT' ? `open ${err.path}: no such file or directory` : errorMessage(err),
      );
    });
    await checkEngineTls(hostPort, creds, options.timeoutMs);
  } catch (err) {
    const program = options.programName ?? 'moor';
    throw new MoorError(
      `Error checking and/or regenerating the certs: There was an error validating certificates for host "${hostPort}": ${errorMessage(err)}\n` +
        `You can attempt to regenerate them using '${program} regenerate-certs [name]'.\n` +
        'Be advised that this will trigger a Docker daemon restart which might stop running containers.\n',
    );
  }
  return dockerUrl;
}

export type MachineAction = 'start' | 'stop' | 'restart' | 'kill';

export interface ActionOptions {
  store: Store;
  progress?: ProgressReporter;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** The app's secret store (safeStorage), so drivers can read tokens it keeps. */
  secrets?: SecretStore;
  /** How to wait for the desired state (docker-machine: 60 × 3 s). */
  wait?: { tries: number; intervalMs: number };
}

/**
 * start/stop/restart/kill of one machine with docker-machine's semantics: "already running"
 * errors, a wait for the desired state and, after start/restart, a wait for the engine. The
 * driver's config (an IP that changed on start, ...) is saved when it changed.
 */
export async function runMachineAction(
  name: string,
  action: MachineAction,
  options: ActionOptions,
): Promise<void> {
  const { store } = options;
  const progress = options.progress ?? silentProgress(name);
  const wait = options.wait ?? DEFAULT_WAIT;
  const host = await store.load(name);
  const before = JSON.stringify(host.Driver);
  const ipBefore = host.Driver.IPAddress ?? '';
  const { driver } = await driverFor(store, host, { ...options, progress });
  const inState = async (desired: MachineState) => (await driver.state().catch(() => 'Error')) === desired;
  const forState = async (verb: () => Promise<void>, desired: MachineState) => {
    if (await inState(desired)) {
      throw new MoorError(`Machine "${name}" is already ${desired.toLowerCase()}.`);
    }
    await verb();
    await waitForState(driver, desired, wait, options.signal);
  };

  /** After a power-on: follow the machine to a new IP, then wait for its engine. */
  const untilDockerAnswers = async () => {
    const ipNow = driver.config.IPAddress ?? '';
    if (ipBefore && ipNow && ipNow !== ipBefore) {
      const { followNewAddress } = await import('./new-address.js');
      await followNewAddress({ store, host, driver, ipBefore, ipNow, progress, signal: options.signal });
    }
    await waitForDocker(store, host, driver, ipBefore, options.signal);
  };

  let failure: unknown;
  try {
    switch (action) {
      case 'start':
        progress.step('start', `Starting "${name}"...`);
        await forState(() => driver.start(), 'Running');
        progress.done(`Machine "${name}" was started.`);
        await untilDockerAnswers();
        break;
      case 'stop':
        progress.step('stop', `Stopping "${name}"...`);
        await forState(() => driver.stop(), 'Stopped');
        progress.done(`Machine "${name}" was stopped.`);
        break;
      case 'kill':
        progress.step('kill', `Killing "${name}"...`);
        await forState(() => driver.kill(), 'Stopped');
        progress.done(`Machine "${name}" was killed.`);
        break;
      case 'restart':
        progress.step('restart', `Restarting "${name}"...`);
        if (await inState('Stopped')) {
          progress.step('start', `Starting "${name}"...`);
          await forState(() => driver.start(), 'Running');
          progress.done(`Machine "${name}" was started.`);
        } else if (await inState('Running')) {
          await driver.restart();
          await waitForState(driver, 'Running', wait, options.signal);
        }
        await untilDockerAnswers();
        break;
    }
  } catch (err) {
    failure = err;
  }
  // Saved also when the action failed part-way: a machine that got a new IP keeps it on record.
  if (JSON.stringify(driver.config) !== before) {
    const updated = await store.update(name, (config) => {
      config.Driver = driver.config;
    });
    if (action === 'start' || action === 'restart') {
      // A new IP on start: the machine's Docker context must point at it too.
      const { syncMachineContextOrWarn } = await import('../docker/contexts/hooks.js');
      await syncMachineContextOrWarn(updated, store.root, {
        env: options.env,
        driverUrl: () => driver.url(),
        warn: progress.warn,
      });
    }
  }
  if (failure !== undefined) throw failure;
}

/** Polls the driver until the machine is in `desired` (mcnutils.WaitFor + MachineInState). */
export async function waitForState(
  driver: Driver,
  desired: MachineState,
  wait: { tries: number; intervalMs: number } = DEFAULT_WAIT,
  signal?: AbortSignal,
): Promise<void> {
  for (let i = 0; i < wait.tries; i++) {
    throwIfAborted(signal);
    if ((await driver.state().catch(() => 'Error')) === desired) return;
    if (i < wait.tries - 1) await sleep(wait.intervalMs, signal);
  }
  throw new MoorError(`Maximum number of retries (${wait.tries}) exceeded`);
}

/**
 * docker-machine's WaitForDocker, fixed: it polled `netstat` over SSH for port 2376 whatever the
 * engine port; here the engine itself is asked over TLS, at the machine's real URL.
 */
async function waitForDocker(
  store: Store,
  host: HostConfig,
  driver: Driver,
  ipBefore: string,
  signal?: AbortSignal,
): Promise<void> {
  const ipNow = driver.config.IPAddress ?? '';
  const ipChanged = ipBefore !== '' && ipNow !== '' && ipNow !== ipBefore;
  const tries = 10;
  const url = await driver.url();
  const tls = await readEngineTls(authPaths(host, store.root));
  const result = await waitForEngine(url, tls, {
    tries,
    intervalMs: 3_000,
    pingTimeoutMs: 3_000,
    signal,
    retryOn: (err) => err instanceof MoorError,
  });
  if (!result.up && ipChanged) {
    // The server certificate names the old IP, so TLS to the new one fails (docker-machine too).
    throw new MoorError(
      `Unable to verify the Docker daemon is listening: "${host.Name}" came back with a new IP address ` +
        `(${ipBefore}, now ${ipNow}) and its server certificate names the old one: ` +
        `run "moor regenerate-certs ${host.Name}" to issue one for the new address`,
    );
  }
  if (!result.up) {
    throw new MoorError(
      `Unable to verify the Docker daemon is listening: Maximum number of retries (${tries}) exceeded`,
    );
  }
}

export interface RemoveResult {
  /** The local machine directory is gone. */
  removed: boolean;
  /** docker-machine's messages: `Error removing host "x": ...`, `Can't remove "x"`. */
  errors: string[];
}

/**
 * `rm` for one machine: the driver removes the remote resources, then the machine directory goes.
 * When the driver fails, the directory is kept unless `force` (so nothing is orphaned silently).
 */
export async function removeMachine(
  name: string,
  options: {
    store: Store;
    force?: boolean;
    progress?: ProgressReporter;
    env?: NodeJS.ProcessEnv;
    secrets?: SecretStore;
  },
): Promise<RemoveResult> {
  const { store } = options;
  const errors: string[] = [];
  // A create that was killed: clean up what it recorded (also when config.json never got written).
  const recovered = (await store.exists(name))
    ? await recoverInterruptedCreate(store, name, {
        env: options.env,
        progress: options.progress,
        secrets: options.secrets,
      })
    : null;
  if (recovered?.cleaned) return { removed: true, errors };
  let remoteOk = true;
  try {
    const host = await store.load(name);
    const { driver } = await driverFor(store, host, options);
    await driver.remove();
  } catch (err) {
    remoteOk = false;
    errors.push(`Error removing host "${name}": ${errorMessage(err)}`);
  }
  if (!remoteOk && !options.force) return { removed: false, errors };
  if (!(await store.exists(name))) {
    errors.push(`Can't remove "${name}"`);
    return { removed: false, errors };
  }
  await store.remove(name);
  const { removeMachineContextOrWarn } = await import('../docker/contexts/hooks.js');
  await removeMachineContextOrWarn(name, store.root, {
    env: options.env,
    warn: (message) => options.progress?.warn(message),
  });
  return { removed: true, errors };
}

// ---------------------------------------------------------------------------------------------
// Create

export interface CreateMachineRequest {
  store: Store;
  name: string;
  driverName: string;
  /** Values of the driver's flags, by FlagSpec name (defaults are applied here when missing). */
  flagValues: FlagValues;
  engine?: Partial<EngineOptions>;
  swarm?: Partial<SwarmOptions>;
  /** --tls-san extras for the server certificate. */
  tlsSans?: string[];
  /** The global --tls-ca-cert & co; empty means the store's certs/. */
  tlsPaths?: Partial<
    Pick<AuthOptions, 'CaCertPath' | 'CaPrivateKeyPath' | 'ClientCertPath' | 'ClientKeyPath'>
  >;
  /** Keep the machine directory (and the driver's resources) when create fails, for debugging. */
  keepOnFailure?: boolean;
  progress: ProgressReporter;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Where a driver keeps credentials (the app's safeStorage adapter); unset: the OS keychain. */
  secrets?: SecretStore;
  /** How to wait for the machine to run before provisioning (docker-machine: 60 × 3 s). */
  wait?: { tries: number; intervalMs: number };
}

/** Applies FlagSpec defaults to the values the user gave (the CLI already did; the app may not). */
export function withFlagDefaults(module: DriverModule, values: FlagValues): FlagValues {
  const out: FlagValues = { ...values };
  for (const flag of module.flags) {
    if (out[flag.name] === undefined) {
      out[flag.name] =
        flag.default ?? (flag.type === 'bool' ? false : flag.type === 'string[]' ? [] : undefined);
    }
  }
  return out;
}

/**
 * libmachine's Create: validate, bootstrap the store's certificates, pre-create check, claim the
 * machine directory, save, create, save, then (for drivers that provision) wait for Running and
 * provision over SSH. Any failure or abort after the directory was claimed removes what was
 * created (driver.remove, then the directory) unless `keepOnFailure`: no half-made machines and
 * no orphaned cloud resources (when driver.remove fails, the directory stays as their record).
 */
export async function createMachine(request: CreateMachineRequest): Promise<HostConfig> {
  const { store, name, progress, signal } = request;
  const env = request.env ?? process.env;
  const module = await loadDriver(request.driverName);
  validateMachineName(name);
  const discovery = request.swarm?.Discovery ?? '';
  if (discovery && !/[^:]*:\/\/.*/.test(discovery)) {
    throw new MoorError(
      `Error parsing swarm discovery: Swarm Discovery URL was in the wrong format: ${discovery}`,
    );
  }
  if (await store.exists(name)) throw new MoorError(`Docker machine "${name}" already exists`);

  const ctx = driverContext(store, name, { progress, signal, env, secrets: request.secrets });
  let driverConfig: HostConfig['Driver'];
  try {
    driverConfig = await module.configFromFlags(
      withFlagDefaults(module, request.flagValues),
      baseDriverConfig(name, store.root),
      ctx,
    );
  } catch (err) {
    throw new MoorError(`Error setting machine configuration from flags provided: ${errorMessage(err)}`);
  }
  const host = newHostConfig({
    name,
    storePath: store.root,
    driverName: module.name,
    driver: driverConfig,
    engine: request.engine,
    swarm: request.swarm,
    tlsSans: request.tlsSans,
    tlsPaths: request.tlsPaths,
  });

  throwIfAborted(signal);
  const auth = host.HostOptions.AuthOptions;
  try {
    await bootstrapCertificates(
      {
        caCert: auth.CaCertPath,
        caKey: auth.CaPrivateKeyPath,
        clientCert: auth.ClientCertPath,
        clientKey: auth.ClientKeyPath,
      },
      progress,
    );
  } catch (err) {
    throw new MoorError(`Error generating certificates: ${errorMessage(err)}`);
  }

  const driver = module.open(host.Driver, ctx, host);
  progress.step('pre-create', 'Running pre-create checks...');
  try {
    throwIfAborted(signal);
    await driver.preCreateCheck();
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    throw new PreCreateError(errorMessage(err));
  }

  throwIfAborted(signal);
  await store.createMachineDir(name); // atomic claim: a concurrent create of this name fails here
  // Until this create finishes or rolls back: a kill -9 leaves a marker the next ls/rm acts on.
  await markCreateInProgress(store.machineDir(name)).catch(() => undefined);
  // The driver saves config.json as soon as it has made a cloud resource (droplet/key IDs).
  ctx.checkpoint = () => store.save(host);
  let created = false;
  try {
    await store.save(host);
    progress.step('create', 'Creating machine...');
    created = true; // from here on the driver may have made remote resources
    try {
      throwIfAborted(signal);
      await driver.create();
    } catch (err) {
      // Drivers stop with the signal's own reason (an AbortError): report it as the cancel it is.
      if (err instanceof CancelledError || signal?.aborted) throw new CancelledError();
      throw new MoorError(
        `Error creating machine: Error in driver during machine creation: ${errorMessage(err)}`,
      );
    }
    host.Driver = driver.config;
    await store.save(host);

    if (module.provisions) {
      progress.step('wait-running', 'Waiting for machine to be running, this may take a few minutes...');
      try {
        await waitForState(driver, 'Running', request.wait ?? DEFAULT_WAIT, signal);
      } catch (err) {
        if (err instanceof CancelledError) throw err;
        throw new MoorError(
          `Error creating machine: Error waiting for machine to be running: ${errorMessage(err)}`,
        );
      }
      throwIfAborted(signal);
      const { provisionMachine } = await import('../provision/index.js');
      try {
        await provisionMachine({ store, host, driver, progress, signal });
      } catch (err) {
        if (err instanceof CancelledError || signal?.aborted) throw new CancelledError();
        const message = errorMessage(err);
        const full = message.startsWith('Error creating machine')
          ? message
          : `Error creating machine: ${message}`;
        // A failure before anything changed on the host (wrong key, host key, OS) rolls back as usual.
        const hostTouched = (err as { hostTouched?: boolean }).hostTouched !== false;
        if (module.keepOnProvisionFailure && hostTouched) {
          // Nothing remote to roll back (the host is the user's): keep the machine so that
          // `moor provision` finishes the job without re-typing every flag.
          host.Driver = driver.config;
          await store.save(host);
          await clearCreateMarker(store.machineDir(name)).catch(() => undefined); // kept on purpose
          throw new MachineKeptError(
            `${full}\nThe machine "${name}" was kept: fix the cause, then run "moor provision ${name}" to finish (or "moor rm ${name}").`,
          );
        }
        throw new MoorError(full);
      }
      host.Driver = driver.config;
      await store.save(host);
    } else {
      // Provisioning copies ca.pem/cert.pem/key.pem into the machine directory, where `env`
      // points DOCKER_CERT_PATH; without this a `none` machine's env was unusable (docker-machine wart).
      await copyClientCertsToMachine(
        { caCert: auth.CaCertPath, clientCert: auth.ClientCertPath, clientKey: auth.ClientKeyPath },
        store.machineDir(name),
      );
    }
    await clearCreateMarker(store.machineDir(name));
    // Every machine gets its Docker context (`moor use NAME`); a failure there is only a warning.
    const { syncMachineContextOrWarn } = await import('../docker/contexts/hooks.js');
    await syncMachineContextOrWarn(host, store.root, {
      env,
      driverUrl: () => driver.url(),
      warn: progress.warn,
    });
    return host;
  } catch (err) {
    if (!(err instanceof MachineKeptError)) await rollBack(request, driver, created, err);
    throw err;
  }
}

/** A create that failed while provisioning a host Moor did not make: the machine stays in the store. */
export class MachineKeptError extends MoorError {
  constructor(message: string) {
    super(message);
    this.name = 'MachineKeptError';
  }
}

async function rollBack(request: CreateMachineRequest, driver: Driver, created: boolean, cause: unknown) {
  const { store, name, progress } = request;
  if (request.keepOnFailure) {
    await clearCreateMarker(store.machineDir(name)).catch(() => undefined);
    progress.warn(
      `Keeping the machine "${name}" as it is (--keep-on-failure); remove it with "moor rm ${name}".`,
    );
    return;
  }
  progress.warn(
    cause instanceof CancelledError
      ? `Create of "${name}" cancelled; removing what was created...`
      : `Removing the partially created machine "${name}"...`,
  );
  if (created) {
    try {
      await driver.remove();
    } catch (err) {
      // config.json (checkpointed by the driver) is the only record of what still exists: keep it,
      // with the create marker, so the next `ls` or `moor rm` retries instead of orphaning it.
      progress.warn(`Error removing the resources of "${name}": ${errorMessage(err)}`);
      progress.warn(
        `Keeping the machine "${name}" so that they can be removed later: run "moor rm ${name}".`,
      );
      return;
    }
  }
  await store.remove(name);
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Waits between tries; an abort rejects with CancelledError (what the CLI and the app expect). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return abortableSleep(ms, signal, () => new CancelledError());
}
