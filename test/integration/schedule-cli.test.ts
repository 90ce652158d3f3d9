/**
 * `moor schedule` end to end with the app closed: the real moor CLI sets a schedule, writes the
 * systemd user timer + service, and the service's own command line (with the test clock's
 * `--now`) starts and stops a DigitalOcean machine on the emulator. The droplet's engine is a
 * mutual-TLS endpoint with the store's certificates that is up only while the droplet runs.
 */
import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseDriverConfig, newHostConfig } from '../../main/store/config.js';
import { goMarshalIndent } from '../../main/store/go-json.js';
import type { HostBackend, HostHandle, HostSpec } from '../emulators/digitalocean/backends.js';
import { dropletMadeElsewhere } from '../emulators/digitalocean/droplets.js';
import { type DigitalOceanEmulator, startDigitalOceanEmulator } from '../emulators/digitalocean/server.js';
import { runMoor } from '../harness/moor-cli.js';
import { bootstrapStoreCerts } from '../harness/store-fixtures.js';
import { startTlsEngine, type TestEngine } from '../harness/tls-engine.js';

const execFileAsync = promisify(execFile);

/** Droplets whose "engine" is a TLS endpoint on the droplet's address, up while it runs. */
class TlsEngineBackend implements HostBackend {
  readonly kind = 'tls-engine';
  readonly engines = new Map<number, TestEngine>();
  constructor(private readonly certs: { caCert: string; caKey: string; dir: string }) {}

  async usedAddresses(): Promise<Set<string>> {
    return new Set();
  }

  async create(spec: HostSpec): Promise<HostHandle> {
    const up = async () => {
      if (this.engines.has(spec.dropletId)) return;
      const engine = await startTlsEngine({
        ...this.certs,
        dir: path.join(this.certs.dir, String(spec.dropletId)),
        host: spec.address,
        port: 2376,
      });
      this.engines.set(spec.dropletId, engine);
    };
    const down = async () => {
      await this.engines.get(spec.dropletId)?.close();
      this.engines.delete(spec.dropletId);
    };
    await up();
    return { start: up, stop: down, kill: down, restart: async () => {}, remove: down };
  }
}

let emulator: DigitalOceanEmulator;
let backend: TlsEngineBackend;
let dir: string;
let store: string;
let env: NodeJS.ProcessEnv;
let dropletId: number;
const name = 'office';

const unitDir = () => path.join(dir, 'config', 'systemd', 'user');

async function moor(args: string[]) {
  return runMoor(['-s', store, ...args], { env, timeoutMs: 120_000 });
}

/** The installed service's ExecStart words, as systemd would run them. */
async function serviceCommand(): Promise<string[]> {
  const files = await fs.readdir(unitDir());
  const service = files.find((f) => f.endsWith('.service'));
  expect(service).toBeDefined();
  const text = await fs.readFile(path.join(unitDir(), service!), 'utf8');
  const line = /^ExecStart=(.*)$/m.exec(text)![1]!;
  // The words are plain or systemd-double-quoted (main/schedule/os-units.ts systemdQuote).
  const words = [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
    (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!).replace(/%%/g, '%'),
  );
  return words;
}

/** Starts the service's command on the test clock (for kill -9). */
function spawnService(iso: string) {
  const child = spawn(serviceWords[0]!, [...serviceWords.slice(1), '--now', iso], { env, stdio: 'ignore' });
  return child;
}
let serviceWords: string[] = [];

