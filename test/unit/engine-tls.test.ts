// The engine's certificate is verified by hand (main/docker/engine-tls.ts: Node's root store costs
// ~200 M instructions per process otherwise). Every refusal OpenSSL's verifier made must still
// happen, before anything is sent, in Go's words: against a real Node mutual-TLS server on
// loopback (127.0.60.x belongs to this file) with certificates issued here (node-forge, OpenSSL
// keys), and against the store's own certificates from main/certs.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pingEngine } from '../../main/docker/engine.js';
import { connectEngine, parseCertificates, verifyEngineCertificate } from '../../main/docker/engine-tls.js';
import { checkEngineTls } from '../../main/docker/tls-check.js';
import { tempDir } from '../harness/components.js';
import { bootstrapStoreCerts } from '../harness/store-fixtures.js';
import { startTlsEngine } from '../harness/tls-engine.js';

const HOST = '127.0.60.1';
const DAY = 86_400_000;

interface Issued {
  cert: forge.pki.Certificate;
  pem: string;
  keyPem: string;
  key: forge.pki.rsa.PrivateKey;
}

const keyPems = Array.from({ length: 4 }, () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs1', format: 'pem' })
    .toString(),
);
let serial = 1;

/** One certificate; `issuer` undefined = self-signed. */
function issue(options: {
  org: string;
  keyIndex: number;
  issuer?: Issued;
  ca?: boolean;
  ips?: string[];
  names?: string[];
  notBefore?: Date;
  notAfter?: Date;
  eku?: 'serverAuth' | 'clientAuth';
}): Issued {
  const keyPem = keyPems[options.keyIndex] as string;
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = (serial++).toString(16).padStart(2, '0');
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - DAY);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 30 * DAY);
  const subject = [{ name: 'organizationName', value: options.org }];
  cert.setSubject(subject);
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : subject);
  const altNames = [
    ...(options.names ?? []).map((value) => ({ type: 2, value })),
    ...(options.ips ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: options.ca ?? false, critical: true },
    options.ca
      ? { name: 'keyUsage', critical: true, keyCertSign: true, digitalSignature: true }
      : { name: 'keyUsage', critical: true, keyEncipherment: true, digitalSignature: true },
    ...(options.ca ? [] : [{ name: 'extKeyUsage', [options.eku ?? 'serverAuth']: true }]),
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(options.issuer?.key ?? key, forge.md.sha256.create());
  return { cert, pem: forge.pki.certificateToPem(cert), keyPem, key };
}

// The store's CA and client certificate, and a second CA with the same name (a regenerated CA:
// Moor's CAs are all "O=<user>").
const ca = issue({ org: 'tester', keyIndex: 0, ca: true });
const otherCa = issue({ org: 'tester', keyIndex: 1, ca: true });
const client = issue({ org: 'tester.client', keyIndex: 3, issuer: ca, eku: 'clientAuth' });
const creds = { ca: ca.pem, cert: client.pem, key: client.keyPem };

const leaf = (extra: Partial<Parameters<typeof issue>[0]> = {}) =>
  issue({ org: 'tester.engine', keyIndex: 2, issuer: ca, ips: [HOST], names: ['localhost'], ...extra });

interface Server {
  port: number;
  /** Bytes of application data the server received. */
  received(): number;
  close(): Promise<void>;
}

