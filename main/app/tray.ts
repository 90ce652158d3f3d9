/**
 * The tray: icon (idle / busy animation / error) and a context menu rebuilt from the pure
 * trayTemplate() on every change (Electron menus cannot be edited in place). Clicks are handled
 * here in main, so they work with the window closed.
 */
import path from 'node:path';
import { Menu, type MenuItemConstructorOptions, nativeImage, nativeTheme, Tray } from 'electron';
import { type ActiveHost, DEFAULT_CONTEXT, type MachineSummary, type ScheduleInfo } from '../api/contract.js';
import { BUSY_FRAME_MS, BUSY_FRAMES, trayIconFile, trayIconVariant } from './policy.js';
import { type TrayAction, type TrayItem, trayIconState, trayTemplate } from './tray-template.js';

export interface TrayState {
  machines: readonly MachineSummary[];
  active: ActiveHost;
  busy: boolean;
  /** Each machine's schedule and cost, by name. */
  schedules?: Readonly<Record<string, ScheduleInfo>>;
  /** When the state was taken (the Schedule lines say "Fri 19:00" relative to it). */
  now?: number;
}

export function toElectronTemplate(
  items: TrayItem[],
  onAction: (a: TrayAction) => void,
): MenuItemConstructorOptions[] {
  return items.map((item) => {
    const { action, submenu, ...rest } = item;
    const out: MenuItemConstructorOptions = { ...rest };
    if (submenu) out.submenu = toElectronTemplate(submenu, onAction);
    if (action) out.click = () => onAction(action);
    return out;
  });
}

export class AppTray {
  private readonly tray: Tray;
  private state: TrayState = {
    machines: [],
    active: { machine: null, context: DEFAULT_CONTEXT },
    busy: false,
  };
  private frame = 0;
  private animation: NodeJS.Timeout | null = null;
  private lastMenuKey = '';
  /** Icons follow the panel's light/dark theme; removed again in destroy(). */
  private readonly onThemeUpdated = () => this.render(true);

  constructor(
    private readonly iconsDir: string,
    private readonly onAction: (action: TrayAction) => void,
  ) {
    this.tray = new Tray(this.icon('idle'));
    this.tray.setToolTip('Moor');
    nativeTheme.on('updated', this.onThemeUpdated);
    this.render(true);
  }

  private icon(state: 'idle' | 'busy' | 'error', frame = 0) {
    const variant = trayIconVariant(
      process.platform,
      nativeTheme.shouldUseDarkColors || process.platform === 'linux',
    );
    const image = nativeImage.createFromPath(path.join(this.iconsDir, trayIconFile(state, variant, frame)));
    if (variant === 'template') image.setTemplateImage(true);
    return image;
  }

  update(state: TrayState): void {
    this.state = state;
    this.render(false);
  }

  private render(force: boolean): void {
    const { machines, active, busy, schedules, now } = this.state;
    const items = trayTemplate(machines, active, busy, schedules, now ?? Date.now());
    const key = JSON.stringify(items);
    if (force || key !== this.lastMenuKey) {
      this.lastMenuKey = key;
      this.tray.setContextMenu(Menu.buildFromTemplate(toElectronTemplate(items, this.onAction)));
    }
    const iconState = trayIconState(machines, busy);
    this.tray.setToolTip(`Moor — active host: ${active.machine ?? active.context}`);
    if (iconState === 'busy') {
      this.animation ??= setInterval(() => {
        this.frame = (this.frame + 1) % BUSY_FRAMES;
        this.tray.setImage(this.icon('busy', this.frame));
      }, BUSY_FRAME_MS);
    } else {
      if (this.animation) clearInterval(this.animation);
      this.animation = null;
      this.tray.setImage(this.icon(iconState));
    }
  }

  destroy(): void {
    if (this.animation) clearInterval(this.animation);
    this.animation = null;
    nativeTheme.off('updated', this.onThemeUpdated);
    this.tray.destroy();
  }
}
