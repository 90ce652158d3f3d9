import { existsSync } from 'node:fs';
import path from 'node:path';
import { runTool } from './run.js';
import type { SecretStore } from './types.js';

const SERVICE = 'moor';

/**
 * Linux: the freedesktop Secret Service (GNOME Keyring, KeePassXC, KWallet ≥ 5.97) through
 * libsecret's `secret-tool`. Items carry the attributes service=moor account=<id>.
 */
export class SecretToolStore implements SecretStore {
  readonly scheme = 'moor-keychain';
  readonly description = 'Secret Service keyring (secret-tool)';

  constructor(
    private readonly command = 'secret-tool',
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async get(id: string): Promise<string | null> {
    const r = await this.run(['lookup', 'service', SERVICE, 'account', id]);
    if (r.code === 0) return r.stdout;
    // Exit 1 with nothing on stderr is "no such item"; anything else is a broken keyring.
    if (r.code === 1 && !r.stderr.trim()) return null;
    throw new Error(`secret-tool lookup failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  async set(id: string, secret: string, label: string): Promise<void> {
    const r = await this.run(['store', `--label=${label}`, 'service', SERVICE, 'account', id], secret);
    if (r.code !== 0) throw new Error(`secret-tool store failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  async delete(id: string): Promise<void> {
    const r = await this.run(['clear', 'service', SERVICE, 'account', id]);
    // clear exits 1 when nothing matched (libsecret < 0.21) — that is the "already gone" case.
    if (r.code !== 0 && r.stderr.trim()) {
      throw new Error(`secret-tool clear failed: ${r.stderr.trim()}`);
    }
  }

  private async run(args: string[], input?: string) {
    try {
      return await runTool(this.command, args, { input, env: this.env });
    } catch (err) {
      throw new Error(`cannot run ${this.command}: ${(err as Error).message}`);
    }
  }
}

/** Why the Secret Service cannot be used here, or null when it looks usable (a probe decides). */
export function secretServiceUnavailableReason(env: NodeJS.ProcessEnv): string | null {
  if (!findOnPath('secret-tool', env)) return 'secret-tool (libsecret-tools) is not installed';
  const runtimeBus = env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'bus') : '';
  if (!env.DBUS_SESSION_BUS_ADDRESS && !(runtimeBus && existsSync(runtimeBus))) {
    return 'no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)';
  }
  return null;
}

export function findOnPath(command: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}
