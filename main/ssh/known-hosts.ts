import { createHmac } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../store/atomic.js';
import { readRegularFile } from '../store/regular-file.js';
import { fingerprint, keyBlobType } from './fingerprint.js';

/**
 * A machine's pinned host keys, in OpenSSH known_hosts format so the system `ssh` reads the same
 * file (`-o UserKnownHostsFile=`). Hosts on port 22 are written `host`, others `[host]:port`.
 * Hashed entries (`|1|salt|hash`, HashKnownHosts) and patterns are understood when reading.
 */
export interface PinnedKey {
  type: string;
  blob: Buffer;
  fingerprint: string;
}

export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

function hostsFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (globToRegExp(pattern.slice(1)).test(name)) return false;
    } else if (globToRegExp(pattern).test(name)) {
      matched = true;
    }
  }
  return matched;
}

interface Line {
  text: string;
  /** Set for plain (non-marker) key lines. */
  entry?: { hosts: string; type: string; blob: Buffer };
}

function parse(text: string): Line[] {
  return text.split('\n').map((line) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#') || trimmed.startsWith('@')) return { text: line };
    const [hosts, type, b64] = trimmed.split(/\s+/);
    if (!hosts || !type || !b64) return { text: line };
    return { text: line, entry: { hosts, type, blob: Buffer.from(b64, 'base64') } };
  });
}

async function readText(file: string): Promise<string> {
  try {
    return await readRegularFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** The keys pinned for host:port ([] when none, or when the file does not exist yet). */
export async function pinnedHostKeys(file: string, host: string, port: number): Promise<PinnedKey[]> {
  const name = knownHostsName(host, port);
  return parse(await readText(file))
    .flatMap((l) => (l.entry && hostsFieldMatches(l.entry.hosts, name) ? [l.entry] : []))
    .map((e) => ({ type: e.type, blob: e.blob, fingerprint: fingerprint(e.blob) }));
}

function keyLine(host: string, port: number, blob: Buffer): string {
  return `${knownHostsName(host, port)} ${keyBlobType(blob)} ${blob.toString('base64')}\n`;
}

/** Pins a key on first contact (appended: concurrent writers never lose each other's lines). */
export async function addHostKey(file: string, host: string, port: number, blob: Buffer): Promise<void> {
  const handle = await fs.open(file, 'a+', 0o600);
  try {
    // A hand-edited file may lack its final newline: appending straight away would merge two lines.
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await handle.appendFile(`${prefix}${keyLine(host, port, blob)}`);
  } finally {
    await handle.close();
  }
}

/** Re-trust: drops every key pinned for host:port and pins `blob` instead (atomic rewrite). */
export async function replaceHostKeys(file: string, host: string, port: number, blob: Buffer): Promise<void> {
  const name = knownHostsName(host, port);
  const kept = parse(await readText(file))
    .filter((l) => !(l.entry && hostsFieldMatches(l.entry.hosts, name)))
    .map((l) => l.text)
    .join('\n')
    .replace(/\n*$/, '');
  await writeFileAtomic(file, `${kept ? `${kept}\n` : ''}${keyLine(host, port, blob)}`, { mode: 0o600 });
}

/**
 * A machine that moved to another address keeps its identity: the keys pinned for `from` are
 * pinned for `to` instead (any other keys pinned for `to` go), so the new address is not a new
 * first contact. Returns how many keys moved (0: nothing was pinned, nothing changed).
 */
export async function movePinnedHostKeys(
  file: string,
  from: { host: string; port: number },
  to: { host: string; port: number },
): Promise<number> {
  const fromName = knownHostsName(from.host, from.port);
  const toName = knownHostsName(to.host, to.port);
  const lines = parse(await readText(file));
  const moving = lines.flatMap((l) =>
    l.entry && hostsFieldMatches(l.entry.hosts, fromName) ? [l.entry] : [],
  );
  if (moving.length === 0 || fromName === toName) return 0;
  const kept = lines
    .filter(
      (l) =>
        !(
          l.entry &&
          (hostsFieldMatches(l.entry.hosts, fromName) || hostsFieldMatches(l.entry.hosts, toName))
        ),
    )
    .map((l) => l.text)
    .join('\n')
    .replace(/\n*$/, '');
  const moved = moving.map((e) => keyLine(to.host, to.port, e.blob)).join('');
  await writeFileAtomic(file, `${kept ? `${kept}\n` : ''}${moved}`, { mode: 0o600 });
  return moving.length;
}

/** ssh2 host key algorithms that produce keys of a pinned type (so we negotiate the pinned one). */
export function hostKeyAlgorithmsFor(types: string[]): string[] {
  const out: string[] = [];
  for (const type of new Set(types)) {
    if (type === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else out.push(type);
  }
  return out;
}
