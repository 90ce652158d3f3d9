import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SafeStorageLike, SafeStorageSecretStore } from '../../../main/app/safe-storage-secrets.js';
import { progressReporter } from '../../../main/base/progress.js';
import digitalocean from '../../../main/drivers/digitalocean/index.js';
import type { DriverContext } from '../../../main/drivers/types.js';
import { machineBackend } from '../../../main/services/wiring.js';
import { baseDriverConfig, newHostConfig } from '../../../main/store/config.js';
import { Store } from '../../../main/store/store.js';
import { type DigitalOceanEmulator, startDigitalOceanEmulator } from '../../emulators/digitalocean/server.js';

const fakeSafeStorage: SafeStorageLike = {
  isEncryptionAvailable: () => true,
  encryptString: (s) => Buffer.from(`enc:${Buffer.from(s).toString('base64')}`),
  decryptString: (b) => Buffer.from(b.toString().slice(4), 'base64').toString(),
};

// The app's services read a droplet's token through the safeStorage adapter (emulator, no hosts).
describe('app wiring with the safeStorage secret store', () => {
  let emulator: DigitalOceanEmulator;
  let dir: string;
  let store: Store;
  let safe: SafeStorageSecretStore;
  let ref = '';
  const env: NodeJS.ProcessEnv = {
    PATH: '/nonexistent', // no OS keychain: the app's store is the one used
    DIGITALOCEAN_API_URL: '',
    MOOR_DIGITALOCEAN_POLL_MS: '20',
    MOOR_DIGITALOCEAN_RETRY_BASE_MS: '10',
  };

  beforeAll(async () => {
    emulator = await startDigitalOceanEmulator({ actionMinMs: 20 });
    env.DIGITALOCEAN_API_URL = emulator.url;
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-wiring-secrets-'));
    store = new Store(dir);
    safe = new SafeStorageSecretStore(fakeSafeStorage, dir, 'win32');
    // A droplet created by the app: token in safe storage, only its reference in config.json.
    await store.createMachineDir('app-do');
    const ctx: DriverContext = {
      storePath: dir,
      machineDir: store.machineDir('app-do'),
      progress: progressReporter('app-do', () => {}),
      env,
      secrets: safe,
    };
    const defaults = Object.fromEntries(digitalocean.flags.map((f) => [f.name, f.default]));
    const config = await digitalocean.configFromFlags(
      { ...defaults, 'digitalocean-access-token': emulator.token },
      baseDriverConfig('app-do', dir),
      ctx,
    );
    const driver = digitalocean.open(config, ctx);
    await driver.create();
    // This process has the token cached under the create's reference; a reference it never saw
    // makes every read below go through the adapter, as in a later run of the app.
    const created = String(driver.config.AccessTokenRef).slice('moor-safestorage:'.length);
    expect(await safe.get(created)).toBe(emulator.token);
    await safe.delete(created);
    await safe.set('digitalocean-app-do-later', emulator.token, 'label');
    ref = 'moor-safestorage:digitalocean-app-do-later';
    driver.config.AccessTokenRef = ref;
    await store.save(
      newHostConfig({ name: 'app-do', storePath: dir, driverName: 'digitalocean', driver: driver.config }),
    );
  });

  afterAll(async () => {
    await emulator?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('keeps the token as ciphertext under .moor-secrets, config.json holds the reference', async () => {
    expect(ref).toMatch(/^moor-safestorage:digitalocean-app-do-/);
    const config = await fs.readFile(path.join(dir, 'machines', 'app-do', 'config.json'), 'utf8');
    expect(config).not.toContain(emulator.token);
    const files = await fs.readdir(path.join(dir, '.moor-secrets'));
    expect(files).toEqual([ref.slice('moor-safestorage:'.length)]);
  });

  it('without the adapter (the CLI), the row says where the token is and what to do', async () => {
    const [row] = await machineBackend(store, env, 1_000).list();
    expect(row?.error).toMatch(/kept by the Moor app's safe storage.*run the command from the app/);
  });

  it('lists, stops and removes the droplet through the adapter', async () => {
    const backend = machineBackend(store, env, 1_000, safe);
    const [row] = await backend.list();
    expect(row).toMatchObject({ name: 'app-do', driver: 'digitalocean', state: 'Running' });
    await backend.action('stop', 'app-do');
    expect(emulator.state().droplets[0]?.status).toBe('off');
    await backend.remove('app-do', false);
    expect(emulator.state().droplets).toEqual([]);
    expect(await fs.readdir(path.join(dir, '.moor-secrets'))).toEqual([]); // rm deletes the secret too
  });
});
