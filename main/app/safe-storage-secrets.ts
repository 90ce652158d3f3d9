/**
 * The app's secret store where the CLI has no OS keychain adapter (Windows; a Linux box without a
 * Secret Service): Electron's safeStorage (DPAPI on Windows, Keychain on macOS, libsecret/kwallet
 * on Linux) encrypts the secret, and the ciphertext lives in <store>/.moor-secrets/<id>.
 * References read "moor-safestorage:<id>"; only the app can decrypt them (the CLI says so).
 *
 * Electron's safeStorage is passed in (not imported) so this is unit-tested with a fake.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SAFE_STORAGE_SCHEME } from '../secrets/index.js';
import type { SecretStore } from '../secrets/types.js';
import { writeFileAtomic } from '../store/atomic.js';

export const SAFE_STORAGE_DIR = '.moor-secrets';

/** The parts of Electron's `safeStorage` used here. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only: 'basic_text' means a hard-coded key (no keyring), i.e. no real protection. */
  getSelectedStorageBackend?(): string;
}

/** Ids come from Moor ("digitalocean-web-1a2b3c4d"), but a file name must never escape the dir. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export class SafeStorageSecretStore implements SecretStore {
  readonly scheme = SAFE_STORAGE_SCHEME;
  readonly description = 'Moor app safe storage (Electron safeStorage)';
  readonly dir: string;

  constructor(
    private readonly safeStorage: SafeStorageLike,
    storePath: string,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {
    this.dir = path.join(storePath, SAFE_STORAGE_DIR);
  }

  /** Why secrets cannot be encrypted here, or null when they can. */
  unavailableReason(): string | null {
    if (!this.safeStorage.isEncryptionAvailable()) return 'encryption is not available';
    if (this.platform === 'linux' && this.safeStorage.getSelectedStorageBackend?.() === 'basic_text') {
      // Chromium's fallback key is a constant: the file would be plain text in all but name.
      return 'no keyring to protect the key (backend basic_text)';
    }
    return null;
  }

  private file(id: string): string {
    if (!SAFE_ID.test(id) || id.includes('..')) throw new Error(`invalid secret id "${id}"`);
    return path.join(this.dir, id);
  }

  async get(id: string): Promise<string | null> {
    let data: Buffer;
    try {
      data = await fs.readFile(this.file(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    if (!this.safeStorage.isEncryptionAvailable()) throw new Error('encryption is not available');
    return this.safeStorage.decryptString(data);
  }

  async set(id: string, secret: string, _label: string): Promise<void> {
    const file = this.file(id);
    const reason = this.unavailableReason();
    if (reason) throw new Error(reason);
    const data = this.safeStorage.encryptString(secret);
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fs.chmod(this.dir, 0o700); // mkdir's mode is filtered by the umask
    await writeFileAtomic(file, data, { mode: 0o600 });
  }

  async delete(id: string): Promise<void> {
    await fs.rm(this.file(id), { force: true });
  }
}
