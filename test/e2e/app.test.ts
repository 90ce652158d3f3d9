/**
 * The renderer in real headless Chromium, driving the real main-process services through the
 * test-only bridge: a real store, real SSH to systemd test hosts (test/hosts), real provisioning,
 * the real docker CLI for the active-host check. Screenshots go to test/e2e/screenshots/.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireCommand } from '../harness/components.js';
import { pickFreeAddress, startTestHost, type TestHost } from '../hosts/index.js';
import { type AppHarness, startApp } from './harness.js';

const run = promisify(execFile);
/** MOOR_E2E_NET=127.0.45 runs this file in one /24 of one's own (parallel checkouts never collide). */
const NET = process.env.MOOR_E2E_NET;
const E2E_FIRST = NET ? `${NET}.2` : '127.0.30.2';
const E2E_LAST = NET ? `${NET}.254` : '127.0.39.254';
/** Hosts are picked below this; nothing listens from here up. */
const E2E_NOWHERE = NET ? `${NET}.200` : '127.0.39.200';
const E2E_HOSTS_LAST = NET ? `${NET}.199` : '127.0.39.199';

function nextAddress(address: string): string {
  const parts = address.split('.').map(Number);
  parts[3]! += 1;
  if (parts[3]! > 254) {
    parts[2]! += 1;
    parts[3] = 1;
  }
  return parts.join('.');
}

/** Text of the active terminal tab, read through xterm's buffer API. */
function terminalText(page: Page, lines = 60): Promise<string> {
  return page.evaluate((n) => window.__moorTerminals?.activeText(n) ?? '', lines);
}

async function waitForTerminal(page: Page, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await terminalText(page, 200);
    if (pattern.test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`terminal never showed ${pattern}; it shows:\n${text}`);
}

