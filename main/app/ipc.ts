/**
 * Registers the API contract on ipcMain: one handler per invoke method, every argument validated
 * (zod, main/api/validate.ts) before it reaches the services, and pushed events forwarded to the
 * app's windows. Only calls from the main frame of one of our windows, showing our own page, are
 * answered: not a subframe, and not whatever a window might have been navigated to.
 */
import { EVENT_CHANNEL, INVOKE_METHODS, invokeChannel, type MoorInvoke } from '../api/contract.js';
import { dispatch } from '../api/validate.js';
import type { EventListener } from '../services/app-services.js';
import { isAppPage } from './policy.js';

/** The parts of Electron's WebFrameMain used here. */
export interface FrameLike {
  /** Browser-global id of the frame's node, constant across navigations (unlike the JS object). */
  readonly frameTreeNodeId: number;
  readonly url: string;
}

/** The parts of Electron's IpcMainInvokeEvent used here; `senderFrame` is null once the frame is gone. */
export interface InvokeEventLike {
  sender: unknown;
  senderFrame: FrameLike | null;
}

/** The parts of Electron's ipcMain / WebContents used here (unit tests pass fakes). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}
export interface WebContentsLike {
  readonly mainFrame: FrameLike;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

export interface IpcOptions {
  ipcMain: IpcMainLike;
  services: MoorInvoke & { subscribe(listener: EventListener): () => void };
  /** The web contents allowed to call and receive events (the app's windows). */
  windows: () => WebContentsLike[];
  /** The URL of the app's page (file:// of renderer/index.html); calls from any other page are refused. */
  pageUrl: string;
}

/** Whether an invoke comes from the main frame of one of `windows`, showing the app's page. */
export function fromAppPage(event: InvokeEventLike, windows: WebContentsLike[], pageUrl: string): boolean {
  const contents = windows.find((w) => w === event.sender);
  const frame = event.senderFrame;
  return (
    contents !== undefined &&
    frame !== null &&
    frame.frameTreeNodeId === contents.mainFrame.frameTreeNodeId &&
    isAppPage(frame.url, pageUrl)
  );
}

/** Returns the function that unregisters everything. */
export function registerIpc({ ipcMain, services, windows, pageUrl }: IpcOptions): () => void {
  for (const method of INVOKE_METHODS) {
    ipcMain.handle(invokeChannel(method), (event, arg) => {
      if (!fromAppPage(event, windows(), pageUrl)) throw new Error('IPC from an unknown page refused');
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
