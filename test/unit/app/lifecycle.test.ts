import { describe, expect, it } from 'vitest';
import {
  type ActiveHost,
  type AppNotification,
  EVENT_CHANNEL,
  type MachineSummary,
  type ScheduleInfo,
} from '../../../main/api/contract.js';
import {
  type AppLike,
  type AppWindow,
  type LifecycleServices,
  type QuitEvent,
  type SessionLike,
  startApp,
  type TrayLike,
} from '../../../main/app/lifecycle.js';
import type { MenuAction } from '../../../main/app/menu-template.js';
import { CONTENT_SECURITY_POLICY } from '../../../main/app/policy.js';
import type { DesktopNotice } from '../../../main/app/schedule-notice.js';
import type { TrayState } from '../../../main/app/tray.js';
import type { TrayAction } from '../../../main/app/tray-template.js';
import type { EventListener } from '../../../main/services/app-services.js';
import { machine } from './fixtures.js';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** A stand-in for Electron's `app`: records listeners, quit and exit; the test fires events. */
class FakeApp implements AppLike {
  lock = true;
  ready = deferred();
  quits = 0;
  exits: number[] = [];
  private listeners = new Map<string, Array<(event: QuitEvent) => void>>();
  requestSingleInstanceLock(): boolean {
    return this.lock;
  }
  whenReady(): Promise<unknown> {
    return this.ready.promise;
  }
  on(event: string, listener: (event: QuitEvent) => void): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  quit(): void {
    this.quits++;
  }
  exit(code: number): void {
    this.exits.push(code);
  }
  has(event: string): boolean {
    return (this.listeners.get(event) ?? []).length > 0;
  }
  /** Fires `event`; returns whether a listener called preventDefault(). */
  emit(event: string): boolean {
    let prevented = false;
    for (const l of this.listeners.get(event) ?? []) l({ preventDefault: () => (prevented = true) });
    return prevented;
  }
}

class FakeWindow implements AppWindow {
  minimized = false;
  visible = false;
  calls: string[] = [];
  loading = true;
  sent: unknown[][] = [];
  private handlers = new Map<string, Array<() => void>>();
  private loadHandlers: Array<() => void> = [];
  webContents = {
    send: (channel: string, ...args: unknown[]) => {
      this.sent.push([channel, ...args]);
    },
    isLoading: () => this.loading,
    once: (_event: 'did-finish-load', l: () => void) => {
      this.loadHandlers.push(l);
    },
  };
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
    this.calls.push('restore');
  }
  isVisible(): boolean {
    return this.visible;
  }
  show(): void {
    this.visible = true;
    this.calls.push('show');
  }
  focus(): void {
    this.calls.push('focus');
  }
  once(event: string, l: () => void): this {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), l]);
    return this;
  }
  on(event: string, l: () => void): this {
    return this.once(event, l);
  }
  /** As createMainWindow does: shown once painted. */
  paint(): void {
    this.visible = true;
    this.fire('ready-to-show');
  }
  fire(event: string): void {
    const ls = this.handlers.get(event) ?? [];
    this.handlers.delete(event);
    for (const l of ls) l();
  }
  finishLoad(): void {
    this.loading = false;
    for (const l of this.loadHandlers.splice(0)) l();
  }
}

