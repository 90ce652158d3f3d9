import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorMessage, MoorError } from '../../base/errors.js';
import { DEFAULT_ENGINE_PORT, type HostConfig } from '../../store/config.js';
import { authPaths } from '../../store/paths.js';
import { readRegularFileBytes } from '../../store/regular-file.js';
import { readDockerConfig, writeCurrentContext } from './config-file.js';
import { ContextLayout, DEFAULT_CONTEXT_NAME, isValidContextName } from './layout.js';
import {
  type ContextMeta,
  type ContextTls,
  contextExists,
  deleteContext,
  listContextMetas,
  readContextMeta,
  writeContext,
} from './store.js';

/**
 * One Docker context per Moor machine. Moor marks the contexts it creates (a "Moor" object in the
 * context's Metadata, which the docker CLI keeps) and only ever updates or removes those: a context
 * the user or another tool made is never touched, whatever its name.
 */

/** The key in a context's Metadata that marks it as Moor's (the CLI keeps unknown Metadata keys). */
export const MOOR_METADATA_KEY = 'Moor';

/** Prefix for a machine's context when its own name is taken by a foreign context or not allowed. */
export const DEFAULT_CONTEXT_PREFIX = 'moor-';

export interface MoorMarker {
  /** The machine's name in its store. */
  Machine: string;
  /** The store root (MACHINE_STORAGE_PATH), absolute. */
  StorePath: string;
}

/** A context Moor made for a machine. */
export interface MachineContext {
  /** The Docker context's name (the machine's name, or prefix + name). */
  name: string;
  machine: string;
  storePath: string;
  /** The docker endpoint, tcp://host:port. */
  host: string;
}

export interface ContextOptions {
  /** Where DOCKER_CONFIG and MOOR_CONTEXT_PREFIX are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The docker CLI config dir; default $DOCKER_CONFIG or ~/.docker. */
  layout?: ContextLayout;
  /** Prefix for clashing or invalid names; default $MOOR_CONTEXT_PREFIX or "moor-". */
  prefix?: string;
}

function layoutOf(options: ContextOptions): ContextLayout {
  return options.layout ?? ContextLayout.fromEnv(options.env ?? process.env);
}

function prefixOf(options: ContextOptions): string {
  return options.prefix ?? (options.env ?? process.env).MOOR_CONTEXT_PREFIX ?? DEFAULT_CONTEXT_PREFIX;
}

/** The Moor marker of a context, or null when Moor did not create it. */
export function moorMarker(meta: ContextMeta): MoorMarker | null {
  const marker = meta.Metadata?.[MOOR_METADATA_KEY] as Partial<MoorMarker> | undefined;
  if (!marker || typeof marker !== 'object') return null;
  if (typeof marker.Machine !== 'string' || typeof marker.StorePath !== 'string') return null;
  return { Machine: marker.Machine, StorePath: marker.StorePath };
}

function ownedBy(meta: ContextMeta, machine: string, storePath: string): boolean {
  const marker = moorMarker(meta);
  return (
    marker !== null &&
    marker.Machine === machine &&
    path.resolve(marker.StorePath) === path.resolve(storePath)
  );
}

function toMachineContext(meta: ContextMeta): MachineContext | null {
  const marker = moorMarker(meta);
  if (!marker) return null;
  return {
    name: meta.Name,
    machine: marker.Machine,
    storePath: marker.StorePath,
    host: meta.Endpoints.docker?.Host ?? '',
  };
}

