/**
 * The tray menu as data: a pure function of (machines, active host, busy) so it is unit-tested
 * without Electron. tray.ts turns each item's `action` into a click handler and rebuilds the menu
 * (Menu.buildFromTemplate + setContextMenu) on every change: Electron menus cannot be edited in place.
 * This file must not import electron.
 */
import {
  type ActiveHost,
  isDefaultContext,
  type MachineSummary,
  type PowerAction,
  type ScheduleInfo,
} from '../api/contract.js';
import { formatMoney } from '../schedule/cost.js';
import { formatWhenShort, isToday } from '../schedule/format.js';

export type TrayAction =
  /** name null = the default Docker context. */
  | { kind: 'use'; name: string | null }
  | { kind: 'start' | 'stop' | 'restart' | 'terminal' | 'show'; name: string }
  /** The machine's coming scheduled stop an hour later. */
  | { kind: 'postpone'; name: string; hours: number }
  /** Skip the machine's start and stop times left today. */
  | { kind: 'pause-today'; name: string }
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

/** A power action or the terminal, as the tray and the window offer them. */
export interface MachineActionState {
  /** The driver can do it at all (otherwise it is not offered). */
  offered: boolean;
  /** It can be done now (state, running operation). */
  enabled: boolean;
}

export type MachineActionName = 'start' | 'stop' | 'restart' | 'kill' | 'terminal';

/**
 * What a machine's actions allow (tray and window alike): offered when its driver declares the
 * capability, enabled when its state and any running operation allow it now.
 */
export function machineActionStates(m: MachineSummary): Record<MachineActionName, MachineActionState> {
  const idle = !m.busy && !TRANSITIONAL.has(m.state);
  const running = m.state === 'Running';
  // A hibernated machine starts by waking (a new server from its snapshot).
  const startable =
    m.state === 'Stopped' ||
    m.state === 'Saved' ||
    m.state === 'Paused' ||
    m.state === 'Error' ||
    m.state === 'Hibernated';
  const caps = m.capabilities;
  const power = (action: PowerAction, now: boolean): MachineActionState => {
    const offered = caps.actions.includes(action);
    return { offered, enabled: offered && idle && now };
  };
  return {
    start: power('start', startable),
    stop: power('stop', running),
    restart: power('restart', running),
    kill: power('kill', m.state !== 'Stopped' && m.state !== 'Hibernated' && m.state !== ''),
    terminal: { offered: caps.ssh, enabled: caps.ssh && idle && running },
  };
}

/** Which actions can be done now (enabled), for callers that only need yes/no. */
export function machineActions(m: MachineSummary): Record<MachineActionName, boolean> {
  const states = machineActionStates(m);
  return {
    start: states.start.enabled,
    stop: states.stop.enabled,
    restart: states.restart.enabled,
    kill: states.kill.enabled,
    terminal: states.terminal.enabled,
  };
}

/** "Running", "Stopped", "Starting…" (busy wins), "Unknown" before the first poll. */
export function stateLabel(m: MachineSummary): string {
  if (m.busy) return `${m.busy[0]!.toUpperCase()}${m.busy.slice(1).replace('-', ' ')}…`;
  if (m.error && !m.state) return 'Error';
  return m.state || 'Unknown';
}

/** One choice of the active-host switcher (tray radio group and the window's sidebar alike). */
export interface ActiveHostChoice {
  /** null = the default context (a machine may itself be named "default"). */
  name: string | null;
  checked: boolean;
  enabled: boolean;
  /** Why it cannot be chosen now ("stopped", "starting…"), '' when it can. */
  note: string;
}

/**
 * `default`, then every machine: the ones that cannot be used now (not running, busy) stay listed,
 * disabled, with the reason, so no host vanishes from the switcher when it stops.
 */
export function activeHostChoices(
  machines: readonly MachineSummary[],
  active: ActiveHost,
): ActiveHostChoice[] {
  return [
    { name: null, checked: isDefaultContext(active), enabled: true, note: '' },
    ...machines.map((m) => {
      const usable = m.state === 'Running' && !m.busy;
      return {
        name: m.name,
        checked: m.name === active.machine,
        enabled: usable,
        note: usable ? '' : stateLabel(m).toLowerCase(),
      };
    }),
  ];
}

