/**
 * Binds the app's services to the real core: the machine store and service layer
 * (main/core/), the SSH layer (shell channels), and the Docker contexts watcher.
 * Used by the Electron main process and by the e2e test bridge alike. Heavy modules load lazily.
 */
import type { CreateRequest, DriverCatalog, FlagSpec, FlagValue } from '../api/contract.js';
import { MoorError } from '../base/errors.js';
import { type ProgressSink, progressReporter } from '../base/progress.js';
import {
  FORM_CREATE_FLAGS,
  flagValueFromEnv,
  hostOptionsFromFlags,
  swarmJoinFromFlags,
} from '../core/create-flags.js';
import { NO_CAPABILITIES } from '../drivers/capabilities.js';
import { DRIVER_NAMES, loadDriver } from '../drivers/registry.js';
import type { DriverCapabilities, FlagValues } from '../drivers/types.js';
import type { SecretStore } from '../secrets/types.js';
import { defaultStoragePath } from '../store/paths.js';
import { Store } from '../store/store.js';
import { AppServices } from './app-services.js';
import type { ActiveHostBackend, MachineBackend, MachineRow, ShellOpener } from './backend.js';
import { filePreferences } from './preferences.js';

/** Values given, else the env var; defaults are applied by the core. */
export function resolveFlags(
  flags: readonly FlagSpec[],
  given: Record<string, FlagValue>,
  env: NodeJS.ProcessEnv,
): FlagValues {
  const out: FlagValues = {};
  for (const flag of flags) {
    const value = given[flag.name] ?? flagValueFromEnv(flag, env);
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

/** Each known driver's declared capabilities (unknown names, "not found", '' are left out). */
async function capabilitiesByDriver(names: readonly string[]): Promise<Map<string, DriverCapabilities>> {
  const known = [...new Set(names)].filter((n) => DRIVER_NAMES.includes(n));
  const modules = await Promise.all(known.map((n) => loadDriver(n)));
  return new Map(modules.map((m) => [m.name, m.capabilities]));
}

export interface WiringOptions {
  env?: NodeJS.ProcessEnv;
  storagePath?: string;
  version?: string;
  pollIntervalMs?: number;
  /** Per-host bound of one state poll (a dead host never stalls the list). */
  queryTimeoutMs?: number;
  /**
   * The app's own secret store (Electron safeStorage, main/app/safe-storage-secrets.ts): new
   * secrets go there only where no OS keychain is usable; secrets it keeps are read through it.
   */
  secrets?: SecretStore;
  /** Shows a file in the system file manager (Electron's shell.showItemInFolder). */
  revealPath?: (path: string) => void | Promise<void>;
  /** The system's open-file dialog (Electron's dialog.showOpenDialog, main/app/file-picker.ts). */
  pickFile?: import('./app-services.js').FilePicker;
  /**
   * The command line of a `moor` CLI for the OS scheduler's job (`… schedule run` is appended by
   * nobody: give the whole line). Unset: the app runs schedules only while open and leaves the OS
   * job to `moor schedule`, which installs it with its own command line.
   */
  schedulerCommand?: string[];
  /** The app's preferences file (Electron: userData/preferences.json); in memory without. */
  preferencesPath?: string;
  loginItem?: { get(): boolean; set(enabled: boolean): void };
  versions?: Record<string, string>;
}

export function machineBackend(
  store: Store,
  env: NodeJS.ProcessEnv,
  queryTimeoutMs: number,
  secrets?: SecretStore,
): MachineBackend {
  /** A stored machine with its driver, progress reported under its name (provision, regenerate). */
  const storedMachine = async (name: string, sink: ProgressSink, signal: AbortSignal) => {
    const { driverFor } = await import('../core/driver-context.js');
    const host = await store.load(name);
    const progress = progressReporter(name, sink);
    const { driver } = await driverFor(store, host, { progress, signal, env, secrets });
    return { host, driver, progress };
  };
  return {
    async list(): Promise<MachineRow[]> {
      const { listMachines } = await import('../core/list.js');
      const items = await listMachines({ store, timeoutMs: queryTimeoutMs, env, secrets });
      const capabilities = await capabilitiesByDriver(items.map((i) => i.DriverName));
      return items.map((i) => ({
        name: i.Name,
        driver: i.DriverName,
        state: i.State,
        url: i.URL,
        dockerVersion: i.DockerVersion,
        error: i.Error,
        reason: i.reason,
        capabilities: capabilities.get(i.DriverName) ?? NO_CAPABILITIES,
      }));
    },

    async drivers(): Promise<DriverCatalog> {
      const modules = await Promise.all(DRIVER_NAMES.map((n) => loadDriver(n)));
      const drivers = modules.map((m) => ({
        name: m.name,
        description: m.description,
        provisions: m.provisions,
        capabilities: m.capabilities,
        flags: m.flags,
      }));
      const envVars = [...modules.flatMap((m) => m.flags), ...FORM_CREATE_FLAGS]
        .map((f) => f.envVar)
        .filter((v): v is string => Boolean(v));
      return {
        drivers,
        commonFlags: FORM_CREATE_FLAGS,
        envSet: [...new Set(envVars)].filter((v) => Boolean(env[v])),
      };
    },

    async choices(driver, source, given) {
      const module = await loadDriver(driver);
      if (!module.choices) throw new MoorError(`The ${driver} driver has no lists to offer`);
      const stored = async () =>
        (await store.list()).flatMap((e) =>
          e.config?.DriverName === driver ? [{ name: e.name, config: e.config.Driver }] : [],
        );
      return module.choices(source, { env, given, stored, secrets });
    },

    async create(request: CreateRequest, sink, signal): Promise<void> {
      const { createMachine } = await import('../core/create.js');
      const module = await loadDriver(request.driver);
      const commonNames = new Set(FORM_CREATE_FLAGS.map((f) => f.name));
      const driverGiven = Object.fromEntries(
        Object.entries(request.flags).filter(([k]) => !commonNames.has(k)),
      );
      const commonGiven = Object.fromEntries(
        Object.entries(request.flags).filter(([k]) => commonNames.has(k)),
      );
      const flagValues = resolveFlags(module.flags, driverGiven, env);
      const commonValues = resolveFlags(FORM_CREATE_FLAGS, commonGiven, env);
      const commonOptions = hostOptionsFromFlags(commonValues);
      const progress = progressReporter(request.name, sink);
      await createMachine({
        store,
        name: request.name,
        driverName: request.driver,
        flagValues,
        engine: commonOptions.engine,
        tlsSans: commonOptions.tlsSans,
        swarmJoin: swarmJoinFromFlags(commonValues),
        progress,
        signal,
        env,
        secrets,
      });
      progress.done(`Docker is up and running on "${request.name}"`);
    },

    async action(action, name): Promise<void> {
      const { runMachineAction } = await import('../core/actions.js');
      await runMachineAction(name, action, { store, env, secrets });
    },

    async remove(name, force): Promise<void> {
      const { removeMachine } = await import('../core/remove.js');
      const result = await removeMachine(name, { store, force, env, secrets });
      // removeMachine also removes the machine's Docker context.
      if (!result.removed) throw new MoorError(result.errors.join('\n') || `Can't remove "${name}"`);
    },

    async regenerateCerts(name, sink, signal): Promise<void> {
      const { regenerateCerts } = await import('../provision/index.js');
      const { host, driver, progress } = await storedMachine(name, sink, signal);
      progress.step('regenerate', 'Regenerating TLS certificates');
      await regenerateCerts({ store, host, driver, progress, signal });
      progress.done(`Certificates of "${name}" regenerated`);
    },

    async provision(name, sink, signal): Promise<void> {
      const { provisionMachine } = await import('../provision/index.js');
      const { host, driver, progress } = await storedMachine(name, sink, signal);
      await provisionMachine({ store, host, driver, progress, signal });
      // A create that stopped at provisioning never made the machine's Docker context.
      const { syncMachineContextOrWarn } = await import('../docker/contexts/hooks.js');
      await syncMachineContextOrWarn(host, store.root, {
        env,
        driverUrl: () => driver.url(),
        warn: progress.warn,
      });
      progress.done(`Docker is up and running on "${name}"`);
    },

    async sshTarget(name) {
      const { driverFor } = await import('../core/driver-context.js');
      const host = await store.load(name);
      const { driver } = await driverFor(store, host, { env, secrets });
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
    machines: machineBackend(store, env, options.queryTimeoutMs ?? 3_000, options.secrets),
    active,
    openShell: sshShellOpener,
    pollIntervalMs: options.pollIntervalMs,
    version: options.version,
    revealPath: options.revealPath,
    pickFile: options.pickFile,
    preferences: options.preferencesPath ? filePreferences(options.preferencesPath) : undefined,
    loginItem: options.loginItem,
    versions: options.versions,
    onDispose: () => active.close(),
    env,
    syncOsScheduler: options.schedulerCommand
      ? async (now) => {
          const { syncOsScheduler } = await import('../core/os-scheduler.js');
          const result = await syncOsScheduler(store, {
            env,
            now,
            command: options.schedulerCommand,
            force: true,
          });
          if (result.warning) console.warn(result.warning);
        }
      : undefined,
  });
  await services.init();
  return services;
}