class FakeServices implements LifecycleServices {
  calls: string[] = [];
  disposeCalls = 0;
  disposal = deferred<boolean>();
  terminals = [{ id: 't1', machine: 'alpha', title: 'alpha', startedAt: 0, attached: true, exitCode: null }];
  private listeners: EventListener[] = [];
  reported: AppNotification[] = [];
  /** Pushes an event to every subscriber, as AppServices does. */
  listener: EventListener = (...args) => {
    for (const l of this.listeners) l(...args);
  };
  activeHost: ActiveHost = { machine: null, context: 'default' };
  isBusy = false;
  rows: MachineSummary[] = [machine('alpha')];
  dispose(): Promise<boolean> {
    this.disposeCalls++;
    return this.disposal.promise;
  }
  subscribe(listener: EventListener): () => void {
    this.listeners.push(listener);
    return () => {};
  }
  /** The user's Notifications setting, reduced to yes/no. */
  desktop = true;
  wantsDesktopNotification(): boolean {
    return this.desktop;
  }
  report(notification: AppNotification): void {
    this.reported.push(notification);
    this.listener('notify', notification);
  }
  machines(): MachineSummary[] {
    return this.rows;
  }
  async listTerminals() {
    return this.terminals;
  }
  async terminalDetach({ id }: { id: string }): Promise<void> {
    this.calls.push(`detach ${id}`);
  }
  async setActiveHost({ name }: { name: string | null }): Promise<void> {
    this.calls.push(`use ${name}`);
  }
  async start({ name }: { name: string }): Promise<void> {
    this.calls.push(`start ${name}`);
  }
  async stop({ name }: { name: string }): Promise<void> {
    this.calls.push(`stop ${name}`);
    throw new Error('host unreachable');
  }
  async restart({ name }: { name: string }): Promise<void> {
    this.calls.push(`restart ${name}`);
  }
  async postponeStop({ name, hours }: { name: string; hours?: number }): Promise<{ until: number }> {
    this.calls.push(`postpone ${name} ${hours}`);
    return { until: 0 };
  }
  async pauseScheduleToday({ name }: { name: string }): Promise<{ until: number }> {
    this.calls.push(`pause-today ${name}`);
    return { until: 0 };
  }
  schedules: ScheduleInfo[] = [];
  async listSchedules(): Promise<ScheduleInfo[]> {
    return this.schedules;
  }
}

class FakeTray implements TrayLike {
  states: TrayState[] = [];
  destroyed = false;
  update(state: TrayState): void {
    this.states.push(state);
  }
  destroy(): void {
    this.destroyed = true;
  }
}

class FakeSession implements SessionLike {
  headers: Parameters<SessionLike['webRequest']['onHeadersReceived']>[0] | null = null;
  request: Parameters<SessionLike['setPermissionRequestHandler']>[0] | null = null;
  check: Parameters<SessionLike['setPermissionCheckHandler']>[0] | null = null;
  webRequest = {
    onHeadersReceived: (l: Parameters<SessionLike['webRequest']['onHeadersReceived']>[0]) => {
      this.headers = l;
    },
  };
  setPermissionRequestHandler(h: Parameters<SessionLike['setPermissionRequestHandler']>[0]): void {
    this.request = h;
  }
  setPermissionCheckHandler(h: Parameters<SessionLike['setPermissionCheckHandler']>[0]): void {
    this.check = h;
  }
}

function setup(
  opts: {
    platform?: NodeJS.Platform;
    env?: NodeJS.ProcessEnv;
    noTray?: boolean;
    failServices?: Error;
    lock?: boolean;
  } = {},
) {
  const app = new FakeApp();
  app.lock = opts.lock ?? true;
  const session = new FakeSession();
  const services = new FakeServices();
  const windows: FakeWindow[] = [];
  const order: string[] = [];
  const logs: string[] = [];
  const errorBoxes: Array<[string, string]> = [];
  const notifications: DesktopNotice[] = [];
  let menuAction: (action: MenuAction) => void = () => {};
  let tray: FakeTray | null = null;
  let onTrayAction: (action: TrayAction) => void = () => {};
  const notices: Array<{
    notification: DesktopNotice;
    handlers: { onAction: (index: number) => void; onClick: () => void };
  }> = [];
  const started = startApp({
    app,
    session: () => {
      order.push('session');
      return session;
    },
    platform: opts.platform ?? 'linux',
    env: opts.env ?? { MOOR_TRAY: '1' },
    pageUrl: 'file:///app/index.html',
    createServices: async () => {
      order.push('services');
      if (opts.failServices) throw opts.failServices;
      return services;
    },
    connectIpc: (s) => {
      expect(s).toBe(services);
      order.push('ipc');
    },
    createWindow: () => {
      order.push('window');
      const w = new FakeWindow();
      windows.push(w);
      return w;
    },
    createTray: (onAction) => {
      order.push('tray');
      if (opts.noTray) throw new Error('no StatusNotifier host');
      onTrayAction = onAction;
      tray = new FakeTray();
      return tray;
    },
    showErrorBox: (title, content) => errorBoxes.push([title, content]),
    notify: (notification, handlers) => {
      notifications.push(notification);
      if (handlers) notices.push({ notification, handlers });
    },
    setAppMenu: (onAction) => {
      menuAction = onAction;
    },
    log: (m) => logs.push(m),
  });
  return {
    notices,
    app,
    session,
    services,
    windows,
    order,
    logs,
    errorBoxes,
    notifications,
    started,
    tray: () => tray,
    trayAction: (a: TrayAction) => onTrayAction(a),
    menuAction: (a: MenuAction) => menuAction(a),
    /** Makes the app ready and waits for start-up to finish. */
    ready: async () => {
      app.ready.resolve();
      await started;
    },
  };
}

