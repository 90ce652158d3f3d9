import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SAFE_STORAGE_DIR,
  type SafeStorageLike,
  SafeStorageSecretStore,
} from '../../../main/app/safe-storage-secrets.js';
import {
  AppOnlySecretError,
  commitSecret,
  deleteSecret,
  planSecret,
  readSecret,
} from '../../../main/secrets/index.js';

/** A stand-in for Electron's safeStorage: a reversible transform that is visibly not the plain text. */
class FakeSafeStorage implements SafeStorageLike {
  available = true;
  backend = 'gnome_libsecret';
  isEncryptionAvailable(): boolean {
    return this.available;
  }
  encryptString(plainText: string): Buffer {
    return Buffer.from(`enc:${Buffer.from(plainText).toString('base64')}`);
  }
  decryptString(encrypted: Buffer): string {
    const text = encrypted.toString();
    if (!text.startsWith('enc:')) throw new Error('Error while decrypting the ciphertext provided');
    return Buffer.from(text.slice(4), 'base64').toString();
  }
  getSelectedStorageBackend(): string {
    return this.backend;
  }
}

let dir: string;
let safe: FakeSafeStorage;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'moor-safestorage-'));
  safe = new FakeSafeStorage();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('SafeStorageSecretStore', () => {
  it('keeps only ciphertext, in <store>/.moor-secrets/<id> (dir 0700, file 0600), and reads it back', async () => {
    const store = new SafeStorageSecretStore(safe, dir, 'win32');
    expect(store.scheme).toBe('moor-safestorage');
    expect(await store.get('do-web-1')).toBeNull();
    await store.set('do-web-1', 'dop_v1_secret', 'label');
    const file = path.join(dir, SAFE_STORAGE_DIR, 'do-web-1');
    expect(readFileSync(file, 'utf8')).not.toContain('dop_v1_secret');
    expect(statSync(path.join(dir, SAFE_STORAGE_DIR)).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await store.get('do-web-1')).toBe('dop_v1_secret');
    await store.set('do-web-1', 'dop_v1_rotated', 'label'); // replaced atomically
    expect(await store.get('do-web-1')).toBe('dop_v1_rotated');
    expect(readdirSync(path.join(dir, SAFE_STORAGE_DIR))).toEqual(['do-web-1']); // no temp files left
    await store.delete('do-web-1');
    expect(await store.get('do-web-1')).toBeNull();
    await store.delete('do-web-1'); // already gone is fine
  });

  it('refuses to write without real encryption (unavailable, or Linux basic_text)', async () => {
    safe.available = false;
    const win = new SafeStorageSecretStore(safe, dir, 'win32');
    expect(win.unavailableReason()).toMatch(/not available/);
    await expect(win.set('a', 's', 'l')).rejects.toThrow(/not available/);
    safe.available = true;
    safe.backend = 'basic_text';
    const linux = new SafeStorageSecretStore(safe, dir, 'linux');
    expect(linux.unavailableReason()).toMatch(/basic_text/);
    await expect(linux.set('a', 's', 'l')).rejects.toThrow(/basic_text/);
    expect(new SafeStorageSecretStore(safe, dir, 'win32').unavailableReason()).toBeNull();
  });

  it('never lets an id escape its directory', async () => {
    const store = new SafeStorageSecretStore(safe, dir, 'win32');
    await expect(store.set('../config.json', 's', 'l')).rejects.toThrow(/invalid secret id/);
    await expect(store.get('a/b')).rejects.toThrow(/invalid secret id/);
  });
});

describe('where the app keeps a new secret', () => {
  it('uses safeStorage only where the CLI has no keychain adapter (Windows), and reads it through the adapter', async () => {
    const store = new SafeStorageSecretStore(safe, dir, 'win32');
    const options = { env: {}, platform: 'win32' as const, injected: store };
    const { ref } = await planSecret('digitalocean-web-1', 'dop_v1_tok', 'Moor: token', options);
    expect(ref).toBe('moor-safestorage:digitalocean-web-1');
    expect(await commitSecret(ref!, options)).toEqual({ ok: true });
    expect(await store.get('digitalocean-web-1')).toBe('dop_v1_tok');
    await deleteSecret(ref!, options);
    expect(await store.get('digitalocean-web-1')).toBeNull();
  });

  it('prefers the OS keychain the CLI also reads (macOS) over safeStorage', async () => {
    const store = new SafeStorageSecretStore(safe, dir, 'darwin');
    const { ref } = await planSecret('digitalocean-web-2', 'tok', 'l', {
      env: {},
      platform: 'darwin',
      injected: store,
    });
    expect(ref).toBe('moor-keychain:digitalocean-web-2');
  });

  it('falls back to plain text (with the reasons) when safeStorage has no real key either', async () => {
    safe.backend = 'basic_text';
    const store = new SafeStorageSecretStore(safe, dir, 'linux');
    const plan = await planSecret('digitalocean-web-3', 'tok', 'l', {
      env: { PATH: '/nonexistent' },
      platform: 'linux',
      injected: store,
    });
    expect(plan.ref).toBeNull();
    expect(plan.warning).toMatch(/secret-tool .*not installed; .*safeStorage.*basic_text/);
  });

  it('outside the app (the CLI), a safeStorage reference fails with a message saying what to do', async () => {
    const ref = 'moor-safestorage:digitalocean-web-4';
    const err = await readSecret(ref, { env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppOnlySecretError);
    expect((err as Error).message).toMatch(
      /kept by the Moor app's safe storage.*run the command from the app/,
    );
  });
});
