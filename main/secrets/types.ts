/**
 * Where Moor keeps credentials (cloud API tokens) instead of config.json. config.json then holds a
 * reference "<scheme>:<id>" (e.g. "moor-keychain:digitalocean-web-1a2b3c4d"), never the secret.
 *
 * Adapters: secret-tool.ts (Linux Secret Service) and macos-keychain.ts (macOS), chosen by
 * index.ts; the app injects its own through DriverContext.secrets / CreateMachineRequest.secrets.
 * The app's adapter should prefer the same OS keychain adapters (so the CLI can read what the app
 * stored) and use Electron safeStorage (scheme "moor-safestorage", e.g. ciphertext in
 * <store>/.moor-secrets/<id>) only where the CLI has none (Windows).
 */
export interface SecretStore {
  /**
   * The reference scheme this store writes. "moor-keychain" = the OS keychain (Secret Service,
   * macOS Keychain), readable by both the CLI and the app; "moor-safestorage" = the app's
   * Electron safeStorage, readable only by the app.
   */
  readonly scheme: string;
  /** For messages: "Secret Service (secret-tool)", "macOS Keychain", ... */
  readonly description: string;
  /** The secret, or null when there is no such item. Throws when the store cannot be reached. */
  get(id: string): Promise<string | null>;
  set(id: string, secret: string, label: string): Promise<void>;
  /** Removes the item; no error when it is already gone. */
  delete(id: string): Promise<void>;
  /** Why new secrets cannot be kept here (e.g. safeStorage without a key store), or null. */
  unavailableReason?(): string | null;
}

/** Environment knob: `auto` (default), `keychain` (fail when there is none), `plain` (docker-machine). */
export type SecretStorePolicy = 'auto' | 'keychain' | 'plain';

export interface SecretRef {
  scheme: string;
  id: string;
}

export function formatSecretRef(ref: SecretRef): string {
  return `${ref.scheme}:${ref.id}`;
}

export function parseSecretRef(text: string): SecretRef | null {
  const m = /^([a-z][a-z0-9-]*):(.+)$/.exec(text);
  return m ? { scheme: m[1]!, id: m[2]! } : null;
}
