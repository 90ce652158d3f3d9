import { createHash, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

/**
 * docker-machine's ssh.GenerateSSHKey: RSA 2048, private key as PKCS#1 PEM ("RSA PRIVATE KEY"),
 * public key as "ssh-rsa AAAA...\n" without a comment.
 */
export async function generateRsaKeyPair(): Promise<{ privateKey: string; publicKey: string }> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'jwk' },
  } as never);
  const jwk = publicKey as unknown as { n: string; e: string };
  const blob = Buffer.concat([
    sshString(Buffer.from('ssh-rsa')),
    sshMpint(Buffer.from(jwk.e, 'base64url')),
    sshMpint(Buffer.from(jwk.n, 'base64url')),
  ]);
  return { privateKey: privateKey as unknown as string, publicKey: `ssh-rsa ${blob.toString('base64')}\n` };
}

/** The MD5 fingerprint DigitalOcean shows for a public key ("aa:bb:..."). */
export function md5Fingerprint(publicKeyLine: string): string {
  const b64 = publicKeyLine.trim().split(/\s+/)[1] ?? '';
  const hex = createHash('md5').update(Buffer.from(b64, 'base64')).digest('hex');
  return hex.match(/../g)!.join(':');
}

function sshString(data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

function sshMpint(data: Buffer): Buffer {
  let i = 0;
  while (i < data.length - 1 && data[i] === 0) i++;
  let bytes = data.subarray(i);
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return sshString(bytes);
}
