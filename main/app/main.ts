/**
 * Electron entry: supplies the real Electron parts to the lifecycle (main/app/lifecycle.ts), which
 * owns the start-up order, the window, the tray and quitting. The services (main/services) own all
 * state; this file only connects them to Electron.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  type MenuItemConstructorOptions,
  Notification,
  safeStorage,
  session,
  shell,
} from 'electron';
import { createAppServices } from '../services/wiring.js';
import { defaultStoragePath } from '../store/paths.js';
import { electronFilePicker } from './file-picker.js';
import { registerIpc } from './ipc.js';
import { startApp } from './lifecycle.js';
import { appMenuTemplate, type MenuAction, type MenuItem } from './menu-template.js';
import { SafeStorageSecretStore } from './safe-storage-secrets.js';
import { scheduleJobArgs, scheduleJobCommand } from './schedule-job.js';
import { AppTray } from './tray.js';
import { createMainWindow } from './window.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/app
const preloadPath = path.join(here, '..', 'preload', 'index.cjs');
const indexHtml = path.join(here, '..', 'renderer', 'index.html');
const pageUrl = pathToFileURL(indexHtml).href;
const iconsDir = app.isPackaged
  ? path.join(process.resourcesPath, 'tray')
  : path.join(app.getAppPath(), 'resources', 'tray');

/** The menu template's items as Electron's, each `action` a click handler. */
function toElectronMenu(items: MenuItem[], onAction: (a: MenuAction) => void): MenuItemConstructorOptions[] {
  return items.map(({ action, submenu, ...rest }) => ({
    ...rest,
    ...(submenu ? { submenu: toElectronMenu(submenu, onAction) } : {}),
    ...(action ? { click: () => onAction(action) } : {}),
  }));
}

const jobArgs = scheduleJobArgs(process.argv);
if (jobArgs) {
  const { runCli } = await import('../cli/program.js');
  app.exit(await runCli(jobArgs));
} else {
  void startApp({
    app,
    session: () => session.defaultSession,
    platform: process.platform,
    env: process.env,
    pageUrl,
    createServices: () => {
      const storagePath = defaultStoragePath(process.env);
      return createAppServices({
        version: app.getVersion(),
        storagePath,
        // Used for new secrets only where no OS keychain is usable (Windows); see main/secrets.
        secrets: new SafeStorageSecretStore(safeStorage, storagePath),
        revealPath: (file) => shell.showItemInFolder(file),
        pickFile: electronFilePicker(dialog, () => BrowserWindow.getFocusedWindow()),
        preferencesPath: path.join(app.getPath('userData'), 'preferences.json'),
        // Login items exist on macOS and Windows; Linux desktops differ (autostart files), so none.
        loginItem:
          process.platform === 'linux'
            ? undefined
            : {
                get: () => app.getLoginItemSettings().openAtLogin,
                set: (openAtLogin) => app.setLoginItemSettings({ openAtLogin }),
              },
        versions: Object.fromEntries(
          ['electron', 'chrome', 'node'].map((k) => [k, process.versions[k] ?? '']),
        ),
        // Schedules set here run with the app closed too: the OS job runs this app in its CLI mode.
        schedulerCommand: scheduleJobCommand({
          execPath: process.execPath,
          appImage: process.env.APPIMAGE,
          storagePath,
        }),
      });
    },
    connectIpc: (services) =>
      void registerIpc({
        ipcMain,
        services,
        windows: () => BrowserWindow.getAllWindows().map((w) => w.webContents),
        pageUrl,
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
    setAppMenu: (onAction) => {
      app.setAboutPanelOptions({ applicationName: 'Moor', applicationVersion: app.getVersion() });
      Menu.setApplicationMenu(
        Menu.buildFromTemplate(toElectronMenu(appMenuTemplate(process.platform), onAction)),
      );
    },
    log: (message) => console.error(message),
    notify: (notification, handlers) => {
      if (!Notification.isSupported()) return;
      const shown = new Notification({
        title: notification.title,
        body: notification.body,
        actions: (notification.actions ?? []).map((text) => ({ type: 'button' as const, text })),
      });
      if (handlers) {
        shown.on('action', (_event, index) => handlers.onAction(index));
        shown.on('click', () => handlers.onClick());
      }
      shown.show();
    },
  });
}
