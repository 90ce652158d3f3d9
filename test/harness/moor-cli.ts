/**
 * The real `moor` CLI (and other commands) as whole processes, for integration tests and benches.
 * MOOR_TEST_BIN points at a built copy elsewhere, for runs while another process rebuilds dist/.
 */
import {
  type ChildProcess,
  type ChildProcessWithoutNullStreams,
  type SpawnOptions,
  type SpawnOptionsWithoutStdio,
  spawn,
  spawnSync,
} from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
/** bin/moor.js runs the built dist/cli/index.cjs (test/global-setup.ts builds it). */
export const moorBin = path.resolve(process.env.MOOR_TEST_BIN ?? path.join(repoRoot, 'bin/moor.js'));
/** `moor` for a shell snippet, e.g. `eval "$(${moorCommand} env NAME)"`. */
export const moorCommand = `"${process.execPath}" "${moorBin}"`;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The whole environment (default: this process's); undefined values are left out. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed (empty by default). */
  input?: string;
  timeoutMs?: number;
  /** Working directory (default: this process's). */
  cwd?: string;
}

function definedEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
}

/** An exit by signal reads as a shell would show it (128 + signal number). */
function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal ? 128 + (constants.signals[signal] ?? 0) : -1;
}

/** Runs `file args` to completion and collects its output; rejects only when it cannot start. */
export function runProcess(file: string, args: readonly string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: definedEnv(options.env),
      timeout: options.timeoutMs,
      cwd: options.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: exitCode(code, signal), stdout, stderr }));
    // A child killed or done before reading its stdin (kill -9 tests) closes the pipe: not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** runProcess, blocking: only where nothing in this process has to answer the child. */
export function runProcessSync(file: string, args: readonly string[], options: RunOptions = {}): Run {
  const r = spawnSync(file, args, {
    env: definedEnv(options.env),
    input: options.input ?? '',
    timeout: options.timeoutMs,
    cwd: options.cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error && r.status === null && r.signal === null) throw r.error;
  return { code: exitCode(r.status, r.signal), stdout: r.stdout, stderr: r.stderr };
}

export const runMoor = (args: readonly string[], options?: RunOptions): Promise<Run> =>
  runProcess(process.execPath, [moorBin, ...args], options);

export const runMoorSync = (args: readonly string[], options?: RunOptions): Run =>
  runProcessSync(process.execPath, [moorBin, ...args], options);

/** A `moor` process left to the caller (to signal it mid-way); stdio pipes unless told otherwise. */
export function spawnMoor(
  args: readonly string[],
  options?: SpawnOptionsWithoutStdio,
): ChildProcessWithoutNullStreams;
export function spawnMoor(args: readonly string[], options: SpawnOptions): ChildProcess;
export function spawnMoor(args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, [moorBin, ...args], { ...options, env: definedEnv(options.env) });
}

export interface GenericCreateOptions {
  /** `-D`: debug log on stderr. */
  debug?: boolean;
  user?: string;
  /** Default: the caller's key. */
  key?: string;
  /** Default `distro` (tests never reach get.docker.com); null leaves the flag out. */
  installUrl?: string | null;
  /** More flags, before the name. */
  extra?: string[];
}

/** `moor create -d generic` arguments for a host at `address`. */
export function genericCreateArgs(
  name: string,
  address: string,
  keyPath: string,
  o: GenericCreateOptions = {},
): string[] {
  return [
    ...(o.debug ? ['-D'] : []),
    'create',
    '-d',
    'generic',
    '--generic-ip-address',
    address,
    ...(o.user ? ['--generic-ssh-user', o.user] : []),
    '--generic-ssh-key',
    o.key ?? keyPath,
    ...(o.installUrl === null ? [] : ['--engine-install-url', o.installUrl ?? 'distro']),
    ...(o.extra ?? []),
    name,
  ];
}
