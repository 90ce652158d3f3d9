/**
 * The main window: created hidden and shown once painted, sandboxed with context isolation, and
 * unable to navigate away or open windows (http(s) links go to the system browser). Electron is
 * passed in (not imported) so this is unit-tested with a fake BrowserWindow.
 */
import { isExternalLink } from './policy.js';

export const WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  spellcheck: false,
} as const;

/** The smallest window: test/e2e/host-list.test.ts checks the list at exactly this size. */
export const MIN_WINDOW = { width: 800, height: 600 } as const;

export interface WebContentsEvents {
  on(
    event: 'will-navigate' | 'will-redirect',
    listener: (event: { preventDefault(): void }, url: string) => void,
  ): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export interface BrowserWindowLike {
  webContents: WebContentsEvents;
  once(event: 'ready-to-show', listener: () => void): void;
  show(): void;
  loadFile(file: string): Promise<void>;
}

export type BrowserWindowFactory<W extends BrowserWindowLike> = (options: {
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  show: boolean;
  title: string;
  backgroundColor: string;
  webPreferences: typeof WEB_PREFERENCES & { preload: string };
}) => W;

export function createMainWindow<W extends BrowserWindowLike>(deps: {
  create: BrowserWindowFactory<W>;
  openExternal: (url: string) => void;
  preloadPath: string;
  indexHtml: string;
}): W {
  const win = deps.create({
    width: 1180,
    height: 760,
    // The host list is laid out (and tested in e2e) down to 800×600.
    minWidth: MIN_WINDOW.width,
    minHeight: MIN_WINDOW.height,
    show: false, // shown on ready-to-show: no white flash, no half-drawn window
    title: 'Moor',
    backgroundColor: '#0f1420',
    webPreferences: { ...WEB_PREFERENCES, preload: deps.preloadPath },
  });
  win.once('ready-to-show', () => win.show());
  const block = (event: { preventDefault(): void }) => event.preventDefault();
  win.webContents.on('will-navigate', block);
  win.webContents.on('will-redirect', block);
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) deps.openExternal(url);
    return { action: 'deny' };
  });
  void win.loadFile(deps.indexHtml);
  return win;
}
