import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ProgressEvent, progressReporter } from '../../main/base/progress.js';
import {
  bootstrapCertificates,
  copyClientCertsToMachine,
  generateServerCert,
  isCertificateCurrent,
  readCertificateInfo,
  type StoreCertPaths,
  serverCertHosts,
  serverCertOrg,
} from '../../main/certs/index.js';
import { Store } from '../../main/store/store.js';
import { tempDir } from '../harness/components.js';

let root: string;
let cleanup: () => void;
let store: Store;
let paths: StoreCertPaths;

beforeEach(() => {
  ({ dir: root, cleanup } = tempDir('moor-certs'));
  store = new Store(path.join(root, 'store'));
  paths = {
    caCert: path.join(store.certsDir, 'ca.pem'),
    caKey: path.join(store.certsDir, 'ca-key.pem'),
    clientCert: path.join(store.certsDir, 'cert.pem'),
    clientKey: path.join(store.certsDir, 'key.pem'),
  };
});
afterEach(() => cleanup());

// One bootstrapped set, made once and copied: key generation is the slow part of these tests.
const template = tempDir('moor-certs-template');
const templatePaths: StoreCertPaths = {
  caCert: path.join(template.dir, 'ca.pem'),
  caKey: path.join(template.dir, 'ca-key.pem'),
  clientCert: path.join(template.dir, 'cert.pem'),
  clientKey: path.join(template.dir, 'key.pem'),
};
beforeAll(() => bootstrapCertificates(templatePaths));
afterAll(() => template.cleanup());

/** The state right after a first bootstrap (files and modes), without generating keys again. */
async function bootstrapFromTemplate(): Promise<void> {
  await fs.mkdir(store.certsDir, { recursive: true, mode: 0o700 });
  for (const key of Object.keys(paths) as Array<keyof StoreCertPaths>) {
    await fs.copyFile(templatePaths[key], paths[key]);
    await fs.chmod(paths[key], key.endsWith('Key') ? 0o600 : 0o644);
  }
}

const mode = (file: string) => statSync(file).mode & 0o777;
const x509 = async (file: string) => new X509Certificate(await fs.readFile(file));

function recordingReporter() {
  const events: ProgressEvent[] = [];
  return { events, progress: progressReporter('test', (e) => events.push(e)) };
}

/** A self-signed CA that expired yesterday (forge signs here: test-only, one certificate). */
async function writeExpiredCa(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 1081 * 86_400_000);
  cert.validity.notAfter = new Date(Date.now() - 86_400_000);
  cert.setSubject([{ name: 'organizationName', value: 'old' }]);
  cert.setIssuer([{ name: 'organizationName', value: 'old' }]);
  cert.setExtensions([{ name: 'basicConstraints', cA: true }]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  await fs.mkdir(store.certsDir, { recursive: true, mode: 0o700 });
  await fs.writeFile(paths.caKey, keyPem, { mode: 0o600 });
  await fs.writeFile(paths.caCert, forge.pki.certificateToPem(cert), { mode: 0o644 });
}

