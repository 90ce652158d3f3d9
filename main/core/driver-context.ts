/**
 * Opening a stored machine's driver: the one place that builds a DriverContext, used by the
 * machine service layer and by interrupted-create recovery (kept apart to avoid an import cycle).
 */

import { MoorError } from '../base/errors.js';
import { type ProgressReporter, silentProgress } from '../base/progress.js';
import { DRIVER_NAMES, driverNotFoundMessage, loadDriver } from '../drivers/registry.js';
import type { Driver, DriverContext, DriverModule } from '../drivers/types.js';
import type { SecretStore } from '../secrets/types.js';
import type { HostConfig } from '../store/config.js';
import type { Store } from '../store/store.js';

export interface DriverOptions {
  progress?: ProgressReporter;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** The app's secret store (Electron safeStorage); unset in the CLI (OS keychain). */
  secrets?: SecretStore;
  /** Saves the driver's config now (DriverContext.checkpoint): steps that must survive a kill. */
  checkpoint?: () => Promise<void>;
}

export function driverContext(store: Store, name: string, options: DriverOptions = {}): DriverContext {
  return {
    storePath: store.root,
    machineDir: store.machineDir(name),
    progress: options.progress ?? silentProgress(name),
    signal: options.signal,
    env: options.env ?? process.env,
    secrets: options.secrets,
    checkpoint: options.checkpoint,
  };
}

/** The driver of a stored machine (loaded lazily: only the drivers in use are imported). */
export async function driverFor(
  store: Store,
  host: HostConfig,
  options: DriverOptions = {},
): Promise<{ module: DriverModule; driver: Driver }> {
  if (!DRIVER_NAMES.includes(host.DriverName)) throw new MoorError(driverNotFoundMessage(host.DriverName));
  const module = await loadDriver(host.DriverName);
  return { module, driver: module.open(host.Driver, driverContext(store, host.Name, options), host) };
}
