/**
 * The tray menu as data: a pure function of (machines, active host, busy) so it is unit-tested
 * without Electron. tray.ts turns each item's `action` into a click handler and rebuilds the menu
 * (Menu.buildFromTemplate + setContextMenu) on every change: Electron menus cannot be edited in place.
 * This file must not import electron.
 */
import { type ActiveHost, isDefaultContext, type MachineSummary } from '../api/contract.js';

export type TrayAction =
  /** name null = the default Docker context. */
  | { kind: 'use'; name: string | null }
  | { kind: 'start' | 'stop' | 'restart' | 'terminal' | 'show'; name: string }
  | { kind: 'create' | 'open' | 'quit' };

/** The subset of Electron's MenuItemConstructorOptions the tray uses (plus our action). */
export interface TrayItem {
  type?: 'normal' | 'separator' | 'submenu' | 'radio';
  label?: string;
  enabled?: boolean;
  checked?: boolean;
  action?: TrayAction;
  submenu?: TrayItem[];
}

const TRANSITIONAL = new Set(['Starting', 'Stopping']);

/** What a machine's actions allow (tray and window alike), from its state and any running operation. */
export function machineActions(m: MachineSummary): {
  start: boolean;
  stop: boolean;
  restart: boolean;
  terminal: boolean;
} {
  if (m.busy || TRANSITIONAL.has(m.state) || m.driver === 'none') {
    return { start: false, stop: false, restart: false, terminal: false };
  }
  const running = m.state === 'Running';
  const startable =
    m.state === 'Stopped' || m.state === 'Saved' || m.state === 'Paused' || m.state === 'Error';
  return { start: startable, stop: running, restart: running, terminal: running && m.canSsh };
}

/** "Running", "Stopped", "Starting…" (busy wins), "Unknown" before the first poll. */
export function stateLabel(m: MachineSummary): string {
  if (m.busy) return `${m.busy[0]!.toUpperCase()}${m.busy.slice(1)}…`;
  if (m.error && !m.state) return 'Error';
  return m.state || 'Unknown';
}

/** One choice of the active-host switcher (tray radio group and the window's sidebar alike). */
export interface ActiveHostChoice {
  /** null = the default context (a machine may itself be named "default"). */
  name: string | null;
  checked: boolean;
  enabled: boolean;
}

/** `default`, then every running machine; the current one stays listed even if it stopped. */
export function activeHostChoices(
  machines: readonly MachineSummary[],
  active: ActiveHost,
): ActiveHostChoice[] {
  return [
    { name: null, checked: isDefaultContext(active), enabled: true },
    ...machines
      .filter((m) => m.state === 'Running' || m.name === active.machine)
      .map((m) => ({
        name: m.name,
        checked: m.name === active.machine,
        enabled: m.state === 'Running' && !m.busy,
      })),
  ];
}

/**
 * @param machines the host list as shown in the window
 * @param active the active machine (or null) and the current Docker context
 * @param busy true while any operation runs (the header says so)
 */
export function trayTemplate(
  machines: readonly MachineSummary[],
  active: ActiveHost,
  busy: boolean,
): TrayItem[] {
  const onDefault = isDefaultContext(active);
  const activeLabel =
    active.machine ?? (onDefault ? 'default (local engine)' : `another Docker context (${active.context})`);
  const header: TrayItem[] = [
    { label: `Active host: ${activeLabel}${busy ? ' — working…' : ''}`, enabled: false },
    { type: 'separator' },
  ];

  const radio: TrayItem[] = [
    { label: 'Active Docker host', enabled: false },
    ...activeHostChoices(machines, active).map(
      (c): TrayItem => ({
        type: 'radio',
        label: c.name ?? 'default (local engine)',
        checked: c.checked,
        enabled: c.enabled,
        action: { kind: 'use', name: c.name },
      }),
    ),
    { type: 'separator' },
  ];

  const perMachine: TrayItem[] = machines.map((m) => {
    const can = machineActions(m);
    return {
      type: 'submenu',
      label: `${m.name} (${stateLabel(m)})`,
      submenu: [
        { label: 'Start', enabled: can.start, action: { kind: 'start', name: m.name } },
        { label: 'Stop', enabled: can.stop, action: { kind: 'stop', name: m.name } },
        { label: 'Restart', enabled: can.restart, action: { kind: 'restart', name: m.name } },
        { type: 'separator' },
        { label: 'Open terminal', enabled: can.terminal, action: { kind: 'terminal', name: m.name } },
        { label: 'Show in window', action: { kind: 'show', name: m.name } },
      ],
    };
  });

  return [
    ...header,
    ...radio,
    ...(perMachine.length ? [...perMachine, { type: 'separator' } as TrayItem] : []),
    { label: 'Create host…', action: { kind: 'create' } },
    { label: 'Open Moor', action: { kind: 'open' } },
    { type: 'separator' },
    { label: 'Quit Moor', action: { kind: 'quit' } },
  ];
}

export type TrayIconState = 'idle' | 'busy' | 'error';

/** Which icon the tray shows: busy (animated) while anything runs, error when a host failed. */
export function trayIconState(machines: readonly MachineSummary[], busy: boolean): TrayIconState {
  if (busy || machines.some((m) => m.busy)) return 'busy';
  if (machines.some((m) => m.state === 'Error' || (m.error !== '' && m.state !== 'Stopped'))) return 'error';
  return 'idle';
}