describe('start-up', () => {
  it('a second instance quits at once and starts nothing', async () => {
    const t = setup({ lock: false });
    t.app.ready.resolve();
    await t.started;
    expect(t.app.quits).toBe(1);
    expect(t.app.exits).toEqual([]);
    expect(t.order).toEqual([]);
    expect(t.app.has('second-instance')).toBe(false);
  });

  it('waits for ready, then session rules, services, IPC, tray, and only then a window', async () => {
    const t = setup();
    await tick();
    expect(t.order).toEqual([]); // nothing before the app is ready
    expect(t.app.has('second-instance')).toBe(false);
    t.app.emit('second-instance'); // a launch during start-up: no early window
    expect(t.windows).toEqual([]);
    await t.ready();
    expect(t.order).toEqual(['session', 'services', 'ipc', 'tray', 'window']);
    expect(t.windows).toHaveLength(1);
    expect(t.tray()!.states.at(-1)).toEqual({
      machines: [machine('alpha')],
      active: { machine: null, context: 'default' },
      busy: false,
      schedules: {},
      now: expect.any(Number),
    });
  });

  it('sets the CSP on responses and grants permissions only to the app page', async () => {
    const t = setup();
    await t.ready();
    let headers: Record<string, string[]> = {};
    t.session.headers!({ responseHeaders: { 'X-A': ['1'] } }, (r) => {
      headers = r.responseHeaders;
    });
    expect(headers).toEqual({ 'X-A': ['1'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
    const granted: boolean[] = [];
    t.session.request!({}, 'clipboard-read', (g) => granted.push(g), {
      requestingUrl: 'file:///app/index.html',
    });
    t.session.request!({}, 'media', (g) => granted.push(g), { requestingUrl: 'file:///app/index.html' });
    // Another local file (a page the app was tricked into showing) gets nothing.
    t.session.request!({}, 'clipboard-read', (g) => granted.push(g), { requestingUrl: 'file:///tmp/x.html' });
    expect(granted).toEqual([true, false, false]);
    expect(t.session.check!({}, 'clipboard-read', 'https://evil.example', {})).toBe(false);
    expect(t.session.check!({}, 'clipboard-read', 'file://', { requestingUrl: 'file:///tmp/x.html' })).toBe(
      false,
    );
    expect(
      t.session.check!({}, 'clipboard-sanitized-write', 'file://', {
        requestingUrl: 'file:///app/index.html#/terminals',
      }),
    ).toBe(true);
  });

  it('a failed start shows an error box and exits 1 (no process without window or tray)', async () => {
    const t = setup({ failServices: new Error('store unreadable: EACCES') });
    await t.ready();
    expect(t.errorBoxes).toEqual([['Moor could not start', 'store unreadable: EACCES']]);
    expect(t.app.exits).toEqual([1]);
    expect(t.windows).toEqual([]);
    expect(t.logs.join('\n')).toMatch(/could not start: store unreadable/);
  });

  it('without a tray the app still starts, and says why', async () => {
    const t = setup({ noTray: true });
    await t.ready();
    expect(t.windows).toHaveLength(1);
    expect(t.logs.join('\n')).toMatch(/no tray \(no StatusNotifier host\)/);
  });
});

describe('the window', () => {
  it('a second launch shows and focuses the one window', async () => {
    const t = setup();
    await t.ready();
    const win = t.windows[0]!;
    t.app.emit('second-instance'); // before the first paint: focus once painted
    expect(win.calls).toEqual([]);
    win.paint();
    expect(win.calls).toEqual(['focus', 'focus']);
    win.calls = [];
    win.minimized = true;
    t.app.emit('second-instance');
    expect(win.calls).toEqual(['restore', 'show', 'focus']);
    expect(t.windows).toHaveLength(1);
  });

  it('closing it detaches terminals; the next show makes a new window', async () => {
    const t = setup();
    await t.ready();
    t.windows[0]!.fire('closed');
    await tick();
    expect(t.services.calls).toEqual(['detach t1']);
    t.app.emit('activate');
    expect(t.windows).toHaveLength(2);
  });

  it('tray items navigate the window (after it loaded) and call the services', async () => {
    const t = setup();
    await t.ready();
    const win = t.windows[0]!;
    t.trayAction({ kind: 'create' });
    expect(win.sent).toEqual([]);
    win.finishLoad();
    expect(win.sent).toEqual([[EVENT_CHANNEL, 'navigate', { view: 'create' }]]);
    t.trayAction({ kind: 'terminal', name: 'alpha' });
    expect(win.sent.at(-1)).toEqual([EVENT_CHANNEL, 'navigate', { view: 'terminal', machine: 'alpha' }]);
    t.trayAction({ kind: 'use', name: 'alpha' });
    t.trayAction({ kind: 'stop', name: 'alpha' });
    await tick();
    expect(t.services.calls).toEqual(['use alpha', 'stop alpha']);
    expect(t.logs.join('\n')).toMatch(/host unreachable/); // reported, not an unhandled rejection
    // The user hears of it: a notice for the window and a desktop notification.
    const failed = {
      level: 'error',
      title: `Couldn't stop "alpha"`,
      body: 'host unreachable',
      machine: 'alpha',
    };
    expect(t.services.reported).toEqual([failed]);
    expect(t.notifications).toEqual([failed]);
  });

  it('the app menu opens Settings and the task panel in the window', async () => {
    const t = setup();
    await t.ready();
    const win = t.windows[0]!;
    win.finishLoad();
    t.menuAction('settings');
    t.menuAction('tasks');
    expect(win.sent).toEqual([
      [EVENT_CHANNEL, 'navigate', { view: 'settings' }],
      [EVENT_CHANNEL, 'navigate', { view: 'tasks' }],
    ]);
  });

  it("shows the services' notices (an operation that ended) as desktop notifications", async () => {
    const t = setup();
    await t.ready();
    const notice = {
      level: 'error' as const,
      title: 'Creating "web" failed',
      body: 'SSH refused',
      operationId: 'op1',
    };
    t.services.listener('notify', notice);
    expect(t.notifications).toEqual([notice]);
    // Notifications turned off in Settings: the window still gets the notice, the desktop does not.
    t.services.desktop = false;
    t.services.listener('notify', { ...notice, title: 'again' });
    expect(t.notifications).toEqual([notice]);
  });

  it('a scheduled stop coming soon is a notification whose "Postpone 1 h" postpones it', async () => {
    const mac = setup({ platform: 'darwin' });
    await mac.ready();
    mac.services.listener!('scheduleStopSoon', {
      name: 'alpha',
      at: Date.parse('2026-12-04T18:00:00Z'),
      postponeHours: 1,
    });
    expect(mac.notices).toHaveLength(1);
    expect(mac.notices[0]!.notification).toMatchObject({
      title: expect.stringMatching(/^"alpha" stops at \d\d:00$/),
      actions: ['Postpone 1 h'],
    });
    mac.notices[0]!.handlers.onAction(0);
    expect(mac.services.calls).toEqual(['postpone alpha 1']);
    // Without buttons (Linux, Windows) the click postpones, and the text says so.
    const linux = setup({ platform: 'linux' });
    await linux.ready();
    linux.services.listener!('scheduleStopSoon', { name: 'alpha', at: 0, postponeHours: 1 });
    expect(linux.notices[0]!.notification.actions).toEqual([]);
    expect(linux.notices[0]!.notification.body).toMatch(/Click to postpone the stop by 1 h/);
    linux.notices[0]!.handlers.onClick();
    expect(linux.services.calls).toEqual(['postpone alpha 1']);
  });

  it("the tray gets each machine's schedule, kept current by scheduleChanged; its Postpone calls the services", async () => {
    const t = setup();
    const schedule: ScheduleInfo = {
      name: 'alpha',
      zone: 'UTC',
      start: '',
      stop: 'daily 19:00',
      next: { action: 'stop', at: Date.UTC(2026, 11, 4, 19) },
      postponedUntil: null,
      lastRun: null,
      idleStopMinutes: null,
      idleSince: null,
      hibernate: false,
      cost: null,
      costError: '',
      error: '',
    };
    t.services.schedules = [schedule];
    await t.ready();
    await tick();
    expect(t.tray()!.states.at(-1)!.schedules).toEqual({ alpha: schedule });
    const changed = { ...schedule, stop: '', next: null };
    t.services.listener('scheduleChanged', { schedule: changed });
    expect(t.tray()!.states.at(-1)!.schedules).toEqual({ alpha: changed });
    t.trayAction({ kind: 'postpone', name: 'alpha', hours: 1 });
    await tick();
    expect(t.services.calls).toContain('postpone alpha 1');
    t.trayAction({ kind: 'pause-today', name: 'alpha' });
    await tick();
    expect(t.services.calls).toContain('pause-today alpha');
  });

  it('pushed state changes refresh the tray', async () => {
    const t = setup();
    await t.ready();
    const before = t.tray()!.states.length;
    t.services.isBusy = true;
    t.services.listener!('createProgress', {
      operation: {
        id: 'o',
        kind: 'create',
        machine: 'x',
        driver: 'generic',
        status: 'running',
        request: { name: 'x', driver: 'generic', flags: {} },
        error: '',
        machineKept: false,
        startedAt: 0,
        endedAt: null,
      },
      event: null,
    });
    expect(t.tray()!.states).toHaveLength(before + 1);
    expect(t.tray()!.states.at(-1)!.busy).toBe(true);
  });
});

describe('window-all-closed', () => {
  it('keeps running in the tray where a tray shows', async () => {
    const t = setup({ platform: 'linux', env: { MOOR_TRAY: '1' } });
    await t.ready();
    t.app.emit('window-all-closed');
    expect(t.app.quits).toBe(0);
  });

  it('quits where no tray shows (GNOME), or no tray could be made', async () => {
    const gnome = setup({ platform: 'linux', env: { XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' } });
    await gnome.ready();
    gnome.app.emit('window-all-closed');
    expect(gnome.app.quits).toBe(1);
    const none = setup({ platform: 'win32', env: {}, noTray: true });
    await none.ready();
    none.app.emit('window-all-closed');
    expect(none.app.quits).toBe(1);
  });

  it('keeps the app on macOS, but not once the user chose Quit', async () => {
    const t = setup({ platform: 'darwin', env: {} });
    await t.ready();
    t.app.emit('window-all-closed');
    expect(t.app.quits).toBe(0);
    t.trayAction({ kind: 'quit' });
    expect(t.app.quits).toBe(1);
    t.app.emit('window-all-closed');
    expect(t.app.quits).toBe(2);
  });
});

describe('quitting', () => {
  it('will-quit waits for dispose (creates rolling back), then exits 0; once', async () => {
    const t = setup();
    await t.ready();
    t.app.emit('before-quit');
    expect(t.app.emit('will-quit')).toBe(true); // prevented: the process stays
    expect(t.tray()!.destroyed).toBe(true);
    expect(t.services.disposeCalls).toBe(1);
    expect(t.app.emit('will-quit')).toBe(true); // quit again while waiting: same wait
    expect(t.services.disposeCalls).toBe(1);
    await tick();
    expect(t.app.exits).toEqual([]);
    t.app.emit('second-instance'); // no new window while quitting
    t.app.emit('activate');
    expect(t.windows).toHaveLength(1);
    t.services.disposal.resolve(true);
    await tick();
    expect(t.app.exits).toEqual([0]);
    expect(t.app.emit('will-quit')).toBe(false); // disposed: nothing more to wait for
    expect(t.logs).toEqual([]);
  });

  it('exits even when dispose gave up or failed, and logs it', async () => {
    const gaveUp = setup();
    await gaveUp.ready();
    gaveUp.app.emit('will-quit');
    gaveUp.services.disposal.resolve(false);
    await tick();
    expect(gaveUp.app.exits).toEqual([0]);
    expect(gaveUp.logs.join('\n')).toMatch(/before every operation had rolled back/);
    const failed = setup();
    await failed.ready();
    failed.app.emit('will-quit');
    failed.services.disposal.reject(new Error('boom'));
    await tick();
    expect(failed.app.exits).toEqual([0]);
    expect(failed.logs.join('\n')).toMatch(/boom/);
  });

  it('a quit during start-up, before the services exist, is not held', async () => {
    const t = setup();
    expect(t.app.emit('will-quit')).toBe(false);
    expect(t.services.disposeCalls).toBe(0);
    await t.ready();
    expect(t.windows).toEqual([]); // quitting: no window shown
  });
});
