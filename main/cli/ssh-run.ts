/** `moor ssh`: the terminal glue (stdio, raw mode, SIGINT) around the SSH layer, so it lives in the CLI. */

import { spawn } from 'node:child_process';
import { debug } from '../base/debug.js';
import { MoorError } from '../base/errors.js';
import type { SshTarget } from '../drivers/types.js';
import { assertSafeSshTarget, findSystemSsh, systemSshArgs } from '../ssh/external.js';
import { checkHostKey, ensureHostKeyPinned } from '../ssh/host-keys.js';
import type { SshSession } from '../ssh/types.js';

export interface RunSshOptions {
  machine: string;
  native: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * `moor ssh NAME [cmd...]`: an interactive shell or one command on the machine, with the
 * terminal wired through. Resolves with the exit code to exit with.
 */
export async function runSsh(target: SshTarget, command: readonly string[], options: RunSshOptions) {
  const ssh = options.native ? null : findSystemSsh(options.env);
  const withMachine = { ...target, machineName: target.machineName ?? options.machine };
  assertSafeSshTarget(withMachine); // a store value never reaches a client, not even for pinning
  return ssh ? runSystemSsh(ssh, withMachine, command) : runNativeSsh(withMachine, command);
}

async function runSystemSsh(ssh: string, target: SshTarget, command: readonly string[]): Promise<number> {
  // The external ssh checks strictly against the machine's known_hosts: pin on first contact.
  await ensureHostKeyPinned(target);
  const args = systemSshArgs(target, command);
  // As docker-machine -D: which client, and the command line it runs.
  debug('ssh', () => `using the system ssh client: ${[ssh, ...args].join(' ')}`);
  const started = Date.now();
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(ssh, args, { stdio: 'inherit' });
    // Ctrl-C belongs to the remote side; ssh gets it from the terminal, we must not die of it.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    child.once('error', reject);
    child.once('exit', (exitCode, signal) => {
      process.off('SIGINT', ignore);
      resolve(exitCode ?? (signal ? 128 + 2 : 255));
    });
  });
  debug('ssh', () => `system ssh exited ${code} after ${Date.now() - started} ms`);
  if (code === 255) {
    // ssh's own wording for a changed key is a wall of text; say what happened and what to run.
    const changed = await checkHostKey(target, target.machineName ?? '').catch(() => null);
    if (changed) throw changed;
  }
  return code;
}

async function runNativeSsh(target: SshTarget, args: readonly string[]): Promise<number> {
  const command = args[0] === '--' ? args.slice(1) : args;
  if (command[0]?.startsWith('-')) {
    throw new MoorError(
      `Error: ssh options such as "${command[0]}" need the system ssh client; the built-in client (--native-ssh) only runs commands`,
    );
  }
  const { connect } = await import('../ssh/connect.js'); // ssh2 is loaded only for the built-in client
  const session = await connect(target);
  try {
    if (command.length > 0) {
      const result = await session.exec(command.join(' '), {
        onStdout: (chunk) => process.stdout.write(chunk),
        onStderr: (chunk) => process.stderr.write(chunk),
        // A terminal's stdin stays with the user (like `ssh -n`); piped input goes to the command.
        ...(process.stdin.isTTY ? {} : { stdin: process.stdin }),
      });
      return result.code;
    }
    return await interactiveShell(session);
  } finally {
    session.close();
  }
}

async function interactiveShell(session: SshSession): Promise<number> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const shell = await session.shell({ rows: stdout.rows || 24, cols: stdout.columns || 80 });
  const onResize = () => shell.resize(stdout.rows || 24, stdout.columns || 80);
  const onInput = (chunk: Buffer) => shell.write(chunk);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onInput);
  stdin.resume();
  stdout.on('resize', onResize);
  shell.onData((chunk) => {
    // Flow control: stop reading from the host while the local terminal catches up.
    if (!stdout.write(chunk)) {
      shell.pause();
      stdout.once('drain', () => shell.resume());
    }
  });
  const code = await new Promise<number | null>((resolve) => shell.onClose(resolve));
  stdout.off('resize', onResize);
  stdin.off('data', onInput);
  if (stdin.isTTY) stdin.setRawMode(false);
  stdin.pause();
  return code ?? 0;
}
