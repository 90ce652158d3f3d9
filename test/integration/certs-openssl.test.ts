// Moor's certificates checked by the real OpenSSL, and the store's certs lock across processes.
import { execFile, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapCertificates, generateServerCert, serverCertHosts } from '../../main/certs/index.js';
import { requireCommand, tempDir } from '../harness/components.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');

function openssl(args: string[]): { status: number | null; output: string } {
  const result = spawnSync(requireCommand('openssl', 'openssl'), args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('certificates verified by openssl', () => {
  const { dir, cleanup } = tempDir('moor-certs-openssl');
  const certs = path.join(dir, 'certs');
  const machineDir = path.join(dir, 'machines', 'dev');
  const ca = path.join(certs, 'ca.pem');
  const client = path.join(certs, 'cert.pem');
  const server = path.join(machineDir, 'server.pem');

  beforeAll(async () => {
    requireCommand('openssl', 'openssl');
    await bootstrapCertificates({
      caCert: ca,
      caKey: path.join(certs, 'ca-key.pem'),
      clientCert: client,
      clientKey: path.join(certs, 'key.pem'),
    });
    await fs.mkdir(machineDir, { recursive: true });
    await generateServerCert({
      caCert: ca,
      caKey: path.join(certs, 'ca-key.pem'),
      serverCert: server,
      serverKey: path.join(machineDir, 'server-key.pem'),
      org: 'tester.dev',
      hosts: serverCertHosts(['foo.bar.tld', '10.42.42.42'], '127.0.2.10'),
    });
  });
  afterAll(() => cleanup());

  it('client and server certificates chain to the store CA', () => {
    const result = openssl(['verify', '-CAfile', ca, client, server]);
    expect(result.output).toBe(`${client}: OK\n${server}: OK\n`);
    expect(result.status).toBe(0);
  });

  it('the server certificate is good for TLS servers and refused as a TLS client', () => {
    expect(openssl(['verify', '-purpose', 'sslserver', '-CAfile', ca, server]).status).toBe(0);
    const asClient = openssl(['verify', '-purpose', 'sslclient', '-CAfile', ca, server]);
    expect(asClient.status).not.toBe(0);
    expect(asClient.output).toContain('unsuitable certificate purpose');
  });

  it('the client certificate is good for TLS clients and refused as a TLS server', () => {
    expect(openssl(['verify', '-purpose', 'sslclient', '-CAfile', ca, client]).status).toBe(0);
    expect(openssl(['verify', '-purpose', 'sslserver', '-CAfile', ca, client]).status).not.toBe(0);
  });

  it("carries docker-machine's SANs, usages and validity", () => {
    const text = openssl(['x509', '-in', server, '-noout', '-text']).output;
    expect(text).toContain('DNS:foo.bar.tld, DNS:localhost, IP Address:10.42.42.42, IP Address:127.0.2.10');
    expect(text).toMatch(/Extended Key Usage: *\n *TLS Web Server Authentication\n/);
    expect(text).toMatch(/Key Usage: critical\n *Digital Signature, Key Encipherment, Key Agreement\n/);
    expect(text).toContain('Subject: O = tester.dev\n');
    expect(text).toContain('Public-Key: (2048 bit)');
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');

    const caText = openssl(['x509', '-in', ca, '-noout', '-text']).output;
    expect(caText).toMatch(/Basic Constraints: critical\n *CA:TRUE\n/);
    expect(caText).toMatch(
      /Key Usage: critical\n *Digital Signature, Key Encipherment, Key Agreement, Certificate Sign\n/,
    );
    expect(caText).not.toContain('Extended Key Usage');

    const clientText = openssl(['x509', '-in', client, '-noout', '-text']).output;
    expect(clientText).toMatch(/Key Usage: critical\n *Digital Signature\n/);
    expect(clientText).toMatch(/Extended Key Usage: *\n *TLS Web Client Authentication\n/);
    expect(clientText).not.toContain('Subject Alternative Name');
  });

  it('writes PKCS#1 RSA keys that openssl reads', () => {
    for (const key of [path.join(certs, 'ca-key.pem'), path.join(machineDir, 'server-key.pem')]) {
      const result = openssl(['rsa', '-in', key, '-check', '-noout']);
      expect(result.output).toContain('RSA key ok');
    }
  });
});

describe('concurrent bootstrap from two processes', () => {
  it('yields one CA and a client certificate signed by it', async () => {
    const { dir, cleanup } = tempDir('moor-certs-race');
    try {
      const certs = path.join(dir, 'certs');
      const startAt = Date.now() + 1500; // both processes loaded before either begins
      const script = `
        const { bootstrapCertificates } = await import(${JSON.stringify(path.join(repoRoot, 'main/certs/index.ts'))});
        await new Promise((r) => setTimeout(r, ${startAt} - Date.now()));
        const d = ${JSON.stringify(certs)};
        const result = await bootstrapCertificates({
          caCert: d + '/ca.pem', caKey: d + '/ca-key.pem', clientCert: d + '/cert.pem', clientKey: d + '/key.pem',
        });
        process.stdout.write(JSON.stringify(result));`;
      const worker = () =>
        run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot });
      const results = (await Promise.all([worker(), worker()])).map(
        (r) => JSON.parse(r.stdout) as { createdCa: boolean; createdClient: boolean },
      );
      expect(results.filter((r) => r.createdCa)).toHaveLength(1);
      expect(results.filter((r) => r.createdClient)).toHaveLength(1);
      const verify = openssl(['verify', '-CAfile', path.join(certs, 'ca.pem'), path.join(certs, 'cert.pem')]);
      expect(verify.status).toBe(0);
      // The CA key on disk belongs to the CA certificate on disk.
      const modulus = (args: string[]) => openssl(args).output.trim();
      expect(modulus(['x509', '-in', path.join(certs, 'ca.pem'), '-noout', '-modulus'])).toBe(
        modulus(['rsa', '-in', path.join(certs, 'ca-key.pem'), '-noout', '-modulus']),
      );
      expect((await fs.readdir(certs)).sort()).toEqual(['ca-key.pem', 'ca.pem', 'cert.pem', 'key.pem']);
    } finally {
      cleanup();
    }
  });
});
