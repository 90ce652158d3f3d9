import { MachineNotFoundError } from '../../base/errors.js';
import type { Store } from '../../store/store.js';
import { readCurrentContext as readCurrentContextOf } from './config-file.js';
import { ContextLayout, DEFAULT_CONTEXT_NAME } from './layout.js';
import { type ContextOptions, pruneMoorContexts, switchContext, syncMachineContext } from './machines.js';

export { DockerConfigError } from './config-file.js';
export {
  ContextLayout,
  contextId,
  DEFAULT_CONTEXT_NAME,
  dockerConfigDir,
  isValidContextName,
} from './layout.js';
export {
  type ContextOptions,
  chooseContextName,
  DEFAULT_CONTEXT_PREFIX,
  engineUrlFromConfig,
  findMachineContext,
  listMoorContexts,
  type MachineContext,
  MOOR_METADATA_KEY,
  type MoorMarker,
  pruneMoorContexts,
  removeMachineContext,
  type SyncResult,
  switchContext,
  syncMachineContext,
} from './machines.js';
export {
  type ActiveHost,
  type ActiveSource,
  activeMachineFromContext,
  DEFAULT_DOCKER_HOST,
  resolveActive,
} from './resolve.js';

/** The current context as config.json says (`default` when none), for this environment's DOCKER_CONFIG. */
export async function readCurrentContext(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return readCurrentContextOf(ContextLayout.fromEnv(env));
}

/** Environment variables that make docker ignore the current context in this shell. */
export function contextOverrides(env: NodeJS.ProcessEnv): Array<'DOCKER_HOST' | 'DOCKER_CONTEXT'> {
  return (['DOCKER_HOST', 'DOCKER_CONTEXT'] as const).filter((name) => Boolean(env[name]));
}

/** The warning `docker context use` prints, with the way out for docker-machine users. */
export function overrideWarning(
  variable: 'DOCKER_HOST' | 'DOCKER_CONTEXT',
  context: string,
  programName = 'moor',
): string {
  const fix =
    variable === 'DOCKER_HOST'
      ? `unset DOCKER_HOST (e.g. eval $(${programName} env --unset))`
      : 'unset DOCKER_CONTEXT';
  return (
    `Warning: ${variable} environment variable overrides the active context. ` +
    `docker in this shell keeps using ${variable}; other terminals now use "${context}". To follow the switch here, ${fix}.`
  );
}

export interface SwitchResult {
  /** The context now current (`default` for --default). */
  context: string;
  /** The machine now active, null for `default`. */
  machine: string | null;
  /** Whether config.json changed (false: it was already the current context). */
  changed: boolean;
  /** A prefixed context name was chosen for the machine (tell the user). */
  notice?: string;
}

/**
 * Makes a machine (or `default`: pass null) the active Docker host for every terminal: refreshes
 * the machine's context from its config (URL, TLS), then sets it current, then prunes Moor's
 * contexts of machines that no longer exist. A machine literally
 * named "default" (docker-machine's usual name) wins over the `default` context when asked by name.
 */
export async function switchActiveHost(
  store: Store,
  target: string | null,
  options: ContextOptions = {},
): Promise<SwitchResult> {
  const layout = options.layout ?? ContextLayout.fromEnv(options.env ?? process.env);
  if (target === null || (target === DEFAULT_CONTEXT_NAME && !(await store.exists(target)))) {
    const { changed } = await switchContext(DEFAULT_CONTEXT_NAME, { ...options, layout });
    await pruneMoorContexts({ ...options, layout }).catch(() => []);
    return { context: DEFAULT_CONTEXT_NAME, machine: null, changed };
  }
  if (!(await store.exists(target))) throw new MachineNotFoundError(target);
  const config = await store.load(target);
  const synced = await syncMachineContext(config, store.root, { ...options, layout });
  const { changed } = await switchContext(synced.context.name, { ...options, layout });
  const result: SwitchResult = { context: synced.context.name, machine: target, changed };
  if (synced.notice) result.notice = synced.notice;
  await pruneMoorContexts({ ...options, layout }).catch(() => []); // tidy-up only, never fatal
  return result;
}
