/**
 * TEST-ONLY bridge (never shipped): serves the built renderer over HTTP on 127.0.0.1 and carries
 * the typed API contract over a WebSocket to the REAL main-process services (real store, real SSH,
 * real test hosts). Every call goes through the same validation/dispatch as Electron's ipcMain.
 * The WebSocket requires the per-run token and the page's own origin.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { WebSocket, WebSocketServer } from 'ws';
import { dispatch } from '../../../main/api/validate.js';
import { errorMessage } from '../../../main/base/errors.js';
import type { AppServices } from '../../../main/services/app-services.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
export const RENDERER_DIR = path.join(root, 'dist', 'renderer');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface Bridge {
  /** http://127.0.0.1:PORT/index.html */
  url: string;
  /**
   * With `preview`: the page for a browser of one's own, the token in its fragment (never sent
   * to the server, never in the served script): http://127.0.0.1:PORT/index.html#token=…
   */
  previewUrl: string;
  /** The script to inject with page.addInitScript (defines window.moor over the WebSocket). */
  initScript: string;
  /** Connected pages. */
  connections(): number;
  close(): Promise<void>;
}

async function pageClient(wsUrl: string): Promise<string> {
  const out = await build({
    entryPoints: [path.join(here, 'page-client.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'chrome120',
    define: { __MOOR_BRIDGE_URL__: JSON.stringify(wsUrl) },
    logLevel: 'warning',
  });
  return out.outputFiles[0]!.text;
}

/** Where the preview's client script is served (a same-origin script: the page's CSP allows it). */
const PREVIEW_CLIENT = '/moor-bridge-client.js';

export interface BridgeOptions {
  /**
   * `npm run preview`: index.html loads the bridge client itself (no test injects it), and the
   * client takes the token from the page's URL fragment.
   */
  preview?: boolean;
  /** 0 (default) picks a free port. */
  port?: number;
}

export async function startBridge(services: AppServices, options: BridgeOptions = {}): Promise<Bridge> {
  const token = randomBytes(24).toString('hex');
  // A private copy: another test run rebuilding dist/ must not pull the page from under us.
  const copy = await mkdtemp(path.join(os.tmpdir(), 'moor-renderer-'));
  await cp(RENDERER_DIR, copy, { recursive: true });
  const rendererDir = await realpath(copy);
  const sockets = new Set<WebSocket>();
  let origin = '';
  let previewClient = '';

  const server = http.createServer(async (req, res) => {
    try {
      // decodeURIComponent throws on a bad escape: inside the try, that is a 404, not a crash.
      const rel = decodeURIComponent(new URL(req.url ?? '/', origin).pathname);
      if (options.preview && rel === PREVIEW_CLIENT) {
        res.writeHead(200, { 'content-type': TYPES['.js']!, 'cache-control': 'no-store' });
        res.end(previewClient);
        return;
      }
      const file = path.join(rendererDir, rel === '/' ? 'index.html' : rel);
      const inside = path.relative(rendererDir, file);
      if (inside.startsWith('..') || path.isAbsolute(inside)) {
        res.writeHead(403).end();
        return;
      }
      let body: Buffer | string = await readFile(file);
      if (file.endsWith('index.html')) {
        // The shipped CSP forbids all connections; the test page may reach the bridge only.
        body = body
          .toString('utf8')
          .replace("connect-src 'none'", `connect-src ${origin.replace('http', 'ws')}`);
        // Before the app's (deferred, module) script: window.moor exists when it runs.
        if (options.preview)
          body = body.replace('<script', `<script src="${PREVIEW_CLIENT}"></script>\n    <script`);
      }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('bridge: no address');
  origin = `http://127.0.0.1:${address.port}`;

  const wss = new WebSocketServer({
    server,
    path: '/bridge',
    verifyClient: ({ origin: o, req }: { origin: string; req: http.IncomingMessage }) => {
      const given = new URL(req.url ?? '', origin).searchParams.get('token');
      return o === origin && given === token;
    },
  });
  const unsubscribe = services.subscribe((event, payload) => {
    const text = JSON.stringify({ event, payload });
    for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  });
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('message', async (raw) => {
      let id = 0;
      try {
        const msg = JSON.parse(raw.toString()) as { id: number; method: unknown; arg: unknown };
        id = msg.id;
        const result = await dispatch(services, msg.method, msg.arg);
        ws.send(JSON.stringify({ id, ok: true, result }));
      } catch (err) {
        if (ws.readyState === WebSocket.OPEN)
          ws.send(JSON.stringify({ id, ok: false, error: errorMessage(err) }));
      }
    });
    ws.on('close', () => {
      sockets.delete(ws);
      // Like a closed window: the page's terminal sessions detach and keep running.
      if (sockets.size === 0) {
        void services.listTerminals().then((list) => {
          for (const t of list) if (t.attached) void services.terminalDetach({ id: t.id });
        });
      }
    });
  });

  const initScript = await pageClient(`${origin.replace('http', 'ws')}/bridge?token=${token}`);
  if (options.preview) previewClient = await pageClient(`${origin.replace('http', 'ws')}/bridge`);
  return {
    url: `${origin}/index.html`,
    previewUrl: `${origin}/index.html#token=${token}`,
    initScript,
    connections: () => sockets.size,
    async close() {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(rendererDir, { recursive: true, force: true });
    },
  };
}
