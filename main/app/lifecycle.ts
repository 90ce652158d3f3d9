/**
 * The app's lifecycle: one instance, the session's security rules, the services, IPC, the tray,
 * one window, and a quit that waits for running creates to roll back. Electron is passed in (not
 * imported), so the whole sequence is unit-tested with fakes; main.ts only supplies the real parts.
 */
import { EVENT_CHANNEL, type MoorEvents } from '../api/contract.js';
import { errorMessage } from '../base/errors.js';
import type { AppServices } from '../services/app-services.js';
import {
  allowPermission,
  CONTENT_SECURITY_POLICY,
  quitWhenAllWindowsClosed,
  trayLikelyVisible,
} from './policy.js';
import type { TrayState } from './tray.js';
import type { TrayAction } from './tray-template.js';

/** The event of `will-quit`: preventDefault() keeps the process alive. */
export interface QuitEvent {
  preventDefault(): void;
}

/** The parts of Electron's `app` used here. */
export interface AppLike {
  requestSingleInstanceLock(): boolean;
  whenReady(): Promise<unknown>;
  on(event: 'second-instance', listener: () => void): unknown;
  on(event: 'window-all-closed', listener: () => void): unknown;
  on(event: 'activate', listener: () => void): unknown;
  on(event: 'before-quit', listener: () => void): unknown;
  on(event: 'will-quit', listener: (event: QuitEvent) => void): unknown;
  quit(): void;
  /** Ends the process at once (no before-quit / will-quit). */
  exit(code: number): void;
}

/** The parts of Electron's default Session used here. */
export interface SessionLike {
  webRequest: {
    onHeadersReceived(
      listener: (
        details: { responseHeaders?: Record<string, string[]> },
        callback: (response: { responseHeaders: Record<string, string[]> }) => void,
      ) => void,
    ): void;
  };
  setPermissionRequestHandler(
    handler: (
      contents: unknown,
      permission: string,
      callback: (granted: boolean) => void,
      details: { requestingUrl: string },
    ) => void,
  ): void;
  setPermissionCheckHandler(
    handler: (contents: unknown, permission: string, requestingOrigin: string) => boolean,
  ): void;
}

/** The parts of a BrowserWindow used here. */
export interface AppWindow {
  isMinimized(): boolean;
  restore(): void;
  isVisible(): boolean;
  show(): void;
  focus(): void;
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
  webContents: {
    send(channel: string, ...args: unknown[]): void;
    isLoading(): boolean;
    once(event: 'did-finish-load', listener: () => void): unknown;
  };
}

export interface TrayLike {
  update(state: TrayState): void;
  destroy(): void;
}

/** What the lifecycle needs of the services (AppServices has it all). */
export type LifecycleServices = Pick<
  AppServices,
  | 'dispose'
  | 'subscribe'
  | 'machines'
  | 'activeHost'
  | 'isBusy'
  | 'listTerminals'
  | 'terminalDetach'
  | 'setActiveHost'
  | 'start'
  | 'stop'
  | 'restart'
>;

export interface LifecycleDeps<S extends LifecycleServices> {
  app: AppLike;
  /** A getter: Electron's default session exists only once the app is ready. */
  session: () => SessionLike;
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  createServices: () => Promise<S>;
  /** Registers the IPC handlers (main/app/ipc.ts) for these services. */
  connectIpc: (services: S) => void;
  /** Creates the main window (main/app/window.ts); it shows itself once painted. */
  createWindow: () => AppWindow;
  /** Throws where no tray can be made; the window then offers every action. */
  createTray: (onAction: (action: TrayAction) => void) => TrayLike;
  /** Usable before the app is ready (Electron's dialog.showErrorBox is). */
  showErrorBox: (title: string, content: string) => void;
  log: (message: string) => void;
}

/**
 * Runs the app. Never rejects: a failed start shows an error box and exits 1, rather than
 * leaving a process with neither window nor tray.
 */
export async function startApp<S extends LifecycleServices>(deps: LifecycleDeps<S>): Promise<void> {
  try {
    await run(deps);
  } catch (err) {
    deps.log(`moor: could not start: ${errorMessage(err)}`);
    deps.showErrorBox('Moor could not start', errorMessage(err));
    deps.app.exit(1);
  }
}

