import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { MoorError } from '../base/errors.js';
import { hostAddressProblem, portProblem } from '../base/validate-input.js';
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
 * A login name as a Unix system accepts one (POSIX portable names, plus a trailing `$` for Samba
 * machine accounts). Above all it never starts with `-`: the store's values reach argv.
 */
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,255}\$?$/;

/** Why a target's user, host or port would be unsafe to hand to an external client, or null. */
export function sshTargetProblem(target: Pick<SshTarget, 'user' | 'host' | 'port'>): string | null {
  if (!USER_NAME.test(target.user)) {
    return `the SSH user ${JSON.stringify(target.user)} is not a user name (letters, digits, "_", "." and "-", not first)`;
  }
  const host = hostAddressProblem(target.host);
  if (host || target.host.startsWith('-')) return `the SSH host: ${host ?? `"${target.host}" is not a host`}`;
  const port = portProblem(target.port);
  return port ? `the SSH port: ${port}` : null;
}

/**
 * Refuses a target read from a hand-edited or imported config.json whose user, host or port would
 * be taken as an option by ssh/rsync/sshfs (`"SSHUser": "-oProxyCommand=..."` runs a local command).
 */
export function assertSafeSshTarget(target: SshTarget): void {
  const problem = sshTargetProblem(target);
  if (!problem) return;
  const where = target.machineName ?? path.basename(path.dirname(target.knownHostsPath));
  throw new MoorError(`Error: machine "${where}": ${problem} (check its config.json)`);
}

/** The machine's key, port and pinned host keys as ssh -o options (shared by ssh, rsync and sshfs). */
export function pinnedSshOptions(target: SshTarget): string[] {
  return [
    ...['-o', 'ConnectionAttempts=3', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR'],
    ...['-o', 'PasswordAuthentication=no', '-o', 'ServerAliveInterval=60'],
    ...['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${target.knownHostsPath}`],
    ...['-o', 'UpdateHostKeys=no'],
    ...(target.keyPath ? ['-o', 'IdentitiesOnly=yes', '-i', target.keyPath] : []),
    ...['-p', String(target.port), '-l', target.user],
  ];
}

/** OpenSSH ssh's getopt string: which options take a value (ssh.c). */
const SSH_OPTIONS_WITH_VALUE = new Set('bceilmopBDEFIJLOQRSWw'.split(''));

/**
 * Splits what the user typed after the machine name into ssh options and the command: options
 * (`-L 8080:localhost:80`, `-q`) up to the first word that is not one, or up to `--`.
 */
export function splitSshArgs(args: readonly string[]): { options: string[]; command: string[] } {
  let i = 0;
  while (i < args.length) {
    const arg = args[i]!;
    if (arg === '--') return { options: args.slice(0, i), command: args.slice(i + 1) };
    if (!arg.startsWith('-') || arg === '-') break;
    // A cluster such as -qL8080:... or -qL 8080:...: the first option that takes a value ends it.
    const valueAt = [...arg.slice(1)].findIndex((c) => SSH_OPTIONS_WITH_VALUE.has(c));
    i += valueAt >= 0 && valueAt === arg.length - 2 ? 2 : 1;
  }
  return { options: args.slice(0, Math.min(i, args.length)), command: args.slice(i) };
}

/**
 * The argv for the system `ssh` (docker-machine's external client, with pinning instead of blind
 * trust): the machine's key and port win over the user's ~/.ssh/config, which still applies to
 * everything else (agent, proxies, ciphers). Host keys are checked strictly against the machine's
 * own known_hosts, which Moor fills on first contact. The store's values never reach ssh as
 * options: user and port go as option values, the host after `--`.
 */
export function systemSshArgs(target: SshTarget, args: readonly string[]): string[] {
  assertSafeSshTarget(target);
  // As with docker-machine, what follows the name goes to ssh as is: `-L 8080:localhost:80`
  // forwards a port, `-- cmd` or `cmd` runs a command.
  const { options, command } = splitSshArgs(args);
  return [...pinnedSshOptions(target), ...options, '--', target.host, ...command];
}

/** `NAME:path` / `localhost:path` / `path` (a `/` before the first `:` makes it local, as in scp). */
export function parseScpArg(arg: string): { machine: string | null; path: string } {
  const match = /^([^/:]+):(.*)$/.exec(arg);
  if (!match || match[1] === 'localhost') return { machine: null, path: match ? (match[2] ?? '') : arg };
  return { machine: match[1] ?? null, path: match[2] ?? '' };
}
