import { describe, expect, it } from 'vitest';
import { type BrowserWindowLike, createMainWindow, WEB_PREFERENCES } from '../../../main/app/window.js';

/** A stand-in for Electron's BrowserWindow: records options and lets the test fire its events. */
class FakeBrowserWindow implements BrowserWindowLike {
  shown = false;
  loaded = '';
  private once_ = new Map<string, () => void>();
  private listeners = new Map<string, (event: { preventDefault(): void }, url: string) => void>();
  openHandler: ((d: { url: string }) => { action: 'deny' }) | null = null;
  webContents = {
    on: (event: string, l: (event: { preventDefault(): void }, url: string) => void) => {
      this.listeners.set(event, l);
    },
    setWindowOpenHandler: (h: (d: { url: string }) => { action: 'deny' }) => {
      this.openHandler = h;
    },
  };
  constructor(readonly options: Parameters<Parameters<typeof createMainWindow>[0]['create']>[0]) {}
  once(event: 'ready-to-show', l: () => void) {
    this.once_.set(event, l);
  }
  show() {
    this.shown = true;
  }
  async loadFile(file: string) {
    this.loaded = file;
  }
  fire(event: string) {
    this.once_.get(event)?.();
  }
  navigate(event: 'will-navigate' | 'will-redirect', url: string): boolean {
    let prevented = false;
    this.listeners.get(event)?.({ preventDefault: () => (prevented = true) }, url);
    return prevented;
  }
}

function make() {
  const opened: string[] = [];
  const win = createMainWindow({
    create: (o) => new FakeBrowserWindow(o),
    openExternal: (u) => opened.push(u),
    preloadPath: '/app/dist/preload/index.cjs',
    indexHtml: '/app/dist/renderer/index.html',
  });
  return { win, opened };
}

describe('createMainWindow', () => {
  it('is sandboxed, isolated, without Node, with the preload', () => {
    const { win } = make();
    expect(win.options.webPreferences).toEqual({
      ...WEB_PREFERENCES,
      preload: '/app/dist/preload/index.cjs',
    });
    expect(win.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    });
    expect(win.loaded).toBe('/app/dist/renderer/index.html');
  });

  it('is created hidden and shown when ready to show', () => {
    const { win } = make();
    expect(win.options.show).toBe(false);
    expect(win.shown).toBe(false);
    win.fire('ready-to-show');
    expect(win.shown).toBe(true);
  });

  it('blocks navigation and new windows; web links open in the browser', () => {
    const { win, opened } = make();
    expect(win.navigate('will-navigate', 'https://evil.example')).toBe(true);
    expect(win.navigate('will-redirect', 'file:///etc/passwd')).toBe(true);
    expect(win.openHandler!({ url: 'https://docs.docker.com' })).toEqual({ action: 'deny' });
    expect(win.openHandler!({ url: 'file:///etc/shadow' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://docs.docker.com']);
  });
});