describe('bootstrapCertificates', () => {
  it("creates CA and client certificate with docker-machine's subjects, usages, modes and messages", async () => {
    const { events, progress } = recordingReporter();
    vi.stubEnv('USER', 'tester');
    try {
      expect(await bootstrapCertificates(paths, progress, { lock: (fn) => store.withCertsLock(fn) })).toEqual(
        {
          createdCa: true,
          createdClient: true,
        },
      );
    } finally {
      vi.unstubAllEnvs();
    }
    expect(events.map((e) => e.message)).toEqual([
      `Creating CA: ${paths.caCert}`,
      `Creating client certificate: ${paths.clientCert}`,
    ]);
    expect(mode(store.certsDir)).toBe(0o700);
    expect([paths.caCert, paths.clientCert].map(mode)).toEqual([0o644, 0o644]);
    expect([paths.caKey, paths.clientKey].map(mode)).toEqual([0o600, 0o600]);
    expect(await fs.readFile(paths.caKey, 'utf8')).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(await fs.readFile(paths.clientKey, 'utf8')).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    // Nothing but the four files (no temp files, the lock directory is gone).
    expect((await fs.readdir(store.certsDir)).sort()).toEqual([
      'ca-key.pem',
      'ca.pem',
      'cert.pem',
      'key.pem',
    ]);

    const ca = await x509(paths.caCert);
    const client = await x509(paths.clientCert);
    expect(ca.subject).toBe('O=tester');
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect((await readCertificateInfo(paths.clientCert)).organization).toBe('tester.<bootstrap>');
    expect(client.ca).toBe(false);
    expect(client.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth only
    expect(client.checkIssued(ca) && client.verify(ca.publicKey)).toBe(true);

    const info = await readCertificateInfo(paths.caCert);
    const notBefore = info.notBefore.getTime();
    expect(notBefore % 60_000).toBe(0);
    expect(Date.now() - notBefore).toBeGreaterThanOrEqual(5 * 60_000);
    expect(Date.now() - notBefore).toBeLessThan(6 * 60_000 + 5_000);
    expect(info.notAfter.getTime() - notBefore).toBe(1080 * 86_400_000);
    expect(BigInt(`0x${info.serialNumber}`) < 2n ** 128n).toBe(true);
  });

  it('falls back to O=unknown without $USER', async () => {
    vi.stubEnv('USER', undefined);
    try {
      await bootstrapCertificates(paths);
    } finally {
      vi.unstubAllEnvs();
    }
    expect((await x509(paths.caCert)).subject).toBe('O=unknown');
    expect((await readCertificateInfo(paths.clientCert)).organization).toBe('unknown.<bootstrap>');
  });

  it('keeps valid certificates: a second bootstrap changes nothing', async () => {
    await bootstrapFromTemplate();
    const before = await Promise.all(Object.values(paths).map((f) => fs.readFile(f, 'utf8')));
    const { events, progress } = recordingReporter();
    expect(await bootstrapCertificates(paths, progress)).toEqual({ createdCa: false, createdClient: false });
    expect(events).toEqual([]);
    expect(await Promise.all(Object.values(paths).map((f) => fs.readFile(f, 'utf8')))).toEqual(before);
  });

  it('recreates an expired CA, and the client certificate with it', async () => {
    await writeExpiredCa();
    expect(await isCertificateCurrent(paths.caCert)).toBe(false);
    const { events, progress } = recordingReporter();
    expect(await bootstrapCertificates(paths, progress)).toEqual({ createdCa: true, createdClient: true });
    expect(events.map((e) => e.message)[0]).toBe('CA certificate is outdated and needs to be regenerated');
    const ca = await x509(paths.caCert);
    expect(ca.subject).not.toBe('O=old');
    expect(await isCertificateCurrent(paths.caCert)).toBe(true);
    expect(
      ca.checkPrivateKey((await import('node:crypto')).createPrivateKey(await fs.readFile(paths.caKey))),
    ).toBe(true);
    const client = await x509(paths.clientCert);
    expect(client.verify(ca.publicKey)).toBe(true);
  });

  it('recreates a missing client certificate under the existing CA', async () => {
    await bootstrapFromTemplate();
    const caBefore = await fs.readFile(paths.caCert, 'utf8');
    await fs.rm(paths.clientCert);
    await fs.rm(paths.clientKey);
    expect(await bootstrapCertificates(paths)).toEqual({ createdCa: false, createdClient: true });
    expect(await fs.readFile(paths.caCert, 'utf8')).toBe(caBefore);
    expect((await x509(paths.clientCert)).verify((await x509(paths.caCert)).publicKey)).toBe(true);
  });

  it('replaces an expired client certificate and keeps the CA', async () => {
    await bootstrapFromTemplate();
    const caBefore = await fs.readFile(paths.caCert, 'utf8');
    // An expired client certificate signed by the store CA (forge signs: test-only).
    const caCert = forge.pki.certificateFromPem(caBefore);
    const caKey = forge.pki.privateKeyFromPem(await fs.readFile(paths.caKey, 'utf8'));
    const old = forge.pki.createCertificate();
    old.publicKey = forge.pki.publicKeyFromPem(
      generateKeyPairSync('rsa', { modulusLength: 2048 })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString(),
    );
    old.serialNumber = '02';
    old.validity.notBefore = new Date(Date.now() - 10 * 86_400_000);
    old.validity.notAfter = new Date(Date.now() - 86_400_000);
    old.setSubject([{ name: 'organizationName', value: 'old.<bootstrap>' }]);
    old.setIssuer(caCert.subject.attributes);
    old.sign(caKey, forge.md.sha256.create());
    await fs.writeFile(paths.clientCert, forge.pki.certificateToPem(old));

    const { events, progress } = recordingReporter();
    expect(await bootstrapCertificates(paths, progress)).toEqual({ createdCa: false, createdClient: true });
    expect(events.map((e) => e.message)).toEqual([
      'Client certificate is outdated and needs to be regenerated',
      `Creating client certificate: ${paths.clientCert}`,
    ]);
    expect(await fs.readFile(paths.caCert, 'utf8')).toBe(caBefore);
    expect(await isCertificateCurrent(paths.clientCert)).toBe(true);
    expect((await x509(paths.clientCert)).verify((await x509(paths.caCert)).publicKey)).toBe(true);
  });

  it('never overwrites a lone client key, even when it creates the CA', async () => {
    await fs.mkdir(store.certsDir, { recursive: true });
    await fs.writeFile(paths.clientKey, 'a key someone kept', { mode: 0o600 });
    await expect(bootstrapCertificates(paths)).rejects.toThrow(
      `client key already exists: ${paths.clientKey} (and is not a private key`,
    );
    expect(await fs.readFile(paths.clientKey, 'utf8')).toBe('a key someone kept');
  });

  it('a --tls-ca-cert/--tls-client-cert naming no file is an error naming the flag, and writes nothing', async () => {
    await bootstrapFromTemplate();
    const before = (await fs.readdir(store.certsDir)).sort();
    const elsewhere = path.join(path.dirname(store.certsDir), 'nowhere');
    await expect(bootstrapCertificates({ ...paths, caCert: path.join(elsewhere, 'ca.pem') })).rejects.toThrow(
      `the CA certificate ${path.join(elsewhere, 'ca.pem')} does not exist, but the CA key ${paths.caKey} does: check --tls-ca-cert`,
    );
    await expect(
      bootstrapCertificates({ ...paths, clientCert: path.join(elsewhere, 'cert.pem') }),
    ).rejects.toThrow(
      `the client certificate ${path.join(elsewhere, 'cert.pem')} does not exist, but the client key ${paths.clientKey} does: check --tls-client-cert`,
    );
    expect((await fs.readdir(store.certsDir)).sort()).toEqual(before);
    expect(await fs.readdir(elsewhere).catch(() => [])).toEqual([]);
  });

  it('gives a lone CA key (a crash between key and certificate) its certificate, keeping the key', async () => {
    await bootstrapFromTemplate();
    const key = await fs.readFile(paths.caKey, 'utf8');
    const client = await fs.readFile(paths.clientCert, 'utf8');
    await fs.rm(paths.caCert);
    const { events, progress } = recordingReporter();
    expect(await bootstrapCertificates(paths, progress)).toEqual({ createdCa: true, createdClient: false });
    expect(await fs.readFile(paths.caKey, 'utf8')).toBe(key);
    expect(mode(paths.caCert)).toBe(0o644);
    // Same key and subject: certificates the lost ca.pem signed still verify against the new one.
    expect(await fs.readFile(paths.clientCert, 'utf8')).toBe(client);
    expect((await x509(paths.clientCert)).verify((await x509(paths.caCert)).publicKey)).toBe(true);
    expect(events.map((e) => e.message)).toContain(
      `Found the CA key ${paths.caKey} without its certificate: creating the certificate for it`,
    );
  });

  it('gives a lone client key its certificate, keeping the key', async () => {
    await bootstrapFromTemplate();
    const key = await fs.readFile(paths.clientKey, 'utf8');
    await fs.rm(paths.clientCert);
    expect(await bootstrapCertificates(paths)).toEqual({ createdCa: false, createdClient: true });
    expect(await fs.readFile(paths.clientKey, 'utf8')).toBe(key);
    const cert = await x509(paths.clientCert);
    expect(cert.checkPrivateKey(createPrivateKey(key))).toBe(true);
    expect(cert.verify((await x509(paths.caCert)).publicKey)).toBe(true);
  });

  it('a full disk while writing a certificate leaves neither it nor its key', async () => {
    process.env.MOOR_FAULT = 'write:cert.pem=enospc';
    try {
      await expect(bootstrapCertificates(paths)).rejects.toThrow('ENOSPC: no space left on device');
    } finally {
      delete process.env.MOOR_FAULT;
    }
    // The CA is complete; the client key was staged only, and is gone with its certificate.
    expect((await fs.readdir(store.certsDir)).sort()).toEqual(['ca-key.pem', 'ca.pem']);
    expect(await bootstrapCertificates(paths)).toEqual({ createdCa: false, createdClient: true });
  });

  it('names the file when a certificate is corrupt, and keeps it', async () => {
    await bootstrapFromTemplate();
    await fs.writeFile(paths.caCert, 'garbage');
    await expect(bootstrapCertificates(paths)).rejects.toThrow(`${paths.caCert}: not a PEM certificate`);
    expect(await fs.readFile(paths.caCert, 'utf8')).toBe('garbage');
  });

  it('rotates valid certificates when forced', async () => {
    await bootstrapFromTemplate();
    const before = await readCertificateInfo(paths.caCert);
    expect(await bootstrapCertificates(paths, undefined, { force: true })).toEqual({
      createdCa: true,
      createdClient: true,
    });
    const after = await readCertificateInfo(paths.caCert);
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect((await x509(paths.clientCert)).verify((await x509(paths.caCert)).publicKey)).toBe(true);
  });

  it('serialises concurrent bootstraps in one process: one CA, one client certificate', async () => {
    const results = await Promise.all([bootstrapCertificates(paths), bootstrapCertificates(paths)]);
    expect(results.filter((r) => r.createdCa)).toHaveLength(1);
    expect((await x509(paths.clientCert)).verify((await x509(paths.caCert)).publicKey)).toBe(true);
  });
});

describe('generateServerCert', () => {
  it('signs a serverAuth-only certificate with IP and DNS SANs', async () => {
    await bootstrapFromTemplate();
    const machineDir = await store.createMachineDir('dev');
    const serverCert = path.join(machineDir, 'server.pem');
    const serverKey = path.join(machineDir, 'server-key.pem');
    await generateServerCert({
      caCert: paths.caCert,
      caKey: paths.caKey,
      serverCert,
      serverKey,
      org: 'tester.dev',
      hosts: serverCertHosts(['foo.bar.tld', '10.42.42.42', '::1'], '127.0.2.9'),
    });
    expect([mode(serverCert), mode(serverKey)]).toEqual([0o644, 0o600]);
    expect(await fs.readFile(serverKey, 'utf8')).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    const info = await readCertificateInfo(serverCert);
    expect(info.subject).toBe('O=tester.dev');
    expect(info.organization).toBe('tester.dev');
    expect(info.isCa).toBe(false);
    expect(info.extKeyUsage).toEqual(['serverAuth']);
    expect(info.dnsNames).toEqual(['foo.bar.tld', 'localhost']);
    expect(info.ipAddresses).toEqual(['10.42.42.42', '0:0:0:0:0:0:0:1', '127.0.2.9']);
    const cert = await x509(serverCert);
    expect(cert.verify((await x509(paths.caCert)).publicKey)).toBe(true);
    expect(cert.checkHost('foo.bar.tld')).toBe('foo.bar.tld');
    expect(cert.checkIP('127.0.2.9')).toBe('127.0.2.9');
  });

  it('encodes an organisation that is not a PrintableString as UTF8String, as Go does', async () => {
    await bootstrapFromTemplate();
    const serverCert = path.join(root, 'server.pem');
    await generateServerCert({
      caCert: paths.caCert,
      caKey: paths.caKey,
      serverCert,
      serverKey: path.join(root, 'server-key.pem'),
      org: 'jane_doe.dev',
      hosts: ['127.0.0.1'],
    });
    const cert = await x509(serverCert);
    // UTF8String tag 0x0c, length 12, then the value.
    expect(cert.raw.includes(Buffer.from('\x0c\x0cjane_doe.dev', 'latin1'))).toBe(true);
    expect(cert.subject).toBe('O=jane_doe.dev');
  });

  it('rejects a CA key that does not belong to the CA certificate', async () => {
    await bootstrapFromTemplate();
    await expect(
      generateServerCert({
        caCert: paths.caCert,
        caKey: paths.clientKey,
        serverCert: path.join(root, 'server.pem'),
        serverKey: path.join(root, 'server-key.pem'),
        org: 'x',
        hosts: ['localhost'],
      }),
    ).rejects.toThrow(`CA key ${paths.clientKey} does not belong to the CA certificate ${paths.caCert}`);
  });
});

describe('a store made by docker-machine 0.16.2', () => {
  const fixture = path.resolve(import.meta.dirname, '../fixtures/docker-machine-0.16.2-store/certs');

  beforeEach(async () => {
    await fs.mkdir(store.certsDir, { recursive: true, mode: 0o700 });
    for (const name of ['ca.pem', 'ca-key.pem', 'cert.pem', 'key.pem']) {
      await fs.copyFile(path.join(fixture, name), path.join(store.certsDir, name));
      await fs.chmod(path.join(store.certsDir, name), name.includes('key') ? 0o600 : 0o644);
    }
  });

  it('keeps its valid CA and client certificate', async () => {
    const before = await fs.readFile(paths.caCert, 'utf8');
    expect(await bootstrapCertificates(paths)).toEqual({ createdCa: false, createdClient: false });
    expect(await fs.readFile(paths.caCert, 'utf8')).toBe(before);
  });

  it('signs server certificates with its (Go-made) CA', async () => {
    const serverCert = path.join(root, 'server.pem');
    await generateServerCert({
      caCert: paths.caCert,
      caKey: paths.caKey,
      serverCert,
      serverKey: path.join(root, 'server-key.pem'),
      org: 'tester.gen',
      hosts: serverCertHosts(['foo.bar.tld'], '127.0.0.1'),
    });
    const ca = await x509(paths.caCert);
    const cert = await x509(serverCert);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.issuer).toBe(ca.subject);
    // The authority key id points at the CA's subject key id, as Go's own leaves do.
    expect(cert.raw.includes(Buffer.from('A0B4DBF911F4F5B4635F1A3EC64B6CDBEF8CF555', 'hex'))).toBe(true);
  });
});