describe('Moor renderer in Chromium against the real services', () => {
  let app: AppHarness;
  let page: Page;
  let web: TestHost | undefined;
  let db: TestHost | undefined;
  let spare: TestHost | undefined;
  let tmp: string;
  let keyPath: string;
  let publicKey: string;
  let dockerConfig: string;
  const docker = requireCommand('docker', 'docker.io');

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'moor-e2e-'));
    keyPath = path.join(tmp, 'id_ed25519');
    execFileSync(requireCommand('ssh-keygen', 'openssh-client'), [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'moor-e2e',
      '-f',
      keyPath,
    ]);
    publicKey = readFileSync(`${keyPath}.pub`, 'utf8');
    dockerConfig = path.join(tmp, 'docker-config');
    const dbAddress = await pickFreeAddress(E2E_FIRST, E2E_LAST);
    const webAddress = await pickFreeAddress(nextAddress(dbAddress), E2E_LAST);
    [db, web] = await Promise.all([
      startTestHost({
        name: `moor-e2e-db-${process.pid}`,
        address: dbAddress,
        image: 'bookworm-docker',
        authorizedKey: publicKey,
      }),
      startTestHost({
        name: `moor-e2e-web-${process.pid}`,
        address: webAddress,
        image: 'bookworm-docker',
        authorizedKey: publicKey,
      }),
    ]);
    app = await startApp({ storagePath: path.join(tmp, 'store'), dockerConfig });
    page = app.page;
    // "db" exists before the page looks (created through the same services, not the form).
    const { operationId } = await app.services.createMachine({
      name: 'db',
      driver: 'generic',
      flags: { 'generic-ip-address': db.address, 'generic-ssh-key': keyPath, 'engine-install-url': 'distro' },
    });
    const deadline = Date.now() + 240_000;
    for (;;) {
      const op = (await app.services.snapshot()).operations.find((o) => o.id === operationId)!;
      if (op.status === 'succeeded') break;
      if (op.status !== 'running' || Date.now() > deadline) {
        const log = await app.services.readLogs({ operationId });
        throw new Error(
          `creating db failed (${op.status}): ${op.error}\n${log.map((e) => e.message).join('\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all([web?.remove(), db?.remove(), spare?.remove()]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('lists hosts with their live state, pushed from main', async () => {
    const row = page.getByTestId('host-db');
    await expect
      .poll(() => page.getByTestId('state-db').getAttribute('data-state'), { timeout: 20_000 })
      .toBe('Running');
    await expect.poll(() => row.textContent()).toContain(`tcp://${db!.address}:2376`);
    expect(await row.textContent()).toMatch(/generic/);
    // Docker version: one poll can miss it on a loaded machine (the version query is bounded by the
    // 1 s per-host timeout and then shows Unknown); the next poll fills it in.
    await expect
      .poll(() => row.locator('td.mono').nth(1).textContent(), { timeout: 20_000 })
      .toMatch(/^v?\d+\.\d+/);

    // Power the host off behind Moor's back: the row follows without any reload.
    await db!.stop();
    await expect
      .poll(() => page.getByTestId('state-db').getAttribute('data-state'), { timeout: 30_000 })
      .toBe('Stopped');
    await db!.start();
    await expect
      .poll(() => page.getByTestId('state-db').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('Running');
  });

  it('creates a generic host from the generated form and shows its steps', async () => {
    await page.getByTestId('nav-create').click();
    await page.getByTestId('driver-generic').click();
    // Validation happens before anything is sent.
    await page.getByTestId('create-submit').click();
    expect(await page.locator('.field-error').allTextContents()).toEqual(
      expect.arrayContaining(['A name is required', 'IP address is required']),
    );
    await page.getByTestId('machine-name').fill('web');
    await page.getByTestId('flag-generic-ip-address').fill(web!.address);
    await page.getByTestId('flag-generic-ssh-key').fill(keyPath);
    await page.getByTestId('toggle-advanced').click();
    await page.getByTestId('flag-engine-install-url').fill('distro');
    await app.screenshot('create-form-generic');

    await page.getByTestId('create-submit').click();
    await page.getByTestId('create-progress').waitFor();
    await expect
      .poll(() => page.getByTestId('create-status').textContent(), { timeout: 240_000, interval: 500 })
      .not.toBe('in progress');
    const status = await page.getByTestId('create-status').textContent();
    const log = await page.getByTestId('create-log').textContent();
    expect(status, log ?? '').toBe('succeeded');
    // Next steps for the new host, and a form ready for the next one.
    await page.getByTestId('use-created').waitFor();
    await page.getByTestId('terminal-created').waitFor();
    expect(await page.getByTestId('machine-name').inputValue()).toBe('');
    const steps = await page.locator('[data-testid=create-steps] li').allTextContents();
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(await page.locator('[data-testid=create-steps] li.step-done').count()).toBe(steps.length);
    await page
      .locator('.view:visible')
      .first()
      .evaluate((el) => el.scrollTo(0, 0));
    await app.screenshot('create-progress');

    await page.getByTestId('nav-hosts').click();
    await expect
      .poll(() => page.getByTestId('state-web').getAttribute('data-state'), { timeout: 20_000 })
      .toBe('Running');
    await expect
      .poll(() => page.getByTestId('host-web').locator('td.mono').nth(1).textContent())
      .toMatch(/^v?\d+\.\d+/);
    await app.screenshot('host-list');
  });

  it('switches the active host from the UI; the real docker CLI follows, and back', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: dockerConfig };
    delete env.DOCKER_HOST;
    delete env.DOCKER_CONTEXT;
    await page.getByTestId('switch-web').click({ force: true });
    await expect.poll(() => page.getByTestId('active-host').textContent()).toBe('web');
    const context = (await run(docker, ['context', 'show'], { env })).stdout.trim();
    expect(context).toBe('web');
    // The context really reaches the engine over TLS.
    const version = (
      await run(docker, ['version', '--format', '{{.Server.Version}}'], { env, timeout: 30_000 })
    ).stdout.trim();
    expect(version).toMatch(/^\d+\.\d+/);
    expect(await page.getByTestId('host-web').getAttribute('class')).toContain('is-active');

    // A switch made with the docker CLI shows up in the window (nobody polls from the page).
    await run(docker, ['context', 'use', 'default'], { env });
    await expect
      .poll(() => page.getByTestId('active-host').textContent(), { timeout: 15_000 })
      .toBe('default (local)');
    await page.getByTestId('more-db').click();
    await page.getByTestId('use-db').click();
    await expect.poll(() => page.getByTestId('active-host').textContent()).toBe('db');
    expect((await run(docker, ['context', 'show'], { env })).stdout.trim()).toBe('db');
    await page.getByTestId('switch-default-context').click({ force: true });
    await expect.poll(() => page.getByTestId('active-host').textContent()).toBe('default (local)');
    expect((await run(docker, ['context', 'show'], { env })).stdout.trim()).toBe('default');
  });

  it('opens an SSH terminal with the real size and runs a command', async () => {
    await page.getByTestId('nav-hosts').click();
    await page.getByTestId('terminal-web').click();
    await waitForTerminal(page, /[#$] $/m);
    const tab = (await page.evaluate(() => window.__moorTerminals!.tabs()))[0]!;
    expect(tab.status).toBe('open');
    await page.locator('.term-pane:visible').click();
    await page.keyboard.type('uname -a; echo TERM=$TERM\n');
    const text = await waitForTerminal(page, /TERM=xterm-256color/);
    expect(text).toMatch(/Linux \S+ .*GNU\/Linux/);
    await page.keyboard.type('stty size\n');
    await waitForTerminal(page, new RegExp(`^${tab.rows} ${tab.cols}$`, 'm'));
    await page.keyboard.type(
      "ls --color=always / | head -5; printf '\\033[1;32mgreen\\033[0m \\033[1;34mblue\\033[0m\\n'\n",
    );
    await waitForTerminal(page, /green blue/);
    await app.screenshot('terminal');
  });

  it('sends every resize to the remote pty', async () => {
    const before = (await page.evaluate(() => window.__moorTerminals!.tabs()))[0]!;
    await page.setViewportSize({ width: 1000, height: 620 });
    await expect
      .poll(async () => (await page.evaluate(() => window.__moorTerminals!.tabs()))[0]!.cols)
      .toBeLessThan(before.cols);
    const after = (await page.evaluate(() => window.__moorTerminals!.tabs()))[0]!;
    expect(after.rows).toBeLessThan(before.rows);
    await page.keyboard.type('clear; stty size\n');
    await waitForTerminal(page, new RegExp(`^${after.rows} ${after.cols}$`, 'm'));
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('stays responsive during a flood and Ctrl-C takes effect', async () => {
    await page.keyboard.type('cat /dev/urandom | base64\n');
    await page.waitForTimeout(1500);
    // The page answers while the flood runs (flow control keeps the backlog bounded).
    const t0 = Date.now();
    await page.evaluate(() => document.title);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await page.keyboard.press('Control+C');
    await page.keyboard.type('echo done-$((6*7))\n');
    await waitForTerminal(page, /^done-42$/m, 15_000);
  });

  it('copies the selection and pastes it into the shell (keyboard)', async () => {
    await page.keyboard.type('clear; echo copy-me-$((2+3))\n');
    await waitForTerminal(page, /^copy-me-5$/m);
    await page.evaluate(() => navigator.clipboard.writeText('echo pasted-$((3*3))'));
    await page.keyboard.press('Control+Shift+V');
    await waitForTerminal(page, /echo pasted-\$\(\(3\*3\)\)$/m); // pasted, not yet run
    await page.keyboard.press('Enter');
    await waitForTerminal(page, /^pasted-9$/m);
  });

  it('copies and pastes through the context menu', async () => {
    await page.keyboard.type('clear; echo menu-$((4+4))\n');
    await waitForTerminal(page, /^menu-8$/m);
    const pane = page.locator('.term-pane:visible');
    const menuItem = (name: RegExp) => page.getByRole('menu').getByRole('button', { name });
    await pane.click({ button: 'right' });
    await menuItem(/^Select all/).click();
    await pane.click({ button: 'right' });
    await menuItem(/^Copy/).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toContain('menu-8');
    await page.evaluate(() => navigator.clipboard.writeText('echo via-menu-$((5*5))'));
    await pane.click({ button: 'right' });
    await menuItem(/^Paste/).click();
    await waitForTerminal(page, /echo via-menu-\$\(\(5\*5\)\)$/m); // pasted, not yet run
    await page.keyboard.press('Enter');
    await waitForTerminal(page, /^via-menu-25$/m);
  });

  it('keeps the session when the page goes away; reattach replays its output', async () => {
    await page.reload();
    await page.waitForSelector('.app');
    await page.getByTestId('nav-terminals').click();
    const reattach = page.getByRole('button', { name: 'Reattach' });
    await reattach.first().waitFor({ timeout: 10_000 });
    await reattach.first().click();
    await waitForTerminal(page, /via-menu-25/);
    await page.locator('.term-pane:visible').click();
    await page.keyboard.type('echo still-here\n');
    await waitForTerminal(page, /^still-here$/m);
    await page.getByTestId('end-session').click();
    await expect.poll(async () => (await app.services.listTerminals()).length).toBe(0);
  });

  it('cancels a create (rolled back: no machine left) and retries it', async () => {
    // Nothing listens on this address: the create waits for the machine to come up until cancelled.
    const nowhere = await pickFreeAddress(E2E_NOWHERE, E2E_LAST);
    await page.getByTestId('nav-create').click();
    await page.getByTestId('driver-generic').click();
    await page.getByTestId('machine-name').fill('ghost');
    await page.getByTestId('flag-generic-ip-address').fill(nowhere);
    await page.getByTestId('flag-generic-ssh-key').fill(keyPath);
    await page.getByTestId('create-submit').click();
    await expect
      .poll(() => page.locator('[data-testid=create-steps] li').count(), { timeout: 20_000 })
      .toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('create-status').textContent()).toBe('in progress');
    await page.getByTestId('cancel-create').click();
    await expect
      .poll(() => page.getByTestId('create-status').textContent(), { timeout: 30_000 })
      .toBe('cancelled');
    expect(existsSync(path.join(tmp, 'store', 'machines', 'ghost'))).toBe(false);
    expect((await app.services.listMachines()).some((m) => m.name === 'ghost')).toBe(false);

    await page.getByTestId('retry-create').click();
    await expect
      .poll(() => page.getByTestId('create-status').textContent(), { timeout: 20_000 })
      .toBe('in progress');
    await page.getByTestId('cancel-create').click();
    await expect
      .poll(() => page.getByTestId('create-status').textContent(), { timeout: 30_000 })
      .toBe('cancelled');
    expect(existsSync(path.join(tmp, 'store', 'machines', 'ghost'))).toBe(false);
  });

  it('shows details: inspect data, certificates, engine options', async () => {
    await page.getByTestId('nav-hosts').click();
    await page.getByTestId('open-web').click();
    await page.getByTestId('details').waitFor();
    await expect.poll(() => page.locator('.certs tbody tr').count()).toBe(3);
    const certs = await page.locator('.certs').textContent();
    expect(certs).toMatch(/Server/);
    expect(certs).not.toMatch(/missing/);
    expect(await page.getByTestId('details').textContent()).toContain('InstallURL'); // config.json
    // Engine options in a person's words, not Go field names.
    expect(await page.getByTestId('engine-options').textContent()).toMatch(/Install script\s*distro/);
    await app.screenshot('details');
  });
  it('keeps a machine whose provisioning failed after changing the host; Retry provisions it again', async () => {
    const spareAddress = await pickFreeAddress(nextAddress(web!.address), E2E_HOSTS_LAST);
    spare = await startTestHost({
      name: `moor-e2e-spare-${process.pid}`,
      address: spareAddress,
      image: 'bookworm-docker',
      authorizedKey: publicKey,
    });
    // Something else holds the engine's TLS port: dockerd cannot start once Moor configured it.
    const blocker = await spare.exec([
      'systemd-run',
      '--unit=moor-e2e-port-blocker',
      'perl',
      '-MIO::Socket::INET',
      '-e',
      'my $s = IO::Socket::INET->new(LocalPort => 2376, Listen => 1, ReuseAddr => 1) or die $!; sleep 3600',
    ]);
    expect(blocker.exitCode, blocker.stderr).toBe(0);
    await expect
      .poll(async () => (await spare!.exec('ss -Hltn sport = :2376')).stdout, { timeout: 10_000 })
      .toMatch(/LISTEN/);

    await page.getByTestId('nav-create').click();
    await page.getByTestId('driver-generic').click();
    await page.getByTestId('machine-name').fill('kept');
    await page.getByTestId('flag-generic-ip-address').fill(spare.address);
    await page.getByTestId('flag-generic-ssh-key').fill(keyPath);
    await page.getByTestId('toggle-advanced').click();
    await page.getByTestId('flag-engine-install-url').fill('distro');
    await page.getByTestId('create-submit').click();
    await page.getByTestId('create-progress').waitFor();
    await expect
      .poll(() => page.getByTestId('create-status').textContent(), { timeout: 180_000, interval: 500 })
      .not.toBe('in progress');
    expect(await page.getByTestId('create-status').textContent()).toBe('failed');
    expect(await page.getByTestId('create-error').textContent()).toMatch(/was kept/);
    expect(existsSync(path.join(tmp, 'store', 'machines', 'kept', 'config.json'))).toBe(true);
    expect(await page.getByTestId('retry-create').textContent()).toMatch(/Retry provisioning/);

    // The user fixes the cause; Retry finishes the job (a second create would say "already exists").
    await spare.exec('systemctl stop moor-e2e-port-blocker');
    await page.getByTestId('retry-create').click();
    await expect
      .poll(() => page.getByTestId('create-progress').locator('h2').textContent(), { timeout: 10_000 })
      .toMatch(/Provisioning\s*kept/);
    await expect
      .poll(() => page.getByTestId('create-status').textContent(), { timeout: 180_000, interval: 500 })
      .not.toBe('in progress');
    const log = await page.getByTestId('create-log').textContent();
    expect(await page.getByTestId('create-status').textContent(), log ?? '').toBe('succeeded');
    await page.getByTestId('nav-hosts').click();
    await expect
      .poll(() => page.getByTestId('state-kept').getAttribute('data-state'), { timeout: 30_000 })
      .toBe('Running');
    await expect
      .poll(() => page.getByTestId('host-kept').locator('td.mono').nth(1).textContent(), { timeout: 30_000 })
      .toMatch(/^v?\d+\.\d+/);
  });
});
