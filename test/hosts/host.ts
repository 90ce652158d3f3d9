import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from '../harness/components.js';
import { ipv4ToNumber, numberToIpv4 } from '../harness/ipv4.js';
import { docker, dockerOk, ensureTestDocker } from './docker.js';
import { ensureImages, imageTag, type TestHostImage } from './images.js';
import { networkState } from './network.js';
import type { RunResult } from './proc.js';

const LABEL = 'org.moor.testhost';
const ADDRESS_LABEL = 'org.moor.testhost.address';
const IMAGE_LABEL = 'org.moor.testhost.image';
/** PID of the process that owns the host: the vitest main process (set by global setup) or the creator. */
const OWNER_LABEL = 'org.moor.testhost.owner-pid';
/** The checkout (repository root) that started the host: `cli.ts clean` removes only its own. */
const CHECKOUT_LABEL = 'org.moor.testhost.checkout';
/** A host a person started with `cli.ts start`: kept by test teardowns until `cli.ts clean`. */
const KEEP_LABEL = 'org.moor.testhost.keep';

/** This checkout's root directory (test/hosts/ is two levels down). */
export const CHECKOUT = path.resolve(import.meta.dirname, '../..');

function ownerPid(): string {
  return process.env.MOOR_TESTHOSTS_OWNER_PID ?? String(process.pid);
}

export interface StartTestHostOptions {
  /** Container name (letters, digits, `_.-`); a leftover container of that name is replaced. */
  name: string;
  /** The host's own loopback address, e.g. '127.0.5.7'; ports 22 and 2376 are published there. */
  address: string;
  /** Default 'bookworm' (no Docker). */
  image?: TestHostImage;
  /** Public key line(s) for root's authorized_keys (and `core`'s on flatcar); '' installs none. */
  authorizedKey: string;
  /** Initial hostname (default: name). */
  hostname?: string;
  /** More container ports published on the same address (same number outside and inside). */
  extraPorts?: readonly number[];
  /** Extra container labels (e.g. the emulator's droplet id). */
  labels?: Readonly<Record<string, string>>;
  /** Wait until sshd's banner answers on address:22 (default true). */
  waitForSsh?: boolean;
  /** For the sshd wait (default 60 s). */
  timeoutMs?: number;
  /**
   * A host for a person (`cli.ts start`): test teardowns leave it alone whatever its owner process,
   * `cli.ts clean` of the same checkout removes it.
   */
  keep?: boolean;
}

export type TestHostState = 'running' | 'stopped' | 'missing';

export interface ExecOptions {
  /** Written to the command's stdin. */
  input?: string;
  /** Run as this user (default root). */
  user?: string;
  timeoutMs?: number;
}

