/**
 * The Details view's Schedule form and Cost card as data (pure, unit-tested): a schedule shown as
 * day toggles and times, the form turned back into what `setSchedule` takes — checked by the very
 * function the CLI's `moor schedule NAME --start …` uses (main/schedule/change.ts) — and the
 * month's cost in words. Prices come from main (ScheduleInfo.cost); nothing is computed here.
 */
import type { HostCost, MachineSummary, ScheduleInfo } from '../../main/api/contract.js';
import { changedSchedule } from '../../main/schedule/change.js';
import { formatMoney } from '../../main/schedule/cost.js';
import { formatWhen } from '../../main/schedule/format.js';
import { DAY_NAMES, formatTimeOfWeek, parseTimeOfWeek, type Weekday } from '../../main/schedule/spec.js';

export const WEEKDAYS: readonly Weekday[] = [1, 2, 3, 4, 5, 6, 7];
export const WEEKDAY_LABELS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const WORK_DAYS: Weekday[] = [1, 2, 3, 4, 5];

/** One time of the week in the form: its days and "HH:MM" ('' = none). */
export interface TimeRow {
  days: Weekday[];
  time: string;
}

export interface ScheduleForm {
  start: TimeRow;
  stop: TimeRow;
  zone: string;
  /** Minutes as typed; '' = off. */
  idleMinutes: string;
  /** Stops (scheduled and idle) hibernate, starts wake: cloud hosts whose driver can. */
  hibernate: boolean;
}

function rowOf(spec: string): TimeRow {
  if (!spec) return { days: [...WORK_DAYS], time: '' };
  const t = parseTimeOfWeek(spec);
  return { days: t.days, time: `${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}` };
}

/** The form for a machine's schedule; a machine without one gets Mon–Fri, no times, the system zone. */
export function formFromSchedule(info: ScheduleInfo | undefined, systemZone: string): ScheduleForm {
  if (!info?.zone) {
    return { start: rowOf(''), stop: rowOf(''), zone: systemZone, idleMinutes: '', hibernate: false };
  }
  return {
    start: rowOf(info.start),
    stop: rowOf(info.stop),
    zone: info.zone,
    idleMinutes: info.idleStopMinutes ? String(info.idleStopMinutes) : '',
    hibernate: info.hibernate,
  };
}

/** "mon-fri 08:30" from the row; '' when it has no time; an error text when it has no days. */
export function rowSpec(row: TimeRow, label: 'Start' | 'Stop'): { spec: string } | { error: string } {
  if (!row.time) return { spec: '' };
  const m = /^(\d{1,2}):(\d{2})$/.exec(row.time);
  if (!m) return { error: `${label}: "${row.time}" is not a time of day (HH:MM)` };
  if (row.days.length === 0) return { error: `${label}: choose at least one day` };
  // Through the shared parser: an hour of 25 is refused with the CLI's own words.
  const days = [...new Set(row.days)].sort((a, b) => a - b);
  return { spec: `${days.map((d) => DAY_NAMES[d - 1]).join(',')} ${row.time}` };
}

export type SetScheduleArgs = {
  name: string;
  start: string;
  stop: string;
  zone: string;
  idleStop: string;
  hibernate: boolean;
};

/**
 * What Save sends, or the error to show beside the form (the same words the CLI prints: the form
 * validates with the CLI's changedSchedule). The specs are canonical ("mon-fri 08:30").
 */
export function scheduleRequest(
  name: string,
  form: ScheduleForm,
): { args: SetScheduleArgs } | { error: string } {
  const start = rowSpec(form.start, 'Start');
  if ('error' in start) return start;
  const stop = rowSpec(form.stop, 'Stop');
  if ('error' in stop) return stop;
  const idle = form.idleMinutes.trim();
  if (idle && !/^\d+$/.test(idle)) return { error: `Idle stop: "${idle}" is not a whole number of minutes` };
  const change = {
    start: start.spec,
    stop: stop.spec,
    zone: form.zone.trim(),
    idleStop: idle && idle !== '0' ? `${idle}m` : '0',
    hibernate: form.hibernate,
  };
  try {
    const schedule = changedSchedule(undefined, change, form.zone.trim());
    return {
      args: {
        name,
        start: schedule.start ? formatTimeOfWeek(schedule.start) : '',
        stop: schedule.stop ? formatTimeOfWeek(schedule.stop) : '',
        zone: schedule.zone,
        idleStop: change.idleStop,
        hibernate: Boolean(schedule.hibernate),
      },
    };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Why this machine cannot have (part of) a schedule: its driver cannot start or stop it. '' when
 * both work. Idle stop needs Stop.
 */
export function scheduleLimits(m: MachineSummary): {
  canStart: boolean;
  canStop: boolean;
  canHibernate: boolean;
  reason: string;
} {
  const canStart = m.capabilities.actions.includes('start');
  const canStop = m.capabilities.actions.includes('stop');
  const canHibernate = m.capabilities.actions.includes('hibernate');
  const driver = m.driver || 'unknown';
  let reason = '';
  if (!canStart && !canStop) {
    reason = `The ${driver} driver cannot start or stop this host, so it cannot have a schedule.`;
  } else if (!canStart) {
    reason = `The ${driver} driver cannot start this host: only a stop time and idle stop are possible.`;
  } else if (!canStop) {
    reason = `The ${driver} driver cannot stop this host: only a start time is possible.`;
  }
  return { canStart, canStop, canHibernate, reason };
}

/** "stop Fri 2026-12-04 19:00 +01:00 (postponed)", or '' when nothing is coming. */
export function nextEventText(info: ScheduleInfo | undefined): string {
  if (!info?.next) return '';
  const postponed = info.postponedUntil === info.next.at ? ' (postponed)' : '';
  return `${info.next.action} ${formatWhen(info.next.at, info.zone)}${postponed}`;
}

/** "start Fri 2026-12-04 08:30 +01:00 failed: …", or ''. */
export function lastRunText(info: ScheduleInfo | undefined): string {
  const r = info?.lastRun;
  if (!r) return '';
  return `${r.action} ${formatWhen(r.ranAt, info.zone)}${r.error ? ` failed: ${r.error}` : ''}`;
}

/** "$0.03/h" for the list's badge (hourly prices below a cent keep three digits: "$0.009/h"). */
export function hourlyBadge(cost: HostCost): string {
  return `${formatMoney(cost.hourly, cost.currency, cost.hourly < 0.01 ? 3 : 2)}/h`;
}

/** The Cost card's lines, in the CLI's words (`moor schedule NAME`). */
export function costFacts(cost: HostCost): Array<{ label: string; value: string }> {
  return [
    {
      label: 'Price',
      value: `${formatMoney(cost.hourly, cost.currency, 5)}/h (${cost.size}, at most ${formatMoney(cost.monthly, cost.currency)} a month)`,
    },
    { label: 'This month so far', value: formatMoney(cost.soFar, cost.currency) },
    {
      label: 'Projected this month',
      value: `${formatMoney(cost.projected, cost.currency)}${cost.note ? ` (${cost.note})` : ''}`,
    },
  ];
}
