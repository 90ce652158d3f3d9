// TEST-ONLY (and `npm run preview`). Injected into the page (before the app's scripts) as
// window.moor: the same typed contract object the Electron preload exposes, carried over the
// bridge's WebSocket instead of IPC. The tests build it with the token in the URL; the preview's
// copy has none and takes it from the page's #token=… (so the served script holds no secret).
import { createApiClient } from '../../../main/api/client.js';

declare const __MOOR_BRIDGE_URL__: string;

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
interface Pushed {
  event: string;
  payload: unknown;
}

function bridgeUrl(): string {
  const url = new URL(__MOOR_BRIDGE_URL__);
  const fromPage = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!url.searchParams.has('token') && fromPage) url.searchParams.set('token', fromPage);
  return url.href;
}

const socket = new WebSocket(bridgeUrl());
const opened = new Promise<void>((resolve, reject) => {
  socket.addEventListener('open', () => resolve(), { once: true });
  socket.addEventListener('error', () => reject(new Error('bridge connection failed')), { once: true });
});
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let handler: (event: string, payload: unknown) => void = () => {};
let nextId = 1;

socket.addEventListener('message', (message) => {
  const data = JSON.parse(String(message.data)) as Reply | Pushed;
  if ('event' in data) {
    handler(data.event, data.payload);
    return;
  }
  const call = pending.get(data.id);
  pending.delete(data.id);
  if (!call) return;
  if (data.ok) call.resolve(data.result);
  else call.reject(new Error(data.error));
});

const w = window as unknown as { moor: unknown; __MOOR_E2E__: boolean };
w.__MOOR_E2E__ = true;
w.moor = createApiClient({
  invoke: async (method, arg) => {
    await opened;
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, arg }));
    });
  },
  onEvent: (h) => {
    handler = h;
  },
});
