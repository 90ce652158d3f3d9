/**
 * Mutual TLS to a Docker engine, trusting only the machine's CA, with the engine's certificate
 * verified here (node:crypto X509Certificate) instead of by OpenSSL's verifier.
 *
 * Why by hand: Node 20 builds its whole bundled root-certificate store (~140 PEM certificates
 * parsed, ~210 M instructions, about a third of `moor env` and `moor active`) the first time any
 * TLS context is given a `ca` (`SecureContext::AddCACert` compares the context's store with the
 * root store, creating it) or none (`addRootCerts`), although an engine is trusted through its
 * machine's CA only. A context given `ca: []` adds no certificate, never makes the root store and
 * trusts nothing, so OpenSSL's verdict is always "unknown authority": the handshake runs with
 * `rejectUnauthorized: false` and `verifyEngineCertificate` decides before the socket is handed to
 * anyone, i.e. before any byte of application data (an API request, a swarm join token) is sent.
 * What reaches the peer before that is only the client certificate (public) and a handshake
 * signature bound to that very handshake, useless to an impostor.
 *
 * What is checked, in the order and words of Go's crypto/x509 `Certificate.Verify` (what
 * docker-machine's ValidateCertificate and the docker CLI run): the leaf's validity dates; the
 * host (IP SANs for an IP host, DNS SANs otherwise, no Common Name fallback); a chain from the leaf
 * through the intermediates the engine sent (each a CA, in its validity dates) to a certificate of
 * the machine's ca.pem, every link by issuer name and signature (`checkIssued` + `verify`); the
 * extended key usage (serverAuth or none) along the chain.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { EngineTls } from './engine.js';

/** A refused engine certificate; `message` is Go's, `code` the one Node's verifier would give. */
export class X509Error extends Error {
  constructor(
    message: string,
    readonly code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' | 'CERT_HAS_EXPIRED' | 'ERR_TLS_CERT_ALTNAME_INVALID',
  ) {
    super(message);
    this.name = 'X509Error';
  }
}

/** No TLS session within the timeout; `tcpConnected` tells a dead port from a stuck handshake. */
export class EngineConnectTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    timeoutMs: number,
    readonly tcpConnected: boolean,
  ) {
    super(`timeout after ${timeoutMs} ms`);
    this.name = 'EngineConnectTimeout';
  }
}

export interface EngineConnectOptions {
  timeoutMs: number;
  /** Ends the attempt (and its socket) early. */
  signal?: AbortSignal;
}

/** The IP of an IP-literal host (URLs bracket IPv6 ones), else undefined: a name. */
function ipLiteral(host: string): string | undefined {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return isIP(bare) ? bare : undefined;
}

/**
 * A mutual-TLS socket to `host:port` whose peer passed `verifyEngineCertificate` against
 * `creds.ca`. Rejects with the socket's error, X509Error, EngineConnectTimeout or the abort reason.
 */
export function connectEngine(
  host: string,
  port: number,
  creds: EngineTls,
  options: EngineConnectOptions,
): Promise<tls.TLSSocket> {
  const { timeoutMs, signal } = options;
  return new Promise((resolve, reject) => {
    let roots: X509Certificate[];
    try {
      roots = parseCertificates(creds.ca);
    } catch (err) {
      reject(err);
      return;
    }
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const ip = ipLiteral(host);
    let socket: tls.TLSSocket;
    try {
      socket = tls.connect({
        host: ip ?? host,
        port,
        ca: [], // see the module comment: trust nothing in OpenSSL, verify below
        rejectUnauthorized: false,
        cert: creds.cert,
        key: creds.key,
        servername: ip ? undefined : host,
      });
    } catch (err) {
      reject(err); // a client certificate or key OpenSSL cannot read
      return;
    }
    let tcpConnected = false;
    const fail = (err: unknown) => {
      done();
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(signal?.reason);
    const timer = setTimeout(() => fail(new EngineConnectTimeout(timeoutMs, tcpConnected)), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', fail);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      tcpConnected = true;
    });
    socket.on('error', fail);
    socket.once('secureConnect', () => {
      try {
        verifyEngineCertificate(peerChain(socket), roots, host);
      } catch (err) {
        fail(err);
        return;
      }
      done();
      resolve(socket);
    });
  });
}

