/**
 * docker-machine's cert.ValidateCertificate: a real TLS handshake with the engine, presenting
 * the client certificate and trusting only the store's CA. `env` and `config` run it before
 * printing anything, so a script's `eval $(moor env x)` fails loudly on a dead or mis-certified host.
 * The engine's certificate is verified by engine-tls.ts (by hand, see there why) with Go's words.
 */

import type { EngineTls } from './engine.js';
import { connectEngine, EngineConnectTimeout, X509Error } from './engine-tls.js';

/** docker-machine's dial timeout for this check. */
export const TLS_CHECK_TIMEOUT_MS = 20_000;

/** Resolves once the handshake succeeded (server cert verified against the CA and the host name). */
export async function checkEngineTls(
  hostPort: string,
  creds: EngineTls,
  timeoutMs = TLS_CHECK_TIMEOUT_MS,
): Promise<void> {
  const { hostname, port } = splitHostPort(hostPort);
  try {
    const socket = await connectEngine(hostname, port, creds, { timeoutMs });
    socket.end();
    socket.destroy();
  } catch (err) {
    if (err instanceof EngineConnectTimeout) {
      throw new Error(
        err.tcpConnected ? 'tls: DialWithDialer timed out' : `dial tcp ${hostPort}: i/o timeout`,
      );
    }
    throw new Error(goDialError(err as NodeJS.ErrnoException, hostPort, hostname));
  }
}

/** Node's socket errors in the words of Go's net and crypto/x509 packages (what scripts grep for). */
export function goDialError(err: NodeJS.ErrnoException, hostPort: string, hostname: string): string {
  if (err instanceof X509Error) return err.message; // already Go's
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
    default:
      return err.message;
  }
}

function splitHostPort(hostPort: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(hostPort);
  const hostname = m?.[1] ?? hostPort;
  return { hostname, port: Number(m?.[2] ?? 2376) };
}
