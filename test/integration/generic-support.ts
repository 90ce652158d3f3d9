/**
 * Shared by the generic-driver integration tests: a temp store, an SSH key, the real `moor` binary
 * and the real `docker` CLI, and a systemd test host that comes back after a reboot.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { HostConfig } from '../../main/store/config.js';
import { requireCommand, tempDir } from '../harness/components.js';
import {
  type GenericCreateOptions,
  genericCreateArgs,
  moorCommand,
  type Run,
  runMoor,
  runProcessSync,
} from '../harness/moor-cli.js';
import { dockerOk, startTestHost, type TestHost, type TestHostImage } from '../hosts/index.js';

/** The snippet for dockerThroughEnv that proves the docker CLI reaches the machine's engine. */
export const DOCKER_VERSION = 'docker version --format "{{.Server.Version}}"';

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
      return runMoor(args, { env: env(), input: options.input, timeoutMs: options.timeoutMs ?? 280_000 });
    },
    dockerThroughEnv(name, snippet) {
      const script = `set -e; eval "$(${moorCommand} env ${name})"; ${snippet}`;
      // $SHELL names the shell that evals the lines, as a login shell would set it.
      return runProcessSync('bash', ['-c', script], {
        env: { ...env(), SHELL: '/bin/bash' },
        timeoutMs: 120_000,
      });
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

export interface GenericSuite extends GenericFixture {
  readonly address: string;
  /** The test host, started in beforeAll. */
  readonly host: TestHost;
  /** `moor create -d generic ... NAME` against the suite's host. */
  create(name: string, options?: GenericCreateOptions): Promise<Run>;
}

/**
 * One test file's fixture and rebootable test host: the host starts in beforeAll, and afterAll
 * removes it and the temp store.
 */
export function genericSuite(o: {
  prefix: string;
  hostName: string;
  address: string;
  image: TestHostImage;
  extraPorts?: number[];
}): GenericSuite {
  const fx = genericFixture(o.prefix);
  let host: TestHost | undefined;
  beforeAll(async () => {
    host = await startRebootableHost(o.hostName, o.address, o.image, fx.publicKey, o.extraPorts);
  });
  afterAll(async () => {
    await host?.remove();
    fx.cleanup();
  });
  return Object.defineProperties(
    {
      ...fx,
      address: o.address,
      create: (name: string, options?: GenericCreateOptions) =>
        fx.moor(genericCreateArgs(name, o.address, fx.keyPath, options)),
    },
    {
      host: {
        get: () => {
          if (!host) throw new Error(`test host ${o.hostName} is not running`);
          return host;
        },
      },
    },
  ) as GenericSuite;
}
