/**
 * The OS scheduler path for real: inside a test host (systemd as PID 1, a user manager for root as
 * a desktop login would have), `moor schedule` installs its user timer through `systemctl --user`,
 * and systemd itself fires it at the scheduled minute: `moor schedule run` stops a DigitalOcean
 * machine on the emulator (reached through a relay on the test network's gateway). This waits
 * for the real clock to reach the scheduled minute (one to two minutes).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigitalOceanApi } from '../../main/drivers/digitalocean/api.js';
import { baseDriverConfig, newHostConfig } from '../../main/store/config.js';
import { goMarshalIndent } from '../../main/store/go-json.js';
import { type DigitalOceanEmulator, startDigitalOceanEmulator } from '../emulators/digitalocean/server.js';
import { repoRoot } from '../harness/moor-cli.js';
import { TEST_DOCKER_HOST } from '../hosts/docker.js';
import { NETWORK, startTestHost, type TestHost } from '../hosts/index.js';

const execFileAsync = promisify(execFile);
const ADDRESS = '127.0.49.20';
const name = 'office';

let emulator: DigitalOceanEmulator;
let relay: net.Server;
let relayUrl: string;
let host: TestHost;
let dir: string;
let store: string;
let dropletId: number;

/** A TCP relay gateway:port → the emulator on 127.0.0.1 (the host is the test network's gateway). */
async function startRelay(gateway: string, target: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, gateway, resolve));
  return server;
}

