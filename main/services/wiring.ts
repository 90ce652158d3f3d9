/**
 * Binds the app's services to the real core: the machine store and service layer
 * (main/core/machines.ts), the SSH layer (shell channels), and the Docker contexts watcher.
 * Used by the Electron main process and by the e2e test bridge alike. Heavy modules load lazily.
 */
import type { CreateRequest, DriverCatalog, FlagSpec, FlagValue } from '../api/contract.js';
import { errorMessage, MoorError } from '../core/errors.js';
import { progressReporter } from '../core/progress.js';
import { DRIVER_NAMES, loadDriver } from '../drivers/registry.js';
import type { FlagValues } from '../drivers/types.js';
import type { EngineOptions } from '../store/config.js';
import { defaultStoragePath } from '../store/paths.js';
import { Store } from '../store/store.js';
import { AppServices } from './app-services.js';
import type { ActiveHostBackend, MachineBackend, MachineRow, ShellOpener } from './backend.js';

/**
 * The create flags every driver shares that the form offers (docker-machine's names and env vars).
 * Swarm flags are left out of the form (legacy); the CLI still takes them.
 */
export const COMMON_CREATE_FLAGS: FlagSpec[] = [
  {
    name: 'engine-install-url',
    type: 'string',
    help: 'Custom URL to use for engine installation ("distro" installs the distribution package)',
    default: 'https://get.docker.com',
    envVar: 'MACHINE_DOCKER_INSTALL_URL',
  },
  {
    name: 'engine-opt',
    type: 'string[]',
    help: 'Specify arbitrary flags to include with the created engine in the form flag=value',
  },
  {
    name: 'engine-insecure-registry',
    type: 'string[]',
    help: 'Specify insecure registries to allow with the created engine',
  },
  {
    name: 'engine-registry-mirror',
    type: 'string[]',
    help: 'Specify registry mirrors to use',
    envVar: 'ENGINE_REGISTRY_MIRROR',
  },
  { name: 'engine-label', type: 'string[]', help: 'Specify labels for the created engine' },
  {
    name: 'engine-storage-driver',
    type: 'string',
    help: 'Specify a storage driver to use with the engine',
    default: '',
  },
  { name: 'engine-env', type: 'string[]', help: 'Specify environment variables to set in the engine' },
  { name: 'tls-san', type: 'string[]', help: 'Support extra SANs for TLS certs' },
];

