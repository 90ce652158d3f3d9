/**
 * The app's lifecycle: one instance, the session's security rules, the services, IPC, the tray,
 * one window, and a quit that waits for running creates to roll back. Electron is passed in (not
 * imported), so the whole sequence is unit-tested with fakes; main.ts only supplies the real parts.
 */
import { EVENT_CHANNEL, type MoorEvents, type ScheduleInfo } from '../api/contract.js';
import { errorMessage } from '../base/errors.js';
import type { AppServices } from '../services/app-services.js';
import type { MenuAction } from './menu-template.js';
import {
  allowPermission,
  CONTENT_SECURITY_POLICY,
  quitWhenAllWindowsClosed,
  trayLikelyVisible,
} from './policy.js';
import { type DesktopNotice, stopSoonNotice } from './schedule-notice.js';
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
    handler: (
      contents: unknown,
      permission: string,
      requestingOrigin: string,
      details: { requestingUrl?: string },
    ) => boolean,
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
  | 'report'
  | 'postponeStop'
  | 'listSchedules'
  | 'pauseScheduleToday'
  | 'wantsDesktopNotification'
>;

export interface LifecycleDeps<S extends LifecycleServices> {
  app: AppLike;
  /** A getter: Electron's default session exists only once the app is ready. */
  session: () => SessionLike;
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** The URL of the app's page (file:// of dist/renderer/index.html): the only page given permissions. */
  pageUrl: string;
  createServices: () => Promise<S>;
  /** Registers the IPC handlers (main/app/ipc.ts) for these services. */
  connectIpc: (services: S) => void;
  /** Creates the main window (main/app/window.ts); it shows itself once painted. */
  createWindow: () => AppWindow;
  /** Throws where no tray can be made; the window then offers every action. */
  createTray: (onAction: (action: TrayAction) => void) => TrayLike;
  /** Usable before the app is ready (Electron's dialog.showErrorBox is). */
  showErrorBox: (title: string, content: string) => void;
  /**
   * A desktop notification (Electron's Notification); may do nothing where none is supported.
   * `handlers` get its button presses (by index) and clicks; without them a click does nothing.
   */
  notify: (
    notification: DesktopNotice,
    handlers?: { onAction: (index: number) => void; onClick: () => void },
  ) => void;
  /** Installs the application menu (main/app/menu-template.ts); its items call back here. */
  setAppMenu?: (onAction: (action: MenuAction) => void) => void;
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
  secureSession(deps.session(), deps.pageUrl);

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

  // Every notice of the services (an operation ended, a tray action failed) is also a desktop one.
  s.subscribe((...args) => {
    if (args[0] === 'notify' && s.wantsDesktopNotification(args[1])) deps.notify(args[1]);
  });

  const onTrayAction = (action: TrayAction): void => {
    // A tray action has no window to show its error in: it becomes a notice (toast + notification).
    const report = (what: string, machine: string | undefined, p: Promise<unknown>) =>
      p.catch((err: unknown) => {
        log(`moor: ${errorMessage(err)}`);
        s.report({ level: 'error', title: `Couldn't ${what}`, body: errorMessage(err), machine });
      });
    switch (action.kind) {
      case 'use':
        void report(
          `switch to ${action.name ?? 'the default context'}`,
          action.name ?? undefined,
          s.setActiveHost({ name: action.name }),
        );
        break;
      case 'start':
      case 'stop':
      case 'restart':
        void report(`${action.kind} "${action.name}"`, action.name, s[action.kind]({ name: action.name }));
        break;
      case 'postpone':
        void report(
          `postpone the stop of "${action.name}"`,
          action.name,
          s.postponeStop({ name: action.name, hours: action.hours }),
        );
        break;
      case 'pause-today':
        void report(
          `pause the schedule of "${action.name}"`,
          action.name,
          s.pauseScheduleToday({ name: action.name }),
        );
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

  // A scheduled stop comes soon: offer "Postpone 1 h" (a button, or the click where there are none).
  s.subscribe((...args) => {
    if (args[0] !== 'scheduleStopSoon') return;
    const payload = args[1];
    const { notification, clickPostpones } = stopSoonNotice(payload, deps.platform);
    const postpone = () =>
      void s.postponeStop({ name: payload.name, hours: payload.postponeHours }).catch((err: unknown) => {
        log(`moor: could not postpone the stop of "${payload.name}": ${errorMessage(err)}`);
      });
    deps.notify(notification, {
      onAction: () => postpone(),
      onClick: () => (clickPostpones ? postpone() : showWindow({ view: 'details', machine: payload.name })),
    });
  });

  deps.setAppMenu?.((action) => showWindow({ view: action }));

  const trayVisible = trayLikelyVisible(deps.platform, deps.env);
  try {
    const t = deps.createTray(onTrayAction);
    tray = t;
    // Each machine's schedule and cost for its submenu: read once, then kept by scheduleChanged.
    let schedules: Record<string, ScheduleInfo> = {};
    const refreshTray = () =>
      t.update({ machines: s.machines(), active: s.activeHost, busy: s.isBusy, schedules, now: Date.now() });
    void s
      .listSchedules()
      .then((rows) => {
        schedules = { ...Object.fromEntries(rows.map((r) => [r.name, r])), ...schedules };
        refreshTray();
      })
      .catch((err: unknown) => log(`moor: schedules for the tray: ${errorMessage(err)}`));
    s.subscribe((...args) => {
      const event = args[0];
      if (args[0] === 'scheduleChanged') {
        const info = args[1].schedule;
        schedules = { ...schedules, [info.name]: info };
      }
      if (
        event === 'machineState' ||
        event === 'activeChanged' ||
        event === 'createProgress' ||
        event === 'scheduleChanged' ||
        event === 'scheduleRan'
      )
        refreshTray();
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
function secureSession(session: SessionLike, pageUrl: string): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  session.setPermissionRequestHandler((_contents, permission, callback, details) =>
    callback(allowPermission(permission, details.requestingUrl, pageUrl)),
  );
  // A check names the requesting frame's URL in details (the origin alone is just "file://").
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) =>
    allowPermission(permission, details?.requestingUrl ?? requestingOrigin, pageUrl),
  );
}
