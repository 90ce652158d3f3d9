import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ProgressEvent, progressReporter } from '../../main/base/progress.js';
import { CreateJournal, readJournal } from '../../main/core/create-journal.js';
import { DigitalOceanApi } from '../../main/drivers/digitalocean/api.js';
import digitalocean from '../../main/drivers/digitalocean/index.js';
import type { DriverContext, FlagValues } from '../../main/drivers/types.js';
import type { SecretStore } from '../../main/secrets/types.js';
import { baseDriverConfig } from '../../main/store/config.js';
import { goMarshalIndent } from '../../main/store/go-json.js';
import { type DigitalOceanEmulator, startDigitalOceanEmulator } from '../emulators/digitalocean/server.js';
import { BASE_DRIVER_KEYS } from '../harness/docker-machine-shapes.js';

// The driver against the emulator's fake backend (no hosts): pure API behaviour.
let emulator: DigitalOceanEmulator;
let dir: string;
let events: ProgressEvent[];

beforeAll(async () => {
  emulator = await startDigitalOceanEmulator({ actionMinMs: 20 });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-do-driver-'));
  events = [];
  emulator.clearFaults();
  emulator.requests.length = 0;
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function context(name: string, env: NodeJS.ProcessEnv = {}): DriverContext {
  const machineDir = path.join(dir, 'machines', name);
  return {
    storePath: dir,
    machineDir,
    progress: progressReporter(name, (e) => events.push(e)),
    env: {
      PATH: process.env.PATH,
      DIGITALOCEAN_API_URL: emulator.url,
      MOOR_SECRET_STORE: 'plain',
      MOOR_DIGITALOCEAN_POLL_MS: '20',
      MOOR_DIGITALOCEAN_RETRY_BASE_MS: '10',
      ...env,
    },
  };
}

async function open(name: string, values: FlagValues = {}, env: NodeJS.ProcessEnv = {}) {
  const ctx = context(name, env);
  await fs.mkdir(ctx.machineDir, { recursive: true });
  ctx.journal = await CreateJournal.begin(ctx.machineDir); // as createMachine does
  const defaults = Object.fromEntries(digitalocean.flags.map((f) => [f.name, f.default]));
  const config = await digitalocean.configFromFlags(
    { ...defaults, 'digitalocean-access-token': emulator.token, ...values },
    baseDriverConfig(name, dir),
    ctx,
  );
  return { ctx, config, driver: digitalocean.open(config, ctx) };
}

describe('digitalocean driver (emulator, no hosts)', () => {
  it('declares docker-machine flags with their env vars and current defaults', () => {
    const byName = Object.fromEntries(digitalocean.flags.map((f) => [f.name, f]));
    expect(byName['digitalocean-access-token']).toMatchObject({
      envVar: 'DIGITALOCEAN_ACCESS_TOKEN',
      secret: true,
    });
    expect(byName['digitalocean-image']?.default).toBe('ubuntu-24-04-x64');
    expect(byName['digitalocean-region']?.default).toBe('nyc3');
    expect(byName['digitalocean-size']?.default).toBe('s-1vcpu-1gb');
    expect(byName['digitalocean-ssh-user']?.default).toBe('root');
    expect(byName['digitalocean-ssh-port']).toMatchObject({ type: 'int', default: 22 });
    for (const f of digitalocean.flags) {
      expect(f.envVar).toBe(f.name.toUpperCase().replace(/-/g, '_'));
    }
  });

  it("writes the Driver object in docker-machine's exact field order", async () => {
    const { config } = await open('order');
    expect(Object.keys(config)).toEqual([
      ...BASE_DRIVER_KEYS,
      'AccessToken',
      'DropletID',
      'DropletName',
      'Image',
      'Region',
      'SSHKeyID',
      'SSHKeyFingerprint',
      'SSHKey',
      'Size',
      'IPv6',
      'Backups',
      'PrivateNetworking',
      'UserDataFile',
      'Monitoring',
      'Tags',
    ]);
    expect(config.AccessToken).toBe(emulator.token); // MOOR_SECRET_STORE=plain: docker-machine's way
    expect(goMarshalIndent(config)).toContain('"DropletID": 0');
  });

  it('requires a token, with docker-machine’s message', async () => {
    await expect(open('notoken', { 'digitalocean-access-token': '' })).rejects.toThrow(
      'digitalocean driver requires the --digitalocean-access-token option',
    );
  });

  it('creates, reports state, powers off/on, restarts, kills and removes (zero leaks)', async () => {
    const userData = path.join(dir, 'user-data');
    await fs.writeFile(userData, '#cloud-config\n');
    const { driver, config, ctx } = await open('web', {
      'digitalocean-region': 'ams3',
      'digitalocean-size': 's-2vcpu-4gb',
      'digitalocean-tags': 'a, b',
      'digitalocean-ipv6': true,
      'digitalocean-userdata': userData,
    });
    await driver.preCreateCheck();
    await driver.create();
    const create = emulator.requests.find((r) => r.method === 'POST' && r.path === '/v2/droplets');
    expect(create?.body).toEqual({
      name: 'web',
      region: 'ams3',
      size: 's-2vcpu-4gb',
      image: 'ubuntu-24-04-x64',
      ssh_keys: [config.SSHKeyID],
      backups: false,
      ipv6: true,
      private_networking: false,
      monitoring: false,
      user_data: '#cloud-config\n',
      tags: ['a', 'b', ctx.journal!.tag], // the create's tag: how a lost answer is recognised
    });
    expect(ctx.journal!.tag).toMatch(/^moor-create-[0-9a-f]{12}$/);
    expect(config.DropletID).toBeGreaterThan(0);
    expect(config.IPAddress).toMatch(/^127\.0\.(2\d)\.\d+$/);
    expect(config.SSHKeyPath).toBe(path.join(dir, 'machines', 'web', 'id_rsa'));
    const key = await fs.readFile(config.SSHKeyPath as string, 'utf8');
    expect(key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect((await fs.stat(config.SSHKeyPath as string)).mode & 0o777).toBe(0o600);
    expect(emulator.state().keys[0]?.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);

    expect(await driver.state()).toBe('Running');
    expect(await driver.url()).toBe(`tcp://${config.IPAddress}:2376`);
    await driver.stop();
    expect(await driver.state()).toBe('Stopped'); // the action completed before stop() returned
    await expect(driver.url()).rejects.toThrow('Host is not running');
    await driver.start();
    expect(await driver.state()).toBe('Running');
    await driver.restart();
    expect(await driver.state()).toBe('Running');
    await driver.kill();
    expect(await driver.state()).toBe('Stopped');
    const actions = emulator.state().actions.filter((a) => a.type !== 'create');
    expect(actions.map((a) => [a.type, a.status])).toEqual([
      ['shutdown', 'completed'],
      ['power_on', 'completed'],
      ['reboot', 'completed'],
      ['power_off', 'completed'],
    ]);

    await driver.remove();
    expect(emulator.state().droplets).toEqual([]);
    expect(emulator.state().keys).toEqual([]);
    await driver.remove(); // again: everything 404s, which rm tolerates
  });

  it("keeps the app's token in its safe storage; the CLI says it cannot read it", async () => {
    const kept = new Map<string, string>();
    const appStore: SecretStore = {
      scheme: 'moor-safestorage',
      description: 'test safe storage',
      get: async (id) => kept.get(id) ?? null,
      set: async (id, secret) => void kept.set(id, secret),
      delete: async (id) => void kept.delete(id),
    };
    const env = { MOOR_SECRET_STORE: 'auto', PATH: '/nonexistent' }; // no OS keychain here
    const ctx = { ...context('app', env), secrets: appStore };
    await fs.mkdir(ctx.machineDir, { recursive: true });
    const defaults = Object.fromEntries(digitalocean.flags.map((f) => [f.name, f.default]));
    const config = await digitalocean.configFromFlags(
      { ...defaults, 'digitalocean-access-token': emulator.token },
      baseDriverConfig('app', dir),
      ctx,
    );
    expect(config.AccessToken).toBe('');
    expect(config.AccessTokenRef).toMatch(/^moor-safestorage:digitalocean-app-/);
    const appDriver = digitalocean.open(config, ctx);
    try {
      await appDriver.create();
      expect([...kept.values()]).toEqual([emulator.token]);

      // The CLI: no safe storage, no env token. (A ref this process never saw: it caches secrets.)
      const cliConfig = {
        ...structuredClone(config),
        AccessTokenRef: 'moor-safestorage:digitalocean-app-cli',
      };
      const cli = digitalocean.open(cliConfig, context('app', env));
      await expect(cli.state()).rejects.toThrow(
        `the DigitalOcean access token of machine "app" is kept by the Moor app's safe storage (moor-safestorage:digitalocean-app-cli); run the command from the app or set DIGITALOCEAN_ACCESS_TOKEN`,
      );
      const withEnv = digitalocean.open(
        cliConfig,
        context('app', { ...env, DIGITALOCEAN_ACCESS_TOKEN: emulator.token }),
      );
      expect(await withEnv.state()).toBe('Running');
    } finally {
      await appDriver.remove();
    }
    expect(kept.size).toBe(0);
    expect(emulator.state().droplets).toEqual([]);
  });

  it('shared cloud flags: inline user-data (a Moor field) reaches user_data; tags as the droplet shows them', async () => {
    const inline = '#cloud-config\nruncmd:\n  - echo hi\n';
    const { driver, config } = await open('inline', {
      'digitalocean-userdata': inline,
      'digitalocean-tags': 'env:dev,team_infra,env:dev',
    });
    expect(config).toMatchObject({ UserDataFile: '', UserData: inline });
    expect(Object.keys(config).indexOf('UserData')).toBe(Object.keys(config).indexOf('UserDataFile') + 1);
    await driver.preCreateCheck();
    await driver.create();
    const [droplet] = emulator.state().droplets;
    expect(droplet?.userData).toBe(inline); // what the metadata service would serve the droplet
    expect(droplet?.tags.slice(0, 2)).toEqual(['env:dev', 'team_infra']); // a repeated tag once
    const api = new DigitalOceanApi({ token: emulator.token, tokenSource: 't', baseUrl: emulator.url });
    expect((await api.getDroplet(Number(config.DropletID))).tags).toContain('team_infra');
    await driver.remove();
    expect(emulator.state().droplets).toEqual([]);
  });

  it.each([
    [
      { 'digitalocean-tags': 'web server' },
      '--digitalocean-tags: "web server" is not a DigitalOcean tag name',
    ],
    [
      { 'digitalocean-tags': `a,${'t'.repeat(256)}` },
      'is 256 characters long; a DigitalOcean tag has at most 255',
    ],
    [
      { 'digitalocean-userdata': '/nonexistent/ud' },
      '--digitalocean-userdata: the user-data file /nonexistent/ud could not be read',
    ],
    [
      { 'digitalocean-userdata': `#cloud-config\n${'x'.repeat(64 * 1024)}` },
      '--digitalocean-userdata: the inline user-data of --digitalocean-userdata is 65550 bytes; DigitalOcean takes at most 64 KiB of user-data',
    ],
  ])('refuses %o before any API call', async (values, message) => {
    await expect(open('bad', values as FlagValues)).rejects.toThrow(message);
    expect(emulator.requests).toEqual([]);
  });

  it('a user-data file over 64 KiB is refused by its size, before any API call', async () => {
    const big = path.join(dir, 'big.yaml');
    await fs.writeFile(big, Buffer.alloc(64 * 1024 + 1, 'a'));
    await expect(open('big', { 'digitalocean-userdata': big })).rejects.toThrow(
      `--digitalocean-userdata: the user-data file ${big} is 65537 bytes; DigitalOcean takes at most 64 KiB`,
    );
    const dirAsFile = await open('dir', { 'digitalocean-userdata': dir }).catch((e: Error) => e.message);
    expect(dirAsFile).toBe(`--digitalocean-userdata: ${dir} is not a file`);
    expect(emulator.requests).toEqual([]);
  });

  it('the emulator refuses what DigitalOcean refuses (422), so the rules are not only ours', async () => {
    const api = new DigitalOceanApi({ token: emulator.token, tokenSource: 't', baseUrl: emulator.url });
    const request = {
      name: 'x',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-24-04-x64',
      ssh_keys: [],
      backups: false,
      ipv6: false,
      private_networking: false,
      monitoring: false,
    };
    await expect(api.createDroplet({ ...request, tags: ['no spaces'] })).rejects.toThrow(
      /tag names may contain/,
    );
    await expect(
      api.createDroplet({ ...request, tags: [], user_data: 'x'.repeat(64 * 1024 + 1) }),
    ).rejects.toThrow(/user_data must be 64 KiB or less/);
    expect(emulator.state().droplets).toEqual([]);
  });

  it('maps new → Starting while the droplet boots', async () => {
    emulator.injectDropletFault('never-ip');
    const { driver, config } = await open('booting', {}, { MOOR_DIGITALOCEAN_WAIT_SECONDS: '0.3' });
    await expect(driver.create()).rejects.toThrow(/did not become active with a public IPv4 address within/);
    expect(config.DropletID).toBeGreaterThan(0); // recorded, so the rollback can delete it
    expect(await driver.state()).toBe('Starting');
    await driver.remove();
    expect(emulator.state()).toMatchObject({ droplets: [], keys: [] });
  });

  it('checks region, size and the key fingerprint before creating anything', async () => {
    await expect(
      (await open('r', { 'digitalocean-region': 'atlantis' })).driver.preCreateCheck(),
    ).rejects.toThrow(/digitalocean requires a valid region: "atlantis" is not one of nyc1/);
    await expect((await open('s', { 'digitalocean-size': 'huge' })).driver.preCreateCheck()).rejects.toThrow(
      'digitalocean size "huge" is not available in region "nyc3"',
    );
    await expect(
      (await open('f', { 'digitalocean-ssh-key-fingerprint': '00:11' })).driver.preCreateCheck(),
    ).rejects.toThrow("Digital Ocean SSH key with fingerprint 00:11 doesn't exist");
    await expect((await open('t', {}, {})).driver.preCreateCheck()).resolves.toBeUndefined();
    expect(emulator.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('uses an existing key by fingerprint and never deletes it', async () => {
    const seed = await open('seed');
    await seed.driver.create(); // uploads a key we then reuse
    const fp = emulator.state().keys[0]!.fingerprint;
    const { driver, config } = await open('reuse', {
      'digitalocean-ssh-key-fingerprint': fp,
      'digitalocean-ssh-key-path': seed.config.SSHKeyPath,
    });
    await driver.preCreateCheck();
    await driver.create();
    expect(config.SSHKeyID).toBe(seed.config.SSHKeyID);
    expect(emulator.state().keys).toHaveLength(1);
    await driver.remove();
    expect(emulator.state().keys).toHaveLength(1); // the user's key stays
    await seed.driver.remove();
    expect(emulator.state()).toMatchObject({ droplets: [], keys: [] });
  });

  it('logs into Flatcar images as core', async () => {
    const { config } = await open('fc', { 'digitalocean-image': 'flatcar-stable' });
    expect(config.SSHUser).toBe('core');
    expect(config.Image).toBe('flatcar-stable');
  });

  it('records each resource as soon as it exists (checkpoint) and honours cancellation', async () => {
    const { driver, ctx, config } = await open('cancel');
    const controller = new AbortController();
    ctx.signal = controller.signal;
    const checkpoints: Array<{ key: number; droplet: number }> = [];
    ctx.checkpoint = async () => {
      checkpoints.push({ key: config.SSHKeyID as number, droplet: config.DropletID as number });
    };
    // Cancel while the droplet create is in flight: it still completes and is recorded.
    emulator.injectFault({ method: 'POST', path: '/v2/droplets', delayMs: 400 });
    const pending = driver.create();
    while (!emulator.requests.some((r) => r.method === 'POST' && r.path === '/v2/droplets')) {
      await new Promise((r) => setTimeout(r, 10));
    }
    controller.abort(new Error('cancelled by test'));
    await expect(pending).rejects.toThrow('cancelled by test');
    expect(checkpoints.at(-1)?.droplet).toBeGreaterThan(0);
    expect(checkpoints[0]?.key).toBeGreaterThan(0);
    emulator.clearFaults();
    await driver.remove(); // cleanup ignores the (aborted) signal
    expect(emulator.state()).toMatchObject({ droplets: [], keys: [] });
  });

  describe('a key upload that fails ambiguously (5xx, dropped connection)', () => {
    const keyLookups = () =>
      emulator.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v2/account/keys/'));

    it.each([
      ['answers 500', { status: 500 }],
      ['loses its connection', { drop: true }],
    ])('%s after DigitalOcean made the key: adopts it by fingerprint and goes on', async (_label, fault) => {
      emulator.injectFault({ method: 'POST', path: '/v2/account/keys', afterCommit: true, ...fault });
      const { driver, ctx, config } = await open('adopt');
      const checkpointed: number[] = [];
      ctx.checkpoint = async () => void checkpointed.push(config.SSHKeyID as number);
      await driver.create();

      const [key] = emulator.state().keys;
      expect(emulator.state().keys).toHaveLength(1);
      expect(config.SSHKeyID).toBe(key!.id);
      expect(checkpointed[0]).toBe(key!.id); // recorded at once, like an uploaded key
      expect(keyLookups().map((r) => r.path)).toEqual([`/v2/account/keys/${key!.fingerprint}`]);
      expect(emulator.state().droplets[0]?.keyIds).toEqual([key!.id]);
      expect(
        events.some((e) => /SSH key upload failed .* but key \d+ was created: using it/.test(e.message)),
      ).toBe(true);
      await driver.remove();
      expect(emulator.state()).toMatchObject({ droplets: [], keys: [] });
    });

    it('fails with the upload error when the lookup finds no key (404), creating nothing', async () => {
      emulator.injectFault({ method: 'POST', path: '/v2/account/keys', status: 500 });
      const { driver, config } = await open('nokey');
      await expect(driver.create()).rejects.toThrow(/POST \/v2\/account\/keys: HTTP 500/);
      expect(keyLookups().map((r) => r.status)).toEqual([404]);
      expect(config.SSHKeyID).toBe(0);
      expect(emulator.requests.some((r) => r.path === '/v2/droplets')).toBe(false);
      expect(emulator.state()).toMatchObject({ droplets: [], keys: [] });
    });

    it('does not look anything up after a 4xx (DigitalOcean refused it)', async () => {
      emulator.injectFault({ method: 'POST', path: '/v2/account/keys', status: 422 });
      const { driver } = await open('refused');
      await expect(driver.create()).rejects.toThrow(/HTTP 422/);
      expect(keyLookups()).toEqual([]);
    });

    it('names the fingerprint to delete when the lookup fails too', async () => {
      emulator.injectFault({ method: 'POST', path: '/v2/account/keys', status: 500, afterCommit: true });
      emulator.injectFault({ method: 'GET', path: '/v2/account/keys/', status: 503, times: 10 });
      const { driver } = await open('unknown');
      const err = await driver.create().then(
        () => new Error('create succeeded'),
        (e: unknown) => e as Error,
      );
      const [key] = emulator.state().keys;
      expect(err.message).toMatch(/^DigitalOcean API POST \/v2\/account\/keys: HTTP 500 /);
      expect(err.message).toContain('checking whether the SSH key was created anyway failed too');
      expect(err.message).toContain(`with fingerprint ${key!.fingerprint}, delete it`);
      emulator.clearFaults();
      await new DigitalOceanApi({ token: emulator.token, baseUrl: emulator.url }).deleteKey(key!.id);
    });
  });

  it('a droplet create that fails ambiguously and whose lookup fails too: the journal finds it later', async () => {
    emulator.injectFault({ method: 'POST', path: '/v2/droplets', status: 500, afterCommit: true });
    emulator.injectFault({ method: 'GET', path: /^\/v2\/droplets$/, status: 503, times: 10 });
    const { driver, ctx } = await open('unknown-droplet');
    const err = await driver.create().then(
      () => new Error('create succeeded'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/^DigitalOcean API POST \/v2\/droplets: HTTP 500 /);
    expect(err.message).toContain('checking whether the droplet was created anyway failed too');
    expect(err.message).toContain(`looks again for the droplet tagged ${ctx.journal!.tag}`);
    emulator.clearFaults();
    const record = (await readJournal(ctx.machineDir))!;
    expect(record.entries.find((e) => e.kind === 'droplet')).toEqual({
      kind: 'droplet',
      find: { tag: ctx.journal!.tag },
    });
    const dropletId = emulator.state().droplets[0]!.id;
    const outcomes = await driver.cleanUpCreate!(record);
    expect(outcomes.map((o) => [o.entry.kind, o.result])).toEqual([
      ['droplet', 'deleted'],
      ['ssh-key', 'deleted'],
    ]);
    expect(outcomes[0]!.detail).toBe(String(dropletId));
    await emulator.idle();
    expect(emulator.state()).toMatchObject({ droplets: [], keys: [] });
  });

  it('waits for the rate limit and retries 5xx on polls during create', async () => {
    emulator.injectFault({ method: 'POST', path: '/v2/droplets', status: 429, resetInSeconds: 1 });
    emulator.injectFault({ method: 'GET', path: '/v2/droplets/', status: 502, times: 2 });
    const { driver } = await open('flaky');
    await driver.create();
    expect(emulator.state().droplets).toHaveLength(1);
    expect(events.some((e) => /rate limited/.test(e.message))).toBe(true);
    await driver.remove();
    expect(emulator.state()).toMatchObject({ droplets: [], keys: [] });
  });
});

// Last: it leaves snapshot actions in the shared emulator, which the tests above count.
describe('digitalocean hibernate / wake (emulator, no hosts)', () => {
  it('hibernates (shutdown, snapshot, verify, destroy: each step saved first), wakes from the snapshot with its own tag, and rm deletes a snapshot', async () => {
    const { driver, config, ctx } = await open('hib', {
      'digitalocean-region': 'ams3',
      'digitalocean-tags': 'team',
    });
    await driver.create();
    const saved: string[] = [];
    ctx.checkpoint = async () => {
      const h = config.Hibernation as { Phase: string; SnapshotID: number; WakeTag: string } | undefined;
      saved.push(
        `${h?.Phase ?? '-'} droplet=${Number(config.DropletID) > 0} snapshot=${(h?.SnapshotID ?? 0) > 0}`,
      );
    };
    const first = config.DropletID as number;
    const since = emulator.requests.length;
    expect(driver.hibernation?.()).toBeNull();
    await driver.hibernate!();
    expect(saved).toEqual([
      'snapshotting droplet=true snapshot=false', // the snapshot's name, before anything is asked
      'destroying droplet=true snapshot=true', // verified: only now may the droplet go
      'hibernated droplet=false snapshot=true',
    ]);
    const steps = emulator.requests
      .slice(since)
      .filter((r) => r.method !== 'GET')
      .map((r) => `${r.method} ${r.path} ${(r.body as { type?: string } | undefined)?.type ?? ''}`.trim());
    expect(steps).toEqual([
      `POST /v2/droplets/${first}/actions shutdown`,
      `POST /v2/droplets/${first}/actions snapshot`,
      `DELETE /v2/droplets/${first}`,
    ]);
    await emulator.idle();
    const [snapshot] = emulator.state().snapshots;
    expect(snapshot).toMatchObject({ resourceId: first, region: 'ams3', sizeGigabytes: 2.36 });
    expect(snapshot!.name).toMatch(/^moor-hibernate-hib-[0-9a-f]{8}$/);
    expect(emulator.state().droplets).toEqual([]);
    expect(await driver.state()).toBe('Hibernated');
    expect(driver.hibernation?.()).toBe('hibernated');
    await expect(driver.ip()).rejects.toThrow('is hibernated');
    await expect(driver.url()).rejects.toThrow('Host is not running');
    expect(await driver.price!()).toMatchObject({
      size: 'snapshot 2.36 GB',
      monthly: 0.1416,
      currency: 'USD',
    });
    await driver.hibernate!(); // again: nothing to do
    expect(emulator.state().snapshots).toHaveLength(1);

    saved.length = 0;
    await driver.wake!();
    const create = emulator.requests.filter((r) => r.method === 'POST' && r.path === '/v2/droplets').at(-1);
    const wakeTag = (config.Hibernation as { WakeTag: string }).WakeTag;
    expect(wakeTag).toMatch(/^moor-create-[0-9a-f]{12}$/);
    expect(create?.body).toMatchObject({
      name: 'hib',
      region: 'ams3',
      size: 's-1vcpu-1gb',
      image: snapshot!.id,
      ssh_keys: [config.SSHKeyID],
      tags: ['team', wakeTag],
    });
    expect(saved).toEqual([
      'waking droplet=false snapshot=true', // the tag, before the droplet is asked for
      'waking droplet=true snapshot=true',
      'waking droplet=true snapshot=true', // its address
    ]);
    expect(await driver.state()).toBe('Running');
    expect(driver.hibernation?.()).toBe('interrupted'); // until the machine answered: the snapshot stays
    expect(emulator.state().snapshots).toHaveLength(1);
    await driver.finishWake!();
    expect(config.Hibernation).toBeUndefined();
    expect(emulator.state().snapshots).toEqual([]);

    await driver.hibernate!();
    expect(emulator.state().snapshots).toHaveLength(1);
    await driver.remove();
    await emulator.idle();
    expect(emulator.state()).toMatchObject({ droplets: [], keys: [], snapshots: [] });
  });
});
