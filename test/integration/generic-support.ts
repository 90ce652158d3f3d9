/**
 * Shared by the generic-driver integration tests: a temp store, an SSH key, the real `moor` binary
 * and the real `docker` CLI, and a systemd test host that comes back after a reboot.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { HostConfig } from '../../main/store/config.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { dockerOk, startTestHost, type TestHost, type TestHostImage } from '../hosts/index.js';

/** The built CLI (test/global-setup.ts builds dist/); MOOR_TEST_CLI points at another build. */
export const CLI = process.env.MOOR_TEST_CLI || path.resolve(import.meta.dirname, '../../dist/cli/index.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GenericFixture {
  dir: string;
  storePath: string;
  keyPath: string;
  publicKey: string;
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  moor(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<Run>;
  /** `eval "$(moor env NAME)"` then a shell snippet using the real docker CLI. */
  dockerThroughEnv(name: string, snippet: string): Run;
  newKey(name: string): { keyPath: string; publicKey: string };
  cleanup(): void;
}

export function genericFixture(prefix: string): GenericFixture {
  requireCommand('ssh-keygen', 'openssh-client');
  requireCommand('docker', 'docker.io');
  const { dir, cleanup } = tempDir(prefix);
  const storePath = path.join(dir, 'store');
  const newKey = (name: string) => {
    const keyPath = path.join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', keyPath]);
    return { keyPath, publicKey: readFileSync(`${keyPath}.pub`, 'utf8') };
  };
  const { keyPath, publicKey } = newKey('id_test');
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const base: NodeJS.ProcessEnv = { ...process.env, MACHINE_STORAGE_PATH: storePath, HOME: dir, ...extra };
    // The tests must not lean on an agent or the docker CLI's own context.
    delete base.SSH_AUTH_SOCK;
    delete base.DOCKER_HOST;
    delete base.DOCKER_CONTEXT;
    delete base.DOCKER_CERT_PATH;
    delete base.DOCKER_TLS_VERIFY;
    return base;
  };
  return {
    dir,
    storePath,
    keyPath,
    publicKey,
    env,
    newKey,
    cleanup,
    moor(args, options = {}) {
      return new Promise((resolve) => {
        const child = execFile(
          process.execPath,
          [CLI, ...args],
          { env: env(), timeout: options.timeoutMs ?? 280_000, maxBuffer: 64 * 1024 * 1024 },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
        child.stdin?.end(options.input ?? '');
      });
    },
    dockerThroughEnv(name, snippet) {
      const script = `set -e; eval "$("${process.execPath}" "${CLI}" env ${name})"; ${snippet}`;
      const r = spawnSync('bash', ['-c', script], { env: env(), encoding: 'utf8', timeout: 120_000 });
      return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

/**
 * A test host that reboots like a server: systemd's reboot ends the container (exit 129, SIGHUP),
 * and the restart policy powers it on again, as a hypervisor would.
 */
export async function startRebootableHost(
  name: string,
  address: string,
  image: TestHostImage,
  publicKey: string,
  extraPorts: number[] = [],
): Promise<TestHost> {
  const host = await startTestHost({ name, address, image, authorizedKey: publicKey, extraPorts });
  await dockerOk(['update', '--restart', 'on-failure', host.id]);
  return host;
}

/** The machine's config.json as parsed JSON (key order kept). */
export function machineConfig(storePath: string, name: string): HostConfig {
  return JSON.parse(
    readFileSync(path.join(storePath, 'machines', name, 'config.json'), 'utf8'),
  ) as HostConfig;
}
