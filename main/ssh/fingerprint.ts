import { createHash } from 'node:crypto';

// Key fingerprints without loading ssh2 (the system-ssh path of `moor ssh` stays light).

/** OpenSSH's `SHA256:...` fingerprint of a raw public key blob. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Fingerprint of an `ssh-ed25519 AAAA... comment` line. */
export function publicKeyFingerprint(line: string): string {
  const b64 = line.trim().split(/\s+/)[1] ?? '';
  return fingerprint(Buffer.from(b64, 'base64'));
}

/** The algorithm name a raw key blob starts with (`ssh-ed25519`, `ssh-rsa`, ...). */
export function keyBlobType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}
