import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_PREFIX } from '../emulators/digitalocean/backends.js';
import { type DigitalOceanEmulator, startDigitalOceanEmulator } from '../emulators/digitalocean/server.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { tools } from '../harness/docker-machine.js';
import { moorCommand, type Run, runMoor, runProcess, spawnMoor } from '../harness/moor-cli.js';
import { listTestHosts } from '../hosts/index.js';

// Hibernate / wake of a DigitalOcean machine end to end: the real CLI against the emulator, whose
// droplets are systemd + sshd test hosts on 127.0.49.x (a snapshot keeps the droplet's host
// stopped; a droplet from the snapshot starts it again at a new address), the real docker CLI and
// docker-machine 0.16.2 on the same store. Then the recovery suite: the hibernate and the wake
// killed with SIGKILL at each kind of API request (before it is handled, and after: the answer
// lost), after which `moor ls` and the next `moor hibernate` / `moor wake` converge, with exactly
// one droplet or one snapshot in the emulator.

const token = 'dop_v1_hibernate0123456789abcdef0123456789abcdef0123456789abcdef0123';
const RANGE = { first: '127.0.49.1', last: '127.0.49.254' };
let emulator: DigitalOceanEmulator;
let store: { dir: string; cleanup: () => void };
let dockerConfig: { dir: string; cleanup: () => void };
/** Armed by a run: kill `child` at the first request of this kind, in this phase. */
let killAt: { kind: string; phase: 'before' | 'after' } | null = null;
let child: ChildProcess | null = null;
/** Request kinds seen while `recording` (in order, once each). */
let recording: string[] | null = null;

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    MACHINE_STORAGE_PATH: store.dir,
    DIGITALOCEAN_API_URL: emulator.url,
    DIGITALOCEAN_ACCESS_TOKEN: token,
    MOOR_SECRET_STORE: 'plain',
    MOOR_DIGITALOCEAN_POLL_MS: '100',
    MOOR_DIGITALOCEAN_RETRY_BASE_MS: '20',
    DOCKER_CONFIG: dockerConfig.dir,
    SSH_AUTH_SOCK: '',
    ...extra,
  };
}

function moor(args: string[]): Promise<Run> {
  return runMoor(args, { env: env(), timeoutMs: 240_000 });
}

function dockerThroughEnv(name: string): Promise<Run> {
  const script = `set -e; eval "$(${moorCommand} env ${name})"; docker version --format '{{.Server.Version}}'`;
  return runProcess('bash', ['-c', script], { env: env({ SHELL: '/bin/bash' }), timeoutMs: 60_000 });
}

function dockerContext(name: string): Promise<Run> {
  return runProcess('docker', ['--context', name, 'version', '--format', '{{.Server.Version}}'], {
    env: env(),
    timeoutMs: 60_000,
  });
}

function configOf(name: string): { Driver: Record<string, unknown> } & Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(store.dir, 'machines', name, 'config.json'), 'utf8'));
}

const machineFile = (name: string, file: string) =>
  readFileSync(path.join(store.dir, 'machines', name, file), 'utf8');

function dropletsNamed(name: string) {
  return emulator.state().droplets.filter((d) => d.name === name);
}

/** `moor ls` state of one machine (a generous timeout: the machine is shared with other test runs). */
async function lsState(name: string, why = ''): Promise<string> {
  const ls = await moor(['ls', '-t', '60', '--filter', `name=${name}`, '--format', '{{.State}} {{.Error}}']);
  expect(ls.code, `${why} ${ls.stderr}`).toBe(0);
  const state = ls.stdout.trim().split(' ')[0] ?? '';
  if (state !== 'Running' && state !== 'Hibernated') console.log(`${why}: ls says ${ls.stdout.trim()}`);
  return state;
}

/** "POST /v2/droplets/:id/actions snapshot": what a kill point names. */
function kindOf(method: string, p: string, body: unknown): string {
  const type = (body as { type?: unknown } | undefined)?.type;
  return `${method} ${p.replace(/\/\d+/g, '/:id')}${typeof type === 'string' ? ` ${type}` : ''}`;
}

beforeAll(async () => {
  requireCommand('docker', 'docker.io');
  requireCommand('bash', 'bash');
  store = tempDir('moor-do-hib-store');
  dockerConfig = tempDir('moor-do-hib-docker');
  emulator = await startDigitalOceanEmulator({
    backend: 'test-hosts',
    tokens: [token],
    addresses: RANGE,
    actionMinMs: 50,
  });
  emulator.onRequest = async (req, phase) => {
    const last = emulator.requests[emulator.requests.length - 1];
    const kind = kindOf(req.method, req.path, last?.path === req.path ? last.body : undefined);
    if (recording && phase === 'before' && !recording.includes(kind)) recording.push(kind);
    if (!killAt || !child || killAt.kind !== kind || killAt.phase !== phase) return undefined;
    const victim = child;
    killAt = null;
    await new Promise<void>((resolve) => {
      if (victim.exitCode !== null || victim.signalCode !== null) return resolve();
      victim.once('exit', () => resolve());
      victim.kill('SIGKILL');
    });
    return 'drop';
  };
});

