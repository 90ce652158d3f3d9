import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { requireCommand } from '../harness/components.js';
import { ensureNetwork, NETWORK, networkIntact } from './network.js';
import { type RunResult, run } from './proc.js';

export { type RunResult, run, runOk } from './proc.js';

/**
 * The dedicated test dockerd that runs Moor's test hosts. It never touches the system dockerd or any other
 * test dockerd: own data root (persistent, so the image cache survives), own exec root, pid files, socket,
 * bridge (`moortest0`), its own containerd (a system containerd on /run/containerd would otherwise be
 * shared) and `--iptables=false` (NAT/egress rules are ours, in chains named MOOR-TESTHOSTS).
 */
export const STATE_DIR = process.env.MOOR_TESTHOSTS_STATE ?? '/var/lib/moor-testhosts';
export const RUN_DIR = '/run/moor-testhosts';
export const DOCKER_SOCKET = path.join(RUN_DIR, 'docker.sock');
/** Pass as `-H` / `DOCKER_HOST` to talk to the test dockerd. */
export const TEST_DOCKER_HOST = `unix://${DOCKER_SOCKET}`;

const CONTAINERD_SOCKET = path.join(RUN_DIR, 'containerd', 'containerd.sock');
const DOCKERD_PIDFILE = path.join(RUN_DIR, 'dockerd.pid');
const CONTAINERD_PIDFILE = path.join(RUN_DIR, 'containerd.pid');
const LOG_DIR = path.join(STATE_DIR, 'log');
/** A private docker CLI config, so a test's DOCKER_CONFIG / current context never redirects our calls. */
const CLI_CONFIG_DIR = path.join(RUN_DIR, 'cli-config');

export interface TestDocker {
  /** `unix:///run/moor-testhosts/docker.sock` */
  host: string;
  socket: string;
  dockerdPid: number;
  containerdPid: number;
  /** True when this call started the daemons, false when healthy ones were reused. */
  started: boolean;
}

function dockerCliEnv(): NodeJS.ProcessEnv {
  // The test dockerd (20.10) builds with the classic builder: no buildx plugin needed.
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: CLI_CONFIG_DIR, DOCKER_BUILDKIT: '0' };
  for (const key of [
    'DOCKER_HOST',
    'DOCKER_CONTEXT',
    'DOCKER_TLS_VERIFY',
    'DOCKER_CERT_PATH',
    'DOCKER_TLS',
  ]) {
    delete env[key];
  }
  return env;
}

