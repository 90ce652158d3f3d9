import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ProgressEvent, progressReporter } from '../../main/base/progress.js';
import { createMachine } from '../../main/core/create.js';
import {
  createIsInterrupted,
  readCreateMarker,
  recoverInterruptedCreates,
} from '../../main/core/interrupted-create.js';
import { Store } from '../../main/store/store.js';
import type { DropletFault, RequestFault } from '../emulators/digitalocean/server.js';
import { type DigitalOceanEmulator, startDigitalOceanEmulator } from '../emulators/digitalocean/server.js';

// createMachine's rollback with the DigitalOcean driver, against the emulator's fake backend (no
// hosts, so SSH never answers): after every injected fault the emulator holds zero droplets and
// zero keys, and the store holds no machine directory.
let emulator: DigitalOceanEmulator;
let root: string;
let store: Store;
let events: ProgressEvent[];

beforeAll(async () => {
  process.env.MOOR_SSH_WAIT_SECONDS = '2'; // read when createMachine first imports the provisioner
  emulator = await startDigitalOceanEmulator({ actionMinMs: 20 });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-do-rollback-'));
  store = new Store(root);
  events = [];
  emulator.clearFaults();
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const env = () => ({
  PATH: process.env.PATH,
  DIGITALOCEAN_API_URL: emulator.url,
  DIGITALOCEAN_ACCESS_TOKEN: emulator.token,
  MOOR_SECRET_STORE: 'plain',
  MOOR_DIGITALOCEAN_POLL_MS: '20',
  MOOR_DIGITALOCEAN_RETRY_BASE_MS: '10',
  MOOR_DIGITALOCEAN_WAIT_SECONDS: '1',
});

function create(name: string, signal?: AbortSignal) {
  return createMachine({
    store,
    name,
    driverName: 'digitalocean',
    flagValues: { 'digitalocean-access-token': emulator.token },
    engine: { InstallURL: 'distro' },
    progress: progressReporter(name, (e) => events.push(e)),
    env: env(),
    signal,
    wait: { tries: 5, intervalMs: 50 },
  });
}

async function expectNoLeaks(name: string) {
  await emulator.idle();
  expect(emulator.state().droplets).toEqual([]);
  expect(emulator.state().keys).toEqual([]);
  expect(emulator.backgroundErrors).toEqual([]);
  expect(await store.exists(name)).toBe(false);
}

const requestFaults: Array<[string, RequestFault]> = [
  ['key upload fails (500)', { method: 'POST', path: '/v2/account/keys', status: 500 }],
  [
    'key upload answers 500 after the key exists (adopted, then rolled back)',
    { method: 'POST', path: '/v2/account/keys', status: 500, afterCommit: true },
  ],
  [
    'key upload loses its connection after the key exists (adopted, then rolled back)',
    { method: 'POST', path: '/v2/account/keys', drop: true, afterCommit: true },
  ],
  ['droplet create fails (500)', { method: 'POST', path: '/v2/droplets', status: 500 }],
  [
    'droplet create answers 500 after the droplet exists (adopted, then rolled back)',
    { method: 'POST', path: '/v2/droplets', status: 500, afterCommit: true },
  ],
  ['droplet create is refused (422)', { method: 'POST', path: '/v2/droplets', status: 422 }],
  ['polling fails for good (500 × 20)', { method: 'GET', path: '/v2/droplets/', status: 500, times: 20 }],
];

describe('create rollback (emulator, no hosts)', () => {
  it.each(requestFaults)('%s: deletes what it made, leaves no machine directory', async (_label, fault) => {
    emulator.injectFault(fault);
    await expect(create('rb')).rejects.toThrow(/Error creating machine/);
    await expectNoLeaks('rb');
  });

  it("a lost droplet answer never adopts another client's droplet of the same name", async () => {
    // Another client made droplet "same" a moment ago; Moor's own POST then fails with a 500
    // before anything was made. Adoption used to take any droplet of that name from the last
    // 120 s — and the rollback deleted it.
    const { DigitalOceanApi } = await import('../../main/drivers/digitalocean/api.js');
    const api = new DigitalOceanApi({ token: emulator.token, baseUrl: emulator.url });
    const other = await api.createDroplet({
      name: 'same',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-24-04-x64',
      ssh_keys: [],
      backups: false,
      ipv6: false,
      private_networking: false,
      monitoring: false,
      tags: [],
    });
    emulator.injectFault({ method: 'POST', path: '/v2/droplets', status: 500 });
    await expect(create('same')).rejects.toThrow(/HTTP 500/);
    await emulator.idle();
    expect(emulator.state().droplets.map((d) => d.id)).toEqual([other.id]);
    expect(
      emulator.requests.filter((r) => r.method === 'DELETE' && r.path === `/v2/droplets/${other.id}`),
    ).toEqual([]);
    expect(events.some((e) => /was created: using it/.test(e.message))).toBe(false);
    await api.deleteDroplet(other.id);
    await expectNoLeaks('same');
  });

  it('a journal that cannot be written (full disk) fails the create before any request, leaving nothing', async () => {
    const before = emulator.requests.length;
    process.env.MOOR_FAULT = 'write:.moor-create-journal.json=enospc';
    try {
      await expect(create('nojournal')).rejects.toThrow(/could not write the create journal: ENOSPC/);
    } finally {
      delete process.env.MOOR_FAULT;
    }
    // Only the pre-create check's read happened: no key, no droplet was asked for.
    expect(emulator.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2/regions']);
    await expectNoLeaks('nojournal');
  });

  const dropletFaults: DropletFault[] = ['never-ip', 'host-fails'];
  it.each(dropletFaults)('droplet fault %s: bounded wait, then rollback', async (fault) => {
    emulator.injectDropletFault(fault);
    await expect(create('rb2')).rejects.toThrow(/did not become active/);
    await expectNoLeaks('rb2');
  });

  it('SSH never comes up: provisioning fails, droplet and key are deleted', async () => {
    emulator.injectDropletFault('no-ssh');
    await expect(create('rb3')).rejects.toThrow(/Error creating machine/);
    await expectNoLeaks('rb3');
  });

  it('a 401 fails the pre-create check, before anything exists', async () => {
    const err = await createMachine({
      store,
      name: 'bad',
      driverName: 'digitalocean',
      flagValues: { 'digitalocean-access-token': 'nope' },
      progress: progressReporter('bad', () => {}),
      env: env(),
    }).catch((e: unknown) => e as Error & { exitCode: number });
    expect(err.message).toMatch(/^Error with pre-create check: "invalid DigitalOcean access token/);
    expect(err.exitCode).toBe(3);
    await expectNoLeaks('bad');
  });

  it('a cancelled create (AbortSignal) rolls back', async () => {
    const controller = new AbortController();
    emulator.injectFault({ method: 'POST', path: '/v2/droplets', delayMs: 300 });
    const pending = create('cx', controller.signal);
    const started = Date.now();
    while (!emulator.requests.some((r) => r.method === 'POST' && r.path === '/v2/droplets')) {
      if (Date.now() - started > 10_000) throw new Error('create never reached the droplet');
      await new Promise((r) => setTimeout(r, 10));
    }
    controller.abort();
    await expect(pending).rejects.toMatchObject({ message: 'Cancelled', exitCode: 130 });
    await expectNoLeaks('cx');
  });

  it('--keep-on-failure keeps the record (and the droplet) for debugging; rm then cleans up', async () => {
    emulator.injectDropletFault('never-ip');
    await expect(
      createMachine({
        store,
        name: 'kept',
        driverName: 'digitalocean',
        flagValues: { 'digitalocean-access-token': emulator.token },
        progress: progressReporter('kept', () => {}),
        env: env(),
        keepOnFailure: true,
      }),
    ).rejects.toThrow();
    expect(emulator.state().droplets).toHaveLength(1);
    const config = await store.load('kept');
    expect(config.Driver.DropletID).toBe(emulator.state().droplets[0]!.id);
    expect(await readCreateMarker(store.machineDir('kept'))).toBeNull(); // kept on purpose: not "interrupted"
    const { removeMachine } = await import('../../main/core/remove.js');
    expect(await removeMachine('kept', { store, env: env() })).toEqual({ removed: true, errors: [] });
    await expectNoLeaks('kept');
  });
});

/** The pid of a process that has exited (what a killed or finished `moor create` leaves behind). */
function deadPid(): Promise<number> {
  return new Promise<number>((resolve) => {
    import('node:child_process').then(({ spawn }) => {
      const child = spawn(process.execPath, ['-e', '0']);
      child.on('exit', () => resolve(child.pid!));
    });
  });
}

describe('rollback that cannot delete the droplet', () => {
  it('keeps the folder and marker with a warning; a later recovery removes both', async () => {
    emulator.injectDropletFault('never-ip');
    emulator.injectFault({ method: 'DELETE', path: '/v2/droplets/', status: 500, times: 50 });
    await expect(create('stuck')).rejects.toThrow(/did not become active/);
    // The droplet still exists, and so does the record of it: no orphan without a record.
    expect(emulator.state().droplets).toHaveLength(1);
    expect(await store.exists('stuck')).toBe(true);
    expect((await store.load('stuck')).Driver.DropletID).toBe(emulator.state().droplets[0]!.id);
    const marker = await readCreateMarker(store.machineDir('stuck'));
    expect(marker).not.toBeNull();
    const warnings = events.filter((e) => e.level === 'warn').map((e) => e.message);
    expect(warnings.join('\n')).toMatch(/Error removing the resources of "stuck"/);
    expect(warnings.join('\n')).toMatch(/Keeping the machine "stuck"/);

    // The create's process has exited; the API works again: the next ls/rm recovery cleans up.
    emulator.clearFaults();
    await fs.writeFile(
      path.join(store.machineDir('stuck'), '.moor-create-in-progress'),
      JSON.stringify({ ...marker, pid: await deadPid() }),
    );
    // Only what it saw: the rollback had deleted the key already, the droplet goes now.
    const dropletId = emulator.state().droplets[0]!.id;
    expect(await recoverInterruptedCreates(store, { env: env() })).toEqual([
      {
        name: 'stuck',
        cleaned: true,
        outcomes: [`deleted droplet ${dropletId}`, expect.stringMatching(/^ssh-key \d+: already gone$/)],
      },
    ]);
    await expectNoLeaks('stuck');
  });
});

describe('interrupted create (marker with a dead pid)', () => {
  it('the next ls cleans up the droplet and key it recorded, and its directory', async () => {
    // What a kill -9 mid-create leaves: config.json with the IDs, and the marker of a dead process.
    emulator.injectDropletFault('never-ip');
    await expect(
      createMachine({
        store,
        name: 'killed',
        driverName: 'digitalocean',
        flagValues: { 'digitalocean-access-token': emulator.token },
        progress: progressReporter('killed', () => {}),
        env: env(),
        keepOnFailure: true,
      }),
    ).rejects.toThrow();
    const marker = {
      pid: await deadPid(),
      hostname: os.hostname(),
      bootId: '',
      startTime: '',
      startedAt: new Date().toISOString(),
    };
    await fs.writeFile(
      path.join(store.machineDir('killed'), '.moor-create-in-progress'),
      JSON.stringify(marker),
    );
    expect(createIsInterrupted(marker)).toBe(true);
    expect(createIsInterrupted({ ...marker, pid: process.pid })).toBe(false);

    const { listMachines } = await import('../../main/core/list.js');
    const rows = await listMachines({ store, env: env() });
    expect(rows.map((r) => r.Name)).not.toContain('killed');
    await expectNoLeaks('killed');
    expect(await recoverInterruptedCreates(store, { env: env() })).toEqual([]);
  });

  it('a create killed before config.json was written leaves only a marker: ls removes the directory', async () => {
    const dir = await store.createMachineDir('early');
    await fs.writeFile(
      path.join(dir, '.moor-create-in-progress'),
      JSON.stringify({ pid: 0, hostname: os.hostname(), bootId: '', startTime: '', startedAt: '' }),
    );
    const { listMachines } = await import('../../main/core/list.js');
    expect((await listMachines({ store, env: env() })).map((r) => r.Name)).toEqual([]);
    expect(await store.exists('early')).toBe(false);
  });

  it('`create` of the same name cleans up a killed create first, by its journal, and says what it saw', async () => {
    // What a kill -9 while POST /v2/droplets was in flight leaves: a journal entry with the tag
    // only (no droplet ID anywhere), the marker of a dead process, and the droplet itself.
    const dir = await store.createMachineDir('again');
    const { CreateJournal } = await import('../../main/core/create-journal.js');
    const journal = await CreateJournal.begin(dir);
    await journal.intend('droplet', { tag: journal.tag });
    const { DigitalOceanApi } = await import('../../main/drivers/digitalocean/api.js');
    const api = new DigitalOceanApi({ token: emulator.token, baseUrl: emulator.url });
    const orphan = await api.createDroplet({
      name: 'again',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-24-04-x64',
      ssh_keys: [],
      backups: false,
      ipv6: false,
      private_networking: false,
      monitoring: false,
      tags: [journal.tag],
    });
    const { newHostConfig, baseDriverConfig } = await import('../../main/store/config.js');
    await store.save(
      newHostConfig({
        name: 'again',
        storePath: store.root,
        driverName: 'digitalocean',
        driver: {
          ...baseDriverConfig('again', store.root),
          AccessToken: emulator.token,
          DropletID: 0,
          SSHKeyID: 0,
        },
      }),
    );
    await fs.writeFile(
      path.join(dir, '.moor-create-in-progress'),
      JSON.stringify({
        pid: await deadPid(),
        hostname: os.hostname(),
        bootId: '',
        startTime: '',
        startedAt: '',
      }),
    );
    emulator.injectDropletFault('never-ip'); // the new create then fails and rolls back too
    await expect(create('again')).rejects.toThrow(/did not become active/);
    const logs = events.map((e) => e.message).join('\n');
    expect(logs).toContain(`An interrupted create of "again" was cleaned up: deleted droplet ${orphan.id}`);
    await expectNoLeaks('again');
  });

  it('leaves a create that is still running alone', async () => {
    const dir = await store.createMachineDir('running');
    const { markCreateInProgress } = await import('../../main/core/interrupted-create.js');
    await markCreateInProgress(dir); // this (live) process
    expect(await recoverInterruptedCreates(store, { env: env() })).toEqual([]);
    expect(await store.exists('running')).toBe(true);
  });
});
