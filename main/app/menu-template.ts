/**
 * The application menu as data (pure, unit-tested; no electron import): About on every platform
 * (macOS in the app menu, elsewhere under Help), Settings, and the standard Edit/View/Window
 * roles so copy/paste shortcuts and zoom work in text fields.
 */
export type MenuAction = 'settings' | 'tasks';

export interface MenuItem {
  label?: string;
  role?: 'about' | 'quit' | 'editMenu' | 'windowMenu' | 'hide' | 'hideOthers' | 'unhide' | 'toggleDevTools';
  type?: 'separator' | 'submenu';
  accelerator?: string;
  action?: MenuAction;
  submenu?: MenuItem[];
}

const SEPARATOR: MenuItem = { type: 'separator' };

export function appMenuTemplate(platform: NodeJS.Platform, appName = 'Moor'): MenuItem[] {
  const settings: MenuItem = { label: 'Settings…', accelerator: 'CmdOrCtrl+,', action: 'settings' };
  const tasks: MenuItem = { label: 'Tasks', accelerator: 'CmdOrCtrl+Shift+T', action: 'tasks' };
  if (platform === 'darwin') {
    return [
      {
        label: appName,
        submenu: [
          { role: 'about', label: `About ${appName}` },
          SEPARATOR,
          settings,
          SEPARATOR,
          { role: 'hide' },
          { role: 'hideOthers' },
          { role: 'unhide' },
          SEPARATOR,
          { role: 'quit' },
        ],
      },
      { role: 'editMenu' },
      { label: 'View', submenu: [tasks] },
      { role: 'windowMenu' },
    ];
  }
  return [
    { label: 'File', submenu: [settings, SEPARATOR, { role: 'quit' }] },
    { role: 'editMenu' },
    { label: 'View', submenu: [tasks] },
    { label: 'Help', submenu: [{ role: 'about', label: `About ${appName}` }] },
  ];
}