/** A flag's value from the environment (docker-machine's EnvVar), parsed for its type. */
export function flagFromEnv(flag: FlagSpec, env: NodeJS.ProcessEnv): FlagValue | undefined {
  const raw = flag.envVar ? env[flag.envVar] : undefined;
  if (raw === undefined || raw === '') return undefined;
  switch (flag.type) {
    case 'bool':
      return ['1', 't', 'true', 'TRUE', 'True'].includes(raw);
    case 'int': {
      const n = Number.parseInt(raw, 10);
      return Number.isNaN(n) ? undefined : n;
    }
    case 'string[]':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

/** Values given, else the env var; defaults are applied by the core. */
export function resolveFlags(
  flags: readonly FlagSpec[],
  given: Record<string, FlagValue>,
  env: NodeJS.ProcessEnv,
): FlagValues {
  const out: FlagValues = {};
  for (const flag of flags) {
    const value = given[flag.name] ?? flagFromEnv(flag, env);
    if (value !== undefined) out[flag.name] = value;
  }
  const known = new Set(flags.map((f) => f.name));
  const unknown = Object.keys(given).filter((k) => !known.has(k));
  if (unknown.length)
    throw new MoorError(
      `Unknown flag${unknown.length > 1 ? 's' : ''}: ${unknown.map((k) => `--${k}`).join(', ')}`,
    );
  return out;
}

function list(value: FlagValue | undefined): string[] {
  return Array.isArray(value) ? value : [];
}

/** The engine options of config.json from the common flags. */
export function engineOptionsFrom(common: FlagValues): Partial<EngineOptions> {
  const engine: Partial<EngineOptions> = {
    ArbitraryFlags: list(common['engine-opt']),
    InsecureRegistry: list(common['engine-insecure-registry']),
    RegistryMirror: list(common['engine-registry-mirror']),
    Labels: list(common['engine-label']),
    Env: list(common['engine-env']),
  };
  const installUrl = common['engine-install-url'];
  if (typeof installUrl === 'string' && installUrl) engine.InstallURL = installUrl;
  const storage = common['engine-storage-driver'];
  if (typeof storage === 'string' && storage) engine.StorageDriver = storage;
  return engine;
}

export interface WiringOptions {
  env?: NodeJS.ProcessEnv;
  storagePath?: string;
  version?: string;
  pollIntervalMs?: number;
  /** Per-host bound of one state poll (a dead host never stalls the list). */
  queryTimeoutMs?: number;
}

export function machineBackend(store: Store, env: NodeJS.ProcessEnv, queryTimeoutMs: number): MachineBackend {
  const core = () => import('../core/machines.js');
  return {
    async list(): Promise<MachineRow[]> {
      const { listMachines } = await core();
      const items = await listMachines({ store, timeoutMs: queryTimeoutMs, env });
      return items.map((i) => ({
        name: i.Name,
        driver: i.DriverName,
        state: i.State,
        url: i.URL,
        dockerVersion: i.DockerVersion,
        error: i.Error,
        canSsh: i.DriverName !== 'none' && i.DriverName !== 'not found',
      }));
    },

    async drivers(): Promise<DriverCatalog> {
      const modules = await Promise.all(DRIVER_NAMES.map((n) => loadDriver(n)));
      const drivers = modules.map((m) => ({
        name: m.name,
        description: m.description,
        provisions: m.provisions,
        flags: m.flags,
      }));
      const envVars = [...modules.flatMap((m) => m.flags), ...COMMON_CREATE_FLAGS]
        .map((f) => f.envVar)
        .filter((v): v is string => Boolean(v));
      return {
        drivers,
        commonFlags: COMMON_CREATE_FLAGS,
        envSet: [...new Set(envVars)].filter((v) => Boolean(env[v])),
      };
    },

    async create(request: CreateRequest, sink, signal): Promise<void> {
      const { createMachine } = await core();
      const module = await loadDriver(request.driver);
      const commonNames = new Set(COMMON_CREATE_FLAGS.map((f) => f.name));
      const driverGiven = Object.fromEntries(
        Object.entries(request.flags).filter(([k]) => !commonNames.has(k)),
      );
      const commonGiven = Object.fromEntries(
        Object.entries(request.flags).filter(([k]) => commonNames.has(k)),
      );
      const flagValues = resolveFlags(module.flags, driverGiven, env);
      const common = resolveFlags(COMMON_CREATE_FLAGS, commonGiven, env);
      const progress = progressReporter(request.name, sink);
      await createMachine({
        store,
        name: request.name,
        driverName: request.driver,
        flagValues,
        engine: engineOptionsFrom(common),
        tlsSans: list(common['tls-san']),
        progress,
        signal,
        env,
      });
      progress.done(`Docker is up and running on "${request.name}"`);
    },

    async action(action, name): Promise<void> {
      const { runMachineAction } = await core();
      await runMachineAction(name, action, { store, env });
    },

    async remove(name, force): Promise<void> {
      const { removeMachine } = await core();
      const result = await removeMachine(name, { store, force, env });
      if (!result.removed) throw new MoorError(result.errors.join('\n') || `Can't remove "${name}"`);
      try {
        const { removeMachineContext } = await import('../docker/contexts/index.js');
        await removeMachineContext(name, store.root, { env });
      } catch (err) {
        throw new MoorError(`"${name}" was removed, but not its Docker context: ${errorMessage(err)}`);
      }
    },

    async regenerateCerts(name, sink, signal): Promise<void> {
      const { driverFor } = await core();
      const { regenerateCerts } = await import('../provision/index.js');
      const host = await store.load(name);
      const progress = progressReporter(name, sink);
      const { driver } = await driverFor(store, host, { progress, signal, env });
      progress.step('regenerate', 'Regenerating TLS certificates');
      await regenerateCerts({ store, host, driver, progress, signal });
      progress.done(`Certificates of "${name}" regenerated`);
    },

    async sshTarget(name) {
      const { driverFor } = await core();
      const host = await store.load(name);
      const { driver } = await driverFor(store, host, { env });
      const target = await driver.sshTarget();
      return target ? { ...target, machineName: name } : null;
    },
  };
}

/** Shell channels over the SSH layer: one connection per terminal, host keys pinned. */
export const sshShellOpener: ShellOpener = async (target, size) => {
  const { connect } = await import('../ssh/index.js');
  const session = await connect(target, { readyTimeoutMs: 10_000 });
  try {
    const shell = await session.shell(size);
    shell.onClose(() => session.close());
    return {
      shell,
      close: () => {
        shell.close();
        session.close();
      },
    };
  } catch (err) {
    session.close();
    throw err;
  }
};

export async function activeBackend(
  store: Store,
  env: NodeJS.ProcessEnv,
): Promise<ActiveHostBackend & { close(): void }> {
  const { activeHostService } = await import('../docker/contexts/service.js');
  return activeHostService(store, { env });
}

/** The services with every real backend, started (first poll done, watcher running). */
export async function createAppServices(options: WiringOptions = {}): Promise<AppServices> {
  const env = options.env ?? process.env;
  const store = new Store(options.storagePath ?? defaultStoragePath(env));
  const active = await activeBackend(store, env);
  const services = new AppServices({
    store,
    machines: machineBackend(store, env, options.queryTimeoutMs ?? 3_000),
    active,
    openShell: sshShellOpener,
    pollIntervalMs: options.pollIntervalMs,
    version: options.version,
    onDispose: () => active.close(),
  });
  await services.init();
  return services;
}
