/**
 * The create form's provider lists in real headless Chromium, against the real services and the
 * DigitalOcean emulator (droplets are real systemd + sshd + Docker test hosts): the region and
 * size are chosen by searching (sizes with prices), the image by keyboard, the create succeeds
 * with exactly those values; a missing or wrong token shows the provider's error inline with a
 * retry while the field still takes free text. Addresses: 127.0.45.x (emulator on .1, droplets
 * from .210; host-list.test.ts has .2–.200). Screenshots: create-form, create-size-picker, create-choices-error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigitalOceanEmulator } from '../emulators/digitalocean/server.js';
import { type AppHarness, startApp } from './harness.js';

const NET = '127.0.45';

describe('create form: DigitalOcean choices from the provider', () => {
  let emulator: DigitalOceanEmulator;
  let app: AppHarness;
  let page: Page;
  let tmp: string;

  const gets = (p: string) => emulator.requests.filter((r) => r.method === 'GET' && r.path === p).length;
  const options = (flag: string) => page.getByTestId(`flag-${flag}-list`).getByRole('option');

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'moor-e2e-choices-'));
    emulator = new DigitalOceanEmulator({
      backend: 'test-hosts',
      // Above host-list.test.ts's hosts (.2–.200), below its "nowhere" (.250) and preview's (.252).
      addresses: { first: `${NET}.210`, last: `${NET}.240` },
    });
    await emulator.start(0, `${NET}.1`);
    app = await startApp({
      storagePath: path.join(tmp, 'store'),
      dockerConfig: path.join(tmp, 'docker-config'),
      env: {
        DIGITALOCEAN_API_URL: emulator.url,
        DIGITALOCEAN_ACCESS_TOKEN: '',
        MOOR_DIGITALOCEAN_POLL_MS: '250',
        MOOR_SECRET_STORE: 'plain',
        SSH_AUTH_SOCK: '',
      },
    });
    page = app.page;
    await page.getByTestId('nav-create').click();
    await page.getByTestId('driver-digitalocean').click();
  });

  afterAll(async () => {
    await app?.close();
    await emulator?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('groups the fields: common ones shown with human labels, the flag and env var beside them', async () => {
    const form = page.getByTestId('create-form');
    for (const label of ['Access token', 'Image', 'Region', 'Size']) {
      await expect.poll(() => form.getByLabel(new RegExp(`^${label}\\*?$`)).count()).toBe(1);
    }
    const region = form.locator('.field', { has: page.getByTestId('flag-digitalocean-region') });
    expect(await region.locator('.flag-name').textContent()).toBe('--digitalocean-region');
    expect(await region.locator('.env').textContent()).toBe('$DIGITALOCEAN_REGION');
    // Advanced fields are collapsed until asked for.
    expect(await page.getByTestId('flag-digitalocean-ssh-user').count()).toBe(0);
    const toggle = page.getByTestId('toggle-driver-advanced');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    await toggle.click();
    await page.getByTestId('flag-digitalocean-ssh-user').waitFor();
    expect(await form.getByLabel('User-data (cloud-init)').count()).toBe(1);
    await toggle.click();
    expect(await page.getByTestId('flag-digitalocean-ssh-user').count()).toBe(0);
  });

  it("shows the provider's error inline, with a retry, and the field still takes free text", async () => {
    const region = page.getByTestId('flag-digitalocean-region');
    await region.click();
    const error = page.getByTestId('flag-digitalocean-region-error');
    await expect.poll(() => error.textContent()).toMatch(/enter an access token/);
    // A wrong token: the API's 401, named as the field it came from.
    await page.getByTestId('flag-digitalocean-access-token').fill('not-the-token');
    await page.getByTestId('flag-digitalocean-region-retry').click();
    await expect
      .poll(() => error.textContent())
      .toMatch(/invalid DigitalOcean access token \(401 unauthorized.*the access token field/);
    expect(await region.getAttribute('aria-expanded')).toBe('false');
    await region.fill('fra1');
    expect(await region.inputValue()).toBe('fra1');
    await app.screenshot('create-choices-error');
    // The right token: opening the list again fetches with it, and the error goes away.
    await page.getByTestId('flag-digitalocean-access-token').fill(emulator.token);
    await region.fill('');
    await region.click();
    await expect.poll(() => options('digitalocean-region').count()).toBeGreaterThan(5);
    expect(await error.count()).toBe(0);
    await page.keyboard.press('Escape');
  });

  it('chooses a region and a size by searching, sees prices, picks the image by keyboard', async () => {
    const region = page.getByTestId('flag-digitalocean-region');
    await region.click();
    expect(await region.getAttribute('aria-expanded')).toBe('true');
    // A region closed to new droplets is listed but cannot be picked.
    const nyc2 = page.locator('[role=option][data-value=nyc2]');
    expect(await nyc2.getAttribute('aria-disabled')).toBe('true');
    await region.fill('amster');
    await expect.poll(() => options('digitalocean-region').allTextContents()).toEqual(['Amsterdam 3ams3']);
    await page.keyboard.press('Enter');
    expect(await region.inputValue()).toBe('ams3');
    expect(await region.getAttribute('aria-expanded')).toBe('false');
    expect(await page.getByTestId('flag-digitalocean-region-selected').textContent()).toBe(
      'Amsterdam 3 ams3',
    );
    // Served from main's cache when opened again.
    const regionCalls = gets('/v2/regions');
    await region.click();
    await expect.poll(() => options('digitalocean-region').count()).toBeGreaterThan(5);
    expect(gets('/v2/regions')).toBe(regionCalls);
    await page.keyboard.press('Escape');

    const size = page.getByTestId('flag-digitalocean-size');
    await page
      .locator('.field', { has: page.getByTestId('machine-name') })
      .evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await size.click();
    await expect.poll(() => options('digitalocean-size').count()).toBe(8);
    const texts = await options('digitalocean-size').allTextContents();
    // Cheapest first, with hourly and monthly prices; a size no region offers cannot be picked.
    expect(texts[0]).toMatch(/^Basic · 1 vCPU · 512 MB RAM · 10 GB disk\$0\.006\/h · \$4\/mo/);
    expect(texts.join('\n')).toContain('$0.027/h · $18/mo · s-2vcpu-2gb');
    expect(await page.locator('[role=option][data-value="512mb"]').getAttribute('aria-disabled')).toBe(
      'true',
    );
    // A size the chosen region does not offer is shown, and cannot be picked there.
    const regional = page.locator('[role=option][data-value="g-2vcpu-8gb"]');
    expect(await regional.getAttribute('aria-disabled')).toBe('true');
    expect(await regional.textContent()).toContain('$63/mo · g-2vcpu-8gb · not offered in ams3');
    await size.fill('$18');
    await expect
      .poll(() => options('digitalocean-size').allTextContents())
      .toEqual(['Basic · 2 vCPUs · 2 GB RAM · 60 GB disk$0.027/h · $18/mo · s-2vcpu-2gb']);
    await size.fill('2 vcpus');
    await expect.poll(() => options('digitalocean-size').count()).toBe(3);
    await options('digitalocean-size').first().hover();
    await app.screenshot('create-size-picker');
    await page.locator('[role=option][data-value="s-2vcpu-2gb"]').click();
    expect(await size.inputValue()).toBe('s-2vcpu-2gb');
    expect(await page.getByTestId('flag-digitalocean-size-selected').textContent()).toContain('$18/mo');

    // The image with the keyboard only: the list opens on focus, ArrowDown moves, Enter picks.
    const image = page.getByTestId('flag-digitalocean-image');
    await image.focus();
    await image.fill('debian');
    await expect
      .poll(() => options('digitalocean-image').allTextContents())
      .toEqual(['Debian 12 x64debian-12-x64']);
    await page.keyboard.press('ArrowDown');
    expect(await image.getAttribute('aria-activedescendant')).toBeTruthy();
    await page.keyboard.press('Enter');
    expect(await image.inputValue()).toBe('debian-12-x64');
    expect(gets('/v2/images')).toBe(1);
  });

  it('creates the droplet with exactly the chosen values', async () => {
    await page.getByTestId('machine-name').fill('do1');
    // The driver's fields at the top of the window: the chosen region, size (price) and image.
    await page
      .locator('.field', { has: page.getByTestId('machine-name') })
      .evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await app.screenshot('create-form');
    await page.getByTestId('create-submit').click();
    await page.getByTestId('create-progress').waitFor();
    await expect
      .poll(() => page.getByTestId('create-status').textContent(), { timeout: 240_000, interval: 500 })
      .not.toBe('in progress');
    const log = await page.getByTestId('create-log').textContent();
    expect(await page.getByTestId('create-status').textContent(), log ?? '').toBe('succeeded');
    const droplets = emulator.state().droplets;
    expect(droplets.map((d) => [d.name, d.region, d.size, d.image])).toEqual([
      ['do1', 'ams3', 's-2vcpu-2gb', 'debian-12-x64'],
    ]);
    // The form starts over for the next host, at the driver's defaults.
    expect(await page.getByTestId('flag-digitalocean-region').inputValue()).toBe('nyc3');
    await app.services.remove({ name: 'do1' });
    await emulator.idle();
    expect(emulator.state().droplets).toEqual([]);
  });
});
