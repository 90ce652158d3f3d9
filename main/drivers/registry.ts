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
  amazonec2: async () => (await import('./amazonec2/index.js')).default,
  google: async () => (await import('./google/index.js')).default,
  qemu: async () => (await import('./qemu/index.js')).default,
  virtualbox: async () => (await import('./virtualbox/index.js')).default,
};

export const DRIVER_NAMES = Object.keys(loaders);

export async function loadDriver(name: string): Promise<DriverModule> {
  const load = loaders[name];
  if (!load) throw new MoorError(driverNotFoundMessage(name));
  return load();
}

/**
 * An unknown driver, for `create -d` and for a stored machine (e.g. docker-machine's virtualbox):
 * Moor's drivers are built in, and docker-machine's plugin binaries are not loaded.
 */
export function driverNotFoundMessage(name: string): string {
  return (
    `Driver "${name}" not found: Moor's drivers are ${DRIVER_NAMES.join(', ')} ` +
    `(built in; docker-machine plugin binaries such as docker-machine-driver-${name} are not supported)`
  );
}
