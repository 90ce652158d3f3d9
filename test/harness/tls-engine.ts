/**
 * Small stand-ins for a Docker engine's TLS endpoint, for CLI tests and benches that need many
 * hosts in known states without starting a dockerd each (the real dockerd is in dockerd.ts):
 *  - startTlsEngine: mutual-TLS HTTPS server with a server certificate signed by the store's CA,
 *    answering the two Engine API calls the CLI makes (GET /_ping, GET /version);
 *  - startHangingServer: accepts TCP connections and never answers (a wedged host);
 *  - refusedAddress: a loopback port nothing listens on (a stopped host).
 * Everything listens on loopback only and is closed by close().
 */
import { mkdir, readFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { generateServerCert, serverCertHosts } from '../../main/certs/index.js';

export interface TestEngine {
  /** tcp://host:port */
  url: string;
  host: string;
  port: number;
  /** Requests answered so far, by path. */
  requests: string[];
  close(): Promise<void>;
}

export interface TlsEngineOptions {
  host?: string;
  port?: number;
  caCert: string;
  caKey: string;
  /** Where the server certificate and key are written. */
  dir: string;
  /** What GET /version reports. */
  version?: string;
}

export async function startTlsEngine(options: TlsEngineOptions): Promise<TestEngine> {
  const host = options.host ?? '127.0.0.1';
  const serverCert = path.join(options.dir, 'server.pem');
  const serverKey = path.join(options.dir, 'server-key.pem');
  await mkdir(options.dir, { recursive: true });
  await generateServerCert({
    caCert: options.caCert,
    caKey: options.caKey,
    serverCert,
    serverKey,
    org: 'moor.test-engine',
    hosts: serverCertHosts([], host),
  });
  const [cert, key, ca] = await Promise.all([
    readFile(serverCert),
    readFile(serverKey),
    readFile(options.caCert),
  ]);
  const requests: string[] = [];
  const server = https.createServer(
    { cert, key, ca, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/_ping') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      } else if (/^(\/v[\d.]+)?\/version$/.test(req.url ?? '')) {
        // docker-machine asks /v1.15/version, moor and the docker CLI /version or /vX.Y/version.
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ Version: options.version ?? '27.5.1', ApiVersion: '1.47', Os: 'linux' }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"page not found"}');
      }
    },
  );
  const port = await listen(server, host, options.port ?? 0);
  return {
    url: `tcp://${host}:${port}`,
    host,
    port,
    requests,
    close: () => closeServer(server),
  };
}

export interface HangingServer {
  url: string;
  host: string;
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** Accepts every connection and never sends a byte (the TLS handshake never completes). */
export async function startHangingServer(host = '127.0.0.1'): Promise<HangingServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server, host, 0);
  return {
    url: `tcp://${host}:${port}`,
    host,
    port,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

/** A loopback address and port where nothing listens (bound, then released). */
export async function refusedAddress(
  host = '127.0.0.1',
): Promise<{ url: string; host: string; port: number }> {
  const server = net.createServer();
  const port = await listen(server, host, 0);
  await closeServer(server);
  return { url: `tcp://${host}:${port}`, host, port };
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if ('closeAllConnections' in server) (server as https.Server).closeAllConnections();
    server.close(() => resolve());
  });
}
