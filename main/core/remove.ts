/** `rm` of one machine: the driver's remote resources, then the machine directory and its context. */
import { errorMessage } from '../base/errors.js';
import type { ProgressReporter } from '../base/progress.js';
import type { SecretStore } from '../secrets/types.js';
import type { Store } from '../store/store.js';
import { driverFor } from './driver-context.js';
import { recoverInterruptedCreate } from './interrupted-create.js';

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
