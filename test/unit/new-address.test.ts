import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapCertificates, generateServerCert, serverCertHosts } from '../../main/certs/index.js';
import { serverCertNamesIp } from '../../main/core/new-address.js';
import { movePinnedHostKeys, pinnedHostKeys } from '../../main/ssh/known-hosts.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'moor-new-address-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fake key blob: string type, then random bytes (only the framing matters here). */
function blob(type: string): Buffer {
  const name = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(name.length);
  return Buffer.concat([len, name, randomBytes(32)]);
}

describe('a machine on a new address', () => {
  it('keeps its pinned host key: moved to the new address, other lines untouched', async () => {
    const file = path.join(dir, 'known_hosts');
    const key = blob('ssh-ed25519');
    const stale = blob('ssh-ed25519');
    const b64 = (b: Buffer) => b.toString('base64');
    writeFileSync(
      file,
      `# kept\n10.0.0.1 ssh-ed25519 ${b64(key)}\n10.0.0.2 ssh-ed25519 ${b64(stale)}\n[10.0.0.1]:2222 ssh-rsa AAAA\n`,
    );
    expect(
      await movePinnedHostKeys(file, { host: '10.0.0.1', port: 22 }, { host: '10.0.0.2', port: 22 }),
    ).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(
      `# kept\n[10.0.0.1]:2222 ssh-rsa AAAA\n10.0.0.2 ssh-ed25519 ${b64(key)}\n`,
    );
    // The new address must present the machine's key: a different one is no longer pinned there.
    expect((await pinnedHostKeys(file, '10.0.0.2', 22)).map((k) => k.blob)).toEqual([key]);
    expect(await pinnedHostKeys(file, '10.0.0.1', 22)).toEqual([]);
  });

  it('changes nothing when no key was pinned for the old address', async () => {
    const file = path.join(dir, 'known_hosts_other');
    const text = `10.0.0.9 ssh-ed25519 ${blob('ssh-ed25519').toString('base64')}\n`;
    writeFileSync(file, text);
    expect(
      await movePinnedHostKeys(file, { host: '10.0.0.1', port: 22 }, { host: '10.0.0.2', port: 22 }),
    ).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('tells whether the server certificate already names the new IP (e.g. through --tls-san)', async () => {
    const certs = {
      caCert: path.join(dir, 'ca.pem'),
      caKey: path.join(dir, 'ca-key.pem'),
      clientCert: path.join(dir, 'cert.pem'),
      clientKey: path.join(dir, 'key.pem'),
    };
    await bootstrapCertificates(certs);
    const serverCert = path.join(dir, 'server.pem');
    await generateServerCert({
      caCert: certs.caCert,
      caKey: certs.caKey,
      serverCert,
      serverKey: path.join(dir, 'server-key.pem'),
      org: 'test.m',
      hosts: serverCertHosts(['203.0.113.9'], '203.0.113.5'),
    });
    expect(await serverCertNamesIp(serverCert, '203.0.113.5')).toBe(true);
    expect(await serverCertNamesIp(serverCert, '203.0.113.9')).toBe(true);
    expect(await serverCertNamesIp(serverCert, '203.0.113.6')).toBe(false);
    expect(await serverCertNamesIp(path.join(dir, 'missing.pem'), '203.0.113.5')).toBe(false);
  });
});
