/**
 * `npm run preview` (issue 9 item 26): the built renderer served to a browser of one's own,
 * against the real services, the bridge's token in the URL fragment. Started as a contributor
 * would (node --import tsx scripts/preview.ts), opened in Chromium WITHOUT the test's injected client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapStoreCerts, writeGenericMachine } from '../harness/store-fixtures.js';
import { launchChromium } from './harness.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('npm run preview', () => {
  let child: ChildProcess;
  let browser: Browser;
  let url = '';
  let tmp: string;
  let output = '';
  let exited: Promise<number | null>;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'moor-preview-'));
    const store = path.join(tmp, 'store');
    await bootstrapStoreCerts(store);
    const key = path.join(tmp, 'id_ed25519');
    writeFileSync(key, 'not a key: the machine is only listed', { mode: 0o600 });
    writeGenericMachine(store, 'seen', { host: '127.0.45.252', port: 22, user: 'root', clientKeyPath: key });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MACHINE_STORAGE_PATH: store,
      DOCKER_CONFIG: path.join(tmp, 'dc'),
    };
    delete env.DOCKER_HOST;
    delete env.DOCKER_CONTEXT;
    // As package.json's "preview" runs it (after its build step).
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/preview.ts'], { cwd: root, env });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr!.on('data', (d) => {
      output += d;
    });
    url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        output += d;
        const found = /Open: (http:\/\/127\.0\.0\.1:\d+\/index\.html#token=[0-9a-f]+)/.exec(output);
        if (found) resolve(found[1]!);
      });
      child.once('exit', () => reject(new Error(`preview exited:\n${output}`)));
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null) child.kill('SIGTERM');
    await exited;
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('serves the app against the real store to a plain browser page opened with the printed URL', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.getByTestId('host-seen').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('host-seen').textContent()).toMatch(/generic/);
    await page.close();
  });

  it("the create form shows the shared cloud flags from the flag data, with the drivers' rules as the user types", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.getByTestId('nav-create').click();
    await page.getByTestId('driver-google').click();
    await page.getByTestId('toggle-driver-advanced').click(); // user-data, tags and labels are advanced
    const userData = page.getByTestId('flag-google-userdata');
    expect(await userData.evaluate((el) => el.tagName)).toBe('TEXTAREA');
    expect(await page.locator('label[for=flag-google-userdata]').textContent()).toBe(
      'User-data (cloud-init)',
    );
    expect(await page.locator('label[for=flag-google-tags]').textContent()).toBe('Network tags');
    await page.getByTestId('flag-google-labels').fill('Env=dev');
    await page.getByTestId('flag-google-disk-size').fill('5');
    await userData.fill(`#cloud-config\n${'x'.repeat(256 * 1024)}`);
    const errors = await page.locator('.field-error').allTextContents();
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('"Env" is not a label key'),
        "5 GB is outside Google Compute Engine's 10–65536 GB",
        expect.stringContaining('Google Compute Engine takes at most 256 KiB of user-data'),
      ]),
    );
    await page.getByTestId('driver-amazonec2').click();
    await page.getByTestId('toggle-driver-advanced').click();
    await page.getByTestId('flag-amazonec2-tags').fill('a,b,c');
    expect(await page.locator('.field-error').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('must be key,value pairs')]),
    );
    await page.close();
  });

  it('refuses a page without the token, and the served script holds none', async () => {
    const page = await browser.newPage();
    await page.goto(url.replace(/#.*/, ''));
    await page.locator('.fatal').waitFor({ timeout: 20_000 });
    expect(await page.locator('.fatal').textContent()).toMatch(/could not reach its main process/);
    const script = await (await fetch(new URL('/moor-bridge-client.js', url))).text();
    expect(script).toContain('/bridge');
    expect(script).not.toContain(new URL(url).hash.slice('#token='.length));
    await page.close();
  });

  it('stops on SIGTERM', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
