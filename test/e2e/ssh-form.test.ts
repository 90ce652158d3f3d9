/**
 * The create form's SSH helpers and the list's reasons (issue 11 items 4 and 5), in real Chromium
 * against the real services: a key chosen through Browse… (the file picker's test double), a
 * missing key refused inline, Test connection against a real systemd + sshd test host and against
 * a refused port, and hosts whose SSH or engine port is refused explained in the list and Details.
 * Loopback range 127.0.42.0/24 (.20–.200 for the test host, .30–.39 for sockets made here).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireCommand } from '../harness/components.js';
import { bootstrapStoreCerts, writeGenericMachine } from '../harness/store-fixtures.js';
import { type HangingServer, refusedAddress, startHangingServer } from '../harness/tls-engine.js';
import { pickFreeAddress, startTestHost, type TestHost } from '../hosts/index.js';
import { type AppHarness, startApp } from './harness.js';

const FIRST = '127.0.42.40';
const LAST = '127.0.42.200';
const SSH_REFUSED_HOST = '127.0.42.30';
const ENGINE_DOWN_HOST = '127.0.42.31';
const FORM_REFUSED_HOST = '127.0.42.32';

describe('create form SSH checks and list reasons', () => {
  let app: AppHarness;
  let page: Page;
  let host: TestHost | undefined;
  let sshOnly: HangingServer | undefined;
  let tmp: string;
  let keyPath: string;
  let sshRefused = '';
  let engineDown = '';

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'moor-e2e-sshform-'));
    const store = path.join(tmp, 'store');
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
    host = await startTestHost({
      name: `moor-e2e-sshform-${process.pid}`,
      address,
      image: 'bookworm-docker',
      authorizedKey: readFileSync(`${keyPath}.pub`, 'utf8'),
    });
    await bootstrapStoreCerts(store);
    // A host whose SSH port refuses: Stopped, and docker-machine's ls shows no error for it.
    const refused = await refusedAddress(SSH_REFUSED_HOST);
    sshRefused = `${refused.host}:${refused.port}`;
    writeGenericMachine(store, 'offline', {
      host: refused.host,
      port: refused.port,
      user: 'root',
      clientKeyPath: keyPath,
    });
    // A host whose SSH port answers but whose engine port refuses: Running, engine down.
    sshOnly = await startHangingServer(ENGINE_DOWN_HOST);
    const down = writeGenericMachine(store, 'enginedown', {
      host: sshOnly.host,
      port: sshOnly.port,
      user: 'root',
      clientKeyPath: keyPath,
    });
    const engine = await refusedAddress(ENGINE_DOWN_HOST);
    engineDown = `${engine.host}:${engine.port}`;
    const config = path.join(down.machineDir, 'config.json');
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace('"EnginePort": 2376', `"EnginePort": ${engine.port}`),
    );
    app = await startApp({ storagePath: store, dockerConfig: path.join(tmp, 'docker-config') });
    page = app.page;
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    await sshOnly?.close();
    await host?.remove();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('explains in the list why a host is not simply Running, whole text on hover', async () => {
    const offline = page.getByTestId('reason-offline');
    await expect.poll(() => offline.count(), { timeout: 30_000 }).toBe(1);
    expect(await offline.textContent()).toBe(
      `SSH port ${sshRefused}: connection refused (the host is up, nothing listens there)`,
    );
    expect(await offline.getAttribute('title')).toBe(await offline.textContent());
    expect(await page.getByTestId('state-offline').getAttribute('data-state')).toBe('Stopped');

    const down = page.getByTestId('reason-enginedown');
    await expect.poll(() => down.count(), { timeout: 30_000 }).toBe(1);
    expect(await down.textContent()).toBe(
      `${engineDown}: connection refused (the host is up, nothing listens there)`,
    );
    // The hover has docker-machine's error too.
    expect(await down.getAttribute('title')).toMatch(
      /connection refused.*\nUnable to query docker version: Cannot connect to the docker engine endpoint$/,
    );
    // One line each.
    expect((await down.boundingBox())!.height).toBeLessThan(20);
    await app.screenshot('host-list-reasons');

    await page.getByTestId('open-enginedown').click();
    await page.getByTestId('details').waitFor();
    expect(await page.getByTestId('details-reason').textContent()).toContain(
      `${engineDown}: connection refused`,
    );
    await page.getByTestId('nav-hosts').click();
  });

  it('picks a key through Browse… and checks it at once', async () => {
    await page.getByTestId('nav-create').click();
    await page.getByTestId('driver-generic').click();
    app.picker.queue.push(keyPath);
    await page.getByTestId('flag-generic-ssh-key-browse').click();
    await expect.poll(() => page.getByTestId('flag-generic-ssh-key').inputValue()).toBe(keyPath);
    expect(app.picker.asked.at(-1)?.title).toBe('Choose: SSH private key');
    const check = page.getByTestId('flag-generic-ssh-key-check');
    await expect.poll(() => check.getAttribute('data-kind')).toBe('private-key');
    expect(await check.textContent()).toMatch(/ssh-ed25519 private key SHA256:/);
    // Cancelling the picker keeps what was there.
    app.picker.queue.push(null);
    await page.getByTestId('flag-generic-ssh-key-browse').click();
    await expect.poll(() => app.picker.queue.length).toBe(0);
    expect(await page.getByTestId('flag-generic-ssh-key').inputValue()).toBe(keyPath);
    // It opens where the current key is.
    expect(app.picker.asked.at(-1)?.defaultPath).toBe(keyPath);
  });

  it('refuses a key file that does not exist, inline, and does not create', async () => {
    const missing = path.join(tmp, 'no-such-key');
    await page.getByTestId('machine-name').fill('never');
    await page.getByTestId('flag-generic-ip-address').fill(host!.address);
    await page.getByTestId('flag-generic-ssh-key').fill(missing);
    const field = page.locator('.field', { has: page.getByTestId('flag-generic-ssh-key') });
    await expect.poll(() => field.locator('.field-error').textContent()).toBe('The file does not exist');
    await page.getByTestId('create-submit').click();
    expect(await page.getByTestId('create-progress').count()).toBe(0);
    expect((await app.services.snapshot()).operations).toEqual([]);
    // A public key is refused too, naming the private one.
    await page.getByTestId('flag-generic-ssh-key').fill(`${keyPath}.pub`);
    await expect
      .poll(() => field.locator('.field-error').textContent())
      .toContain(`the private key is probably ${keyPath}`);
    await page.getByTestId('flag-generic-ssh-key').fill(keyPath);
    await expect
      .poll(() => page.getByTestId('flag-generic-ssh-key-check').getAttribute('data-kind'))
      .toBe('private-key');
    expect(await field.locator('.field-error').count()).toBe(0);
  });

  it('tests the connection to a real host: every step passes, the host key is shown', async () => {
    await page.getByTestId('flag-generic-ip-address').fill(host!.address);
    await page.getByTestId('test-connection').click();
    await expect
      .poll(() => page.getByTestId('connection-verdict').textContent(), { timeout: 60_000 })
      .toBe('The host is ready for create');
    const steps = page.locator('[data-testid=connection-steps] li');
    expect(await steps.evaluateAll((li) => li.map((l) => [l.dataset.step, l.dataset.ok]))).toEqual([
      ['tcp', 'true'],
      ['banner', 'true'],
      ['host-key', 'true'],
      ['auth', 'true'],
      ['remote', 'true'],
    ]);
    expect(await steps.nth(2).textContent()).toMatch(/(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+) SHA256:/);
    expect(await steps.nth(4).textContent()).toMatch(/Debian GNU\/Linux 12/);
    // Nothing was created or pinned.
    expect((await app.services.snapshot()).operations).toEqual([]);
    await page.getByTestId('connection-test').evaluate((el) => el.scrollIntoView({ block: 'end' }));
    await app.screenshot('create-test-connection');
  });

  it('names the failing step for a refused port', async () => {
    const refused = await refusedAddress(FORM_REFUSED_HOST);
    await page.getByTestId('flag-generic-ip-address').fill(refused.host);
    await page.getByTestId('flag-generic-ssh-port').fill(String(refused.port));
    await page.getByTestId('test-connection').click();
    await expect
      .poll(() => page.getByTestId('connection-verdict').textContent(), { timeout: 30_000 })
      .toBe('The host is not reachable as given');
    const steps = page.locator('[data-testid=connection-steps] li');
    expect(await steps.count()).toBe(1);
    expect(await steps.first().getAttribute('data-step')).toBe('tcp');
    expect(await steps.first().getAttribute('data-ok')).toBe('false');
    expect(await steps.first().textContent()).toContain(
      `TCP connection to ${refused.host}:${refused.port}connection refused`,
    );
    await app.screenshot('create-test-connection-refused');
  });
});
