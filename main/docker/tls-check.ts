/**
 * docker-machine's cert.ValidateCertificate: a real TLS handshake with the engine, presenting
 * the client certificate and trusting only the store's CA. `env` and `config` run it before
 * printing anything, so a script's `eval $(moor env x)` fails loudly on a dead or mis-certified host.
 */
import tls from 'node:tls';
import { type EngineTls, isIpHost } from './engine.js';

/** docker-machine's dial timeout for this check. */
export const TLS_CHECK_TIMEOUT_MS = 20_000;

/** Resolves once the handshake succeeded (server cert verified against the CA and the host name). */
export function checkEngineTls(
  hostPort: string,
  creds: EngineTls,
  timeoutMs = TLS_CHECK_TIMEOUT_MS,
): Promise<void> {
  const { hostname, port } = splitHostPort(hostPort);
  return new Promise((resolve, reject) => {
    let connected = false;
    const socket = tls.connect({
      host: hostname,
      port,
      ca: creds.ca,
      cert: creds.cert,
      key: creds.key,
      servername: isIpHost(hostname) ? undefined : hostname,
      timeout: timeoutMs,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(connected ? 'tls: DialWithDialer timed out' : `dial tcp ${hostPort}: i/o timeout`));
    }, timeoutMs);
    socket.once('connect', () => {
      connected = true;
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.end();
      socket.destroy();
      resolve();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(goDialError(err, hostPort, hostname)));
    });
  });
}

/** Node's socket errors in the words of Go's net and crypto/x509 packages (what scripts grep for). */
export function goDialError(err: NodeJS.ErrnoException, hostPort: string, hostname: string): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${hostPort}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${hostPort}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${hostPort}: connect: network is unreachable`;
    case 'ETIMEDOUT':
      return `dial tcp ${hostPort}: i/o timeout`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${hostname}: no such host`;
    case 'ECONNRESET':
      return `read tcp ${hostPort}: read: connection reset by peer`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
      return 'x509: certificate has expired or is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `x509: certificate is not valid for ${hostname} (${err.message})`;
    default:
      return err.message;
  }
}

function splitHostPort(hostPort: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(hostPort);
  const hostname = m?.[1] ?? hostPort;
  return { hostname, port: Number(m?.[2] ?? 2376) };
}
