/** `rm` of one machine: the driver's remote resources, then the machine directory and its context. */
import { promises as fs } from 'node:fs';
import { errorMessage, MachineNotFoundError } from '../base/errors.js';
import type { ProgressReporter } from '../base/progress.js';
import type { SecretStore } from '../secrets/types.js';
import { LockBusyError, type Store } from '../store/store.js';
import { removeCreatedResources } from './create-journal.js';
import { driverFor } from './driver-context.js';
import { createStillRunning, recoverInterruptedCreate } from './interrupted-create.js';

export interface RemoveResult {
  /** The local machine directory is gone. */
  removed: boolean;
  /** docker-machine's messages: `Error removing host "x": ...`, `Can't remove "x"`. */
  errors: string[];
  /** Nothing was done: a create of it is still running, or another process holds its lock. */
  busy?: boolean;
}

type RemoveOptions = Parameters<typeof removeMachine>[1];

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
    /**
     * Runs after the machine left its swarm and before the driver removes it, e.g. rm
     * --remove-engine-config (the swarm leave needs the engine it takes down).
     */
    beforeDriverRemove?: () => Promise<void>;
  },
): Promise<RemoveResult> {
  const { store } = options;
  // A create still running holds the machine's lock until it is done (minutes): say so at once.
  const busy = await createBusyResult(name, options);
  if (busy) return busy;
  if (!(await store.exists(name))) return removeLocked(name, options);
  try {
    // Under the machine's lock, so that nothing (a create, an update) writes into it meanwhile.
    return await store.withMachineLock(
      name,
      async () => (await createBusyResult(name, options)) ?? removeLocked(name, options),
    );
  } catch (err) {
    if (err instanceof MachineNotFoundError) return removeLocked(name, options); // removed meanwhile
    if (!(err instanceof LockBusyError)) throw err;
    return { removed: false, busy: true, errors: [`Error removing host "${name}": ${errorMessage(err)}`] };
  }
}

/** The refusal for a machine whose create is still running (in this process or another one). */
async function createBusyResult(name: string, options: RemoveOptions): Promise<RemoveResult | null> {
  const running = await createStillRunning(options.store, name);
  if (!running) return null;
  return {
    removed: false,
    busy: true,
    errors: [
      `Error removing host "${name}": it is still being created (${running}); wait for the create to end, or cancel it (Ctrl-C), which removes what it made`,
    ],
  };
}

async function removeLocked(name: string, options: RemoveOptions): Promise<RemoveResult> {
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
  // Say what the cleanup verified (deleted / already gone), as ls does.
  for (const line of recovered?.outcomes ?? []) options.progress?.log(line);
  if (recovered?.cleaned) return { removed: true, errors };
  let remoteOk = true;
  try {
    const host = await store.load(name);
    const { driver } = await driverFor(store, host, options);
    await leaveSwarmFirst(name, options);
    try {
      await options.beforeDriverRemove?.();
    } catch (err) {
      // Without --force that stops the rm; with it, the remote resources still go (nothing orphaned).
      if (!options.force) throw err;
      errors.push(`Error removing host "${name}": ${errorMessage(err)}`);
    }
    // A kept failed create (--keep-on-failure) still has its journal: clean up by it.
    await removeCreatedResources(driver, store.machineDir(name), (line) => options.progress?.log(line));
  } catch (err) {
    remoteOk = false;
    errors.push(`Error removing host "${name}": ${errorMessage(err)}`);
  }
  if (!remoteOk && !options.force) return { removed: false, errors };
  if (!(await store.exists(name))) {
    errors.push(`Can't remove "${name}"`);
    return { removed: false, errors };
  }
  const { scheduleFilePath, listSchedules } = await import('../store/schedule-file.js');
  const hadSchedule = await fs.stat(scheduleFilePath(store, name)).then(
    () => true,
    () => false,
  );
  await store.remove(name);
  if (hadSchedule && (await listSchedules(store)).length === 0) {
    // The last scheduled machine went: its OS timer goes now, not at its next (pointless) run.
    const { syncOsScheduler } = await import('./os-scheduler.js');
    const synced = await syncOsScheduler(store, { env: options.env, now: Date.now() }).catch(
      (err: unknown) => ({
        warning: errorMessage(err),
      }),
    );
    if (synced.warning) options.progress?.warn(synced.warning);
  }
  const { removeMachineContextOrWarn } = await import('../docker/contexts/hooks.js');
  await removeMachineContextOrWarn(name, store.root, {
    env: options.env,
    warn: (message) => options.progress?.warn(message),
  });
  return { removed: true, errors };
}

/** A swarm node leaves its swarm before it goes, so the manager does not keep a dead node. */
async function leaveSwarmFirst(
  name: string,
  options: { store: Store; force?: boolean; progress?: ProgressReporter; env?: NodeJS.ProcessEnv },
): Promise<void> {
  const { leaveSwarmBeforeRemove } = await import('./swarm/index.js');
  const warn = (message: string) => options.progress?.warn(message);
  try {
    await leaveSwarmBeforeRemove(
      { store: options.store, env: options.env, progress: options.progress },
      name,
      { force: options.force, warn },
    );
  } catch (err) {
    if (!options.force) throw new Error(`leaving its swarm failed: ${errorMessage(err)}`);
    warn(`Leaving the swarm failed (${errorMessage(err)}); removing anyway (--force).`);
  }
}
