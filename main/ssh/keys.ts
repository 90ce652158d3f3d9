import { promises as fs } from 'node:fs';
import ssh2 from 'ssh2';
import { writeFileAtomic } from '../store/atomic.js';
import { NotRegularFileError, readRegularFileBytes } from '../store/regular-file.js';
import { SshKeyError } from './errors.js';
import { publicKeyFingerprint } from './fingerprint.js';

export { fingerprint, keyBlobType, publicKeyFingerprint } from './fingerprint.js';

export type SshKeyType = 'ed25519' | 'rsa';

/**
 * Creates a key pair for a machine: `path` (private, OpenSSH format, 0600) and `path.pub`.
 * OpenSSH's own format is the one both ssh2 and OpenSSH read (ssh2 rejects PKCS#8). ed25519 is
 * the default; RSA (3072 bits, used with rsa-sha2-*) is for providers that require it.
 */
export async function generateSshKey(
  path: string,
  type: SshKeyType = 'ed25519',
  comment = 'moor',
): Promise<{ publicKey: string; fingerprint: string }> {
  // ssh2 drops a leading zero byte of an ed25519 public key (about 1 key in 370): its own parser,
  // and sshd, then refuse the pair. Make pairs until one reads back.
  let pair: ReturnType<typeof ssh2.utils.generateKeyPairSync> | undefined;
  for (let attempt = 0; attempt < 20 && !pair; attempt++) {
    const made =
      type === 'rsa'
        ? ssh2.utils.generateKeyPairSync('rsa', { bits: 3072, comment })
        : ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (!(ssh2.utils.parseKey(made.private) instanceof Error)) pair = made;
  }
  if (!pair) throw new Error(`could not make a readable ${type} key pair`);
  const publicKey = `${pair.public.trim()}\n`;
  await writeFileAtomic(path, pair.private, { mode: 0o600 });
  await writeFileAtomic(`${path}.pub`, publicKey, { mode: 0o644 });
  return { publicKey, fingerprint: publicKeyFingerprint(publicKey) };
}

/** Reads and checks a private key so a bad one fails with its path and the reason, before any network. */
export async function readPrivateKey(path: string, passphrase?: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readRegularFileBytes(path);
  } catch (err) {
    if (err instanceof NotRegularFileError) throw new SshKeyError(path, `it is ${err.kind}, not a key file`);
    const code = (err as NodeJS.ErrnoException).code;
    throw new SshKeyError(path, code === 'ENOENT' ? 'the file does not exist' : `cannot read it (${code})`);
  }
  const parsed = ssh2.utils.parseKey(data, passphrase);
  if (parsed instanceof Error) {
    const text = data.toString('latin1');
    if (text.includes('BEGIN PRIVATE KEY') || text.includes('BEGIN ENCRYPTED PRIVATE KEY')) {
      throw new SshKeyError(
        path,
        `PKCS#8 keys are not supported; convert it to OpenSSH format with: ssh-keygen -p -f ${path}`,
      );
    }
    if (/passphrase|encrypted/i.test(parsed.message)) {
      throw new SshKeyError(
        path,
        'the key is encrypted; add it to ssh-agent (ssh-add) and leave the key path empty',
      );
    }
    throw new SshKeyError(path, parsed.message);
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key && !key.isPrivateKey()) throw new SshKeyError(path, await publicKeyMistake(path));
  return data;
}

/**
 * Why a public key file cannot log in, and which file was probably meant: OpenSSH keeps the
 * private key beside it under the same name without `.pub`.
 */
export async function publicKeyMistake(path: string): Promise<string> {
  const base = path.endsWith('.pub') ? path.slice(0, -4) : '';
  const isFile = (p: string) =>
    fs.stat(p).then(
      (s) => s.isFile(),
      () => false,
    );
  const meant =
    base && (await isFile(base))
      ? `; the private key is probably ${base}`
      : '; give the private key file (the one without .pub)';
  return `it is a public key, and logging in needs the private key${meant}`;
}

/** Whether a key file holds a public key (OpenSSH or RFC 4716), not a private one. */
export async function isPublicKeyFile(path: string): Promise<boolean> {
  const data = await readRegularFileBytes(path).catch(() => undefined);
  if (!data) return false;
  const parsed = ssh2.utils.parseKey(data);
  if (parsed instanceof Error) return false;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return Boolean(key && !key.isPrivateKey());
}
