/**
 * The host list as its users see it (issue 11 items 1, 2, 9, 11), in real Chromium against the real
 * services: one real provisioned host plus machines in the states real stores hold (an unreachable
 * generic host, a docker-machine Hyper-V machine Moor has no driver for, a corrupt config.json,
 * `none` hosts). Screenshots at the window's minimum size and a common laptop size go to
 * test/e2e/screenshots/. Loopback range 127.0.45.0/24.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireCommand } from '../harness/components.js';
import { bootstrapStoreCerts, writeGenericMachine } from '../harness/store-fixtures.js';
import { pickFreeAddress, startTestHost, type TestHost } from '../hosts/index.js';
import { type AppHarness, startApp } from './harness.js';

const FIRST = '127.0.45.2';
const LAST = '127.0.45.200';
/** Nothing listens here: an unreachable host. */
const NOWHERE = '127.0.45.250';

async function waitForOperation(app: AppHarness, operationId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const op = (await app.services.snapshot()).operations.find((o) => o.id === operationId)!;
    if (op.status === 'succeeded') return;
    if (op.status !== 'running' || Date.now() > deadline) {
      const log = await app.services.readLogs({ operationId });
      throw new Error(`${op.machine}: ${op.status}: ${op.error}\n${log.map((e) => e.message).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The element's box, for layout checks. */
async function box(page: Page, testId: string) {
  const b = await page.getByTestId(testId).boundingBox();
  if (!b) throw new Error(`${testId} is not visible`);
  return b;
}

describe('host list with real data', () => {
  let app: AppHarness;
  let page: Page;
  let web: TestHost | undefined;
  let tmp: string;
  let store: string;
  let keyPath: string;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'moor-e2e-list-'));
    store = path.join(tmp, 'store');
    keyPath = path.join(tmp, 'id_ed25519');
    execFileSync(requireCommand('ssh-keygen', 'openssh-client'), [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-f',
      keyPath,
    ]);
    const address = await pickFreeAddress(FIRST, LAST);
    web = await startTestHost({
      name: `moor-e2e-list-${process.pid}`,
      address,
      image: 'bookworm-docker',
      authorizedKey: readFileSync(`${keyPath}.pub`, 'utf8'),
    });
    await bootstrapStoreCerts(store);
    // A generic host that is not up (nothing listens on its address).
    writeGenericMachine(store, 'offline', { host: NOWHERE, port: 22, user: 'root', clientKeyPath: keyPath });
    // A docker-machine Hyper-V machine: Moor has no such driver, and says so at length.
    const hyperv = writeGenericMachine(store, 'hyperv', {
      host: NOWHERE,
      port: 22,
      user: 'docker',
      clientKeyPath: keyPath,
    });
    const hypervConfig = path.join(hyperv.machineDir, 'config.json');
    writeFileSync(
      hypervConfig,
      readFileSync(hypervConfig, 'utf8').replace('"DriverName": "generic"', '"DriverName": "hyperv"'),
    );
    // A config.json cut short (a full disk, an editor crash).
    mkdirSync(path.join(store, 'machines', 'broken'), { mode: 0o700 });
    writeFileSync(path.join(store, 'machines', 'broken', 'config.json'), '{"ConfigVersion": 3, "Driver": {', {
      mode: 0o600,
    });
    app = await startApp({ storagePath: store, dockerConfig: path.join(tmp, 'docker-config') });
    page = app.page;
    const created = [
      await app.services.createMachine({
        name: 'web',
        driver: 'generic',
        flags: { 'generic-ip-address': address, 'generic-ssh-key': keyPath, 'engine-install-url': 'distro' },
      }),
      // `none` hosts: one whose engine refuses, one with docker-machine's `--url none`.
      await app.services.createMachine({
        name: 'legacy',
        driver: 'none',
        flags: { url: `tcp://${NOWHERE}:2376` },
      }),
      await app.services.createMachine({ name: 'placeholder', driver: 'none', flags: { url: 'none' } }),
    ];
    await Promise.all(created.map((c) => waitForOperation(app, c.operationId, 240_000)));
  });

  afterAll(async () => {
    await app?.close();
    await web?.remove();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('shows every machine in one fixed-height line with its error cut to one line', async () => {
    await expect
      .poll(() => page.getByTestId('state-web').getAttribute('data-state'), { timeout: 30_000 })
      .toBe('Running');
    await expect.poll(() => page.getByTestId('error-hyperv').count(), { timeout: 20_000 }).toBe(1);
    const hypervError = page.getByTestId('error-hyperv');
    const full = (await hypervError.getAttribute('title')) ?? '';
    expect(full).toMatch(/hyperv/);
    expect(full.length).toBeGreaterThan(120);
    // The whole text is on hover (title), the row shows one line of it.
    const line = await hypervError.boundingBox();
    expect(line!.height).toBeLessThan(20);
    expect(await page.getByTestId('error-broken').getAttribute('title')).toMatch(/config\.json/);
    const heights = await page
      .locator('[data-testid=host-list] tbody tr')
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).getBoundingClientRect().height));
    expect(heights.length).toBe(6);
    expect(Math.max(...heights) - Math.min(...heights)).toBeLessThan(2);
    expect(Math.max(...heights)).toBeLessThan(64);
  });

  for (const [width, height] of [
    [1280, 800],
    [800, 600],
  ] as const) {
    it(`fits ${width}×${height}: names and every row's actions visible, nothing wraps`, async () => {
      await page.setViewportSize({ width, height });
      const list = await box(page, 'host-list');
      expect(list.x + list.width).toBeLessThanOrEqual(width);
      for (const name of ['web', 'offline', 'hyperv', 'broken', 'legacy', 'placeholder']) {
        const more = await box(page, `more-${name}`);
        expect(more.x + more.width, name).toBeLessThanOrEqual(list.x + list.width);
        const open = await box(page, `open-${name}`);
        expect(open.width, name).toBeGreaterThan(20);
        // One line of buttons: the primary action sits level with the ⋯ button.
        const primary = page.getByTestId(`host-${name}`).locator('.row-actions .btn').first();
        const p = await primary.boundingBox();
        expect(Math.abs(p!.y - more.y), name).toBeLessThan(6);
      }
      // The table never scrolls sideways.
      const scroll = await page
        .locator('.table-card')
        .evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
      expect(scroll.scroll).toBeLessThanOrEqual(scroll.client);
      await app.screenshot(`host-list-${width}x${height}`);
    });
  }

  it('follows the OS light/dark setting: both themes drawn from the same rules', async () => {
    const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await background();
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await background();
    expect(light).not.toBe(dark);
    // Light really is light: every channel of the page background above 200.
    expect(
      light
        .match(/\d+/g)!
        .slice(0, 3)
        .map(Number)
        .every((c) => c > 200),
    ).toBe(true);
    await app.screenshot('host-list-light');
    await page.emulateMedia({ colorScheme: 'dark' });
  });

  it('offers only what each driver can do, one primary action plus the ⋯ menu', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const menuItems = async (name: string) => {
      await page.getByTestId(`more-${name}`).click();
      const items = await page.getByRole('menu').getByRole('menuitem').allTextContents();
      await page.keyboard.press('Escape');
      await expect.poll(() => page.getByRole('menu').count()).toBe(0);
      return items;
    };
    // generic: Moor did not make it and cannot power it off or on.
    expect(await page.getByTestId('terminal-web').getAttribute('aria-label')).toBe('Terminal web');
    expect(await menuItems('web')).toEqual(['Restart', 'Use as active host', 'Details', 'Remove…']);
    // none: no power, no SSH; a broken config: nothing but details and remove.
    expect(await menuItems('legacy')).toEqual(['Use as active host', 'Details', 'Remove…']);
    expect(await menuItems('broken')).toEqual(['Use as active host', 'Details', 'Remove…']);
    expect(await page.getByTestId('host-broken').locator('.row-actions .btn').count()).toBe(1);
    expect(await page.getByTestId('host-offline').locator('[data-testid=start-offline]').count()).toBe(0);
  });

  it('opens details on a row click, with the whole error', async () => {
    await page.getByTestId('host-hyperv').locator('td').nth(2).click();
    await page.getByTestId('details').waitFor();
    expect(await page.getByTestId('details-error').textContent()).toMatch(/hyperv.*not supported/s);
    expect(await page.getByTestId('removes-what').textContent()).toMatch(/only Moor's local record/);
    await page.getByTestId('nav-hosts').click();
  });

  it('asks before a reboot and before a removal, saying what goes; No changes nothing', async () => {
    await page.getByTestId('more-web').click();
    await page.getByTestId('restart-web').click();
    await page.getByTestId('confirm-dialog').waitFor();
    expect(await page.getByTestId('confirm-body').textContent()).toMatch(
      /reboots the server at 127\.0\.45\./,
    );
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('confirm-dialog').isVisible()).toBe(false);
    expect((await app.services.listMachines()).find((m) => m.name === 'web')!.busy).toBeNull();

    await page.getByTestId('more-legacy').click();
    await page.getByTestId('remove-legacy').click();
    expect(await page.getByTestId('confirm-body').textContent()).toMatch(/only Moor's local record/);
    await app.screenshot('confirm-remove');
    await page.getByTestId('confirm-yes').click();
    await expect.poll(() => page.getByTestId('confirm-dialog').isVisible()).toBe(false);
    const failure = page.locator('[data-testid=notice].toast-error');
    if (await failure.count()) throw new Error(`remove failed: ${await failure.textContent()}`);
    await expect
      .poll(async () => (await app.services.listMachines()).some((m) => m.name === 'legacy'))
      .toBe(false);
    await expect.poll(() => page.getByTestId('host-legacy').count()).toBe(0);
  });

  it('filters by name, driver or state, with an empty state that clears', async () => {
    const filter = page.getByRole('textbox', { name: /Filter hosts/ });
    await filter.fill('generic');
    await expect.poll(() => page.locator('[data-testid=host-list] tbody tr').count()).toBe(2);
    await filter.fill('stopped');
    await expect.poll(() => page.locator('[data-testid=host-list] tbody tr').count()).toBe(1);
    await filter.fill('zzz');
    await page.getByTestId('empty-filter').waitFor();
    await page.getByRole('button', { name: 'Clear filter' }).click();
    await expect.poll(() => page.locator('[data-testid=host-list] tbody tr').count()).toBe(5);
  });

  it('works from the keyboard: Tab to a row, open its menu, choose with the arrows', async () => {
    await page.getByTestId('open-web').focus();
    await page.keyboard.press('Tab'); // the primary action
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(
      'Terminal web',
    );
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // opens the menu, focus on its first item
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Restart');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Details');
    await page.keyboard.press('Enter');
    await page.getByTestId('details').waitFor();
    await page.getByTestId('nav-hosts').click();
  });

  it('terminals: a second tab in one click, Ctrl+Tab between tabs, Esc closes the menu, zoom, Reconnect', async () => {
    const tabs = () => page.evaluate(() => window.__moorTerminals!.tabs());
    const activeText = () => page.evaluate(() => window.__moorTerminals!.activeText(40));
    const waitText = (re: RegExp) => expect.poll(activeText, { timeout: 20_000 }).toMatch(re);
    await page.getByTestId('terminal-web').click();
    await waitText(/[#$] $/m);
    await page.getByTestId('new-terminal-same-host').click();
    await expect
      .poll(async () => (await tabs()).filter((t) => t.status === 'open').length, { timeout: 20_000 })
      .toBe(2);
    await page.locator('.term-pane:visible').click();
    await page.keyboard.type('echo second-tab\n');
    await waitText(/^second-tab$/m);
    await page.keyboard.press('Control+Tab');
    await expect.poll(activeText).not.toMatch(/second-tab/);
    await page.keyboard.press('Control+Shift+Tab');
    await expect.poll(activeText).toMatch(/second-tab/);
    // The context menu closes on Esc, and typing goes to the shell again.
    await page.locator('.term-pane:visible').click({ button: 'right' });
    await page.getByTestId('terminal-menu').waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('terminal-menu').count()).toBe(0);
    // Zoom: larger text, fewer columns, and the remote pty follows.
    const before = (await tabs()).find((t) => t.status === 'open')!.cols;
    await page.getByTestId('zoom-in').click();
    await page.getByTestId('zoom-in').click();
    expect(await page.getByTestId('font-size').textContent()).toBe('15px');
    await expect.poll(async () => (await tabs())[1]!.cols).toBeLessThan(before);
    await page.locator('.term-pane:visible').click();
    await page.keyboard.press('Control+0');
    expect(await page.getByTestId('font-size').textContent()).toBe('13px');
    // The shell ends (as after a drop or a reboot): Reconnect opens a new session in the same tab.
    await page.keyboard.type('exit\n');
    await page.getByTestId('reconnect').waitFor({ timeout: 20_000 });
    // The session's last output comes before the marker that it ended.
    expect(await activeText()).toMatch(/logout\s*\n\s*\[Session ended\]/);
    await page.getByTestId('reconnect').click();
    await expect.poll(async () => (await tabs())[1]!.status, { timeout: 20_000 }).toBe('open');
    await page.locator('.term-pane:visible').click();
    await page.keyboard.type('echo back-again\n');
    await waitText(/^back-again$/m);
    await app.screenshot('terminal-tabs');
    for (let i = 0; i < 2; i++) await page.getByTestId('end-session').click();
    await page.getByTestId('nav-hosts').click();
  });

  it('settings: the create form starts with the chosen driver; notifications; About names the store', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings').waitFor();
    expect(await page.getByTestId('store-path').textContent()).toBe(store);
    expect(await page.getByTestId('open-at-login').isDisabled()).toBe(true); // no login items on Linux here
    await page.getByLabel('Driver the create form starts with').selectOption('none');
    await page.getByRole('radio', { name: 'Failures only' }).check();
    await expect
      .poll(async () => (await app.services.settings()).settings)
      .toMatchObject({
        defaultDriver: 'none',
        notifications: 'failures',
      });
    await app.screenshot('settings');
    await page.getByTestId('nav-create').click();
    await expect.poll(() => page.getByTestId('driver-none').getAttribute('class')).toMatch(/selected/);
    await page.getByTestId('nav-settings').click();
    await page.getByLabel('Driver the create form starts with').selectOption('generic');
    await page.getByTestId('notify-all').check();
    await expect.poll(async () => (await app.services.settings()).settings.defaultDriver).toBe('generic');
    await page.getByTestId('nav-hosts').click();
  });

  it('validates the create form as the user types, with the CLI rules', async () => {
    await page.getByTestId('nav-create').click();
    await page.getByTestId('driver-generic').click();
    await page.getByTestId('machine-name').fill('web');
    await page.getByTestId('flag-generic-ip-address').fill('999.1.2');
    const errors = () => page.locator('.field-error').allTextContents();
    await expect
      .poll(errors)
      .toEqual(
        expect.arrayContaining([
          'A host named "web" already exists',
          expect.stringMatching(/"999\.1\.2" is not an IPv4 address/),
        ]),
      );
    // Untouched required fields say nothing before a submit.
    expect((await errors()).some((e) => /required/.test(e))).toBe(false);
    await page.getByTestId('machine-name').fill('');
    await page.getByTestId('flag-generic-ip-address').fill('');
    await page.getByTestId('nav-hosts').click();
  });

  it('follows a create in the task panel after leaving its view; a failed create is notified', async () => {
    // A key the host does not accept: SSH refuses it during provisioning, and generic keeps the machine.
    const wrongKey = path.join(tmp, 'wrong_ed25519');
    execFileSync(requireCommand('ssh-keygen', 'openssh-client'), [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-f',
      wrongKey,
    ]);
    await page.getByTestId('nav-create').click();
    await page.getByTestId('driver-generic').click();
    await page.getByTestId('machine-name').fill('denied');
    await page.getByTestId('flag-generic-ip-address').fill(web!.address);
    await page.getByTestId('flag-generic-ssh-key').fill(wrongKey);
    await page.getByTestId('create-submit').click();
    await page.getByTestId('create-progress').waitFor();
    // Away from the Create view: the task is still reachable, with its log.
    await page.getByTestId('nav-hosts').click();
    await page.getByTestId('nav-tasks').click();
    const panel = page.getByTestId('task-panel');
    await panel.waitFor();
    await panel.getByTestId('task-denied').click();
    await panel.getByTestId('create-log').waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => panel.count()).toBe(0);
    // It fails while nobody looks at it: told once, with a way back to its task.
    const notice = page.getByTestId('notice').filter({ hasText: 'Creating "denied" failed' });
    await notice.waitFor({ timeout: 120_000 });
    expect(await notice.textContent()).toMatch(/permission denied for root@127\.0\.45\.\d+:22/);
    expect(await page.getByTestId('notice').count()).toBe(1);
    await app.screenshot('failed-create-notice');
    await notice.getByTestId('notice-show-task').click();
    await panel.waitFor();
    expect(await panel.getByTestId('task-denied').getAttribute('data-status')).toBe('failed');
    expect(await panel.getByTestId('create-status').textContent()).toBe('failed');
    expect(await panel.getByTestId('create-log').textContent()).toMatch(/\S/);
    await app.screenshot('task-panel');
    // Retry from the panel sends the same create again: a second task, looked at, so no new toast.
    await panel.getByTestId('retry-create').click();
    await expect.poll(() => panel.getByTestId('task-denied').count(), { timeout: 10_000 }).toBe(2);
    await expect
      .poll(
        async () => (await app.services.snapshot()).operations.filter((o) => o.status === 'running').length,
        {
          timeout: 120_000,
        },
      )
      .toBe(0);
    expect(await page.getByTestId('notice').count()).toBe(0);
    await page.getByRole('button', { name: 'Close tasks' }).click();
  });

  it('cancels a running create from the task panel', async () => {
    await page.getByTestId('nav-create').click();
    await page.getByTestId('driver-generic').click();
    await page.getByTestId('machine-name').fill('ghost');
    await page.getByTestId('flag-generic-ip-address').fill(NOWHERE);
    await page.getByTestId('flag-generic-ssh-key').fill(keyPath);
    await page.getByTestId('create-submit').click();
    await page.getByTestId('create-progress').waitFor();
    // While it waits, the step says where, which attempt, and what went wrong last.
    await expect
      .poll(
        () =>
          page
            .getByTestId('step-detail')
            .textContent()
            .catch(() => ''),
        { timeout: 30_000 },
      )
      .toMatch(/127\.0\.45\.250.*attempt \d+/);
    await page.getByTestId('nav-hosts').click();
    await page.getByTestId('nav-tasks').click();
    const panel = page.getByTestId('task-panel');
    await expect.poll(() => page.getByTestId('tasks-running').textContent()).toBe('1');
    await panel.getByTestId('task-ghost').click();
    await panel.getByTestId('cancel-create').click();
    await expect
      .poll(() => panel.getByTestId('task-ghost').getAttribute('data-status'), { timeout: 30_000 })
      .toBe('cancelled');
    expect((await app.services.listMachines()).some((m) => m.name === 'ghost')).toBe(false);
    await page.getByRole('button', { name: 'Close tasks' }).click();

    // Details of a host being created offers Cancel too.
    await page.getByTestId('nav-create').click();
    await page.getByTestId('driver-generic').click();
    await page.getByTestId('machine-name').fill('ghost2');
    await page.getByTestId('flag-generic-ip-address').fill(NOWHERE);
    await page.getByTestId('flag-generic-ssh-key').fill(keyPath);
    await page.getByTestId('create-submit').click();
    await page.getByTestId('create-progress').waitFor();
    await page.getByTestId('nav-hosts').click();
    await page.getByTestId('open-ghost2').click();
    await page.getByTestId('cancel-operation').click();
    await expect
      .poll(
        async () => (await app.services.snapshot()).operations.find((o) => o.machine === 'ghost2')?.status,
        {
          timeout: 30_000,
        },
      )
      .toBe('cancelled');
    await page.getByTestId('nav-hosts').click();
  });

  it("reveals a broken machine's config.json in the file manager", async () => {
    await page.getByTestId('open-broken').click();
    await page.getByTestId('details').waitFor();
    // Its error is said once (not again by the failed inspect).
    expect(await page.locator('.banner-error').count()).toBe(1);
    await page.getByTestId('reveal-folder').click();
    await expect.poll(() => app.revealed).toEqual([path.join(store, 'machines', 'broken', 'config.json')]);
    await page.getByTestId('nav-hosts').click();
  });
});