export interface TestHost {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly image: TestHostImage;
  readonly sshPort: 22;
  readonly dockerPort: 2376;
  /** The cloud image's login user: 'root' (bookworm*) or 'core' (flatcar; root works there too). */
  readonly sshUser: 'root' | 'core';
  /** Power on (docker start) and wait for sshd; same address as before. */
  start(opts?: { waitForSsh?: boolean; timeoutMs?: number }): Promise<void>;
  /** Clean shutdown (systemd halts on SIGRTMIN+3); the disk (container layer) is kept. */
  stop(): Promise<void>;
  /** Pull the plug (SIGKILL). */
  kill(): Promise<void>;
  /** stop + start. */
  restart(opts?: { waitForSsh?: boolean; timeoutMs?: number }): Promise<void>;
  /** Delete the container and its disk. Idempotent. */
  remove(): Promise<void>;
  /** docker exec (for assertions and fault injection): `sh -c cmd` for a string, argv for an array. */
  exec(cmd: string | readonly string[], opts?: ExecOptions): Promise<RunResult>;
  /** The container's console output (systemd boot messages). */
  logs(): Promise<string>;
  state(): Promise<TestHostState>;
  waitForSsh(timeoutMs?: number): Promise<void>;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function validAddress(address: string): boolean {
  const parts = address.split('.');
  return (
    parts.length === 4 &&
    parts[0] === '127' &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255) &&
    address !== '127.0.0.1'
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once an SSH server's identification line (`SSH-2.0-...`) is read from address:port. */
export async function waitForSshBanner(address: string, port = 22, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    const banner = await new Promise<string | undefined>((resolve) => {
      let data = '';
      const sock = net.connect({ host: address, port, timeout: 2000 });
      const done = (value: string | undefined) => {
        sock.destroy();
        resolve(value);
      };
      sock.on('data', (chunk) => {
        data += chunk.toString('latin1');
        const line = data.split('\n').find((l) => l.startsWith('SSH-'));
        if (line) done(line.trim());
      });
      sock.on('timeout', () => {
        lastError = 'timeout';
        done(undefined);
      });
      sock.on('error', (err) => {
        lastError = err.message;
        done(undefined);
      });
      sock.on('close', () => {
        if (!data.includes('SSH-')) lastError = 'connection closed before the SSH banner';
        resolve(undefined);
      });
    });
    if (banner) return banner;
    await sleep(200);
  }
  throw new Error(`sshd on ${address}:${port} did not answer within ${timeoutMs} ms (${lastError})`);
}

interface Inspect {
  Id: string;
  Name: string;
  State: { Running: boolean; Status: string };
  Config: { Labels: Record<string, string> | null };
}

async function inspect(idOrName: string): Promise<Inspect | undefined> {
  const result = await docker(['container', 'inspect', idOrName]);
  if (result.exitCode !== 0) return undefined;
  const [info] = JSON.parse(result.stdout) as Inspect[];
  return info?.Config.Labels?.[LABEL] === '1' ? info : undefined;
}

function hostFromInspect(info: Inspect): TestHost {
  const labels = info.Config.Labels ?? {};
  const id = info.Id;
  const name = info.Name.replace(/^\//, '');
  const address = labels[ADDRESS_LABEL] ?? '';
  const image = (labels[IMAGE_LABEL] ?? 'bookworm') as TestHostImage;
  const waitForSsh = (timeoutMs?: number) => waitForSshBanner(address, 22, timeoutMs).then(() => {});
  const state = async (): Promise<TestHostState> => {
    const now = await inspect(id);
    if (!now) return 'missing';
    return now.State.Running ? 'running' : 'stopped';
  };
  const start = async (opts: { waitForSsh?: boolean; timeoutMs?: number } = {}) => {
    await dockerOk(['start', id]);
    if (opts.waitForSsh ?? true) await waitForSsh(opts.timeoutMs);
  };
  const stop = async () => {
    await dockerOk(['stop', '--time', '20', id]);
  };
  return {
    id,
    name,
    address,
    image,
    sshPort: 22,
    dockerPort: 2376,
    sshUser: image === 'flatcar' ? 'core' : 'root',
    start,
    stop,
    async kill() {
      if ((await state()) === 'running') await dockerOk(['kill', id]);
    },
    async restart(opts) {
      await stop();
      await start(opts);
    },
    async remove() {
      await removeTestHost(id);
    },
    exec(cmd, opts = {}) {
      const argv = typeof cmd === 'string' ? ['sh', '-c', cmd] : [...cmd];
      const flags = [...(opts.input !== undefined ? ['-i'] : []), ...(opts.user ? ['-u', opts.user] : [])];
      return docker(['exec', ...flags, id, ...argv], { input: opts.input, timeoutMs: opts.timeoutMs });
    },
    async logs() {
      const result = await docker(['logs', id]);
      return result.stdout + result.stderr;
    },
    state,
    waitForSsh,
  };
}

/**
 * Starts a systemd + sshd test host (a container of the test dockerd) on its own loopback address, with
 * `authorizedKey` installed for root, and waits for sshd's banner. Builds the image first if needed.
 */
export async function startTestHost(opts: StartTestHostOptions): Promise<TestHost> {
  const variant = opts.image ?? 'bookworm';
  if (!NAME_RE.test(opts.name))
    throw new Error(`invalid test host name "${opts.name}" (letters, digits, _.-)`);
  if (!validAddress(opts.address)) {
    throw new Error(
      `invalid test host address "${opts.address}": use a 127.x.y.z address other than 127.0.0.1`,
    );
  }
  const keyLines = opts.authorizedKey
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const badKey = keyLines.find((l) => !/^(ssh-|ecdsa-|sk-)\S+ \S+/.test(l));
  if (badKey !== undefined) {
    throw new Error(
      `authorizedKey must hold OpenSSH public key lines ("ssh-ed25519 AAAA... comment"), got "${badKey.slice(0, 40)}"`,
    );
  }
  await ensureTestDocker();
  await ensureImages({ variants: [variant] });

  const existing = await inspect(opts.name);
  if (existing) await removeTestHost(existing.Id);
  const holder = await hostUsingAddress(opts.address);
  if (holder) {
    throw new Error(`test host address ${opts.address} is already used by test host "${holder}"`);
  }

  const pins = Object.entries(networkState()?.mirrors ?? {}).flatMap(([host, addrs]) =>
    addrs[0] ? ['--add-host', `${host}:${addrs[0]}`] : [],
  );
  const labels = Object.entries(opts.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const ports = [22, 2376, ...(opts.extraPorts ?? [])].flatMap((p) => ['-p', `${opts.address}:${p}:${p}`]);
  const id = (
    await dockerOk([
      'create',
      '--name',
      opts.name,
      '--hostname',
      opts.hostname ?? opts.name,
      '--label',
      `${LABEL}=1`,
      '--label',
      `${ADDRESS_LABEL}=${opts.address}`,
      '--label',
      `${IMAGE_LABEL}=${variant}`,
      '--label',
      // A kept host is owned by PID 1, which is always alive: the teardowns of checkouts from before
      // the keep label (they remove hosts whose owner is gone) leave it alone too.
      `${OWNER_LABEL}=${opts.keep ? '1' : ownerPid()}`,
      '--label',
      `${CHECKOUT_LABEL}=${CHECKOUT}`,
      ...(opts.keep ? ['--label', `${KEEP_LABEL}=1`] : []),
      ...labels,
      // `reboot` inside exits the container with status 129: come back like a rebooted server. A clean
      // poweroff exits 0 (image drop-ins) and docker stop/kill are manual: those stay off.
      '--restart',
      'on-failure',
      '--cap-add',
      'ALL',
      '--cap-drop',
      'SYS_RESOURCE',
      '--security-opt',
      'seccomp=unconfined',
      '--security-opt',
      'apparmor=unconfined',
      '--cgroupns',
      'host',
      '-v',
      '/sys/fs/cgroup:/sys/fs/cgroup:rw',
      '--tmpfs',
      '/run',
      '--tmpfs',
      '/run/lock',
      // An anonymous volume (ext4 of the test dockerd's data root, removed with the host) rather than the
      // brief's tmpfs: the inner engine's images and containers survive a power cycle like on a real
      // server, and they do not take RAM. overlay2 on it works (no overlay-on-overlay).
      '-v',
      '/var/lib/docker',
      ...ports,
      ...pins,
      imageTag(variant),
    ])
  ).trim();

  try {
    // Installed before first boot, like a cloud's key injection: sshd never runs without it.
    if (keyLines.length > 0) {
      const keys = mkdtempSync(path.join(os.tmpdir(), 'moor-testhost-keys-'));
      try {
        const sshDir = path.join(keys, '.ssh');
        mkdirSync(sshDir, { mode: 0o700 });
        writeFileSync(path.join(sshDir, 'authorized_keys'), `${keyLines.join('\n')}\n`, { mode: 0o600 });
        await dockerOk(['cp', sshDir, `${id}:/root/.ssh`]);
      } finally {
        rmSync(keys, { recursive: true, force: true });
      }
    }
    const host = hostFromInspect((await inspect(id))!);
    await host.start({ waitForSsh: opts.waitForSsh ?? true, timeoutMs: opts.timeoutMs });
    return host;
  } catch (err) {
    const logs = (await docker(['logs', '--tail', '30', id])).stdout;
    await docker(['rm', '-f', '-v', id]);
    throw new Error(
      `${(err as Error).message}${logs ? `\nLast console lines of ${opts.name}:\n${logs}` : ''}`,
    );
  }
}

/** One line per test host container matching `label` (default: every test host), as `format` prints it. */
async function testHostLines(format: string, label = `${LABEL}=1`): Promise<string[]> {
  const out = await dockerOk(['ps', '-a', '--filter', `label=${label}`, '--format', format]);
  return out.trim().split('\n').filter(Boolean);
}

/** Name of the test host that publishes on `address`, if any. */
async function hostUsingAddress(address: string): Promise<string | undefined> {
  return (await testHostLines('{{.Names}}', `${ADDRESS_LABEL}=${address}`))[0];
}

/** Re-attaches to an existing test host (e.g. after the emulator restarted); undefined when gone. */
export async function getTestHost(idOrName: string): Promise<TestHost | undefined> {
  const info = await inspect(idOrName);
  return info ? hostFromInspect(info) : undefined;
}

/** Test hosts whose name starts with `prefix` (all when omitted). */
export async function listTestHosts(prefix = ''): Promise<TestHost[]> {
  const names = (await testHostLines('{{.Names}}')).filter((n) => n.startsWith(prefix));
  const hosts: TestHost[] = [];
  for (const name of names) {
    const host = await getTestHost(name);
    if (host) hosts.push(host);
  }
  return hosts;
}

/** Deletes a test host (container and disk). No error when it is already gone. */
export async function removeTestHost(idOrName: string): Promise<void> {
  const info = await inspect(idOrName);
  if (!info) return;
  const result = await docker(['rm', '-f', '-v', info.Id]);
  if (result.exitCode !== 0 && !/No such container/i.test(result.stderr)) {
    throw new Error(`removing test host ${idOrName} failed: ${result.stderr.trim()}`);
  }
}

/**
 * Removes every test host whose name starts with `prefix` (all when omitted); returns how many.
 * Used by the global teardown for leftovers of crashed tests. Does nothing if the test dockerd is down.
 */
export async function stopAll(prefix = ''): Promise<number> {
  const ping = await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
  if (ping.exitCode !== 0) return 0;
  const hosts = await listTestHosts(prefix);
  await Promise.all(hosts.map((h) => removeTestHost(h.id)));
  await docker(['volume', 'prune', '-f']);
  return hosts.length;
}

/** What `removeLeftovers` and `cli.ts clean` need to know about a test host. */
export interface HostOwnership {
  name: string;
  /** PID of the run that started it ('' when unlabelled). */
  owner: string;
  /** Repository root that started it ('' for hosts from before the label existed). */
  checkout: string;
  /** Started by a person with `cli.ts start`. */
  keep: boolean;
}

async function hostOwnerships(): Promise<HostOwnership[]> {
  const format = ['.Names', `.Label "${OWNER_LABEL}"`, `.Label "${KEEP_LABEL}"`, `.Label "${CHECKOUT_LABEL}"`]
    .map((field) => `{{${field}}}`)
    .join('\t');
  return (await testHostLines(format)).map((line) => {
    const [name = '', owner = '', keep = '', checkout = ''] = line.split('\t');
    return { name, owner, keep: keep === '1', checkout };
  });
}

/**
 * The hosts a test run's teardown removes: its own (owner = `mine`) and those of crashed runs (owner
 * process gone), never a live run's and never a host a person keeps.
 */
export function leftoverHosts(
  hosts: readonly HostOwnership[],
  mine: string,
  alive: (pid: number) => boolean = processAlive,
): string[] {
  return hosts
    .filter((h) => !h.keep && (!h.owner || h.owner === mine || !alive(Number(h.owner))))
    .map((h) => h.name);
}

/**
 * The hosts `cli.ts clean` (no prefix) removes: this checkout's kept hosts and this checkout's
 * test hosts whose run has ended. Other checkouts' hosts and live runs' hosts stay.
 */
export function checkoutHosts(
  hosts: readonly HostOwnership[],
  checkout: string,
  alive: (pid: number) => boolean = processAlive,
): string[] {
  return hosts
    .filter((h) => h.checkout === checkout && (h.keep || !h.owner || !alive(Number(h.owner))))
    .map((h) => h.name);
}

/**
 * Removes the test hosts of this test run (owner = MOOR_TESTHOSTS_OWNER_PID) and those whose owner process
 * is gone (crashed runs), but never the hosts of another run in progress on the same machine, nor the
 * ones a person started with `cli.ts start`.
 */
export async function removeLeftovers(): Promise<string[]> {
  const ping = await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
  if (ping.exitCode !== 0) return [];
  const doomed = leftoverHosts(await hostOwnerships(), ownerPid());
  await Promise.all(doomed.map((name) => removeTestHost(name)));
  // Anonymous /var/lib/docker volumes of hosts removed without -v (all volumes here belong to test hosts).
  await docker(['volume', 'prune', '-f']);
  return doomed;
}

/**
 * `cli.ts clean` without a prefix: removes this checkout's hosts (see checkoutHosts); returns the
 * names removed and the names of the test hosts left (other checkouts, live runs).
 */
export async function cleanCheckout(checkout = CHECKOUT): Promise<{ removed: string[]; kept: string[] }> {
  const ping = await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
  if (ping.exitCode !== 0) return { removed: [], kept: [] };
  const hosts = await hostOwnerships();
  const removed = checkoutHosts(hosts, checkout);
  await Promise.all(removed.map((name) => removeTestHost(name)));
  await docker(['volume', 'prune', '-f']);
  return { removed, kept: hosts.map((h) => h.name).filter((n) => !removed.includes(n)) };
}

/**
 * The first address from `first` to `last` (inclusive, same 127.a.b.* or spanning) that no test host
 * uses, e.g. pickFreeAddress('127.0.20.1', '127.0.29.254') for the DigitalOcean emulator.
 */
export async function pickFreeAddress(first: string, last: string): Promise<string> {
  const used = new Set(await testHostLines(`{{.Label "${ADDRESS_LABEL}"}}`));
  for (let n = ipv4ToNumber(first); n <= ipv4ToNumber(last); n++) {
    const addr = numberToIpv4(n);
    if (!used.has(addr) && !addr.endsWith('.0') && !addr.endsWith('.255')) return addr;
  }
  throw new Error(`no free test host address between ${first} and ${last}`);
}
