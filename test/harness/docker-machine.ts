/**
 * The real docker-machine 0.16.2 next to moor, for side-by-side tests: both run on one store
 * with one clean environment. The binary is docker-machine's own v0.16.2 release
 * (`docker-machine-Linux-x86_64`, or a build of that tag); `DOCKER_MACHINE_BIN` points elsewhere.
 * Missing, the test fails (never skips).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { moorBin, type Run, runProcess } from './moor-cli.js';

export const DOCKER_MACHINE_BIN = process.env.DOCKER_MACHINE_BIN ?? '/work/shared/tools/docker-machine';

export interface Tools {
  /**
   * docker-machine ARGS, run as `moor`: it names itself by argv[0] (usage, env hints), so its
   * output can be compared with moor's byte for byte. Its hard-coded texts still say docker-machine.
   */
  dm(args: string[], timeoutMs?: number, env?: Record<string, string>): Promise<Run>;
  moor(args: string[], timeoutMs?: number, env?: Record<string, string>): Promise<Run>;
  /** A bash snippet; `$DM` is docker-machine, the real docker CLI is on PATH. */
  shell(script: string): Promise<Run>;
}

export function tools(dir: string, store: string): Tools {
  try {
    accessSync(DOCKER_MACHINE_BIN, constants.X_OK);
  } catch {
    throw new Error(
      `docker-machine 0.16.2 is required at ${DOCKER_MACHINE_BIN} (set DOCKER_MACHINE_BIN): ` +
        'download docker-machine-Linux-x86_64 from the v0.16.2 release of docker/machine, or build that tag',
    );
  }
  // Found on PATH as `moor`, so its argv[0] (and the driver plugins it re-executes) is that.
  const binDir = path.join(dir, 'docker-machine-as-moor');
  mkdirSync(binDir, { recursive: true });
  const dmPath = path.join(binDir, 'moor');
  copyFileSync(DOCKER_MACHINE_BIN, dmPath);
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: `${binDir}:${process.env.PATH}`,
    DM: dmPath,
    HOME: dir,
    SHELL: '/bin/bash',
    MACHINE_STORAGE_PATH: store,
    DOCKER_CONFIG: path.join(dir, 'docker-config'),
    ...extra,
  });
  return {
    dm: (args, timeoutMs = 60_000, extra) => runProcess('moor', args, { env: env(extra), timeoutMs }),
    moor: (args, timeoutMs = 60_000, extra) =>
      runProcess(process.execPath, [moorBin, ...args], { env: env(extra), timeoutMs }),
    shell: (script) => runProcess('bash', ['-c', script], { env: env(), timeoutMs: 120_000 }),
  };
}

export function generateKey(dir: string): { keyPath: string; publicKey: string } {
  const keyPath = path.join(dir, 'id_test');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'side-by-side', '-f', keyPath]);
  return { keyPath, publicKey: readFileSync(`${keyPath}.pub`, 'utf8') };
}