/** The certificates the peer sent, leaf first, as Node links them by issuer. */
function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<tls.PeerCertificate>();
  let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert?.raw && !seen.has(cert)) {
    seen.add(cert);
    chain.push(new X509Certificate(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle (the machine's ca.pem); none readable is an error. */
export function parseCertificates(pem: string | Buffer): X509Certificate[] {
  const blocks = pem.toString().match(PEM_CERTIFICATE) ?? [];
  const certs: X509Certificate[] = [];
  for (const block of blocks) {
    try {
      certs.push(new X509Certificate(block));
    } catch {
      // an unreadable block trusts nothing, like Go's AppendCertsFromPEM
    }
  }
  if (certs.length === 0) throw new Error('x509: the CA file holds no readable PEM certificate');
  return certs;
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
const MAX_CHAIN = 10;

/**
 * Throws X509Error unless `peer` (leaf first, then the intermediates the engine sent) is a
 * certificate for `host` that chains to one of `roots` at `now`. Go's checks, order and words.
 */
export function verifyEngineCertificate(
  peer: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  host: string,
  now: Date = new Date(),
): void {
  const [leaf, ...intermediates] = peer;
  if (!leaf) throw new X509Error('x509: the engine sent no certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  const expired = validityError(leaf, now);
  if (expired) throw new X509Error(expired, 'CERT_HAS_EXPIRED');
  const hostError = hostnameError(leaf, host);
  if (hostError) throw new X509Error(hostError, 'ERR_TLS_CERT_ALTNAME_INVALID');
  let hint: { error: string; cert: X509Certificate } | undefined;
  const chains = (chain: X509Certificate[]): X509Certificate[] | undefined => {
    const cert = chain[chain.length - 1] as X509Certificate;
    const candidates = [
      ...roots.map((c) => ({ c, root: true })),
      ...intermediates.map((c) => ({ c, root: false })),
    ].filter(({ c }) => c.subject === cert.issuer && !chain.some((x) => x.raw.equals(c.raw)));
    for (const { c, root } of candidates) {
      const invalid =
        (!root && !c.ca ? 'x509: certificate is not authorized to sign other certificates' : undefined) ??
        validityError(c, now) ??
        (cert.checkIssued(c) && cert.verify(c.publicKey) ? undefined : 'crypto/rsa: verification error');
      if (invalid) {
        hint ??= { error: invalid, cert: c };
        continue;
      }
      if (root) return [...chain, c];
      if (chain.length < MAX_CHAIN) {
        const found = chains([...chain, c]);
        if (found) return found;
      }
    }
    // The leaf itself may be one of the trusted certificates (Go accepts a root as its own chain).
    if (chain.length === 1 && roots.some((r) => r.raw.equals(cert.raw))) return chain;
    return undefined;
  };
  const chain = chains([leaf]);
  if (!chain) {
    const because = hint
      ? ` (possibly because of ${JSON.stringify(hint.error)} while trying to verify candidate authority certificate ${JSON.stringify(certName(hint.cert))})`
      : '';
    throw new X509Error(
      `x509: certificate signed by unknown authority${because}`,
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    );
  }
  // Go checks the extended key usage along the chain, the root excluded.
  for (const cert of chain.slice(0, -1)) {
    // Node 20 calls the extended key usages `keyUsage`; later versions add the name `extKeyUsage`.
    const usages = (cert as { extKeyUsage?: string[] }).extKeyUsage ?? cert.keyUsage;
    if (usages?.length && !usages.includes(SERVER_AUTH) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
      throw new X509Error(
        'x509: certificate specifies an incompatible key usage',
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      );
    }
  }
}

/** Go's CertificateInvalidError{Expired} text, or undefined when `now` is inside the dates. */
function validityError(cert: X509Certificate, now: Date): string | undefined {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  const what = 'x509: certificate has expired or is not yet valid: current time';
  if (now < from) return `${what} ${rfc3339(now)} is before ${rfc3339(from)}`;
  if (now > to) return `${what} ${rfc3339(now)} is after ${rfc3339(to)}`;
  return undefined;
}

const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Go's HostnameError text, or undefined when the leaf is valid for `host`. */
function hostnameError(leaf: X509Certificate, host: string): string | undefined {
  const ip = ipLiteral(host);
  const sans = (leaf.subjectAltName ?? '').split(', ').filter(Boolean);
  const ips = sans.filter((s) => s.startsWith('IP Address:')).map((s) => s.slice('IP Address:'.length));
  const names = sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice('DNS:'.length));
  if (ip) {
    if (leaf.checkIP(ip)) return undefined;
    if (ips.length === 0) {
      return `x509: cannot validate certificate for ${ip} because it doesn't contain any IP SANs`;
    }
    return `x509: certificate is valid for ${ips.join(', ')}, not ${ip}`;
  }
  if (leaf.checkHost(host, { subject: 'never' })) return undefined;
  if (sans.length === 0 && leaf.checkHost(host, { subject: 'always' })) {
    return 'x509: certificate relies on legacy Common Name field, use SANs instead';
  }
  if (names.length === 0) return `x509: certificate is not valid for any names, but wanted to match ${host}`;
  return `x509: certificate is valid for ${names.join(', ')}, not ${host}`;
}

/** How Go names a candidate authority: CN, else the first O, else the serial. */
function certName(cert: X509Certificate): string {
  const field = (key: string) =>
    cert.subject
      .split('\n')
      .find((line) => line.startsWith(`${key}=`))
      ?.slice(key.length + 1);
  return field('CN') ?? field('O') ?? `serial:${BigInt(`0x${cert.serialNumber}`).toString()}`;
}
