import { execFile } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs a command and resolves with its output and exit code (never rejects on a non-zero exit). */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env: opts.env, maxBuffer: 256 * 1024 * 1024, timeout: opts.timeoutMs ?? 0, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          if (error.killed) {
            resolve({ stdout, stderr: `${stderr}\n(killed after ${opts.timeoutMs} ms)`, exitCode: 124 });
          } else reject(error);
          return;
        }
        resolve({ stdout, stderr, exitCode: error ? Number(error.code) : 0 });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs a command and returns its stdout; a non-zero exit throws an error with the command and stderr. */
export async function runOk(
  cmd: string,
  args: readonly string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  const result = await run(cmd, args, opts);
  if (result.exitCode !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited with ${result.exitCode}: ${(result.stderr || result.stdout).trim()}`,
    );
  }
  return result.stdout;
}
