/**
 * Electron entry: one instance, one window (created hidden, shown when painted), the tray, and
 * the IPC registration of the API contract. The services (main/services) own all state; this file
 * only connects them to Electron.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, ipcMain, safeStorage, session, shell } from 'electron';
import { EVENT_CHANNEL, type MoorEvents } from '../api/contract.js';
import type { AppServices } from '../services/app-services.js';
import { createAppServices } from '../services/wiring.js';
import { defaultStoragePath } from '../store/paths.js';
import { registerIpc } from './ipc.js';
import {
  allowPermission,
  CONTENT_SECURITY_POLICY,
  quitWhenAllWindowsClosed,
  trayLikelyVisible,
} from './policy.js';
import { SafeStorageSecretStore } from './safe-storage-secrets.js';
import { AppTray } from './tray.js';
import type { TrayAction } from './tray-template.js';
import { createMainWindow } from './window.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/app
const preloadPath = path.join(here, '..', 'preload', 'index.cjs');
const indexHtml = path.join(here, '..', 'renderer', 'index.html');
const iconsDir = app.isPackaged
  ? path.join(process.resourcesPath, 'tray')
  : path.join(app.getAppPath(), 'resources', 'tray');

let mainWindow: BrowserWindow | null = null;
let tray: AppTray | null = null;
let services: AppServices | null = null;
let quitting = false;

function createWindow(): BrowserWindow {
  const win = createMainWindow({
    create: (options) => new BrowserWindow(options),
    openExternal: (url) => void shell.openExternal(url),
    preloadPath,
    indexHtml,
  });
  win.on('closed', () => {
    // Terminal sessions survive the window: they detach and keep a replay buffer.
    void services?.listTerminals().then((terms) => {
      for (const t of terms) void services?.terminalDetach({ id: t.id });
    });
    if (mainWindow === win) mainWindow = null;
  });
  return win;
}

function showWindow(navigate?: MoorEvents['navigate']): void {
  mainWindow ??= createWindow();
  const win = mainWindow;
  if (win.isMinimized()) win.restore();
  if (win.isVisible()) win.focus();
  else win.once('ready-to-show', () => win.focus());
  if (navigate) {
    const send = () => win.webContents.send(EVENT_CHANNEL, 'navigate', navigate);
    if (win.webContents.isLoading()) win.webContents.once('did-finish-load', send);
    else send();
  }
}

function onTrayAction(action: TrayAction): void {
  if (!services) return;
  const report = (p: Promise<unknown>) => p.catch((err: unknown) => console.error(`moor: ${String(err)}`));
  switch (action.kind) {
    case 'use':
      void report(services.setActiveHost({ name: action.name }));
      break;
    case 'start':
    case 'stop':
    case 'restart':
      void report(services[action.kind]({ name: action.name }));
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
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => showWindow());
  await app.whenReady();

  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, permission, callback, details) =>
    callback(allowPermission(permission, details.requestingUrl)),
  );
  session.defaultSession.setPermissionCheckHandler((_wc, permission, requestingOrigin) =>
    allowPermission(permission, requestingOrigin),
  );

  const storagePath = defaultStoragePath(process.env);
  services = await createAppServices({
    version: app.getVersion(),
    storagePath,
    // Used for new secrets only where no OS keychain is usable (Windows); see main/secrets.
    secrets: new SafeStorageSecretStore(safeStorage, storagePath),
  });
  registerIpc({
    ipcMain,
    services,
    windows: () => BrowserWindow.getAllWindows().map((w) => w.webContents),
  });

  const trayVisible = trayLikelyVisible(process.platform, process.env);
  try {
    tray = new AppTray(iconsDir, onTrayAction);
    const s = services;
    const refreshTray = () => tray?.update({ machines: s.machines(), active: s.activeHost, busy: s.isBusy });
    s.subscribe((...[event]) => {
      if (event === 'machineState' || event === 'activeChanged' || event === 'createProgress') refreshTray();
    });
    refreshTray();
  } catch (err) {
    console.error(`moor: no tray (${String(err)}); the window offers every action`);
    tray = null;
  }

  app.on('window-all-closed', () => {
    if (quitting || !tray || quitWhenAllWindowsClosed(process.platform, trayVisible)) app.quit();
  });
  app.on('activate', () => showWindow());
  app.on('before-quit', () => {
    quitting = true;
  });
  app.on('will-quit', () => {
    tray?.destroy();
    void services?.dispose();
  });
  showWindow();
}

void main();
