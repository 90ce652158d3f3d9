import { describe, expect, it } from 'vitest';
import { createApiClient } from '../../../main/api/client.js';
import { EVENT_CHANNEL, INVOKE_METHODS, invokeChannel, type MoorInvoke } from '../../../main/api/contract.js';
import {
  type FrameLike,
  type InvokeEventLike,
  type IpcMainLike,
  registerIpc,
  type WebContentsLike,
} from '../../../main/app/ipc.js';
import type { EventListener } from '../../../main/services/app-services.js';

const PAGE = 'file:///opt/Moor/resources/app.asar/dist/renderer/index.html';
let nextFrameId = 1;

/** A stand-in for Electron's ipcMain: records handlers and lets the test invoke them. */
class FakeIpcMain implements IpcMainLike {
  handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** A call from `sender`'s main frame unless another `senderFrame` is given. */
  async invoke(
    sender: FakeWebContents,
    channel: string,
    arg?: unknown,
    senderFrame: FrameLike | null = sender.mainFrame,
  ): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`No handler registered for '${channel}'`);
    return h({ sender, senderFrame }, arg);
  }
}

/** A stand-in for a BrowserWindow's webContents. */
class FakeWebContents implements WebContentsLike {
  mainFrame: FrameLike = { frameTreeNodeId: nextFrameId++, url: `${PAGE}#/hosts` };
  sent: unknown[][] = [];
  destroyed = false;
  send(channel: string, ...args: unknown[]): void {
    this.sent.push([channel, ...args]);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
}

function fakeServices() {
  const calls: Array<[string, unknown]> = [];
  let emit: EventListener = () => {};
  const impl = new Proxy(
    {},
    {
      get(_t, prop) {
        if (prop === 'subscribe') {
          return (l: EventListener) => {
            emit = l;
            return () => {
              emit = () => {};
            };
          };
        }
        return async (arg: unknown) => {
          calls.push([String(prop), arg]);
          return { ok: String(prop) };
        };
      },
    },
  ) as MoorInvoke & { subscribe(l: EventListener): () => void };
  return { impl, calls, emit: (...a: Parameters<EventListener>) => emit(...a) };
}

describe('registerIpc', () => {
  it('registers one handler per contract method and removes them all', () => {
    const ipc = new FakeIpcMain();
    const win = new FakeWebContents();
    const unregister = registerIpc({
      ipcMain: ipc,
      services: fakeServices().impl,
      windows: () => [win],
      pageUrl: PAGE,
    });
    expect([...ipc.handlers.keys()].sort()).toEqual(INVOKE_METHODS.map((m) => invokeChannel(m)).sort());
    unregister();
    expect(ipc.handlers.size).toBe(0);
  });

  it('validates arguments before they reach the services', async () => {
    const ipc = new FakeIpcMain();
    const win = new FakeWebContents();
    const s = fakeServices();
    registerIpc({ ipcMain: ipc, services: s.impl, windows: () => [win], pageUrl: PAGE });
    await expect(ipc.invoke(win, 'moor:start', { name: 'alpha' })).resolves.toEqual({ ok: 'start' });
    await expect(ipc.invoke(win, 'moor:start', { name: 42 })).rejects.toThrow(
      /Invalid arguments for start: name/,
    );
    await expect(ipc.invoke(win, 'moor:start', { name: 'a', extra: 1 })).rejects.toThrow(/Invalid arguments/);
    await expect(ipc.invoke(win, 'moor:terminalResize', { id: 'x', rows: 0, cols: 80 })).rejects.toThrow(
      /rows/,
    );
    await expect(ipc.invoke(win, 'moor:listMachines', { sneaky: true })).rejects.toThrow(/Invalid arguments/);
    await expect(
      ipc.invoke(win, 'moor:createMachine', { name: 'w', driver: 'generic', flags: { '--Bad Flag': 'x' } }),
    ).rejects.toThrow(/Invalid arguments for createMachine: flags\.--Bad Flag/);
    expect(s.calls).toEqual([['start', { name: 'alpha' }]]);
  });

  it('validates provisionMachine like the others, and setActiveHost with null for the default context', async () => {
    const ipc = new FakeIpcMain();
    const win = new FakeWebContents();
    const s = fakeServices();
    registerIpc({ ipcMain: ipc, services: s.impl, windows: () => [win], pageUrl: PAGE });
    await expect(ipc.invoke(win, 'moor:provisionMachine', { name: 'web' })).resolves.toEqual({
      ok: 'provisionMachine',
    });
    await expect(ipc.invoke(win, 'moor:provisionMachine', { name: '' })).rejects.toThrow(
      /Invalid arguments for provisionMachine: name/,
    );
    await expect(ipc.invoke(win, 'moor:provisionMachine', 'web')).rejects.toThrow(/Invalid arguments/);
    await expect(ipc.invoke(win, 'moor:setActiveHost', { name: null })).resolves.toBeDefined();
    await expect(ipc.invoke(win, 'moor:setActiveHost', { name: 'default' })).resolves.toBeDefined();
    await expect(ipc.invoke(win, 'moor:setActiveHost', {})).rejects.toThrow(/setActiveHost: name/);
    expect(s.calls).toEqual([
      ['provisionMachine', { name: 'web' }],
      ['setActiveHost', { name: null }],
      ['setActiveHost', { name: 'default' }],
    ]);
  });

  it('answers only the app windows', async () => {
    const ipc = new FakeIpcMain();
    const win = new FakeWebContents();
    const s = fakeServices();
    registerIpc({ ipcMain: ipc, services: s.impl, windows: () => [win], pageUrl: PAGE });
    await expect(ipc.invoke(new FakeWebContents(), 'moor:listMachines')).rejects.toThrow(/unknown page/);
    expect(s.calls).toEqual([]);
  });

  it("answers only the window's main frame, and only while it shows the app's page", async () => {
    const ipc = new FakeIpcMain();
    const win = new FakeWebContents();
    const s = fakeServices();
    registerIpc({ ipcMain: ipc, services: s.impl, windows: () => [win], pageUrl: PAGE });
    const refused = (frame: FrameLike | null) =>
      expect(ipc.invoke(win, 'moor:listMachines', undefined, frame)).rejects.toThrow(/unknown page/);
    // A subframe of our window, even one showing our own page.
    await refused({ frameTreeNodeId: nextFrameId++, url: PAGE });
    await refused({ frameTreeNodeId: nextFrameId++, url: 'https://evil.example/' });
    // The frame is gone (navigated or closed) by the time the call arrives.
    await refused(null);
    // The main frame, but showing another page or file.
    await refused({ ...win.mainFrame, url: 'https://evil.example/index.html' });
    await refused({ ...win.mainFrame, url: 'file:///tmp/evil/index.html' });
    await refused({ ...win.mainFrame, url: 'about:blank' });
    // Another WebContents' main frame, sent with our window as sender.
    await refused(new FakeWebContents().mainFrame);
    expect(s.calls).toEqual([]);
    // Another WebFrameMain object for the same main frame is accepted (Electron may make new ones).
    await expect(
      ipc.invoke(win, 'moor:listMachines', undefined, {
        frameTreeNodeId: win.mainFrame.frameTreeNodeId,
        url: PAGE,
      }),
    ).resolves.toEqual({ ok: 'listMachines' });
    expect(s.calls).toEqual([['listMachines', undefined]]);
  });

  it('forwards pushed events to every live window on one channel', () => {
    const ipc = new FakeIpcMain();
    const a = new FakeWebContents();
    const b = new FakeWebContents();
    b.destroyed = true;
    const s = fakeServices();
    registerIpc({ ipcMain: ipc, services: s.impl, windows: () => [a, b], pageUrl: PAGE });
    const alpha = { machine: 'alpha', context: 'alpha' };
    s.emit('activeChanged', { active: alpha });
    expect(a.sent).toEqual([[EVENT_CHANNEL, 'activeChanged', { active: alpha }]]);
    expect(b.sent).toEqual([]);
  });

  it('works end to end with the preload client over the fake IPC', async () => {
    const ipc = new FakeIpcMain();
    const win = new FakeWebContents();
    const s = fakeServices();
    registerIpc({ ipcMain: ipc, services: s.impl, windows: () => [win], pageUrl: PAGE });
    let onEvent: (event: string, payload: unknown) => void = () => {};
    const api = createApiClient({
      invoke: (method, arg) =>
        ipc.invoke(win, invokeChannel(method as never), arg).catch((err: Error) => {
          // Electron's wording for errors thrown by a handler.
          throw new Error(
            `Error invoking remote method '${invokeChannel(method as never)}': Error: ${err.message}`,
          );
        }),
      onEvent: (h) => {
        onEvent = h;
      },
    });
    await expect(api.stop({ name: 'beta' })).resolves.toEqual({ ok: 'stop' });
    await expect(api.stop({ name: '' })).rejects.toThrow(/^Invalid arguments for stop/);
    const seen: (string | null)[] = [];
    const off = api.on('activeChanged', ({ active }) => seen.push(active.machine));
    onEvent('activeChanged', { active: { machine: 'x', context: 'x' } });
    onEvent('notAnEvent', {});
    off();
    onEvent('activeChanged', { active: { machine: null, context: 'default' } });
    expect(seen).toEqual(['x']);
  });
});
