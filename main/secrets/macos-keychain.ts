import { runTool } from './run.js';
import type { SecretStore } from './types.js';

const SERVICE = 'moor';
/** `security` exits 44 when an item is not found (errSecItemNotFound). */
const NOT_FOUND = 44;

/**
 * macOS: the login keychain through /usr/bin/security. Writes go through `security -i` reading
 * the command from stdin so the secret never appears on a command line.
 */
export class MacKeychainStore implements SecretStore {
  readonly scheme = 'moor-keychain';
  readonly description = 'macOS Keychain';

  constructor(private readonly command = '/usr/bin/security') {}

  async get(id: string): Promise<string | null> {
    const r = await runTool(this.command, ['find-generic-password', '-s', SERVICE, '-a', id, '-w']);
    if (r.code === 0) return r.stdout.replace(/\n$/, '');
    if (r.code === NOT_FOUND) return null;
    throw new Error(`security find-generic-password failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  async set(id: string, secret: string, label: string): Promise<void> {
    const r = await runTool(this.command, ['-i'], { input: macSetCommand(id, secret, label) });
    if (r.code !== 0 || /error|could not/i.test(r.stderr)) {
      throw new Error(`security add-generic-password failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
  }

  async delete(id: string): Promise<void> {
    const r = await runTool(this.command, ['delete-generic-password', '-s', SERVICE, '-a', id]);
    if (r.code !== 0 && r.code !== NOT_FOUND) {
      throw new Error(`security delete-generic-password failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
  }
}

/** The `security -i` command line that stores a secret (-U updates an existing item). */
export function macSetCommand(id: string, secret: string, label: string): string {
  const quote = (s: string) => {
    if (/["\\\n\r]/.test(s)) throw new Error('value contains a quote, backslash or newline');
    return `"${s}"`;
  };
  return `add-generic-password -U -s ${quote(SERVICE)} -a ${quote(id)} -l ${quote(label)} -w ${quote(secret)}\n`;
}
