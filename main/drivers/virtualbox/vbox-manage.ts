/**
 * Running VBoxManage: the driver's only contact with VirtualBox, injectable so the driver is
 * tested against recorded outputs. Semantics of docker-machine's vbm.go: a retry on "The object
 * is not ready", and "error:" on stderr is a failure even with exit status 0.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { MoorError } from '../../base/errors.js';
import { cancellableSleep } from '../../base/sleep.js';

export interface VBoxRunOptions {
  /** Piped to VBoxManage's stdin (convertfromraw stdin ...). */
  stdin?: Readable;
  signal?: AbortSignal;
}

/** argv (without VBoxManage itself) → stdout; throws VBoxManageError. */
export type VBoxManage = (args: string[], options?: VBoxRunOptions) => Promise<string>;

/** The raw process runner under the retry/error rules: argv → exit code, stdout, stderr. */
export type VBoxExec = (
  args: string[],
  options?: VBoxRunOptions,
) => Promise<{ code: number; stdout: string; stderr: string }>;

export class VBoxManageError extends MoorError {
  constructor(
    readonly args: string[],
    readonly stderr: string,
    message = `VBoxManage ${args.join(' ')} failed:\n${stderr}`,
  ) {
    super(message);
    this.name = 'VBoxManageError';
  }
}

export const VBOXMANAGE_NOT_FOUND =
  'VBoxManage not found. Make sure VirtualBox is installed and VBoxManage is in the path';

const RETRIES_ON_NOT_READY = 5;
const RETRY_DELAY_MS = 100;

/** "Could not find a registered machine named 'x'": the VM is gone (docker-machine's ErrMachineNotExist). */
export function isMachineNotFound(err: unknown): boolean {
  return err instanceof VBoxManageError && /Could not find a registered machine named '.+'/.test(err.stderr);
}

/** Wraps a process runner with docker-machine's rules (vbmOutErrRetry). */
export function vboxManage(exec: VBoxExec): VBoxManage {
  return async (args, options) => {
    for (let attempt = 1; ; attempt++) {
      const r = await exec(args, options);
      if (attempt < RETRIES_ON_NOT_READY && r.stderr.includes('error: The object is not ready')) {
        await cancellableSleep(RETRY_DELAY_MS, options?.signal);
        continue;
      }
      // VBoxManage sometimes exits 0 after a fatal error (e.g. VT-x is not available).
      if (r.code !== 0 || r.stderr.includes('error:')) {
        throw new VBoxManageError(args, r.stderr || `exit status ${r.code}`);
      }
      return r.stdout;
    }
  };
}

/**
 * Where VBoxManage is: VBOX_INSTALL_PATH / VBOX_MSI_INSTALL_PATH (set by VirtualBox's Windows
 * installer, as docker-machine reads them), the usual install folders, else the PATH.
 */
export function findVBoxManage(env: Record<string, string | undefined>, platform = process.platform): string {
  const exe = platform === 'win32' ? 'VBoxManage.exe' : 'VBoxManage';
  const candidates = [
    env.VBOX_INSTALL_PATH,
    env.VBOX_MSI_INSTALL_PATH,
    platform === 'win32' ? 'C:\\Program Files\\Oracle\\VirtualBox' : undefined,
    platform === 'darwin' ? '/Applications/VirtualBox.app/Contents/MacOS' : undefined,
  ];
  for (const dir of candidates) {
    if (dir && existsSync(path.join(dir, exe))) return path.join(dir, exe);
  }
  return exe;
}

/** The real VBoxManage process (stdout and stderr collected, stdin piped when given). */
export function processExec(command: string): VBoxExec {
  return (args, options) =>
    new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        stdio: [options?.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        signal: options?.signal,
        windowsHide: true,
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (c: string) => {
        stdout += c;
      });
      child.stderr?.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
      });
      if (options?.stdin && child.stdin) {
        // A VBoxManage that exits early (bad arguments) closes the pipe: its stderr says why.
        child.stdin.on('error', () => {});
        options.stdin.pipe(child.stdin);
      }
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'ENOENT' ? new MoorError(VBOXMANAGE_NOT_FOUND) : err),
      );
      child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
}
