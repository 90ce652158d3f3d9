import { errorMessage, MoorError } from '../base/errors.js';
import type { HostConfig } from '../store/config.js';
import type { CliContext } from './context.js';

/**
 * docker-machine's runAction: the named machines (or "default") are all loaded first (any load
 * error stops everything), then `action` runs on all of them concurrently; the errors are
 * joined one per line into the command's error. `done` runs after all actions, before the error.
 */
export async function forEachMachine(
  cli: CliContext,
  names: readonly string[],
  action: (host: HostConfig, index: number) => Promise<void>,
  done?: () => void,
): Promise<void> {
  const targets = await cli.targetNames(names);
  const loaded = await Promise.allSettled(targets.map((name) => cli.store.load(name)));
  const loadErrors = loaded.flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
  if (loadErrors.length > 0) throw new MoorError(loadErrors.join('\n'));
  const hosts = loaded.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const results = await Promise.allSettled(hosts.map((host, index) => action(host, index)));
  done?.();
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
  if (errors.length > 0) throw new MoorError(errors.join('\n'));
}
