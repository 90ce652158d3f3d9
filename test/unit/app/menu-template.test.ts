import { describe, expect, it } from 'vitest';
import { appMenuTemplate, type MenuItem } from '../../../main/app/menu-template.js';

const flat = (items: MenuItem[]): MenuItem[] => items.flatMap((i) => [i, ...flat(i.submenu ?? [])]);

describe('application menu', () => {
  for (const platform of ['darwin', 'linux', 'win32'] as const) {
    it(`has About, Settings, Tasks and Quit on ${platform}`, () => {
      const items = flat(appMenuTemplate(platform));
      expect(items.find((i) => i.role === 'about')?.label).toBe('About Moor');
      expect(items.find((i) => i.action === 'settings')).toMatchObject({ accelerator: 'CmdOrCtrl+,' });
      expect(items.some((i) => i.action === 'tasks')).toBe(true);
      expect(items.some((i) => i.role === 'quit')).toBe(true);
      expect(items.some((i) => i.role === 'editMenu')).toBe(true);
    });
  }
  it('puts About in the app menu on macOS and under Help elsewhere', () => {
    expect(appMenuTemplate('darwin')[0]!.submenu![0]!.role).toBe('about');
    expect(appMenuTemplate('linux').at(-1)).toMatchObject({ label: 'Help' });
  });
});
