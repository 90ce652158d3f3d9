/**
 * Electron entry: supplies the real Electron parts to the lifecycle (main/app/lifecycle.ts), which
 * owns the start-up order, the window, the tray and quitting. The services (main/services) own all
 * state; this file only connects them to Electron.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, safeStorage, session, shell } from 'electron';
import { createAppServices } from '../services/wiring.js';
import { defaultStoragePath } from '../store/paths.js';
import { registerIpc } from './ipc.js';
import { startApp } from './lifecycle.js';
import { SafeStorageSecretStore } from './safe-storage-secrets.js';
import { AppTray } from './tray.js';
import { createMainWindow } from './window.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/app
const preloadPath = path.join(here, '..', 'preload', 'index.cjs');
const indexHtml = path.join(here, '..', 'renderer', 'index.html');
const iconsDir = app.isPackaged
  ? path.join(process.resourcesPath, 'tray')
  : path.join(app.getAppPath(), 'resources', 'tray');

void startApp({
  app,
  session: () => session.defaultSession,
  platform: process.platform,
  env: process.env,
  createServices: () => {
    const storagePath = defaultStoragePath(process.env);
    return createAppServices({
      version: app.getVersion(),
      storagePath,
      // Used for new secrets only where no OS keychain is usable (Windows); see main/secrets.
      secrets: new SafeStorageSecretStore(safeStorage, storagePath),
    });
  },
  connectIpc: (services) =>
    void registerIpc({
      ipcMain,
      services,
      windows: () => BrowserWindow.getAllWindows().map((w) => w.webContents),
      pageUrl: pathToFileURL(indexHtml).href,
    }),
  createWindow: () =>
    createMainWindow({
      create: (options) => new BrowserWindow(options),
      openExternal: (url) => void shell.openExternal(url),
      preloadPath,
      indexHtml,
    }),
  createTray: (onAction) => new AppTray(iconsDir, onAction),
  showErrorBox: (title, content) => dialog.showErrorBox(title, content),
  log: (message) => console.error(message),
});
