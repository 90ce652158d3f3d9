import path from 'node:path';
import { MoorError } from '../base/errors.js';
import type { SshTarget } from '../drivers/types.js';
import { HostKeyChangedError, SshConnectError } from './errors.js';
import { fingerprint, keyBlobType } from './fingerprint.js';
import {
  addHostKey,
  hostKeyAlgorithmsFor,
  type PinnedKey,
  pinnedHostKeys,
  replaceHostKeys,
} from './known-hosts.js';

/** Where a machine's pinned host keys live. */
export function knownHostsPathFor(machineDir: string): string {
  return path.join(machineDir, 'known_hosts');
}

/**
 * Reads the key a host presents, without logging in (like ssh-keyscan): the handshake is
 * dropped as soon as the key is seen. `algorithms` restricts which key type is asked for.
 */
export async function scanHostKey(
  host: string,
  port: number,
  options: { algorithms?: string[]; timeoutMs?: number } = {},
): Promise<Buffer> {
  const address = `${host}:${port}`;
  const { default: ssh2 } = await import('ssh2'); // only when a key must be read from the host
  return new Promise<Buffer>((resolve, reject) => {
    const client = new ssh2.Client();
    let key: Buffer | undefined;
    const finish = () => {
      client.destroy();
      if (key) resolve(key);
    };
    client.on('error', (err: Error & { code?: string }) => {
      if (key) return finish();
      reject(
        new SshConnectError(
          address,
          err.code === 'ECONNREFUSED' ? 'connection refused (is sshd running on that port?)' : err.message,
          err.code,
        ),
      );
    });
    client.on('close', () => {
      if (key) finish();
      else reject(new SshConnectError(address, 'the connection closed before the host presented a key'));
    });
    client.connect({
      host,
      port,
      username: 'moor-keyscan',
      readyTimeout: options.timeoutMs ?? 10_000,
      ...(options.algorithms?.length ? { algorithms: { serverHostKey: options.algorithms as never } } : {}),
      hostVerifier: (blob: Buffer) => {
        key = blob;
        return false;
      },
    });
    client.setNoDelay(true);
  });
}

/**
 * Makes sure a key is pinned for the target before an external `ssh` runs with
 * StrictHostKeyChecking=yes: trust on first contact, refuse a changed key with the clear error.
 */
export async function ensureHostKeyPinned(target: SshTarget): Promise<PinnedKey[]> {
  const pinned = await pinnedHostKeys(target.knownHostsPath, target.host, target.port);
  if (pinned.length > 0) return pinned;
  const key = await scanHostKey(target.host, target.port);
  await addHostKey(target.knownHostsPath, target.host, target.port, key);
  return [{ type: keyBlobType(key), blob: key, fingerprint: fingerprint(key) }];
}

/** Checks the presented key against the pinned ones; null when it matches (or nothing is pinned). */
export async function checkHostKey(target: SshTarget, machine: string): Promise<HostKeyChangedError | null> {
  const pinned = await pinnedHostKeys(target.knownHostsPath, target.host, target.port);
  if (pinned.length === 0) return null;
  const key = await scanHostKey(target.host, target.port, {
    algorithms: hostKeyAlgorithmsFor(pinned.map((k) => k.type)),
  }).catch(() => scanHostKey(target.host, target.port)); // the host no longer has a key of that type
  if (pinned.some((k) => k.blob.equals(key))) return null;
  return new HostKeyChangedError(
    machine,
    `${target.host}:${target.port}`,
    pinned.map((k) => `${k.type} ${k.fingerprint}`),
    fingerprint(key),
    keyBlobType(key),
    target.knownHostsPath,
  );
}

export interface RetrustResult {
  previous: string[];
  current: string;
  type: string;
  changed: boolean;
}

/**
 * Re-trust (`moor ssh-trust`): reads the key the host presents now and pins it in place of the
 * old ones. With `expectedFingerprint` the key must be exactly that one, so what gets trusted is
 * what the user checked, not whatever answers at that moment.
 */
export async function retrustHostKey(
  target: SshTarget,
  machine: string,
  expectedFingerprint?: string,
): Promise<RetrustResult> {
  const pinned = await pinnedHostKeys(target.knownHostsPath, target.host, target.port);
  const key = await scanHostKey(target.host, target.port);
  const current = fingerprint(key);
  if (expectedFingerprint && normalizeFingerprint(expectedFingerprint) !== current) {
    throw new MoorError(
      `ssh: machine "${machine}" (${target.host}:${target.port}) presents ${current}, not ${expectedFingerprint}; nothing was changed`,
    );
  }
  const changed = !pinned.some((k) => k.blob.equals(key));
  if (changed || pinned.length !== 1)
    await replaceHostKeys(target.knownHostsPath, target.host, target.port, key);
  return {
    previous: pinned.map((k) => `${k.type} ${k.fingerprint}`),
    current,
    type: keyBlobType(key),
    changed,
  };
}

function normalizeFingerprint(fp: string): string {
  const trimmed = fp.trim().replace(/=+$/, '');
  return trimmed.startsWith('SHA256:') ? trimmed : `SHA256:${trimmed}`;
}