async function run<S extends LifecycleServices>(deps: LifecycleDeps<S>): Promise<void> {
  const { app, log } = deps;
  if (!app.requestSingleInstanceLock()) {
    app.quit(); // the first instance shows its window (second-instance below)
    return;
  }

  let services: S | null = null;
  let tray: TrayLike | null = null;
  let mainWindow: AppWindow | null = null;
  let painted = false;
  let quitting = false;
  let disposed = false;
  let disposing = false;

  // Quit handlers first: a quit during start-up is then seen (and no window is shown after it).
  app.on('before-quit', () => {
    quitting = true;
  });
  app.on('will-quit', (event) => {
    quitting = true;
    tray?.destroy();
    tray = null;
    if (disposed || !services) return;
    // Keep the process until aborted creates have rolled back (bounded inside dispose()).
    event.preventDefault();
    if (disposing) return; // quit again while waiting: the same wait
    disposing = true;
    void services
      .dispose()
      .then(
        (finished) => {
          if (!finished) log('moor: quit before every operation had rolled back');
        },
        (err: unknown) => log(`moor: ${errorMessage(err)}`),
      )
      .finally(() => {
        disposed = true;
        app.exit(0);
      });
  });

  await app.whenReady();
  secureSession(deps.session());

  services = await deps.createServices();
  const s = services;
  deps.connectIpc(s);

  const createWindow = (): AppWindow => {
    const win = deps.createWindow();
    painted = false;
    win.once('ready-to-show', () => {
      painted = true;
    });
    win.on('closed', () => {
      // Terminal sessions survive the window: they detach and keep a replay buffer.
      void s
        .listTerminals()
        .then((terms) => Promise.all(terms.map((t) => s.terminalDetach({ id: t.id }))))
        .catch((err: unknown) => log(`moor: ${errorMessage(err)}`));
      if (mainWindow === win) mainWindow = null;
    });
    return win;
  };

  const showWindow = (navigate?: MoorEvents['navigate']): void => {
    if (quitting) return;
    mainWindow ??= createWindow();
    const win = mainWindow;
    if (win.isMinimized()) win.restore();
    // Before its first paint the window shows itself (window.ts); after, it may be hidden.
    if (painted) {
      win.show();
      win.focus();
    } else {
      win.once('ready-to-show', () => win.focus());
    }
    if (navigate) {
      const send = () => win.webContents.send(EVENT_CHANNEL, 'navigate', navigate);
      if (win.webContents.isLoading()) win.webContents.once('did-finish-load', send);
      else send();
    }
  };

  const onTrayAction = (action: TrayAction): void => {
    const report = (p: Promise<unknown>) => p.catch((err: unknown) => log(`moor: ${errorMessage(err)}`));
    switch (action.kind) {
      case 'use':
        void report(s.setActiveHost({ name: action.name }));
        break;
      case 'start':
      case 'stop':
      case 'restart':
        void report(s[action.kind]({ name: action.name }));
        break;
      case 'terminal':
        showWindow({ view: 'terminal', machine: action.name });
        break;
      case 'show':
        showWindow({ view: 'details', machine: action.name });
        break;
      case 'create':
        showWindow({ view: 'create' });
        break;
      case 'open':
        showWindow({ view: 'hosts' });
        break;
      case 'quit':
        quitting = true;
        app.quit();
        break;
    }
  };

  const trayVisible = trayLikelyVisible(deps.platform, deps.env);
  try {
    const t = deps.createTray(onTrayAction);
    tray = t;
    const refreshTray = () => t.update({ machines: s.machines(), active: s.activeHost, busy: s.isBusy });
    s.subscribe((...[event]) => {
      if (event === 'machineState' || event === 'activeChanged' || event === 'createProgress') refreshTray();
    });
    refreshTray();
  } catch (err) {
    log(`moor: no tray (${errorMessage(err)}); the window offers every action`);
    tray = null;
  }

  app.on('window-all-closed', () => {
    if (quitting || !tray || quitWhenAllWindowsClosed(deps.platform, trayVisible)) app.quit();
  });
  app.on('activate', () => showWindow());
  showWindow();
  // Only now: a second launch during start-up needs nothing more, the window was just shown.
  app.on('second-instance', () => showWindow());
}

/** The renderer's CSP on every response, and web permissions only for the app's own page. */
function secureSession(session: SessionLike): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  session.setPermissionRequestHandler((_contents, permission, callback, details) =>
    callback(allowPermission(permission, details.requestingUrl)),
  );
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) =>
    allowPermission(permission, requestingOrigin),
  );
}
