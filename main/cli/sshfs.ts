/** `moor mount`: a machine's directory on this computer with sshfs (docker-machine's mount command). */

import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { debug } from '../base/debug.js';
import { MoorError } from '../base/errors.js';
import type { SshTarget } from '../drivers/types.js';
import { assertSafeSshTarget, findOnPath, findSystemSsh, sshTargetProblem } from '../ssh/external.js';
import { checkHostKey, ensureHostKeyPinned } from '../ssh/host-keys.js';
import { DEFAULT_MACHINE_NAME } from './context.js';

/** What `[USER@][NAME:][PATH]` names: docker-machine's mount argument. */
export interface MountSource {
  machine: string;
  /** A login user other than the machine's (`USER@NAME:PATH`), or null. */
  user: string | null;
  /** The remote path as typed (relative paths start in the login user's home, as with sshfs). */
  path: string;
}

/**
 * docker-machine's parsing: the part before the first `:` names the machine ("default" without a
 * `:`), a `USER@` in front of it the login user.
 */
export function parseMountSource(arg: string): MountSource {
  const colon = arg.indexOf(':');
  const [machinePart, path] =
    colon < 0 ? [DEFAULT_MACHINE_NAME, arg] : [arg.slice(0, colon), arg.slice(colon + 1)];
  const at = machinePart.indexOf('@');
  if (at < 0) return { machine: machinePart, user: null, path };
  return { machine: machinePart.slice(at + 1), user: machinePart.slice(0, at), path };
}

/** The local mount point: LOCAL, else the remote path as typed (docker-machine's default). */
export function mountPointFor(source: MountSource, local: string | undefined): string {
  const point = local ?? source.path;
  if (!point) {
    throw new MoorError(
      'Error: no mount point: give a local directory after the remote path (moor mount NAME:PATH DIR)',
    );
  }
  return point;
}

/**
 * fuse's -o takes a comma-separated list in which `\` escapes the next character: a key or
 * known_hosts path with a comma (in the storage path) stays one value.
 */
function fuseOptionValue(value: string): string {
  return value.replace(/[\\,]/g, (c) => `\\${c}`);
}

/**
 * The sshfs argv: the machine's key, port and pinned host keys as the ssh options sshfs passes on
 * (sshfs refuses any -o it does not know) (strict checking against the machine's own known_hosts, never the user's), then `--`
 * so that neither the remote spec nor the mount point can be taken as an option. The host itself
 * reaches ssh as its destination, so it is validated (sshTargetProblem) before this is called.
 */
export function sshfsArgs(target: SshTarget, remotePath: string, mountPoint: string): string[] {
  const option = (name: string, value: string | number) => [
    '-o',
    `${name}=${fuseOptionValue(String(value))}`,
  ];
  const host = target.host.includes(':') ? `[${target.host}]` : target.host; // IPv6
  return [
    ...option('StrictHostKeyChecking', 'yes'),
    ...option('UserKnownHostsFile', target.knownHostsPath),
    ...option('LogLevel', 'ERROR'),
    ...option('PasswordAuthentication', 'no'),
    ...option('ConnectTimeout', 10),
    ...option('ServerAliveInterval', 60),
    ...option('UpdateHostKeys', 'no'),
    ...(target.keyPath
      ? [...option('IdentitiesOnly', 'yes'), ...option('IdentityFile', target.keyPath)]
      : []),
    ...option('Port', target.port),
    '--',
    // sshfs knows no -o User: the user goes in the spec, validated like the host.
    `${target.user}@${host}:${remotePath}`,
    mountPoint,
  ];
}

/** The unmount command here: fusermount (fuse 2), fusermount3, else umount (macOS, BSD). */
export function unmountCommand(
  env: NodeJS.ProcessEnv,
): { file: string; args: (point: string) => string[] } | null {
  for (const fusermount of ['fusermount', 'fusermount3']) {
    const file = findOnPath(fusermount, env);
    if (file) return { file, args: (point) => ['-u', '--', point] };
  }
  const umount = findOnPath('umount', env);
  return umount ? { file: umount, args: (point) => ['--', point] } : null;
}

function run(file: string, args: readonly string[]): Promise<number> {
  debug('mount', () => `running ${[file, ...args].join(' ')}`);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 2 : 1)));
  });
}

/** A mount point must be an existing directory (sshfs's own error is fuse's "bad mount point"). */
function assertDirectory(point: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(point).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new MoorError(
      `Error: mount point "${point}" ${code === 'ENOENT' ? 'does not exist (create the directory first)' : `cannot be used (${code})`}`,
    );
  }
  if (!isDirectory) throw new MoorError(`Error: mount point "${point}" is not a directory`);
}

/** Mounts `source` of the machine at `mountPoint` with sshfs; resolves with sshfs's exit code. */
export async function mountWithSshfs(
  target: SshTarget,
  source: MountSource,
  mountPoint: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const sshfs = findOnPath('sshfs', env);
  if (!sshfs) {
    throw new MoorError(
      'You must have a copy of the sshfs binary locally to use the mount feature (Debian/Ubuntu: apt-get install sshfs; macOS: macFUSE and sshfs)',
    );
  }
  if (!findSystemSsh(env)) throw new MoorError('Error: moor mount needs the system ssh (sshfs runs it)');
  const login = { ...target, user: source.user ?? target.user };
  if (source.user !== null) {
    const problem = sshTargetProblem(login);
    if (problem) throw new MoorError(`Error: ${problem} (in "${source.user}@${source.machine}:")`);
  }
  assertSafeSshTarget(login);
  assertDirectory(mountPoint);
  // sshfs runs ssh with strict checking against the machine's known_hosts: pin on first contact.
  await ensureHostKeyPinned(login);
  const code = await run(sshfs, sshfsArgs(login, source.path, mountPoint));
  if (code !== 0) {
    // ssh's refusal reaches us as sshfs's "read: Connection reset by peer": say what happened.
    const changed = await checkHostKey(login, login.machineName ?? source.machine).catch(() => null);
    if (changed) throw changed;
  }
  return code;
}

/** `moor mount -u`: unmounts what sshfs mounted there. */
export async function unmountSshfs(
  mountPoint: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const command = unmountCommand(env);
  if (!command) {
    throw new MoorError(
      'You must have a copy of the fusermount binary locally to use the unmount option (Debian/Ubuntu: apt-get install fuse3)',
    );
  }
  return run(command.file, command.args(mountPoint));
}