afterAll(async () => {
  await emulator?.close();
  store?.cleanup();
  dockerConfig?.cleanup();
});

async function expectNothingLeft(name: string): Promise<void> {
  await emulator.idle();
  expect(emulator.state().droplets).toEqual([]);
  expect(emulator.state().snapshots).toEqual([]);
  expect(emulator.state().keys).toEqual([]);
  expect(emulator.backgroundErrors).toEqual([]);
  expect(existsSync(path.join(store.dir, 'machines', name))).toBe(false);
  expect(await listTestHosts(`${CONTAINER_PREFIX}${emulator.id}-`)).toEqual([]);
}

describe('digitalocean hibernate / wake (emulator + test hosts)', () => {
  it('create → use → hibernate (Hibernated, no droplet, one snapshot) → start wakes on a new IP → env, context, same keys and CA → rm of a hibernated machine leaves nothing', async () => {
    const name = 'do-hib';
    const created = await moor(['create', '-d', 'digitalocean', '--engine-install-url', 'distro', name]);
    expect(created.code, created.stderr).toBe(0);
    const use = await moor(['use', name]);
    expect(use.code, use.stderr).toBe(0);
    expect((await dockerContext(name)).code).toBe(0);
    const ipBefore = String(configOf(name).Driver.IPAddress);
    const key = machineFile(name, 'id_rsa');
    const ca = readFileSync(path.join(store.dir, 'certs', 'ca.pem'), 'utf8');
    const sshKeyId = configOf(name).Driver.SSHKeyID;

    const hibernated = await moor(['hibernate', name]);
    expect(hibernated.code, hibernated.stderr).toBe(0);
    expect(hibernated.stdout).toContain(`Machine "${name}" was hibernated`);
    await emulator.idle();
    expect(dropletsNamed(name)).toEqual([]);
    const snapshots = emulator.state().snapshots;
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]!.name).toMatch(new RegExp(`^moor-hibernate-${name}-[0-9a-f]{8}$`));
    expect(configOf(name).Driver).toMatchObject({
      DropletID: 0,
      Hibernation: { Phase: 'hibernated', SnapshotID: snapshots[0]!.id, SnapshotGigabytes: 2.36 },
    });
    expect(await lsState(name)).toBe('Hibernated');
    expect((await moor(['status', name])).stdout.trim()).toBe('Hibernated');
    // The actions: a graceful shutdown first, then the snapshot.
    expect(emulator.state().actions.map((a) => `${a.type}:${a.status}`)).toEqual([
      'create:completed',
      'shutdown:completed',
      'snapshot:completed',
    ]);
    const again = await moor(['hibernate', name]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`Machine "${name}" is already hibernated.`);
    const stop = await moor(['stop', name]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain('is hibernated: no server runs, nothing to stop');
    const price = await moor(['schedule', name]);
    expect(price.code, price.stderr).toBe(0);
    expect(price.stdout).toContain('snapshot 2.36 GB');

    // docker-machine 0.16.2 still lists and inspects the machine (the Moor-only field is ignored).
    // Its own DigitalOcean client would call api.digitalocean.com: a dead loopback proxy stops that.
    const dm = tools(mkdtempSync(path.join(os.tmpdir(), 'moor-do-hib-dm-')), store.dir);
    const proxy = { HTTPS_PROXY: 'http://127.0.49.255:9', https_proxy: 'http://127.0.49.255:9' };
    const dmLs = await dm.dm(['ls', '--format', '{{.Name}} {{.DriverName}}'], 60_000, proxy);
    expect(dmLs.stdout).toContain(`${name} digitalocean`);
    const dmInspect = await dm.dm(['inspect', '--format', '{{.Driver.MachineName}}', name], 60_000, proxy);
    expect(dmInspect.code, dmInspect.stderr).toBe(0);
    expect(dmInspect.stdout.trim()).toBe(name);

    const woken = await moor(['start', name]);
    expect(woken.code, woken.stderr).toBe(0);
    expect(woken.stdout).toContain(`Machine "${name}" is hibernated: waking it`);
    await emulator.idle();
    const droplets = dropletsNamed(name);
    expect(droplets).toHaveLength(1);
    expect(emulator.state().snapshots).toEqual([]);
    const ipAfter = droplets[0]!.address;
    expect(ipAfter).not.toBe(ipBefore);
    expect(droplets[0]!.tags.some((t) => /^moor-create-[0-9a-f]{12}$/.test(t))).toBe(true);
    expect(woken.stdout).toContain(`came back with a new IP address (${ipBefore}, now ${ipAfter})`);
    const config = configOf(name);
    expect(config.Driver).toMatchObject({
      DropletID: droplets[0]!.id,
      IPAddress: ipAfter,
      SSHKeyID: sshKeyId,
    });
    expect(config.Driver.Hibernation).toBeUndefined();
    expect(await lsState(name)).toBe('Running');
    expect(machineFile(name, 'id_rsa')).toBe(key);
    expect(readFileSync(path.join(store.dir, 'certs', 'ca.pem'), 'utf8')).toBe(ca);
    const docker = await dockerThroughEnv(name);
    expect(docker.stderr).toBe('');
    expect(docker.code).toBe(0);
    const context = await dockerContext(name);
    expect(context.stderr).toBe('');
    expect(context.code).toBe(0);

    expect((await moor(['hibernate', name])).code).toBe(0);
    const rm = await runMoor(['rm', name], { env: env(), input: 'y\n', timeoutMs: 120_000 });
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain(`${name} is hibernated: its snapshot will be deleted too.`);
    expect(rm.stdout).toContain(`Successfully removed ${name}`);
    await expectNothingLeft(name);
  });

  /** Runs `moor ARGS` and SIGKILLs it at the armed kill point; fails if it never got there. */
  async function killedRun(
    args: string[],
    point: { kind: string; phase: 'before' | 'after' },
  ): Promise<void> {
    killAt = point;
    const proc = spawnMoor(args, { env: env(), stdio: 'ignore' });
    child = proc;
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child = null;
    const reached = killAt === null;
    killAt = null;
    expect(reached, `${args.join(' ')} never reached ${point.phase} ${point.kind} (exit ${exit.code})`).toBe(
      true,
    );
    expect(exit.signal).toBe('SIGKILL');
  }

  it('a hibernate or wake killed at any API step: the next command converges (one droplet or one snapshot)', async () => {
    const name = 'do-hib-kill';
    const created = await moor(['create', '-d', 'digitalocean', '--engine-install-url', 'distro', name]);
    expect(created.code, created.stderr).toBe(0);

    // The kinds of request each operation makes, from a clean run.
    recording = [];
    expect((await moor(['hibernate', name])).code).toBe(0);
    const hibernateKinds = recording;
    recording = [];
    expect((await moor(['wake', name])).code).toBe(0);
    const wakeKinds = recording;
    recording = null;
    console.log(`hibernate requests: ${hibernateKinds.join(' | ')}\nwake requests: ${wakeKinds.join(' | ')}`);
    expect(hibernateKinds).toEqual(
      expect.arrayContaining([
        'POST /v2/droplets/:id/actions shutdown',
        'POST /v2/droplets/:id/actions snapshot',
        'DELETE /v2/droplets/:id',
      ]),
    );
    expect(wakeKinds).toEqual(expect.arrayContaining(['POST /v2/droplets', 'DELETE /v2/snapshots/:id']));
    const points = (kinds: string[]) =>
      kinds.flatMap((kind) =>
        kind.startsWith('GET ')
          ? [{ kind, phase: 'before' as const }]
          : [
              { kind, phase: 'before' as const },
              { kind, phase: 'after' as const },
            ],
      );

    const expectHibernated = async (why: string) => {
      await emulator.idle();
      expect(dropletsNamed(name), why).toEqual([]);
      expect(emulator.state().snapshots, why).toHaveLength(1);
      expect(await lsState(name, why), why).toBe('Hibernated');
    };
    const expectAwake = async (why: string) => {
      await emulator.idle();
      expect(dropletsNamed(name), why).toHaveLength(1);
      expect(emulator.state().snapshots, why).toEqual([]);
      expect(await lsState(name, why), why).toBe('Running');
    };

    for (const point of points(hibernateKinds)) {
      const why = `hibernate killed ${point.phase} ${point.kind}`;
      await killedRun(['hibernate', name], point);
      await emulator.idle();
      // Never a droplet and a snapshot lost at once: one of them is always there.
      expect(dropletsNamed(name).length + emulator.state().snapshots.length).toBeGreaterThan(0);
      expect((await moor(['ls'])).code).toBe(0);
      const resumed = await moor(['hibernate', name]);
      expect(resumed.code, `after a kill ${point.phase} ${point.kind}: ${resumed.stderr}`).toBe(0);
      await expectHibernated(why);
      const woken = await moor(['wake', name]);
      expect(woken.code, woken.stderr).toBe(0);
      await expectAwake(why);
    }

    for (const point of points(wakeKinds)) {
      const why = `wake killed ${point.phase} ${point.kind}`;
      expect((await moor(['hibernate', name])).code).toBe(0);
      await killedRun(['wake', name], point);
      await emulator.idle();
      expect(dropletsNamed(name).length).toBeLessThanOrEqual(1);
      expect(emulator.state().snapshots.length + dropletsNamed(name).length).toBeGreaterThan(0);
      expect((await moor(['ls'])).code).toBe(0);
      const resumed = await moor(['wake', name]);
      expect(resumed.code, `after a kill ${point.phase} ${point.kind}: ${resumed.stderr}`).toBe(0);
      await expectAwake(why);
    }

    expect((await dockerThroughEnv(name)).code).toBe(0);
    expect((await moor(['rm', '-y', name])).code).toBe(0);
    await expectNothingLeft(name);
  });
});
