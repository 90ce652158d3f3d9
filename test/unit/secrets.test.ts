import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commitSecret,
  deleteSecret,
  parseSecretRef,
  planSecret,
  platformKeychain,
  readSecret,
  type SecretStore,
  secretStorePolicy,
} from '../../main/secrets/index.js';
import { macSetCommand } from '../../main/secrets/macos-keychain.js';
import { SecretToolStore } from '../../main/secrets/secret-tool.js';
import { startTestKeyring, type TestKeyring } from '../harness/keyring.js';

/** The app's adapter shape (Electron safeStorage in the app): an in-memory one for the selection logic. */
class MemoryStore implements SecretStore {
  readonly scheme = 'moor-safestorage';
  readonly description = 'test store';
  readonly items = new Map<string, string>();
  failSet = false;
  async get(id: string) {
    return this.items.get(id) ?? null;
  }
  async set(id: string, secret: string) {
    if (this.failSet) throw new Error('locked');
    this.items.set(id, secret);
  }
  async delete(id: string) {
    this.items.delete(id);
  }
}

describe('secret store selection', () => {
  it('reads MOOR_SECRET_STORE', () => {
    expect(secretStorePolicy({})).toBe('auto');
    expect(secretStorePolicy({ MOOR_SECRET_STORE: 'Plain' })).toBe('plain');
    expect(() => secretStorePolicy({ MOOR_SECRET_STORE: 'vault' })).toThrow(
      /not valid: use auto, keychain or plain/,
    );
  });

  it('knows when there is no keychain', () => {
    expect(platformKeychain({ PATH: '/nonexistent' }, 'linux').reason).toMatch(/secret-tool.*not installed/);
    expect(platformKeychain({ PATH: process.env.PATH }, 'linux').reason).toMatch(/no D-Bus session bus/);
    expect(platformKeychain({}, 'darwin').store?.description).toBe('macOS Keychain');
    expect(platformKeychain({}, 'win32').store).toBeNull();
  });

  it('falls back to plain text on a headless box (auto), refuses with MOOR_SECRET_STORE=keychain', async () => {
    const env = { PATH: process.env.PATH };
    expect(await planSecret('a', 's', 'l', { env, platform: 'linux' })).toEqual({
      ref: null,
      warning: 'no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)',
    });
    expect(await planSecret('a', 's', 'l', { env: { ...env, MOOR_SECRET_STORE: 'plain' } })).toEqual({
      ref: null,
      warning: '',
    });
    await expect(
      planSecret('a', 's', 'l', { env: { ...env, MOOR_SECRET_STORE: 'keychain' }, platform: 'linux' }),
    ).rejects.toThrow(/MOOR_SECRET_STORE=keychain but no keychain is usable here/);
  });

  it('uses an injected store (the app) and writes only on commit', async () => {
    const store = new MemoryStore();
    const options = { env: {}, injected: store };
    const { ref } = await planSecret('do-web', 'tok', 'label', options);
    expect(ref).toBe('moor-safestorage:do-web');
    expect(store.items.size).toBe(0);
    expect(await readSecret(ref!, options)).toBe('tok'); // known to this process already
    expect(await commitSecret(ref!, options)).toEqual({ ok: true });
    expect(store.items.get('do-web')).toBe('tok');
    await deleteSecret(ref!, options);
    expect(store.items.size).toBe(0);
  });

  it('hands the secret back when the store refuses it (auto) so it can be kept in plain text', async () => {
    const store = new MemoryStore();
    store.failSet = true;
    const { ref } = await planSecret('do-x', 'tok', 'label', { env: {}, injected: store });
    expect(await commitSecret(ref!, { env: {}, injected: store })).toEqual({
      ok: false,
      reason: 'test store: locked',
      secret: 'tok',
    });
  });

  it('says which refs the CLI cannot read', async () => {
    await expect(readSecret('moor-safestorage:x', { env: {} })).rejects.toThrow(/kept by the Moor app/);
    expect(parseSecretRef('moor-keychain:digitalocean-a-1')).toEqual({
      scheme: 'moor-keychain',
      id: 'digitalocean-a-1',
    });
  });

  it('builds the macOS `security -i` command without putting the secret on argv', () => {
    expect(macSetCommand('id1', 'dop_v1_abc', 'Moor: x')).toBe(
      'add-generic-password -U -s "moor" -a "id1" -l "Moor: x" -w "dop_v1_abc"\n',
    );
    expect(() => macSetCommand('id1', 'a"b', 'l')).toThrow(/quote/);
  });
});

describe('Secret Service through secret-tool (real gnome-keyring on a private session bus)', () => {
  let keyring: TestKeyring;
  beforeAll(async () => {
    keyring = await startTestKeyring();
  }, 30_000);
  afterAll(async () => {
    await keyring?.stop();
  });

  it('stores, reads and deletes an item', async () => {
    const store = new SecretToolStore('secret-tool', keyring.env);
    expect(await store.get('t1')).toBeNull();
    await store.set('t1', 'dop_v1_secret', 'Moor test');
    expect(await store.get('t1')).toBe('dop_v1_secret');
    const lookup = spawnSync('secret-tool', ['lookup', 'service', 'moor', 'account', 't1'], {
      env: keyring.env,
    });
    expect(lookup.stdout.toString()).toBe('dop_v1_secret');
    await store.delete('t1');
    expect(await store.get('t1')).toBeNull();
    await store.delete('t1'); // already gone is fine
  });

  it('is what planSecret picks on Linux with a session bus', async () => {
    expect(platformKeychain(keyring.env, 'linux').store).toBeInstanceOf(SecretToolStore);
    const { ref } = await planSecret('plan-1', 'tok-1', 'Moor test', { env: keyring.env, platform: 'linux' });
    expect(ref).toBe('moor-keychain:plan-1');
    expect(await commitSecret(ref!, { env: keyring.env, platform: 'linux' })).toEqual({ ok: true });
    expect(await new SecretToolStore('secret-tool', keyring.env).get('plan-1')).toBe('tok-1');
    await deleteSecret(ref!, { env: keyring.env, platform: 'linux' });
    expect(await new SecretToolStore('secret-tool', keyring.env).get('plan-1')).toBeNull();
  });
});