describe('helpers', () => {
  it("builds docker-machine's host list and organisation", () => {
    expect(serverCertHosts(['foo.bar.tld', '10.42.42.42', ''], '127.0.0.1')).toEqual([
      'foo.bar.tld',
      '10.42.42.42',
      '127.0.0.1',
      'localhost',
    ]);
    expect(serverCertHosts(null, '[::1]')).toEqual(['::1', 'localhost']);
    expect(serverCertHosts(['localhost'], '127.0.0.1')).toEqual(['localhost', '127.0.0.1']);
    expect(serverCertOrg('gen', { USER: 'tester' })).toBe('tester.gen');
    expect(serverCertOrg('gen', {})).toBe('unknown.gen');
  });

  it('copies CA and client certificate into a machine directory with their modes', async () => {
    await bootstrapFromTemplate();
    const machineDir = await store.createMachineDir('none1');
    await copyClientCertsToMachine(paths, machineDir);
    for (const [name, source, expectedMode] of [
      ['ca.pem', paths.caCert, 0o644],
      ['cert.pem', paths.clientCert, 0o644],
      ['key.pem', paths.clientKey, 0o600],
    ] as const) {
      const copy = path.join(machineDir, name);
      expect(await fs.readFile(copy, 'utf8')).toBe(await fs.readFile(source, 'utf8'));
      expect(mode(copy)).toBe(expectedMode);
    }
  });
});
