import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../base/errors.js';
import { readDockerConfig } from './config-file.js';
import { ContextLayout, DEFAULT_CONTEXT_NAME } from './layout.js';
import { moorMarker } from './machines.js';
import { readContextMeta } from './store.js';

/** The local engine the `default` context talks to when DOCKER_HOST is unset (Linux/macOS). */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** What decided the active context, in the docker CLI's order (flags aside). */
export type ActiveSource = 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'currentContext' | 'default';

/** The Docker host a `docker` command run with this environment would use. */
export interface ActiveHost {
  source: ActiveSource;
  /** The context name (`default` for DOCKER_HOST and for no context). */
  context: string;
  /** The engine endpoint; null when the context does not exist or cannot be read. */
  host: string | null;
  /** The Moor machine behind the context (null: not a Moor context, or `default`). */
  machine: string | null;
  /** The store of that machine. */
  storePath: string | null;
  /** Why the context could not be used (missing context, broken config.json or meta.json). */
  error?: string;
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  layout?: ContextLayout;
  /** Only config.json, as a new terminal without DOCKER_HOST/DOCKER_CONTEXT sees it (the app's view). */
  ignoreEnv?: boolean;
}

/**
 * The docker CLI's resolution (cli/command/cli.go resolveContextName) without flags: DOCKER_HOST
 * forces `default`, then DOCKER_CONTEXT, then config.json's currentContext, then `default`.
 */
export async function resolveActive(options: ResolveOptions = {}): Promise<ActiveHost> {
  const env = options.env ?? process.env;
  const layout = options.layout ?? ContextLayout.fromEnv(env);
  const dockerHost = options.ignoreEnv ? '' : env.DOCKER_HOST || '';
  if (dockerHost) {
    return {
      source: 'DOCKER_HOST',
      context: DEFAULT_CONTEXT_NAME,
      host: dockerHost,
      machine: null,
      storePath: null,
    };
  }
  const fromEnv = options.ignoreEnv ? '' : env.DOCKER_CONTEXT || '';
  let source: ActiveSource = fromEnv ? 'DOCKER_CONTEXT' : 'currentContext';
  let context = fromEnv;
  if (!context) {
    try {
      context = (await readDockerConfig(layout.configFile)).currentContext;
    } catch (err) {
      // The CLI warns and falls back to `default`; report both.
      return {
        source: 'default',
        context: DEFAULT_CONTEXT_NAME,
        host: DEFAULT_DOCKER_HOST,
        machine: null,
        storePath: null,
        error: errorMessage(err),
      };
    }
  }
  if (!context || context === DEFAULT_CONTEXT_NAME) {
    if (!context) source = 'default';
    return {
      source,
      context: DEFAULT_CONTEXT_NAME,
      host: DEFAULT_DOCKER_HOST,
      machine: null,
      storePath: null,
    };
  }
  try {
    const meta = await readContextMeta(layout, context);
    if (!meta) {
      return {
        source,
        context,
        host: null,
        machine: null,
        storePath: null,
        error: `context "${context}" does not exist`,
      };
    }
    const marker = moorMarker(meta);
    return {
      source,
      context,
      host: meta.Endpoints.docker?.Host ?? null,
      machine: marker?.Machine ?? null,
      storePath: marker?.StorePath ?? null,
    };
  } catch (err) {
    return { source, context, host: null, machine: null, storePath: null, error: errorMessage(err) };
  }
}

/**
 * For `moor active` when DOCKER_HOST is unset: the machine of this store whose Moor context is
 * selected (DOCKER_CONTEXT, else config.json), or null. Null when DOCKER_HOST is set (then the
 * URL match of docker-machine's `active` applies), when the context is not Moor's or belongs to
 * another store, or when the machine no longer exists.
 */
export async function activeMachineFromContext(
  storePath: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | null> {
  if (env.DOCKER_HOST) return null;
  const active = await resolveActive({ env });
  if (!active.machine || !active.storePath) return null;
  if (path.resolve(active.storePath) !== path.resolve(storePath)) return null;
  const exists = await fs.stat(path.join(storePath, 'machines', active.machine)).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return exists ? active.machine : null;
}