/** The hours "Postpone stop" moves a stop by (the stop-soon notice offers the same). */
export const TRAY_POSTPONE_HOURS = 1;

/**
 * A machine's schedule in the tray: the next event as a (disabled) line, "Postpone stop 1 h" when
 * that event is a stop, and the price when the provider gave one. Nothing for an unscheduled,
 * unpriced machine.
 */
export function scheduleItems(
  m: MachineSummary,
  schedule: ScheduleInfo | undefined,
  now: number,
  viewerZone?: string,
): TrayItem[] {
  if (!schedule) return [];
  const items: TrayItem[] = [];
  if (schedule.error) items.push({ label: `Schedule: ${schedule.error}`, enabled: false });
  else if (schedule.zone) {
    const next = schedule.next;
    const when = next ? formatWhenShort(next.at, schedule.zone, now, viewerZone) : '';
    const postponed = next && schedule.postponedUntil === next.at ? ' (postponed)' : '';
    items.push({
      label: next ? `Schedule: ${next.action} ${when}${postponed}` : 'Schedule: nothing coming',
      enabled: false,
    });
    if (next?.action === 'stop' && m.capabilities.actions.includes('stop')) {
      items.push({
        label: `Postpone stop ${TRAY_POSTPONE_HOURS} h`,
        enabled: !m.busy,
        action: { kind: 'postpone', name: m.name, hours: TRAY_POSTPONE_HOURS },
      });
    }
    if (next && isToday(next.at, schedule.zone, now)) {
      items.push({ label: 'Pause schedule today', action: { kind: 'pause-today', name: m.name } });
    }
  }
  const c = schedule.cost;
  if (c) {
    items.push({
      label: `Cost: ${formatMoney(c.hourly, c.currency, 3)}/h · ${formatMoney(c.soFar, c.currency)} this month`,
      enabled: false,
    });
  }
  return items;
}

/**
 * @param machines the host list as shown in the window
 * @param active the active machine (or null) and the current Docker context
 * @param busy true while any operation runs (the header says so)
 * @param schedules each machine's schedule and cost, by name (absent: none known yet)
 * @param now the time the Schedule lines are relative to
 */
export function trayTemplate(
  machines: readonly MachineSummary[],
  active: ActiveHost,
  busy: boolean,
  schedules: Readonly<Record<string, ScheduleInfo>> = {},
  now = 0,
  viewerZone?: string,
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
        label: `${c.name ?? 'default (local engine)'}${c.note ? ` (${c.note})` : ''}`,
        checked: c.checked,
        enabled: c.enabled,
        action: { kind: 'use', name: c.name },
      }),
    ),
    { type: 'separator' },
  ];

  const perMachine: TrayItem[] = machines.map((m) => {
    const can = machineActionStates(m);
    // Only what the driver can do is offered (a generic host has no Stop, a none host no Terminal).
    const power = (['start', 'stop', 'restart'] as const)
      .filter((a) => can[a].offered)
      .map(
        (a): TrayItem => ({
          label: `${a[0]!.toUpperCase()}${a.slice(1)}`,
          enabled: can[a].enabled,
          action: { kind: a, name: m.name },
        }),
      );
    const terminal: TrayItem[] = can.terminal.offered
      ? [
          {
            label: 'Open terminal',
            enabled: can.terminal.enabled,
            action: { kind: 'terminal', name: m.name },
          },
        ]
      : [];
    const actions = [...power, ...terminal];
    const schedule = scheduleItems(m, schedules[m.name], now, viewerZone);
    return {
      type: 'submenu',
      label: `${m.name} (${stateLabel(m)})`,
      submenu: [
        ...actions,
        ...(actions.length ? [{ type: 'separator' } as TrayItem] : []),
        ...schedule,
        ...(schedule.length ? [{ type: 'separator' } as TrayItem] : []),
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