/** The docker CLI against the test dockerd (resolves with exit code and output). */
export function docker(
  args: readonly string[],
  opts: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<RunResult> {
  mkdirSync(CLI_CONFIG_DIR, { recursive: true });
  return run(requireCommand('docker', 'docker.io'), ['-H', TEST_DOCKER_HOST, ...args], {
    ...opts,
    env: dockerCliEnv(),
  });
}

/** The docker CLI against the test dockerd; throws on a non-zero exit, returns stdout. */
export async function dockerOk(
  args: readonly string[],
  opts: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<string> {
  const result = await docker(args, opts);
  if (result.exitCode !== 0) {
    throw new Error(`docker ${args.join(' ')} exited with ${result.exitCode}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Spawns the docker CLI against the test dockerd (for streaming, e.g. `import -` from a tar pipe). */
export function spawnDocker(args: readonly string[]): ChildProcess {
  mkdirSync(CLI_CONFIG_DIR, { recursive: true });
  return spawn(requireCommand('docker', 'docker.io'), ['-H', TEST_DOCKER_HOST, ...args], {
    env: dockerCliEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function ping(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number | undefined): pid is number {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie or a recycled pid running something else does not count.
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('moor-testhosts');
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  log: string,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  let tail = '';
  try {
    tail = readFileSync(log, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    // no log yet
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms. Last lines of ${log}:\n${tail}`);
}

/** Serialises start/stop/build across processes (vitest workers, global setup, the CLI). */
export async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(RUN_DIR, { recursive: true });
  const target = path.join(RUN_DIR, `${name}.lock-target`);
  if (!existsSync(target)) writeFileSync(target, '');
  const release = await lockfile.lock(target, {
    lockfilePath: path.join(RUN_DIR, `${name}.lock`),
    stale: 30_000,
    update: 5_000,
    retries: { retries: 100_000, minTimeout: 200, maxTimeout: 1000 },
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}

function spawnDaemon(cmd: string, args: string[], logName: string): number {
  mkdirSync(LOG_DIR, { recursive: true });
  const out = openSync(path.join(LOG_DIR, logName), 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  return child.pid;
}

async function startContainerd(): Promise<number> {
  const existing = readPid(CONTAINERD_PIDFILE);
  if (alive(existing) && (await socketAnswers(CONTAINERD_SOCKET))) return existing;
  if (alive(existing)) await killAndWait(existing);
  const containerd = requireCommand('containerd', 'containerd (a dependency of docker.io)');
  const configFile = path.join(RUN_DIR, 'containerd.toml');
  writeFileSync(
    configFile,
    [
      'version = 2',
      `root = "${path.join(STATE_DIR, 'containerd')}"`,
      `state = "${path.join(RUN_DIR, 'containerd-state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${CONTAINERD_SOCKET}"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n'),
  );
  mkdirSync(path.dirname(CONTAINERD_SOCKET), { recursive: true });
  rmSync(CONTAINERD_SOCKET, { force: true });
  const pid = spawnDaemon(containerd, ['--config', configFile], 'containerd.log');
  writeFileSync(CONTAINERD_PIDFILE, `${pid}\n`);
  await waitFor(
    'the test containerd',
    () => socketAnswers(CONTAINERD_SOCKET),
    30_000,
    path.join(LOG_DIR, 'containerd.log'),
  );
  return pid;
}

function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(socketPath)) {
      resolve(false);
      return;
    }
    import('node:net').then(({ connect }) => {
      const sock = connect(socketPath);
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
  });
}

async function killAndWait(pid: number, timeoutMs = 30_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function startDockerd(): Promise<number> {
  const dockerd = requireCommand('dockerd', 'docker.io');
  const net = await ensureNetwork();
  const daemonJson = path.join(RUN_DIR, 'daemon.json');
  writeFileSync(daemonJson, '{}\n');
  const args = [
    '--config-file',
    daemonJson,
    '--host',
    TEST_DOCKER_HOST,
    '--data-root',
    path.join(STATE_DIR, 'docker'),
    '--exec-root',
    path.join(RUN_DIR, 'exec'),
    '--pidfile',
    DOCKERD_PIDFILE,
    '--containerd',
    CONTAINERD_SOCKET,
    '--containerd-namespace',
    'moor-testhosts',
    '--containerd-plugins-namespace',
    'moor-testhosts-plugins',
    '--bridge',
    NETWORK.bridge,
    '--iptables=false',
    '--ip-masq=false',
    '--ipv6=false',
    '--userland-proxy=true',
    '--storage-driver',
    'overlay2',
    '--log-level',
    'warn',
    ...net.nameservers.flatMap((ns) => ['--dns', ns]),
  ];
  rmSync(DOCKER_SOCKET, { force: true });
  const pid = spawnDaemon(dockerd, args, 'dockerd.log');
  await waitFor('the test dockerd', () => ping(DOCKER_SOCKET), 60_000, path.join(LOG_DIR, 'dockerd.log'));
  return pid;
}

/**
 * Starts the test dockerd (and its containerd) unless healthy ones already run, and (re)applies the
 * bridge and firewall rules. Idempotent and cheap when everything runs (~10 ms).
 */
export async function ensureTestDocker(): Promise<TestDocker> {
  const dockerdPid = readPid(DOCKERD_PIDFILE);
  const containerdPid = readPid(CONTAINERD_PIDFILE);
  if (alive(dockerdPid) && alive(containerdPid) && (await ping(DOCKER_SOCKET))) {
    // Someone may have flushed the firewall or removed the bridge since: put them back.
    if (!(await networkIntact())) await withLock('dockerd', () => ensureNetwork());
    return { host: TEST_DOCKER_HOST, socket: DOCKER_SOCKET, dockerdPid, containerdPid, started: false };
  }
  return withLock('dockerd', async () => {
    const again = readPid(DOCKERD_PIDFILE);
    const againContainerd = readPid(CONTAINERD_PIDFILE);
    if (alive(again) && alive(againContainerd) && (await ping(DOCKER_SOCKET))) {
      return {
        host: TEST_DOCKER_HOST,
        socket: DOCKER_SOCKET,
        dockerdPid: again,
        containerdPid: againContainerd,
        started: false,
      };
    }
    if (alive(again)) await killAndWait(again);
    // A dockerd killed outright (kill -9, the end of a session) leaves its pid file behind, and a
    // new dockerd refuses to start while it exists ("pid file found"), even for a dead pid.
    rmSync(DOCKERD_PIDFILE, { force: true });
    const cPid = await startContainerd();
    const dPid = await startDockerd();
    return {
      host: TEST_DOCKER_HOST,
      socket: DOCKER_SOCKET,
      dockerdPid: dPid,
      containerdPid: cPid,
      started: true,
    };
  });
}

/** Stops the test dockerd and its containerd by PID (containers stop with them). The image cache stays. */
export async function stopTestDocker(): Promise<void> {
  await withLock('dockerd', async () => {
    const dockerdPid = readPid(DOCKERD_PIDFILE);
    if (alive(dockerdPid)) await killAndWait(dockerdPid, 60_000);
    const containerdPid = readPid(CONTAINERD_PIDFILE);
    if (alive(containerdPid)) await killAndWait(containerdPid);
    rmSync(DOCKERD_PIDFILE, { force: true });
    rmSync(CONTAINERD_PIDFILE, { force: true });
  });
}

export interface TestDockerStatus {
  running: boolean;
  dockerdPid?: number;
  containerdPid?: number;
  host: string;
  stateDir: string;
}

export async function testDockerStatus(): Promise<TestDockerStatus> {
  const dockerdPid = readPid(DOCKERD_PIDFILE);
  const containerdPid = readPid(CONTAINERD_PIDFILE);
  const running = alive(dockerdPid) && alive(containerdPid) && (await ping(DOCKER_SOCKET));
  return {
    running,
    dockerdPid: alive(dockerdPid) ? dockerdPid : undefined,
    containerdPid: alive(containerdPid) ? containerdPid : undefined,
    host: TEST_DOCKER_HOST,
    stateDir: STATE_DIR,
  };
}
