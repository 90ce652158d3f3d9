// Runs sandboxed, with context isolation: exposes exactly one object, window.moor, implementing the
// typed API contract over IPC. Nothing else of Electron or Node reaches the page.
import { contextBridge, ipcRenderer } from 'electron';
import { createApiClient } from '../main/api/client.js';
import { EVENT_CHANNEL, type InvokeMethod, invokeChannel } from '../main/api/contract.js';

const moor = createApiClient({
  invoke: (method, arg) => ipcRenderer.invoke(invokeChannel(method as InvokeMethod), arg),
  onEvent: (handler) => {
    ipcRenderer.on(EVENT_CHANNEL, (_event, name: string, payload: unknown) => handler(name, payload));
  },
});

contextBridge.exposeInMainWorld('moor', moor);
