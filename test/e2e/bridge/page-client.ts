// TEST-ONLY. Injected into the page (before the app's scripts) as window.moor: the same typed
// contract object the Electron preload exposes, carried over the bridge's WebSocket instead of IPC.
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

const socket = new WebSocket(__MOOR_BRIDGE_URL__);
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
