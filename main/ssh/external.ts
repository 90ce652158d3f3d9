import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { SshTarget } from '../drivers/types.js';

/** The executable `cmd` on PATH, or null. */
export function findOnPath(cmd: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, cmd);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

/** The system `ssh` on PATH, or null (then the built-in client is used, like docker-machine). */
export function findSystemSsh(env: NodeJS.ProcessEnv = process.env): string | null {
  return findOnPath('ssh', env);
}

/**
 * The argv for the system `ssh` (docker-machine's external client, with pinning instead of blind
 * trust): the machine's key and port win over the user's ~/.ssh/config, which still applies to
 * everything else (agent, proxies, ciphers). Host keys are checked strictly against the machine's
 * own known_hosts, which Moor fills on first contact.
 */
export function systemSshArgs(target: SshTarget, args: readonly string[]): string[] {
  return [
    ...['-o', 'ConnectionAttempts=3', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR'],
    ...['-o', 'PasswordAuthentication=no', '-o', 'ServerAliveInterval=60'],
    ...['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${target.knownHostsPath}`],
    ...['-o', 'UpdateHostKeys=no'],
    `${target.user}@${target.host}`,
    ...(target.keyPath ? ['-o', 'IdentitiesOnly=yes', '-i', target.keyPath] : []),
    ...['-p', String(target.port)],
    // As with docker-machine, what follows the name goes to ssh as is: `-L 8080:localhost:80`
    // forwards a port, `-- cmd` or `cmd` runs a command.
    ...args,
  ];
}

/** `NAME:path` / `localhost:path` / `path` (a `/` before the first `:` makes it local, as in scp). */
export function parseScpArg(arg: string): { machine: string | null; path: string } {
  const match = /^([^/:]+):(.*)$/.exec(arg);
  if (!match || match[1] === 'localhost') return { machine: null, path: match ? (match[2] ?? '') : arg };
  return { machine: match[1] ?? null, path: match[2] ?? '' };
}
