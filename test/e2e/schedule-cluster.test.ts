/**
 * Schedules, costs and clusters in the app (issue 13 items 1 and 4, issue 14 item 3), in real
 * Chromium against the real services: a real swarm of three systemd test hosts (Debian's
 * docker.io) made with the real `moor` CLI, and a DigitalOcean machine on the emulator (its price
 * from the emulated sizes API). A schedule set in Details is what `moor schedule ls` of the same
 * store prints. Screenshots: details-schedule.png, host-list-cluster.png (test/e2e/screenshots/).
 * Loopback range 127.0.47.0/24.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseDriverConfig, newHostConfig } from '../../main/store/config.js';
import { goMarshalIndent } from '../../main/store/go-json.js';
import { FakeHostBackend } from '../emulators/digitalocean/backends.js';
import { dropletMadeElsewhere } from '../emulators/digitalocean/droplets.js';
import { type DigitalOceanEmulator, startDigitalOceanEmulator } from '../emulators/digitalocean/server.js';
import { genericCreateArgs, runMoor } from '../harness/moor-cli.js';
import { storeCertPaths } from '../harness/store-fixtures.js';
import { startTlsEngine, type TestEngine } from '../harness/tls-engine.js';
import { startTestHost, type TestHost } from '../hosts/index.js';
import { genericFixture } from '../integration/generic-support.js';
import { type AppHarness, startApp } from './harness.js';

const HOSTS = [
  { name: 'mgr', address: '127.0.47.11' },
  { name: 'w1', address: '127.0.47.12' },
  { name: 'w2', address: '127.0.47.13' },
] as const;
const DROPLET = 'do1';

const fx = genericFixture('moor-e2e-sched-');
const hosts: TestHost[] = [];
let emulator: DigitalOceanEmulator;
let engine: TestEngine | undefined;
let env: Record<string, string> = {};
let app: AppHarness;
let page: Page;

/** The real CLI on the app's store, with the emulator's API address. */
async function moor(args: string[]) {
  const run = await runMoor(args, { env: fx.env(env), timeoutMs: 280_000 });
  expect(run.code, `moor ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return run;
}

/**
 * A droplet on the emulator and its machine record, as `moor create` leaves them; its "engine" is
 * a TLS endpoint on the droplet's address (with a server certificate from the store's CA).
 */
async function addDroplet(): Promise<void> {
  const created = await dropletMadeElsewhere(emulator, { name: DROPLET, region: 'ams3' });
  const ip = created.ip;
  const machineDir = path.join(fx.storePath, 'machines', DROPLET);
  await fs.mkdir(machineDir, { recursive: true, mode: 0o700 });
  const host = newHostConfig({
    name: DROPLET,
    storePath: fx.storePath,
    driverName: 'digitalocean',
    driver: {
      ...baseDriverConfig(DROPLET, fx.storePath),
      IPAddress: ip,
      SSHUser: 'root',
      SSHPort: 22,
      AccessToken: emulator.token,
      DropletID: created.id,
      DropletName: DROPLET,
      Image: 'ubuntu-24-04-x64',
      Region: 'ams3',
      Size: 's-1vcpu-1gb',
    },
  });
  await fs.writeFile(path.join(machineDir, 'config.json'), goMarshalIndent(host), { mode: 0o600 });
  const { caCert, caKey } = storeCertPaths(fx.storePath);
  engine = await startTlsEngine({ host: ip, port: 2376, caCert, caKey, dir: path.join(fx.dir, 'engine') });
}

beforeAll(async () => {
  emulator = await startDigitalOceanEmulator({ backend: new FakeHostBackend(10), actionMinMs: 20 });
  env = {
    DIGITALOCEAN_API_URL: emulator.url,
    MOOR_SECRET_STORE: 'plain',
    MOOR_DIGITALOCEAN_POLL_MS: '20',
    MOOR_DIGITALOCEAN_RETRY_BASE_MS: '10',
  };
  hosts.push(
    ...(await Promise.all(
      HOSTS.map((h) =>
        startTestHost({
          name: `moor-e2e-sched-${h.name}`,
          address: h.address,
          image: 'bookworm-docker',
          authorizedKey: fx.publicKey,
          hostname: h.name,
        }),
      ),
    )),
  );
  // One at a time: each create provisions over SSH (certificates, engine config, restart).
  for (const h of HOSTS) await moor(genericCreateArgs(h.name, h.address, fx.keyPath, { installUrl: null }));
  await moor(['swarm', 'init', 'mgr']);
  await moor(['swarm', 'join', '--manager', 'mgr', 'w1', 'w2']);
  await addDroplet();
  app = await startApp({
    storagePath: fx.storePath,
    dockerConfig: path.join(fx.dir, 'docker'),
    env: { ...fx.env(), ...env },
    viewport: { width: 1280, height: 860 },
  });
  page = app.page;
});

afterAll(async () => {
  await app?.close();
  await emulator?.close();
  await engine?.close();
  await Promise.all(hosts.map((h) => h.remove()));
  fx.cleanup();
});

describe('clusters in the host list', () => {
  it('groups the nodes under their manager, with roles, status and availability', async () => {
    const list = page.getByTestId('host-list');
    await expect.poll(() => list.getByTestId('cluster-mgr').count(), { timeout: 30_000 }).toBe(1);
    await expect
      .poll(() => page.getByTestId('cluster-mgr').textContent(), { timeout: 30_000 })
      .toMatch(/^ ?Swarm [0-9a-z]{12} · 3 nodes · managed through mgr$/);
    // The rows in order: heading, manager, its workers (indented), then the rest.
    const rows = await list
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map(
          (tr) => `${tr.getAttribute('data-testid') ?? ''}${tr.classList.contains('depth-1') ? ' >' : ''}`,
        ),
      );
    expect(rows).toEqual(['cluster-mgr', 'host-mgr', 'host-w1 >', 'host-w2 >', `host-${DROPLET}`]);
    const badges = async (name: string) => {
      return [
        await page.getByTestId(`role-${name}`).textContent(),
        await page.getByTestId(`swarm-${name}`).textContent(),
      ];
    };
    await expect.poll(() => badges('mgr')).toEqual(['manager', 'Leader · ready · active']);
    expect(await badges('w1')).toEqual(['worker', 'ready · active']);
    expect(await page.getByTestId(`swarm-${DROPLET}`).count()).toBe(0);
  });

  it('a node has the same row actions, plus Leave swarm… in its menu', async () => {
    await page.getByTestId('more-w2').click();
    const items = await page.getByRole('menu').getByRole('menuitem').allTextContents();
    expect(items.map((t) => t.trim())).toEqual(
      expect.arrayContaining(['Use as active host', 'Details', 'Leave swarm…', 'Remove…']),
    );
    await app.screenshot('host-list-cluster-menu');
    await page.keyboard.press('Escape');
  });

  it('shows the droplet’s hourly price from the provider', async () => {
    await expect
      .poll(() => page.getByTestId(`cost-${DROPLET}`).textContent(), { timeout: 30_000 })
      .toBe('$0.009/h');
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.mouse.move(640, 700);
    await app.screenshot('host-list-cluster');
    // The window's minimum size: driver and URL move under the name, after the node's status.
    await page.setViewportSize({ width: 800, height: 600 });
    await expect
      .poll(() => page.getByTestId('host-w1').locator('.row-facts').textContent())
      .toBe('generic · tcp://127.0.47.12:2376');
    expect(await page.getByTestId('swarm-w1').isVisible()).toBe(true);
    await app.screenshot('host-list-cluster-800x600');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('Leave swarm… drains the worker out of the cluster (confirmed first)', async () => {
    await page.getByTestId('more-w2').click();
    await page.getByTestId('leave-swarm-w2').click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.textContent()).toContain('w2: leave the swarm?');
    await dialog.getByRole('button', { name: 'Leave swarm' }).click();
    await expect
      .poll(() => page.getByTestId('cluster-mgr').textContent(), { timeout: 120_000 })
      .toContain('2 nodes');
    expect(await page.getByTestId('swarm-w2').count()).toBe(0);
    const ls = await moor(['swarm', 'ls']);
    expect(ls.stdout).not.toMatch(/^w2\s/m);
  });
});

describe('schedule and cost in Details', () => {
  it('a driver that cannot start or stop says why there is no schedule', async () => {
    await page.getByTestId('open-w1').click();
    await expect
      .poll(() => page.getByTestId('schedule-unavailable').textContent())
      .toContain('The generic driver cannot start or stop this host, so it cannot have a schedule.');
    expect(await page.getByTestId('schedule-save').count()).toBe(0);
    expect(await page.getByTestId('details-swarm').textContent()).toContain('worker');
    await page.locator('button.back').click();
  });

  it('sets a schedule that `moor schedule ls` of the same store shows, with the next event', async () => {
    await page.getByTestId(`open-${DROPLET}`).click();
    await page.getByTestId('schedule-card').waitFor();
    // A bad time is refused with the CLI's own words, and nothing is saved.
    await page.getByTestId('schedule-start-time').fill('08:30');
    await page.getByTestId('schedule-stop-time').fill('08:30');
    await page.getByTestId('schedule-zone').fill('Europe/Berlin');
    await page.getByTestId('schedule-save').click();
    await expect
      .poll(() => page.getByTestId('schedule-error').textContent())
      .toContain('--start and --stop are the same time (mon-fri 08:30)');
    expect((await moor(['schedule', 'ls', '--no-cost'])).stdout).toMatch(
      new RegExp(`^${DROPLET}\\s+-\\s+-`, 'm'),
    );

    await page.getByTestId('schedule-stop-time').fill('19:00');
    await page.getByTestId('schedule-stop-day-1').click(); // no stop on Mondays
    await page.getByTestId('schedule-idle').fill('45');
    await page.getByTestId('schedule-save').click();
    await expect
      .poll(() => page.getByTestId('schedule-next').textContent())
      .toMatch(/^Next: (start|stop) \w{3} /);
    const ls = await moor(['schedule', 'ls']);
    const row = ls.stdout.split('\n').find((l) => l.startsWith(`${DROPLET} `))!;
    expect(row).toMatch(/mon-fri 08:30\s+tue-fri 19:00\s+45m\s+Europe\/Berlin\s+(start|stop) /);
    expect(row).toContain('$0.00893');
    // The same next event as the CLI's, in the same words.
    const next = /(?:start|stop) \w{3} \d{4}-\d{2}-\d{2} \d{2}:\d{2} [+-]\d{2}:\d{2}/.exec(row)![0];
    expect(await page.getByTestId('schedule-next').textContent()).toBe(`Next: ${next}`);
  });

  it('a droplet’s stops can hibernate it instead (the CLI’s --hibernate), and back', async () => {
    const stopMeans = async () => (await moor(['schedule', DROPLET])).stdout;
    await page.getByTestId('schedule-hibernate').check();
    await page.getByTestId('schedule-save').click();
    await expect.poll(stopMeans).toMatch(/Stop means:\s+hibernate/);
    await page.getByTestId('schedule-hibernate').uncheck();
    await page.getByTestId('schedule-save').click();
    await expect.poll(stopMeans).not.toMatch(/Stop means/);
  });

  it('shows the hourly price, the month so far and the projection under the schedule', async () => {
    const card = page.getByTestId('cost-card');
    await expect.poll(() => card.textContent(), { timeout: 30_000 }).toContain('$0.00893/h (s-1vcpu-1gb');
    const projected = await page.getByTestId('cost-projected').textContent();
    // DigitalOcean bills a stopped droplet: the schedule does not lower the projection, and it says so.
    expect(projected).toMatch(
      /^\$\d+\.\d{2} \(billed while stopped: a stop schedule does not lower the cost\)$/,
    );
    expect(await page.getByTestId('cost-this').textContent()).toMatch(/^\$\d+\.\d{2}$/);
    await page.getByTestId('schedule-card').scrollIntoViewIfNeeded();
    await app.screenshot('details-schedule');
  });

  it('Pause today skips the times left today: the next event is tomorrow’s, for the CLI too', async () => {
    // A zone where it is about noon now, so "two hours from now" is still today there.
    const offset = ((((12 - new Date().getUTCHours() + 12) % 24) + 24) % 24) - 12; // -12..11
    const zone = offset === 0 ? 'UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
    const localHour = (new Date().getUTCHours() + offset + 24) % 24;
    const stop = `${String(localHour + 2).padStart(2, '0')}:00`;
    for (const d of [1, 2, 3, 4, 5, 6, 7]) {
      const on = (await page.getByTestId(`schedule-stop-day-${d}`).getAttribute('aria-pressed')) === 'true';
      if (!on) await page.getByTestId(`schedule-stop-day-${d}`).click();
    }
    await page.getByTestId('schedule-start-none').click();
    await page.getByTestId('schedule-stop-time').fill(stop);
    await page.getByTestId('schedule-zone').fill(zone);
    await page.getByTestId('schedule-save').click();
    const today = new Date(Date.now() + offset * 3_600_000).toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + offset * 3_600_000 + 86_400_000).toISOString().slice(0, 10);
    await expect.poll(() => page.getByTestId('schedule-next').textContent()).toContain(`stop`);
    expect(await page.getByTestId('schedule-next').textContent()).toContain(`${today} ${stop}`);
    await page.getByTestId('schedule-pause-today').click();
    await expect.poll(() => page.getByTestId('schedule-next').textContent()).toContain(`${tomorrow} ${stop}`);
    const row = (await moor(['schedule', 'ls', '--no-cost'])).stdout
      .split('\n')
      .find((l) => l.startsWith(`${DROPLET} `))!;
    expect(row).toContain(
      `stop ${new Date(Date.parse(`${tomorrow}T00:00:00Z`)).toUTCString().slice(0, 3)} ${tomorrow} ${stop}`,
    );
    expect(await page.getByTestId('schedule-pause-today').count()).toBe(0);
  });

  it('a schedule changed with the CLI shows up in Details (at the app’s next schedule check)', async () => {
    const pause = await moor(['schedule', 'pause', DROPLET]);
    expect(pause.stdout).toMatch(
      new RegExp(`^The schedule of "${DROPLET}" is paused for today: it resumes \\w{3} `),
    );
    await moor(['schedule', DROPLET, '--start', 'sat,sun 10:00']);
    await expect
      .poll(() => page.getByTestId('schedule-start-time').inputValue(), { timeout: 90_000 })
      .toBe('10:00');
    expect(await page.getByTestId('schedule-start-day-6').getAttribute('aria-pressed')).toBe('true');
    expect(await page.getByTestId('schedule-start-day-1').getAttribute('aria-pressed')).toBe('false');
  });

  it('Clear removes it (the CLI sees none)', async () => {
    await page.getByTestId('schedule-clear').click();
    await expect.poll(() => page.getByTestId('schedule-next').count()).toBe(0);
    expect((await moor(['schedule', DROPLET])).stdout).toContain('Schedule:   none');
  });
});