/** Runs the installed service's ExecStart, as systemd would, on the test clock. */
async function runServiceAt(iso: string) {
  serviceWords = await serviceCommand();
  const [file, ...args] = serviceWords;
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(file!, [...args, '--now', iso], { env, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function dropletStatus(): Promise<string> {
  const droplet = emulator.state().droplets.find((d) => d.id === dropletId);
  return droplet?.status ?? 'gone';
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-schedule-cli-'));
  store = path.join(dir, 'store');
  const certs = await bootstrapStoreCerts(store);
  backend = new TlsEngineBackend({
    caCert: certs.caCert,
    caKey: certs.caKey,
    dir: path.join(dir, 'engines'),
  });
  emulator = await startDigitalOceanEmulator({ backend, actionMinMs: 20 });
  env = {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    DOCKER_CONFIG: path.join(dir, 'docker'),
    MOOR_OS_SCHEDULER: 'systemd',
    DIGITALOCEAN_API_URL: emulator.url,
    MOOR_SECRET_STORE: 'plain',
    MOOR_DIGITALOCEAN_POLL_MS: '20',
    MOOR_DIGITALOCEAN_RETRY_BASE_MS: '10',
  };
  // A droplet and its machine record, as `moor create` leaves them.
  const created = await dropletMadeElsewhere(emulator, { name, region: 'ams3' });
  dropletId = created.id;
  const ip = created.ip;
  const machineDir = path.join(store, 'machines', name);
  await fs.mkdir(machineDir, { recursive: true, mode: 0o700 });
  const host = newHostConfig({
    name,
    storePath: store,
    driverName: 'digitalocean',
    driver: {
      ...baseDriverConfig(name, store),
      IPAddress: ip,
      SSHUser: 'root',
      SSHPort: 22,
      AccessToken: emulator.token,
      DropletID: dropletId,
      DropletName: name,
      Image: 'ubuntu-24-04-x64',
      Region: 'ams3',
      Size: 's-1vcpu-1gb',
    },
  });
  await fs.writeFile(path.join(machineDir, 'config.json'), goMarshalIndent(host), { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  await emulator?.close();
  for (const engine of backend?.engines.values() ?? []) await engine.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('moor schedule, run by the OS timer with the app closed', () => {
  it('refuses bad input, naming what is wrong, and writes nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['schedule', name, '--start', 'mon-fri 25:00'],
        /--start: Invalid schedule time "mon-fri 25:00": hour 25 is not 0-23/,
      ],
      [['schedule', name, '--stop', 'someday 19:00'], /--stop: .*unknown day "someday"/],
      [
        ['schedule', name, '--start', 'mon 08:00', '--tz', 'Mars/Olympus'],
        /--tz: "Mars\/Olympus" is not an IANA time zone/,
      ],
      [['schedule', name, '--start', 'mon 08:00', '--stop', 'mon 08:00'], /same time \(mon 08:00\)/],
      [['schedule', 'nosuch', '--start', 'mon 08:00'], /Docker machine "nosuch" does not exist/],
      [['schedule', name, '--clear', '--start', 'mon 08:00'], /--clear cannot be combined/],
      [['schedule', name, '--idle-stop', '5x'], /--idle-stop: "5x" is not a duration/],
      [['schedule', 'postpone', name], /Machine "office" has no schedule/],
      [['schedule', 'run', '--now', 'yesterday'], /"yesterday" is not an ISO 8601 time/],
    ];
    for (const [args, message] of cases) {
      const r = await moor(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    await expect(fs.stat(path.join(store, 'machines', name, 'moor-schedule.json'))).rejects.toThrow(/ENOENT/);
    await expect(fs.readdir(unitDir())).rejects.toThrow(/ENOENT/);
  });

  it('sets the schedule beside the machine and installs a timer that systemd-analyze accepts', async () => {
    // Friday 4 December 2026, 13:00 in Berlin.
    const r = await moor([
      'schedule',
      name,
      '--start',
      'mon-fri 08:30',
      '--stop',
      'Mon-Fri 19:00',
      '--tz',
      'Europe/Berlin',
      '--now',
      '2026-12-04T12:00:00Z',
    ]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Start:      mon-fri 08:30');
    expect(r.stdout).toContain('Next:       stop Fri 2026-12-04 19:00 +01:00');
    expect(r.stdout).toMatch(/Price: {6}\$0\.00893\/h \(s-1vcpu-1gb, at most \$6\.00 a month\)/);
    expect(r.stdout).toContain('billed while stopped: a stop schedule does not lower the cost');
    const file = JSON.parse(
      await fs.readFile(path.join(store, 'machines', name, 'moor-schedule.json'), 'utf8'),
    );
    expect(file).toMatchObject({
      Version: 1,
      TimeZone: 'Europe/Berlin',
      Start: 'mon-fri 08:30',
      Stop: 'mon-fri 19:00',
    });
    const units = (await fs.readdir(unitDir())).map((f) => path.join(unitDir(), f));
    expect(units.map((f) => path.extname(f)).sort()).toEqual(['.service', '.timer']);
    const timer = await fs.readFile(units.find((f) => f.endsWith('.timer'))!, 'utf8');
    expect(timer).toContain('OnCalendar=Mon..Fri *-*-* 19:00:00 Europe/Berlin');
    expect(timer).toContain('Persistent=true');
    const verify = await execFileAsync('systemd-analyze', ['verify', '--man=no', ...units]);
    expect(verify.stderr).toBe('');
    // No user systemd in this container: said so, the schedule is kept anyway.
    if (r.stderr)
      expect(r.stderr).toMatch(
        /^Warning: The systemd job could not be activated \(.+\); schedules run only while the Moor app is open\.\n$/,
      );
  });

  it('stops the machine at 19:00 Berlin time, once', async () => {
    expect(await dropletStatus()).toBe('active');
    const early = await runServiceAt('2026-12-04T17:59:59Z');
    expect(early.stdout).toBe('');
    expect(await dropletStatus()).toBe('active');
    const due = await runServiceAt('2026-12-04T18:00:00Z');
    expect(due.stderr).toBe('');
    expect(due.stdout).toContain('Scheduled stop of "office" (due 2026-12-04T18:00:00.000Z) done.');
    expect(await dropletStatus()).toBe('off');
    const again = await runServiceAt('2026-12-04T18:05:00Z');
    expect(again.stdout).toBe('');
  });

  it('starts it on Monday at 08:30 and waits for its engine', async () => {
    const r = await runServiceAt('2026-12-07T07:30:00Z');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Scheduled start of "office" (due 2026-12-07T07:30:00.000Z) done.');
    expect(await dropletStatus()).toBe('active');
    expect(backend.engines.get(dropletId)?.requests).toContain('/_ping');
  });

  it('does the stop a sleeping laptop missed on wake, while the off period holds', async () => {
    // Asleep over Monday 19:00; wakes Tuesday 03:00 Berlin time.
    const r = await runServiceAt('2026-12-08T02:00:00Z');
    expect(r.stdout).toContain('Scheduled stop of "office" (due 2026-12-07T18:00:00.000Z) done.');
    expect(await dropletStatus()).toBe('off');
    // Tuesday 09:00: started; then the stop is postponed by an hour.
    await runServiceAt('2026-12-08T08:00:00Z');
    expect(await dropletStatus()).toBe('active');
  });

  it('postpones a stop by an hour: the timer gets the new time, the stop waits for it', async () => {
    const p = await moor(['schedule', 'postpone', name, '--now', '2026-12-08T17:55:00Z']);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('postponed to 2026-12-08T19:00:00.000Z');
    const timer = (await fs.readdir(unitDir())).find((f) => f.endsWith('.timer'))!;
    expect(await fs.readFile(path.join(unitDir(), timer), 'utf8')).toContain(
      'OnCalendar=2026-12-08 19:00:00 UTC',
    );
    expect((await runServiceAt('2026-12-08T18:00:00Z')).stdout).toBe('');
    expect(await dropletStatus()).toBe('active');
    const ls = await moor(['schedule', 'ls', '--now', '2026-12-08T18:30:00Z']);
    expect(ls.stdout).toMatch(
      /office +mon-fri 08:30 +mon-fri 19:00 +- +Europe\/Berlin +stop Tue 2026-12-08 20:00 \+01:00 \(postponed\) +\$0\.00893/,
    );
    const r = await runServiceAt('2026-12-08T19:00:00Z');
    expect(r.stdout).toContain('Scheduled stop of "office" (due 2026-12-08T18:00:00.000Z) done.');
    expect(await dropletStatus()).toBe('off');
  });

  it('records a failed action, shows it, and exits 1', async () => {
    emulator.injectFault({
      method: 'POST',
      path: `/v2/droplets/${dropletId}/actions`,
      status: 422,
      times: 1,
    });
    const r = await runServiceAt('2026-12-09T07:30:00Z');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Scheduled start of "office" \(due 2026-12-09T07:30:00.000Z\) failed: .*422/);
    const ls = await moor(['schedule', 'ls', '--no-cost', '--now', '2026-12-09T08:00:00Z']);
    expect(ls.stdout).toMatch(/start Wed 2026-12-09 08:30 \+01:00 failed: /);
    expect(ls.stdout).toMatch(/^NAME +START +STOP +IDLE STOP +ZONE/);
  });

  it('a run killed mid-action (kill -9) is redone by the next run', async () => {
    expect(await dropletStatus()).toBe('off'); // the failed start above
    // The runner's state query hangs long enough to kill it mid-action.
    emulator.injectFault({ method: 'GET', path: `/v2/droplets/${dropletId}`, delayMs: 20_000, times: 1 });
    const child = spawnService('2026-12-10T07:30:00Z');
    const scheduleFile = path.join(store, 'machines', name, 'moor-schedule.json');
    let claimed = false;
    for (let i = 0; i < 600 && !claimed; i++) {
      claimed = (await fs.readFile(scheduleFile, 'utf8')).includes('"InFlight"');
      if (!claimed) await new Promise((r) => setTimeout(r, 50));
    }
    expect(claimed).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    emulator.clearFaults();
    expect(await dropletStatus()).toBe('off');
    const r = await runServiceAt('2026-12-10T07:35:00Z');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Scheduled start of "office" (due 2026-12-10T07:30:00.000Z) done.');
    expect(await dropletStatus()).toBe('active');
    expect(await fs.readFile(scheduleFile, 'utf8')).not.toContain('"InFlight"');
  });

  it('--clear removes the schedule and the timer', async () => {
    const idle = await moor(['schedule', name, '--idle-stop', '1h30m']);
    expect(idle.stdout).toContain('Idle stop:  1h30m');
    const timer = (await fs.readdir(unitDir())).find((f) => f.endsWith('.timer'))!;
    expect(await fs.readFile(path.join(unitDir(), timer), 'utf8')).toContain('OnCalendar=*-*-* *:0/5:00');
    const r = await moor(['schedule', name, '--clear']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Schedule of "office" removed.\n');
    await expect(fs.stat(path.join(store, 'machines', name, 'moor-schedule.json'))).rejects.toThrow(/ENOENT/);
    expect(await fs.readdir(unitDir())).toEqual([]);
    expect((await moor(['schedule', name, '--clear'])).stdout).toBe('Machine "office" has no schedule.\n');
  });

  it('--hibernate: the scheduled stop hibernates the machine (a snapshot, no droplet); rm of the last scheduled machine removes the timer at once', async () => {
    const set = await moor([
      'schedule',
      name,
      '--stop',
      'daily 19:00',
      '--tz',
      'Europe/Berlin',
      '--hibernate',
      '--now',
      '2026-12-10T12:00:00Z',
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('Stop means: hibernate');
    const r = await runServiceAt('2026-12-10T18:00:00Z');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Scheduled stop of "office" (due 2026-12-10T18:00:00.000Z) done.');
    await emulator.idle();
    expect(await dropletStatus()).toBe('gone');
    expect(emulator.state().snapshots).toHaveLength(1);
    expect((await moor(['status', name])).stdout).toBe('Hibernated\n');
    expect((await fs.readdir(unitDir())).sort()).toHaveLength(2);
    const rm = await moor(['rm', '-y', name]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(await fs.readdir(unitDir())).toEqual([]);
    expect(emulator.state().snapshots).toEqual([]);
  });
});

describe('docker-machine 0.16.2 and the schedule file', () => {
  it('ignores moor-schedule.json: ls and inspect work, rm removes it with the machine', async () => {
    const { tools } = await import('../harness/docker-machine.js');
    const { writeGenericMachine } = await import('../harness/store-fixtures.js');
    const { scheduleFileText } = await import('../../main/store/schedule-file.js');
    const { parseTimeOfWeek } = await import('../../main/schedule/spec.js');
    const dmDir = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-schedule-dm-'));
    try {
      const dmStore = path.join(dmDir, 'store');
      await bootstrapStoreCerts(dmStore);
      const key = path.join(dmDir, 'id_test');
      await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      // Nothing listens there: docker-machine reports the host as stopped.
      const { machineDir } = writeGenericMachine(dmStore, 'lab', {
        host: '127.0.49.1',
        port: 22,
        user: 'root',
        clientKeyPath: key,
      });
      const scheduleFile = path.join(machineDir, 'moor-schedule.json');
      await fs.writeFile(
        scheduleFile,
        scheduleFileText({
          schedule: { zone: 'Europe/Berlin', stop: parseTimeOfWeek('mon-fri 19:00') },
          progress: { appliedAt: 0 },
        }),
      );
      const t = tools(dmDir, dmStore);
      const ls = await t.dm(['ls']);
      expect(ls.stderr).toBe('');
      expect(ls.stdout).toMatch(/^lab +- +generic +\S+/m);
      const inspect = await t.dm(['inspect', '--format', '{{.Name}} {{.DriverName}}', 'lab']);
      expect(inspect.stdout).toBe('lab generic\n');
      const rm = await t.dm(['rm', '-y', 'lab']);
      expect(rm.code).toBe(0);
      await expect(fs.stat(machineDir)).rejects.toThrow(/ENOENT/);
    } finally {
      await fs.rm(dmDir, { recursive: true, force: true });
    }
  });
});
