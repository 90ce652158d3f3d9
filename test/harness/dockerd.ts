import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireCommand, tempDir } from './components.js';

/**
 * A real Docker engine for tests, secured with Moor's certificates: `dockerd` as root with its
 * own --data-root, --exec-root, pidfile, config file, unix socket and a TLS (--tlsverify) TCP
 * listener on a loopback address. No bridge, no iptables, no ip forwarding, so it never touches
 * the host's network setup nor fights another dockerd (such as the test-host engine on moortest0).
 * dockerd starts its own managed containerd under its exec-root; the containerd namespaces are
 * unique per instance too, in case a system containerd at /run/containerd gets used instead.
 * Everything is stopped by PID in stop(), also when startup fails, and at process exit.
 */
export interface DockerdOptions {
  /** Loopback address of the TLS listener, e.g. 127.0.2.2 (certs/none tests own 127.0.2.x). */
  host: string;
  /** TLS port (default 2376, docker's). */
  port?: number;
  tls: {
    caCert: string;
    serverCert: string;
    serverKey: string;
  };
  /** Default vfs: needs no kernel mounts, so nothing is left mounted if the daemon dies hard. */
  storageDriver?: string;
  /** Extra dockerd arguments. */
  extraArgs?: string[];
}

export interface Dockerd {
  host: string;
  port: number;
  /** tcp://host:port, what DOCKER_HOST / `--url` hold. */
  url: string;
  /** The daemon's private unix socket (no TLS), for test setup through the docker CLI. */
  socketPath: string;
  /** Environment for the docker CLI talking to the unix socket, with its own DOCKER_CONFIG. */
  socketEnv: NodeJS.ProcessEnv;
  dir: string;
  pid: number;
  /** dockerd's output so far. */
  log(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

let instances = 0;
/** Daemons not stopped yet, for the exit hook: pid → what to clean up after it. */
const running = new Map<number, { execRoot: string; dir: string; cleanup: () => void }>();
let exitHookInstalled = false;

export async function startDockerd(options: DockerdOptions): Promise<Dockerd> {
  const dockerdBin = requireCommand('dockerd', 'docker.io');
  requireCommand('containerd', 'containerd');
  requireCommand('runc', 'runc');
  const port = options.port ?? 2376;
  const host = options.host;
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`startDockerd: ${host} is not a loopback address`);
  if (await isListening(host, port)) {
    throw new Error(`startDockerd: ${host}:${port} is already in use by another process`);
  }

  const { dir, cleanup } = tempDir('moor-dockerd');
  const id = `moor-test-${process.pid}-${++instances}`;
  const socketPath = path.join(dir, 'docker.sock');
  const dataRoot = path.join(dir, 'data');
  const execRoot = path.join(dir, 'exec');
  const logFile = path.join(dir, 'dockerd.log');
  const configFile = path.join(dir, 'daemon.json');
  writeFileSync(configFile, '{}\n'); // never read /etc/docker/daemon.json
  const dockerConfig = path.join(dir, 'docker-cli-config');

  const args = [
    '--config-file',
    configFile,
    '--data-root',
    dataRoot,
    '--exec-root',
    execRoot,
    '--pidfile',
    path.join(dir, 'dockerd.pid'),
    '--host',
    `unix://${socketPath}`,
    '--host',
    `tcp://${host}:${port}`,
    '--tlsverify',
    '--tlscacert',
    options.tls.caCert,
    '--tlscert',
    options.tls.serverCert,
    '--tlskey',
    options.tls.serverKey,
    '--containerd-namespace',
    id,
    '--containerd-plugins-namespace',
    `${id}-plugins`,
    '--bridge',
    'none',
    '--iptables=false',
    '--ip6tables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    '--storage-driver',
    options.storageDriver ?? 'vfs',
    '--log-level',
    'info',
    ...(options.extraArgs ?? []),
  ];

  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(dockerdBin, args, { stdio: ['ignore', logFd, logFd], detached: false });
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid ?? 0;
  if (pid) running.set(pid, { execRoot, dir, cleanup });
  installExitHook();
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  let exited = child.exitCode !== null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      running.delete(pid);
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });

  const stop = async () => {
    if (!exited && pid) {
      signal(pid, 'SIGTERM');
      const timer = new AbortController(); // no 15 s timer left pending once dockerd is gone
      const timedOut = await Promise.race([
        exitPromise.then(() => false),
        sleep(STOP_TIMEOUT_MS, true, { signal: timer.signal }).catch(() => false),
      ]);
      timer.abort();
      if (timedOut) {
        signal(pid, 'SIGKILL');
        await exitPromise;
      }
    }
    // dockerd stops its managed containerd on SIGTERM; after a SIGKILL it would be orphaned.
    killManagedContainerd(execRoot);
    unmountUnder(dir);
    cleanup();
  };

  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited) throw new Error(`dockerd exited before answering /_ping:\n${tail(log())}`);
      if (await ping(socketPath)) break;
      if (Date.now() > deadline) {
        throw new Error(`dockerd did not answer /_ping within ${READY_TIMEOUT_MS} ms:\n${tail(log())}`);
      }
      await sleep(200);
    }
    return {
      host,
      port,
      url: `tcp://${host}:${port}`,
      socketPath,
      socketEnv: {
        ...withoutDockerEnv(process.env),
        DOCKER_HOST: `unix://${socketPath}`,
        DOCKER_CONFIG: dockerConfig,
      },
      dir,
      pid,
      log,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The environment minus DOCKER_* (a stray DOCKER_TLS_VERIFY or DOCKER_CONTEXT would redirect the CLI). */
export function withoutDockerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('DOCKER_')));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** GET /_ping on the unix socket; true once the API serves. */
function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function killManagedContainerd(execRoot: string): void {
  const pidFile = path.join(execRoot, 'containerd', 'containerd.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!pid) return;
  try {
    // Only ours: its command line names our exec-root.
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(execRoot)) return;
  } catch {
    return; // not running
  }
  signal(pid, 'SIGKILL');
}

/** Lazily unmounts whatever the daemon left mounted under `dir` (deepest first). */
function unmountUnder(dir: string): void {
  let mountInfo: string;
  try {
    mountInfo = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  const mounts = mountInfo
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) {
    try {
      execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
    } catch {
      // best effort: removal reports what is still busy
    }
  }
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Last resort if a test process exits without stop(): no dockerd (or its containerd) outlives it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [pid, instance] of running) {
      signal(pid, 'SIGKILL');
      killManagedContainerd(instance.execRoot);
      unmountUnder(instance.dir);
      try {
        instance.cleanup();
      } catch {
        // files of a daemon still exiting; nothing more can be done synchronously
      }
    }
  });
}
