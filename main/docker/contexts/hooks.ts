import { errorMessage } from '../../base/errors.js';
import type { HostConfig } from '../../store/config.js';
import { removeMachineContext, syncMachineContext } from './machines.js';

/**
 * The calls the machine flows make so every machine has an up-to-date Docker context: after
 * create and regenerate-certs (sync), after rm (remove). A context problem (a foreign context in
 * the way, an unreadable ~/.docker) is reported as a warning: it never fails nor rolls back the
 * machine operation itself.
 */

export interface HookOptions {
  /** DOCKER_CONFIG and MOOR_CONTEXT_PREFIX are read from here (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The engine URL from the driver (default: derived from config.json). */
  driverUrl?: () => Promise<string>;
  /** Where warnings and notices go (e.g. `(m) => progress.warn(m)`). */
  warn: (message: string) => void;
}

export async function syncMachineContextOrWarn(
  host: HostConfig,
  storePath: string,
  options: HookOptions,
): Promise<void> {
  try {
    const url = options.driverUrl ? await options.driverUrl().catch(() => '') : '';
    const result = await syncMachineContext(host, storePath, { env: options.env ?? process.env, url });
    if (result.notice) options.warn(result.notice);
  } catch (err) {
    options.warn(`Could not update the Docker context of "${host.Name}": ${errorMessage(err)}`);
  }
}

export async function removeMachineContextOrWarn(
  name: string,
  storePath: string,
  options: HookOptions,
): Promise<void> {
  try {
    const { removed, wasCurrent } = await removeMachineContext(name, storePath, {
      env: options.env ?? process.env,
    });
    if (removed && wasCurrent) {
      options.warn(`"${removed}" was the current Docker context: docker now uses the default context`);
    }
  } catch (err) {
    options.warn(`Could not remove the Docker context of "${name}": ${errorMessage(err)}`);
  }
}