/** A real mutual-TLS server presenting `chain` (leaf first), requiring a client cert from `ca`. */
async function serve(chain: Issued[]): Promise<Server> {
  let received = 0;
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer(
    {
      cert: chain.map((c) => c.pem).join(''),
      key: (chain[0] as Issued).keyPem,
      ca: ca.pem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      sockets.add(socket);
      socket.on('data', (d: Buffer) => {
        received += d.length;
      });
      socket.on('error', () => {});
    },
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => received,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function check(chain: Issued[], host = HOST): Promise<{ error?: string; received: number }> {
  const server = await serve(chain);
  try {
    await checkEngineTls(`${host}:${server.port}`, creds, 10_000);
    return { received: server.received() };
  } catch (err) {
    return { error: (err as Error).message, received: server.received() };
  } finally {
    await server.close();
  }
}

describe('engine TLS verified by hand (check before printing)', () => {
  it('accepts a server certificate from the CA for the IP', async () => {
    expect(await check([leaf()])).toEqual({ received: 0 });
  });

  it('refuses a certificate from another CA (same name), as Go words it', async () => {
    const r = await check([issue({ org: 'tester.engine', keyIndex: 2, issuer: otherCa, ips: [HOST] })]);
    expect(r.error).toBe(
      'x509: certificate signed by unknown authority (possibly because of "crypto/rsa: verification error" while trying to verify candidate authority certificate "tester")',
    );
  });

  it('refuses a self-signed certificate', async () => {
    const r = await check([issue({ org: 'tester.selfsigned', keyIndex: 2, ips: [HOST] })]);
    expect(r.error).toBe('x509: certificate signed by unknown authority');
  });

  it('refuses an expired and a not yet valid certificate', async () => {
    const expired = await check([
      leaf({ notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') }),
    ]);
    expect(expired.error).toMatch(
      /^x509: certificate has expired or is not yet valid: current time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ is after 2021-01-01T00:00:00Z$/,
    );
    const future = await check([leaf({ notBefore: new Date(Date.now() + 10 * DAY) })]);
    expect(future.error).toMatch(
      /^x509: certificate has expired or is not yet valid: current time .* is before /,
    );
  });

  it('refuses a certificate for another IP, or with no IP SANs', async () => {
    expect((await check([leaf({ ips: ['127.0.60.9', '10.0.0.1'] })])).error).toBe(
      `x509: certificate is valid for 127.0.60.9, 10.0.0.1, not ${HOST}`,
    );
    expect((await check([leaf({ ips: [] })])).error).toBe(
      `x509: cannot validate certificate for ${HOST} because it doesn't contain any IP SANs`,
    );
  });

  it('accepts a chain through an intermediate CA the engine sends, and refuses it unsent', async () => {
    const intermediate = issue({ org: 'tester.intermediate', keyIndex: 1, issuer: ca, ca: true });
    const viaIntermediate = issue({ org: 'tester.engine', keyIndex: 2, issuer: intermediate, ips: [HOST] });
    expect(await check([viaIntermediate, intermediate])).toEqual({ received: 0 });
    expect((await check([viaIntermediate])).error).toBe('x509: certificate signed by unknown authority');
  });

  it('refuses a chain through an intermediate that is not a CA', async () => {
    const notCa = issue({ org: 'tester.notca', keyIndex: 1, issuer: ca });
    const viaNotCa = issue({ org: 'tester.engine', keyIndex: 2, issuer: notCa, ips: [HOST] });
    // Node already drops a non-CA issuer when it links the peer's chain...
    expect((await check([viaNotCa, notCa])).error).toBe('x509: certificate signed by unknown authority');
    // ...and the check refuses one even when it is handed over.
    expect(() =>
      verifyEngineCertificate(
        [new X509Certificate(viaNotCa.pem), new X509Certificate(notCa.pem)],
        parseCertificates(ca.pem),
        HOST,
      ),
    ).toThrow(
      'x509: certificate signed by unknown authority (possibly because of "x509: certificate is not authorized to sign other certificates" while trying to verify candidate authority certificate "tester.notca")',
    );
  });

  it('refuses a certificate whose CA has expired', async () => {
    const oldCa = issue({
      org: 'tester',
      keyIndex: 0,
      ca: true,
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2021-01-01T00:00:00Z'),
    });
    const server = await serve([leaf()]);
    try {
      await expect(
        checkEngineTls(`${HOST}:${server.port}`, { ...creds, ca: oldCa.pem }, 10_000),
      ).rejects.toThrow(
        /^x509: certificate signed by unknown authority \(possibly because of "x509: certificate has expired or is not yet valid: current time .* is after 2021-01-01T00:00:00Z" while trying to verify candidate authority certificate "tester"\)$/,
      );
    } finally {
      await server.close();
    }
  });

  it('refuses a client-only certificate (extended key usage)', async () => {
    expect((await check([leaf({ eku: 'clientAuth' })])).error).toBe(
      'x509: certificate specifies an incompatible key usage',
    );
  });

  it('refuses an unreadable CA file with a clear error', async () => {
    await expect(checkEngineTls(`${HOST}:1`, { ...creds, ca: 'not a certificate' }, 10_000)).rejects.toThrow(
      'x509: the CA file holds no readable PEM certificate',
    );
  });

  it('OpenSSL itself trusts nothing with ca: [] (the premise of verifying by hand)', async () => {
    const server = await serve([leaf()]);
    try {
      const code = await new Promise<string | undefined>((resolve) => {
        const s = tls.connect({ host: HOST, port: server.port, ca: [], cert: creds.cert, key: creds.key });
        s.on('secureConnect', () => {
          s.destroy();
          resolve(undefined);
        });
        s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
      });
      // The server sends its CA along (OpenSSL builds its chain), hence "self-signed in chain".
      expect(code).toMatch(/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)$/);
    } finally {
      await server.close();
    }
  });

  it('hands over a verified socket that carries data', async () => {
    const server = await serve([leaf()]);
    try {
      const socket = await connectEngine(HOST, server.port, creds, { timeoutMs: 10_000 });
      await new Promise<void>((resolve) => socket.write('ping', () => resolve()));
      socket.destroy();
      await expect.poll(() => server.received()).toBe(4);
    } finally {
      await server.close();
    }
  });
});

describe('host names (pure check: no name of ours resolves into 127.0.60.x)', () => {
  const x509 = (i: Issued) => new X509Certificate(i.pem);
  const roots = parseCertificates(ca.pem);
  const verify = (i: Issued, host: string) => () => verifyEngineCertificate([x509(i)], roots, host);

  it('accepts a DNS SAN, wildcards included, and refuses other names in Go words', () => {
    const named = leaf({ names: ['engine.test', '*.pool.test'], ips: [] });
    expect(verify(named, 'engine.test')).not.toThrow();
    expect(verify(named, 'a.pool.test')).not.toThrow();
    expect(verify(named, 'other.test')).toThrow(
      'x509: certificate is valid for engine.test, *.pool.test, not other.test',
    );
    expect(verify(leaf({ names: [], ips: [HOST] }), 'engine.test')).toThrow(
      'x509: certificate is not valid for any names, but wanted to match engine.test',
    );
  });

  it('does not fall back to the Common Name, like Go', () => {
    const key = forge.pki.privateKeyFromPem(keyPems[2] as string) as forge.pki.rsa.PrivateKey;
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    cert.serialNumber = '7f';
    cert.validity.notBefore = new Date(Date.now() - DAY);
    cert.validity.notAfter = new Date(Date.now() + DAY);
    cert.setSubject([{ name: 'commonName', value: 'engine.test' }]);
    cert.setIssuer(ca.cert.subject.attributes);
    cert.sign(ca.key, forge.md.sha256.create());
    const cn = { cert, pem: forge.pki.certificateToPem(cert), keyPem: keyPems[2] as string, key };
    expect(verify(cn, 'engine.test')).toThrow(
      'x509: certificate relies on legacy Common Name field, use SANs instead',
    );
  });
});

describe("the store's own certificates (main/certs) through the engine client", () => {
  const { dir, cleanup } = tempDir('moor-engine-tls');
  let engine: Awaited<ReturnType<typeof startTlsEngine>>;
  let storeCreds: { ca: Buffer; cert: Buffer; key: Buffer };

  beforeAll(async () => {
    const paths = await bootstrapStoreCerts(path.join(dir, 'store'));
    mkdirSync(path.join(dir, 'engine'));
    engine = await startTlsEngine({
      host: '127.0.60.2',
      caCert: paths.caCert,
      caKey: paths.caKey,
      dir: path.join(dir, 'engine'),
    });
    storeCreds = {
      ca: readFileSync(paths.caCert),
      cert: readFileSync(paths.clientCert),
      key: readFileSync(paths.clientKey),
    };
  });
  afterAll(async () => {
    await engine?.close();
    cleanup();
  });

  it('pings the engine (env/active path) and checks it (env/config path)', async () => {
    await pingEngine(engine.url, storeCreds, 10_000);
    expect(engine.requests).toEqual(['/_ping']);
    await checkEngineTls(`${engine.host}:${engine.port}`, storeCreds, 10_000);
  });

  it('sends no request to an engine whose certificate another CA signed', async () => {
    await expect(pingEngine(engine.url, { ...storeCreds, ca: otherCa.pem }, 10_000)).rejects.toThrow(
      `${engine.host}:${engine.port}: x509: certificate signed by unknown authority`,
    );
    expect(engine.requests).toEqual(['/_ping']);
  });
});