/** Every context Moor created (optionally only those of one store), sorted by name. */
export async function listMoorContexts(
  options: ContextOptions & { storePath?: string } = {},
): Promise<MachineContext[]> {
  const entries = await listContextMetas(layoutOf(options));
  const wanted = options.storePath === undefined ? undefined : path.resolve(options.storePath);
  return entries
    .map((e) => (e.meta ? toMachineContext(e.meta) : null))
    .filter(
      (c): c is MachineContext =>
        c !== null && (wanted === undefined || path.resolve(c.storePath) === wanted),
    )
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The context Moor made for this machine of this store, if there is one. */
export async function findMachineContext(
  machine: string,
  storePath: string,
  options: ContextOptions = {},
): Promise<MachineContext | null> {
  const layout = layoutOf(options);
  // Fast path: the usual names, read directly (no directory scan).
  for (const name of candidateNames(machine, prefixOf(options))) {
    const meta = await readContextMeta(layout, name).catch(() => null);
    if (meta && ownedBy(meta, machine, storePath)) return toMachineContext(meta);
  }
  const all = await listMoorContexts({ ...options, layout, storePath });
  return all.find((c) => c.machine === machine) ?? null;
}

/** The names a machine's context may take, in order of preference. */
function candidateNames(machine: string, prefix: string): string[] {
  const prefixed = `${prefix}${machine}`;
  return isValidContextName(machine) ? [machine, prefixed] : [prefixed];
}

/**
 * The context name for a machine: the one Moor already gave it, else its own name, else
 * prefix + name when that is taken by a context Moor did not create (or is not a valid context
 * name: one character, or "default"). `notice` explains a prefixed name to the user.
 */
export async function chooseContextName(
  machine: string,
  storePath: string,
  options: ContextOptions = {},
): Promise<{ name: string; notice?: string }> {
  const layout = layoutOf(options);
  const existing = await findMachineContext(machine, storePath, { ...options, layout });
  if (existing) return { name: existing.name };
  const prefix = prefixOf(options);
  const taken: string[] = [];
  for (const name of candidateNames(machine, prefix)) {
    if (!isValidContextName(name)) {
      throw new MoorError(
        `Cannot name a Docker context for machine "${machine}": "${name}" is not a valid context name ` +
          '(allowed: ^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$, not "default"); set MOOR_CONTEXT_PREFIX to a valid prefix',
      );
    }
    const meta = await readContextMeta(layout, name).catch((err: unknown) => {
      // A broken foreign meta.json still means the name is taken: never overwrite it.
      taken.push(`${name} (${errorMessage(err)})`);
      return undefined;
    });
    if (meta === undefined) continue;
    if (meta === null) {
      const notice =
        name === machine
          ? undefined
          : isValidContextName(machine)
            ? `Docker context "${machine}" already exists and was not created by Moor: machine "${machine}" uses the context "${name}"`
            : `"${machine}" cannot be a Docker context name: machine "${machine}" uses the context "${name}"`;
      return notice ? { name, notice } : { name };
    }
    taken.push(name);
  }
  throw new MoorError(
    `Docker contexts ${taken.map((n) => `"${n}"`).join(' and ')} already exist and were not created by Moor ` +
      `for machine "${machine}"; Moor never overwrites them. Set MOOR_CONTEXT_PREFIX to another prefix.`,
  );
}

/**
 * The engine URL recorded in a machine's config.json: the none driver's URL, else
 * tcp://IP:port (port 2376, or the generic driver's EnginePort). '' when no IP is known yet.
 * Drivers compute the same from the same fields; callers that hold a driver pass its url().
 */
export function engineUrlFromConfig(config: HostConfig): string {
  const driver = config.Driver as HostConfig['Driver'] & { URL?: unknown; EnginePort?: unknown };
  if (typeof driver.URL === 'string' && driver.URL) return driver.URL;
  const ip = driver.IPAddress;
  if (!ip) return '';
  const port =
    typeof driver.EnginePort === 'number' && driver.EnginePort > 0 ? driver.EnginePort : DEFAULT_ENGINE_PORT;
  return `tcp://${ip.includes(':') && !ip.startsWith('[') ? `[${ip}]` : ip}:${port}`;
}

async function readTlsMaterial(config: HostConfig, storePath: string): Promise<ContextTls> {
  const paths = authPaths(config, storePath);
  const read = async (file: string, what: string) => {
    try {
      return await readRegularFileBytes(file);
    } catch (err) {
      throw new MoorError(
        `Cannot read the ${what} of machine "${config.Name}" (${file}): ${errorMessage(err)}`,
      );
    }
  };
  // All at once, but the error names the first missing file in a stable order.
  const results = await Promise.allSettled([
    read(paths.caCert, 'CA certificate'),
    read(paths.clientCert, 'client certificate'),
    read(paths.clientKey, 'client key'),
  ]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const [ca, cert, key] = results.map((r) => (r as PromiseFulfilledResult<Buffer>).value) as [
    Buffer,
    Buffer,
    Buffer,
  ];
  if (/ENCRYPTED/.test(key.toString('latin1'))) {
    // The docker CLI refuses encrypted keys in contexts.
    throw new MoorError(
      `The client key of machine "${config.Name}" (${paths.clientKey}) is encrypted; Docker contexts need an unencrypted key`,
    );
  }
  return { ca, cert, key };
}

export interface SyncResult {
  context: MachineContext;
  /** Whether anything was written (false: the context was already up to date). */
  changed: boolean;
  /** Set when the context got the prefixed name (to tell the user once). */
  notice?: string;
}

/**
 * Creates or updates the Docker context of a machine: the engine URL and the machine's TLS
 * material (the store CA and client certificate, found through the store even when it moved).
 * Call after create, regenerate-certs and whenever the engine URL may have changed.
 */
export async function syncMachineContext(
  config: HostConfig,
  storePath: string,
  options: ContextOptions & { url?: string } = {},
): Promise<SyncResult> {
  const layout = layoutOf(options);
  const resolvedStore = path.resolve(storePath);
  const { name, notice } = await chooseContextName(config.Name, resolvedStore, { ...options, layout });
  let host = options.url || engineUrlFromConfig(config);
  if (!host) {
    // No address recorded (e.g. a stopped VM): keep the endpoint the context already has.
    host = (await readContextMeta(layout, name))?.Endpoints.docker?.Host ?? '';
  }
  if (!host)
    throw new MoorError(`Machine "${config.Name}" has no engine URL yet: cannot create its Docker context`);
  const tls = await readTlsMaterial(config, storePath);
  const meta: ContextMeta = {
    Name: name,
    Metadata: {
      Description: `Moor machine "${config.Name}" (${config.DriverName})`,
      [MOOR_METADATA_KEY]: { Machine: config.Name, StorePath: resolvedStore } satisfies MoorMarker,
    },
    Endpoints: { docker: { Host: host, SkipTLSVerify: false } },
  };
  const changed = await writeContext(layout, meta, tls);
  const result: SyncResult = {
    context: { name, machine: config.Name, storePath: resolvedStore, host },
    changed,
  };
  if (notice) result.notice = notice;
  return result;
}

/**
 * Removes the context Moor made for a machine (never a foreign one). If it was the current
 * context, config.json goes back to `default` first, as `docker context rm --force` does: a
 * currentContext naming a missing context would break every docker command.
 */
export async function removeMachineContext(
  machine: string,
  storePath: string,
  options: ContextOptions = {},
): Promise<{ removed: string | null; wasCurrent: boolean }> {
  const layout = layoutOf(options);
  const context = await findMachineContext(machine, storePath, { ...options, layout });
  if (!context) return { removed: null, wasCurrent: false };
  let wasCurrent = false;
  try {
    wasCurrent = (await readDockerConfig(layout.configFile)).currentContext === context.name;
  } catch {
    // A corrupt config.json is reported by the commands that use it; removal still goes ahead.
  }
  if (wasCurrent) await writeCurrentContext(layout, DEFAULT_CONTEXT_NAME);
  await deleteContext(layout, context.name);
  return { removed: context.name, wasCurrent };
}

/**
 * Removes Moor's contexts whose machine is gone (its store directory was deleted, or the machine
 * was removed by docker-machine, which knows nothing of contexts). The current context is kept:
 * switching away from it is the user's call. Resolves with the names removed.
 */
export async function pruneMoorContexts(options: ContextOptions = {}): Promise<string[]> {
  const layout = layoutOf(options);
  let current = '';
  try {
    current = (await readDockerConfig(layout.configFile)).currentContext;
  } catch {
    return []; // a corrupt config.json: do not guess which context is in use
  }
  const removed: string[] = [];
  for (const context of await listMoorContexts({ ...options, layout })) {
    if (context.name === current) continue;
    const machineDir = path.join(context.storePath, 'machines', context.machine);
    const exists = await fs.stat(machineDir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (exists) continue;
    await deleteContext(layout, context.name);
    removed.push(context.name);
  }
  return removed;
}

/**
 * Makes a context the current one for every docker client that does not override it
 * (`default` switches back to the local engine / DOCKER_HOST). The context must exist.
 */
export async function switchContext(
  name: string,
  options: ContextOptions = {},
): Promise<{ changed: boolean }> {
  const layout = layoutOf(options);
  if (name !== DEFAULT_CONTEXT_NAME) {
    if (!isValidContextName(name)) throw new MoorError(`"${name}" is not a valid Docker context name`);
    if (!(await contextExists(layout, name))) throw new MoorError(`Docker context "${name}" does not exist`);
  }
  return { changed: await writeCurrentContext(layout, name) };
}
