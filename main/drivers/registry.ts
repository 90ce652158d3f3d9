import { MoorError } from '../base/errors.js';
import type { DriverModule } from './types.js';

/**
 * Drivers are loaded on demand so that commands like `env` and `url` never pay for the SSH or
 * cloud code of drivers they do not touch.
 */
const loaders: Record<string, () => Promise<DriverModule>> = {
  none: async () => (await import('./none/index.js')).default,
  generic: async () => (await import('./generic/index.js')).default,
  digitalocean: async () => (await import('./digitalocean/index.js')).default,
};

export const DRIVER_NAMES = Object.keys(loaders);

export async function loadDriver(name: string): Promise<DriverModule> {
  const load = loaders[name];
  if (!load) {
    throw new MoorError(
      `Driver "${name}" not found. Do you have the plugin binary "docker-machine-driver-${name}" accessible in your PATH?`,
    );
  }
  return load();
}

/** The errdriver message docker-machine shows for a stored host whose driver is unknown. */
export function driverNotFoundMessage(name: string): string {
  return `Driver "${name}" not found. Do you have the plugin binary accessible in your PATH?`;
}
