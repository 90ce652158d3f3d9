/**
 * Registers the API contract on ipcMain: one handler per invoke method, every argument validated
 * (zod, main/api/validate.ts) before it reaches the services, and pushed events forwarded to the
 * app's windows. Only calls from our own window's page are answered.
 */
import { EVENT_CHANNEL, INVOKE_METHODS, invokeChannel, type MoorInvoke } from '../api/contract.js';
import { dispatch } from '../api/validate.js';
import type { EventListener } from '../services/app-services.js';

/** The parts of Electron's ipcMain / WebContents used here (unit tests pass fakes). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: { sender: unknown }, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}
export interface WebContentsLike {
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

export interface IpcOptions {
  ipcMain: IpcMainLike;
  services: MoorInvoke & { subscribe(listener: EventListener): () => void };
  /** The web contents allowed to call and receive events (the app's windows). */
  windows: () => WebContentsLike[];
}

/** Returns the function that unregisters everything. */
export function registerIpc({ ipcMain, services, windows }: IpcOptions): () => void {
  for (const method of INVOKE_METHODS) {
    ipcMain.handle(invokeChannel(method), (event, arg) => {
      if (!windows().includes(event.sender as WebContentsLike)) {
        throw new Error('IPC from an unknown page refused');
      }
      return dispatch(services, method, arg);
    });
  }
  const unsubscribe = services.subscribe((event, payload) => {
    for (const contents of windows()) {
      if (!contents.isDestroyed()) contents.send(EVENT_CHANNEL, event, payload);
    }
  });
  return () => {
    unsubscribe();
    for (const method of INVOKE_METHODS) ipcMain.removeHandler(invokeChannel(method));
  };
}
