import { spawn } from 'node:child_process';
import { MoorError } from '../base/errors.js';
import type { SshTarget } from '../drivers/types.js';
import { assertSafeSshTarget, findOnPath, findSystemSsh, pinnedSshOptions } from '../ssh/external.js';
import { ensureHostKeyPinned } from '../ssh/host-keys.js';

type Side = { machine: string | null; path: string };

/** rsync splits -e on spaces but honours quotes. */
function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * `moor scp --delta`: rsync over the system ssh (docker-machine's -d), between this computer and
 * one machine. Needs rsync here and on the machine.
 */
export async function runRsync(
  src: Side,
  dst: Side,
  targetOf: (machine: string) => Promise<SshTarget>,
  options: { recursive: boolean; quiet: boolean; env?: NodeJS.ProcessEnv },
): Promise<number> {
  const env = options.env ?? process.env;
  const rsync = findOnPath('rsync', env);
  const ssh = findSystemSsh(env);
  if (!rsync || !ssh)
    throw new MoorError(
      'Error: --delta needs rsync and ssh installed on this computer (and rsync on the machine)',
    );
  if (src.machine && dst.machine) {
    throw new MoorError(
      'Error: --delta copies between this computer and one machine; leave it out for machine to machine',
    );
  }
  const remote = src.machine ?? dst.machine;
  if (!remote) throw new MoorError('Error: --delta needs a machine on one side (NAME:path)');
  const target = await targetOf(remote);
  assertSafeSshTarget(target);
  await ensureHostKeyPinned(target);
  // rsync appends the host and its remote command to -e: the trailing `--` makes the host ssh's
  // destination whatever it is, and the user goes as -l (never `user@` in the spec).
  const sshCommand = [ssh, ...pinnedSshOptions(target), '--'].map(quote).join(' ');
  const spec = (side: Side) => (side.machine ? `${target.host}:${side.path}` : side.path);
  const args = [
    '-t',
    ...(options.recursive ? ['-r'] : []),
    options.quiet ? '-q' : '--progress',
    '-e',
    sshCommand,
  ];
  return new Promise<number>((resolve, reject) => {
    const child = spawn(rsync, [...args, '--', spec(src), spec(dst)], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}
