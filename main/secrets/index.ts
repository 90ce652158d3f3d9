import { MoorError } from '../base/errors.js';
import { MacKeychainStore } from './macos-keychain.js';
import { SecretToolStore, secretServiceUnavailableReason } from './secret-tool.js';
import { formatSecretRef, parseSecretRef, type SecretStore, type SecretStorePolicy } from './types.js';

export type { SecretRef, SecretStore, SecretStorePolicy } from './types.js';
export { formatSecretRef, parseSecretRef } from './types.js';

/** Selects the secret store; `injected` is the app's (Electron safeStorage) adapter, if any. */
export interface SecretStoreOptions {
  env: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  injected?: SecretStore;
}

export const KEYCHAIN_SCHEME = 'moor-keychain';
/** The app's Electron safeStorage (main/app/safe-storage-secrets.ts): only the app can decrypt it. */
export const SAFE_STORAGE_SCHEME = 'moor-safestorage';

/** A reference only the Moor app can read (its safeStorage), met outside the app (the CLI). */
export class AppOnlySecretError extends MoorError {
  constructor(readonly ref: string) {
    super(
      `the secret ${ref} is kept by the Moor app's safe storage, which only the app can read: ` +
        'run the command from the app',
    );
    this.name = 'AppOnlySecretError';
  }
}

/** MOOR_SECRET_STORE: auto (default), keychain (required), plain (config.json, like docker-machine). */
export function secretStorePolicy(env: NodeJS.ProcessEnv): SecretStorePolicy {
  const value = (env.MOOR_SECRET_STORE ?? '').trim().toLowerCase() || 'auto';
  if (value === 'auto' || value === 'keychain' || value === 'plain') return value;
  throw new MoorError(
    `MOOR_SECRET_STORE="${env.MOOR_SECRET_STORE}" is not valid: use auto, keychain or plain`,
  );
}

/** The OS keychain adapter for this platform, or why there is none. */
export function platformKeychain(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): { store: SecretStore | null; reason: string } {
  if (platform === 'linux') {
    const reason = secretServiceUnavailableReason(env);
    return reason ? { store: null, reason } : { store: new SecretToolStore('secret-tool', env), reason: '' };
  }
  if (platform === 'darwin') return { store: new MacKeychainStore(), reason: '' };
  // Windows: the CLI has no keychain adapter (Credential Manager has no stock CLI that reads
  // secrets back); the app's safeStorage adapter covers it.
  return { store: null, reason: `no keychain adapter for ${platform} in the CLI` };
}

/**
 * Secrets known to this process, by reference: planned ones not yet written (see planSecret) and
 * ones already read, so one command asks the keychain once.
 */
const known = new Map<string, string>();
const unwritten = new Map<string, string>(); // ref → label

/**
 * Decides where a new secret will live and returns the reference to record in config.json, or
 * null (with the reason, empty for an explicit MOOR_SECRET_STORE=plain) when it must stay in
 * plain text. Nothing is written yet: `commitSecret` does, once the create is really under way.
 */
export async function planSecret(
  id: string,
  secret: string,
  label: string,
  options: SecretStoreOptions,
): Promise<{ ref: string | null; warning: string }> {
  const policy = secretStorePolicy(options.env);
  if (policy === 'plain') return { ref: null, warning: '' };
  // The shared OS keychain first, so the CLI and the app read the same secret; the app's own
  // store (safeStorage) only where the CLI has no keychain adapter (Windows, Linux without one).
  let scheme: string | undefined;
  let reason = '';
  const injected = options.injected;
  if (injected?.scheme === KEYCHAIN_SCHEME) scheme = injected.scheme;
  else {
    const keychain = platformKeychain(options.env, options.platform);
    if (keychain.store) scheme = keychain.store.scheme;
    else {
      reason = keychain.reason;
      const unusable = injected?.unavailableReason?.() ?? null;
      if (injected && !unusable) scheme = injected.scheme;
      else if (injected && unusable) reason = `${reason}; ${injected.description}: ${unusable}`;
    }
  }
  if (!scheme) {
    if (policy === 'keychain') {
      throw new MoorError(`MOOR_SECRET_STORE=keychain but no keychain is usable here: ${reason}`);
    }
    return { ref: null, warning: reason };
  }
  const ref = formatSecretRef({ scheme, id });
  known.set(ref, secret);
  unwritten.set(ref, label);
  return { ref, warning: '' };
}

/**
 * Writes a planned secret to its store. On failure: with MOOR_SECRET_STORE=keychain it throws;
 * otherwise it returns the reason, and the caller keeps the secret in plain text instead.
 */
export async function commitSecret(
  ref: string,
  options: SecretStoreOptions,
): Promise<{ ok: true } | { ok: false; reason: string; secret: string }> {
  const label = unwritten.get(ref);
  const secret = known.get(ref);
  if (label === undefined || secret === undefined) return { ok: true };
  let reason: string;
  try {
    const { store, id } = storeFor(ref, options);
    try {
      await store.set(id, secret, label);
      unwritten.delete(ref);
      return { ok: true };
    } catch (err) {
      reason = `${store.description}: ${(err as Error).message}`;
    }
  } catch (err) {
    reason = (err as Error).message;
  }
  unwritten.delete(ref);
  if (secretStorePolicy(options.env) === 'keychain') {
    throw new MoorError(`MOOR_SECRET_STORE=keychain but the keychain refused the secret: ${reason}`);
  }
  return { ok: false, reason, secret };
}

/** Finds the store that can read a reference of this scheme. */
function storeFor(ref: string, options: SecretStoreOptions): { store: SecretStore; id: string } {
  const parsed = parseSecretRef(ref);
  if (!parsed) throw new MoorError(`"${ref}" is not a Moor secret reference`);
  if (options.injected?.scheme === parsed.scheme) return { store: options.injected, id: parsed.id };
  if (parsed.scheme === KEYCHAIN_SCHEME) {
    const { store, reason } = platformKeychain(options.env, options.platform);
    if (!store)
      throw new MoorError(`the secret ${ref} is in the OS keychain, which is not reachable: ${reason}`);
    return { store, id: parsed.id };
  }
  if (parsed.scheme === SAFE_STORAGE_SCHEME) throw new AppOnlySecretError(ref);
  throw new MoorError(`unknown secret store "${parsed.scheme}" in reference ${ref}`);
}

/** The secret a reference points at; throws a message naming the reference when it cannot. */
export async function readSecret(ref: string, options: SecretStoreOptions): Promise<string> {
  const cached = known.get(ref);
  if (cached !== undefined) return cached;
  const { store, id } = storeFor(ref, options);
  let value: string | null;
  try {
    value = await store.get(id);
  } catch (err) {
    throw new MoorError(`cannot read ${ref} from the ${store.description}: ${(err as Error).message}`);
  }
  if (value === null) throw new MoorError(`the ${store.description} has no item ${ref}`);
  known.set(ref, value);
  return value;
}

/** Deletes the item behind a reference (rm, rollback). Already gone is fine. */
export async function deleteSecret(ref: string, options: SecretStoreOptions): Promise<void> {
  known.delete(ref);
  if (unwritten.delete(ref)) return; // never written
  const { store, id } = storeFor(ref, options);
  await store.delete(id);
}

export function plainTextWarning(what: string, reason: string): string {
  return (
    `${what} is stored in plain text in config.json (mode 0600), as docker-machine does: ` +
    `no OS keychain is usable (${reason}). Set MOOR_SECRET_STORE=plain to silence this, or ` +
    'run a Secret Service (e.g. gnome-keyring) to keep it out of config.json.'
  );
}