/** Copies files into the test host at the same absolute paths (docker cp of a tar stream). */
async function copyIn(paths: string[], excludes: string[] = []): Promise<void> {
  const tar = path.join(dir, 'copy.tar');
  await execFileAsync('tar', [
    '-cf',
    tar,
    '-C',
    '/',
    ...excludes.map((e) => `--exclude=${e}`),
    ...paths.map((p) => p.replace(/^\//, '')),
  ]);
  await execFileAsync('docker', ['-H', TEST_DOCKER_HOST, 'cp', tar, `${host.id}:/tmp/copy.tar`]);
  const r = await host.exec('tar -xf /tmp/copy.tar -C / && rm /tmp/copy.tar');
  expect(r.stderr).toBe('');
}

async function inHost(command: string) {
  const r = await host.exec(['bash', '-c', command], { timeoutMs: 120_000 });
  return r;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-schedule-systemd-'));
  store = path.join(dir, 'store');
  emulator = await startDigitalOceanEmulator({ actionMinMs: 20 });
  const gateway = NETWORK.gatewayCidr.split('/')[0]!;
  relay = await startRelay(gateway, Number(new URL(emulator.url).port));
  relayUrl = `http://${gateway}:${(relay.address() as net.AddressInfo).port}`;

  const api = new DigitalOceanApi({ token: emulator.token, baseUrl: emulator.url });
  dropletId = (
    await api.createDroplet({
      name,
      region: 'ams3',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-24-04-x64',
      ssh_keys: [],
      backups: false,
      ipv6: false,
      private_networking: false,
      monitoring: false,
      tags: [],
    })
  ).id;
  await emulator.idle();
  const machineDir = path.join(store, 'machines', name);
  await fs.mkdir(machineDir, { recursive: true, mode: 0o700 });
  const config = newHostConfig({
    name,
    storePath: store,
    driverName: 'digitalocean',
    driver: {
      ...baseDriverConfig(name, store),
      IPAddress: '127.0.49.21',
      SSHUser: 'root',
      SSHPort: 22,
      AccessToken: emulator.token,
      DropletID: dropletId,
      DropletName: name,
      Region: 'ams3',
      Size: 's-1vcpu-1gb',
    },
  });
  await fs.writeFile(path.join(machineDir, 'config.json'), goMarshalIndent(config), { mode: 0o600 });

  host = await startTestHost({
    name: 'sched-systemd-1',
    address: ADDRESS,
    image: 'bookworm',
    authorizedKey: '',
  });
  // node, the built moor with its runtime modules, and the store, where they are here.
  await copyIn(
    [
      process.execPath,
      path.join(repoRoot, 'bin'),
      path.join(repoRoot, 'dist'),
      path.join(repoRoot, 'package.json'),
      path.join(repoRoot, 'node_modules'),
      store,
    ],
    [
      'node_modules/@biomejs',
      'node_modules/electron*',
      'node_modules/@electron',
      'node_modules/@typescript',
      'node_modules/typescript',
      'node_modules/@rolldown',
      'node_modules/rolldown',
      'node_modules/playwright-core',
      'node_modules/@esbuild',
      'node_modules/esbuild',
      'node_modules/lightningcss*',
      'node_modules/app-builder-*',
      'node_modules/vite',
      'node_modules/vitest',
      'node_modules/@vitest',
      'node_modules/react-dom',
      'node_modules/@xterm',
    ],
  );
  // A user manager for root, as a login would start (the image has no pam_systemd to set its runtime dir).
  const setup = await inHost(
    [
      'mkdir -p /etc/systemd/system/user@0.service.d',
      'printf "[Service]\\nEnvironment=XDG_RUNTIME_DIR=/run/user/0\\n" > /etc/systemd/system/user@0.service.d/runtime-dir.conf',
      'systemctl daemon-reload',
      'systemctl start user@0.service',
      // What the user's session would have: the emulator's address and a plain token store.
      `XDG_RUNTIME_DIR=/run/user/0 systemctl --user set-environment DIGITALOCEAN_API_URL=${relayUrl} MOOR_SECRET_STORE=plain MOOR_DIGITALOCEAN_POLL_MS=20`,
    ].join(' && '),
  );
  expect(setup.stderr).toBe('');
  expect(setup.exitCode).toBe(0);
}, 300_000);

afterAll(async () => {
  await host?.remove();
  relay?.close();
  await emulator?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('the systemd user timer that moor schedule installs', () => {
  it('is installed and enabled by moor, and systemd fires it at the scheduled minute', async () => {
    // A stop at least a minute ahead, on today's weekday, in UTC (the host's clock is this one's).
    const target = new Date(Math.ceil((Date.now() + 75_000) / 60_000) * 60_000);
    const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][target.getUTCDay()];
    const hhmm = target.toISOString().slice(11, 16);
    const moor = `${process.execPath} ${path.join(repoRoot, 'bin/moor.js')} -s ${store}`;
    const env = `XDG_RUNTIME_DIR=/run/user/0 MOOR_OS_SCHEDULER=systemd DIGITALOCEAN_API_URL=${relayUrl} MOOR_SECRET_STORE=plain`;
    const set = await inHost(`${env} ${moor} schedule ${name} --stop "${day} ${hhmm}" --tz UTC`);
    expect(set.stderr).toBe(''); // no "could not be activated" warning: systemctl --user worked
    expect(set.exitCode).toBe(0);
    expect(set.stdout).toContain(`Stop:       ${day} ${hhmm}`);
    const timers = await inHost('XDG_RUNTIME_DIR=/run/user/0 systemctl --user list-timers --all --no-pager');
    expect(timers.stdout).toMatch(/moor-schedule-[0-9a-f]{10}\.timer/);
    expect(timers.stdout).toContain(target.toISOString().slice(0, 10)); // NEXT is today's stop
    expect(await dropletStatus()).toBe('active');

    // Wait for systemd (nothing here runs moor): the droplet goes off once the minute has come.
    let status = 'active';
    for (let i = 0; i < 400 && status !== 'off'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = await dropletStatus();
    }
    if (status !== 'off') {
      // Say what systemd did (timer state, the service's log) instead of only "active".
      const why = await inHost(
        'XDG_RUNTIME_DIR=/run/user/0 systemctl --user list-timers --all --no-pager; journalctl --no-pager -o cat -n 60',
      );
      expect.fail(`the droplet is still ${status} after the scheduled stop:\n${why.stdout}${why.stderr}`);
    }
    const file = JSON.parse(
      (await inHost(`cat ${path.join(store, 'machines', name, 'moor-schedule.json')}`)).stdout,
    );
    expect(file.LastRun).toMatchObject({ Action: 'stop', Event: target.toISOString(), Error: '' });
    expect(Date.parse(file.LastRun.RanAt)).toBeGreaterThanOrEqual(target.getTime());
    // The service's output, in the journal (root reads the user manager's entries there too).
    const journal = await inHost('journalctl --no-pager -o cat | grep "Scheduled stop"');
    expect(journal.stdout).toContain(`Scheduled stop of "${name}" (due ${target.toISOString()}) done.`);

    // --clear disables and removes the timer.
    const clear = await inHost(`${env} ${moor} schedule ${name} --clear`);
    expect(clear.stdout).toBe(`Schedule of "${name}" removed.\n`);
    const after = await inHost('XDG_RUNTIME_DIR=/run/user/0 systemctl --user list-timers --all --no-pager');
    expect(after.stdout).not.toMatch(/moor-schedule-/);
  }, 300_000);
});

async function dropletStatus(): Promise<string> {
  return emulator.state().droplets.find((d) => d.id === dropletId)?.status ?? 'gone';
}
