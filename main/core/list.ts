/**
 * Listing and querying machines (`ls`, `active`, `status`, `env`'s connection check), shared by the
 * CLI and the app. No console output: results are data, failures MoorErrors worded like docker-machine's.
 */
import { errorMessage, MoorError } from '../base/errors.js';
import type { HostReason, MachineState } from '../base/state.js';
import { engineVersion, isEngineUrl, readEngineTls } from '../docker/engine.js';
import type { Driver } from '../drivers/types.js';
import type { SecretStore } from '../secrets/types.js';
import { classifyDialError } from '../ssh/reachability.js';
import type { EngineOptions, HostConfig, SwarmOptions } from '../store/config.js';
import { authPaths } from '../store/paths.js';
import type { Store, StoreEntry } from '../store/store.js';
import { type DriverOptions, driverFor } from './driver-context.js';
import { type RecoveryResult, recoverInterruptedCreates } from './interrupted-create.js';
import {
  type FilterOptions,
  matchesHostFilters,
  matchesStateFilter,
  naturalCompare,
} from './machine-filters.js';

/**
 * How long `ls`/`active` wait for one host. docker-machine waited 10 s, so one dead host stalled
 * the whole listing; a live engine answers a TLS /version in well under a second, even far away.
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 1_000;

/** How long `ls` waits for the cleanup of interrupted creates (see interrupted-create.ts). */
const RECOVERY_TIMEOUT_MS = 10_000;

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

/**
 * A row of `ls` as the core returns it: docker-machine's fields, plus why the host is not simply
 * Running (for the app; `ls` prints docker-machine's ERRORS column, never this).
 */
export interface ListedHost extends HostListItem {
  reason: HostReason | null;
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
export async function listMachines(options: ListOptions): Promise<ListedHost[]> {
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

function errorItem(name: string, error: string): ListedHost {
  const text = error.replace(/\n/g, '');
  return {
    reason: { kind: 'config', address: '', text },
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
    Error: text,
    DockerVersion: '',
    ResponseTime: 0,
  };
}

/** What a host query is doing now: named in the reason of a query that runs out of time. */
interface Probe {
  kind: HostReason['kind'];
  address: string;
  label: string;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/** Queries one host, bounded by `timeoutMs`: past it the row says Timeout and nothing waits on it. */
export async function queryHost(
  store: Store,
  host: HostConfig,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
  secrets?: SecretStore,
): Promise<ListedHost> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const probe: Probe = { kind: 'driver', address: '', label: `the ${host.DriverName} driver` };
  const timedOut = new Promise<ListedHost>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({
        ...baseItem(host),
        DriverName: host.DriverName,
        State: 'Timeout',
        ResponseTime: timeoutMs,
        reason: {
          kind: 'timeout',
          address: probe.address,
          text: `${probe.label}: no answer after ${seconds(timeoutMs)}`,
        },
      });
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      attemptHostState(store, host, timeoutMs, env, controller.signal, probe, secrets),
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
  probe: Probe,
  secrets?: SecretStore,
): Promise<ListedHost> {
  const started = Date.now();
  const item = baseItem(host);
  item.Active = '-';
  item.DockerVersion = 'Unknown';
  let driver: Driver;
  try {
    driver = (await driverFor(store, host, { signal, env, secrets })).driver;
  } catch (err) {
    const text = errorMessage(err);
    return {
      ...item,
      DriverName: 'not-found',
      State: 'Error',
      Error: text,
      reason: { kind: 'driver', address: '', text: text.replace(/\n/g, ' ') },
    };
  }
  const check = driver.stateCheck?.();
  if (check) Object.assign(probe, { kind: 'ssh-port', ...check });
  let engineFailure: HostReason | null = null;

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
    const address = isEngineUrl(url) ? new URL(url).host : url;
    Object.assign(probe, { kind: 'engine', address, label: `engine ${address}` });
    try {
      const tls = await readEngineTls(authPaths(host, store.root));
      item.DockerVersion = `v${await engineVersion(url, tls, timeoutMs, signal)}`;
      item.State = 'Running';
    } catch (err) {
      item.State = await state();
      if (item.State === 'Running')
        error ||= `Unable to query docker version: ${dockerMachineEngineError(err)}`;
      engineFailure = {
        kind: 'engine',
        address,
        text: `${address}: ${engineProblem(err, address, timeoutMs)}`,
      };
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
  return { ...item, reason: reasonFor(item, driver, check, engineFailure) };
}

/** Why a listed host is not simply Running, from what its query saw; null when nothing to say. */
function reasonFor(
  item: HostListItem,
  driver: Driver,
  check: { address: string; label: string } | undefined,
  engineFailure: HostReason | null,
): HostReason | null {
  if (item.State === 'Running') return engineFailure;
  const failure = driver.lastStateFailure?.() ?? '';
  if (item.State === 'Stopped' && check && failure) {
    return { kind: 'ssh-port', address: check.address, text: `${check.label}: ${failure}` };
  }
  if (item.Error) return { kind: 'driver', address: '', text: item.Error };
  return engineFailure;
}

/**
 * The engine query's error as docker-machine 0.16.2 words it in ls's ERRORS column: its Docker
 * client (samalba/dockerclient) turns a refused connection into ErrConnectionRefused. The app's
 * reason says more (the address and what happened).
 */
function dockerMachineEngineError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNREFUSED' ? 'Cannot connect to the docker engine endpoint' : errorMessage(err);
}

/** An engine query's failure as a user reads it: "connection refused", "no answer within 3 s", ... */
function engineProblem(err: unknown, address: string, timeoutMs: number): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && /^E[A-Z_]+$/.test(code)) {
    const host = address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const failure = classifyDialError(err as NodeJS.ErrnoException, host, timeoutMs);
    if (failure.kind !== 'other') return failure.reason;
  }
  const text = errorMessage(err).replace(/\n/g, ' ');
  return text.startsWith(`${address}: `) ? text.slice(address.length + 2) : text;
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
  // A URL that names no engine (`create -d none --url none`) has no host: docker-machine's
  // check then fails with host "" and Go's "dial tcp: missing address"; so does this one.
  const hostPort = isEngineUrl(dockerUrl) ? new URL(dockerUrl).host : '';
  const { checkEngineTls } = await import('../docker/tls-check.js');
  try {
    const creds = await readEngineTls(authPaths(host, store.root)).catch((err: NodeJS.ErrnoException) => {
      throw new Error(
        err.code === 'ENOENT' ? `open ${err.path}: no such file or directory` : errorMessage(err),
      );
    });
    if (!hostPort) throw new Error('dial tcp: missing address');
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
