import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

/**
 * Where the docker CLI keeps its configuration and contexts (docker/cli cli/config and
 * cli/context/store): $DOCKER_CONFIG, else ~/.docker; contexts are addressed by the sha256 of
 * their name so any valid name is a safe directory name.
 */

/** The context that means "no context": DOCKER_HOST, else the local engine's socket. */
export const DEFAULT_CONTEXT_NAME = 'default';

/** The docker CLI's rule for context names (cli/command/context/create.go). */
export const CONTEXT_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

export function isValidContextName(name: string): boolean {
  return name !== DEFAULT_CONTEXT_NAME && CONTEXT_NAME_PATTERN.test(name);
}

export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || path.join(os.homedir(), '.docker');
}

/** The docker CLI's context id: the hex sha256 of the name. */
export function contextId(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

/** The files of one docker CLI configuration directory that contexts live in. */
export class ContextLayout {
  readonly configFile: string;
  readonly metaRoot: string;
  readonly tlsRoot: string;

  constructor(readonly configDir: string) {
    this.configFile = path.join(configDir, 'config.json');
    this.metaRoot = path.join(configDir, 'contexts', 'meta');
    this.tlsRoot = path.join(configDir, 'contexts', 'tls');
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ContextLayout {
    return new ContextLayout(dockerConfigDir(env));
  }

  metaDir(name: string): string {
    return path.join(this.metaRoot, contextId(name));
  }

  metaFile(name: string): string {
    return path.join(this.metaDir(name), 'meta.json');
  }

  tlsDir(name: string): string {
    return path.join(this.tlsRoot, contextId(name));
  }

  /** The docker endpoint's TLS files: ca.pem, cert.pem, key.pem. */
  dockerTlsDir(name: string): string {
    return path.join(this.tlsDir(name), 'docker');
  }
}
