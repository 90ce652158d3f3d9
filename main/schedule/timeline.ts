/**
 * When a schedule fires, in its IANA time zone (luxon does the zone and DST arithmetic), and
 * what is due now given what was already done. Pure: every function takes the time as an
 * argument, so tests (and the app's clock) control it.
 */
import { DateTime, IANAZone } from 'luxon';
import type { TimeOfWeek, Weekday } from './spec.js';

export type ScheduleAction = 'start' | 'stop';
export const SCHEDULE_ACTIONS: readonly ScheduleAction[] = ['start', 'stop'];

export interface Schedule {
  /** IANA zone the times are in, e.g. "Europe/Berlin". */
  zone: string;
  start?: TimeOfWeek;
  stop?: TimeOfWeek;
  /** Stop after this many minutes without containers or connections (0/undefined: off). */
  idleStopMinutes?: number;
  /** Cloud hosts: a stop (scheduled or idle) hibernates the machine; a start wakes it. */
  hibernate?: boolean;
}

/** One firing: `at` is epoch milliseconds. */
export interface ScheduleEvent {
  action: ScheduleAction;
  at: number;
}

/** What has been done about a schedule (kept beside it in the machine's schedule file). */
export interface ScheduleProgress {
  /** The time of the last event acted on (done or failed: a failure is not retried forever). */
  appliedAt?: number;
  /** A stop moved later ("Postpone 1 h"): the stop event of `event` happens at `until` instead. */
  postpone?: { event: number; until: number };
  /** Since when the idle probe has seen the machine idle (cleared when it sees activity). */
  idleSince?: number;
}

export const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/** The system's zone (what a schedule set without --tz uses). */
export function systemZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/**
 * The instant a wall-clock time happens on a local date, as systemd's OnCalendar counts it for a
 * time that happens twice (the fall-back night): the first time. A time skipped by a DST change
 * (02:30 on the spring-forward night in Berlin) happens where the clock would be had it not
 * jumped, 03:30 — systemd skips that day, so the OS timer gets that instant as an extra entry
 * (see shiftedEvents).
 */
function wallClock(day: DateTime, hour: number, minute: number, zone: string): DateTime {
  const at = DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour, minute }, { zone });
  for (const shift of [60, 30]) {
    const earlier = at.minus({ minutes: shift });
    if (earlier.hour === hour && earlier.minute === minute && earlier.day === at.day) return earlier;
  }
  return at;
}

/** Every event with from <= at <= to, in time order. */
export function eventsBetween(schedule: Schedule, from: number, to: number): ScheduleEvent[] {
  const { zone } = schedule;
  const events: ScheduleEvent[] = [];
  const last = DateTime.fromMillis(to, { zone }).plus({ days: 1 });
  for (let day = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 1 }); day <= last; ) {
    for (const action of SCHEDULE_ACTIONS) {
      const time = schedule[action];
      if (!time?.days.includes(day.weekday as Weekday)) continue;
      const at = wallClock(day, time.hour, time.minute, zone).toMillis();
      if (at >= from && at <= to) events.push({ action, at });
    }
    day = day.plus({ days: 1 });
  }
  return events.sort((a, b) => a.at - b.at);
}

/** The latest event at or before `now` (none for a schedule without times). */
export function lastEvent(schedule: Schedule, now: number): ScheduleEvent | undefined {
  return eventsBetween(schedule, now - 8 * DAY_MS, now).at(-1);
}

/** The first event strictly after `now`. */
export function nextEvent(schedule: Schedule, now: number): ScheduleEvent | undefined {
  return eventsBetween(schedule, now + 1, now + 8 * DAY_MS)[0];
}

/** When an event really happens: a postponed stop at its new time. */
export function effectiveTime(event: ScheduleEvent, progress: ScheduleProgress): number {
  const p = progress.postpone;
  return event.action === 'stop' && p && p.event === event.at ? Math.max(event.at, p.until) : event.at;
}

/**
 * What to do now, if anything: the latest event not yet acted on. This is how a missed window
 * converges: a laptop that slept through the 19:00 stop and wakes at 23:00 stops the machine
 * then (the off period still holds); one that wakes the next day at 09:00, after the 08:30
 * start, only starts it. A postponed stop waits for its new time.
 */
export function dueAction(
  schedule: Schedule,
  progress: ScheduleProgress,
  now: number,
): ScheduleEvent | undefined {
  const event = lastEvent(schedule, now);
  if (!event) return undefined;
  if (progress.appliedAt !== undefined && progress.appliedAt >= event.at) return undefined;
  if (effectiveTime(event, progress) > now) return undefined;
  return event;
}

/**
 * The stop that is pending or comes next, with the time it really happens (postpone included);
 * undefined when the schedule has no stop.
 */
export function pendingStop(
  schedule: Schedule,
  progress: ScheduleProgress,
  now: number,
): { event: ScheduleEvent; at: number } | undefined {
  const last = lastEvent(schedule, now);
  // A stop already due (postponed past now, or not yet acted on) comes before any later one.
  if (last?.action === 'stop' && (progress.appliedAt === undefined || progress.appliedAt < last.at)) {
    return { event: last, at: effectiveTime(last, progress) };
  }
  // Events up to appliedAt count as done, also ones still ahead ("Pause schedule today").
  const from = Math.max(now, progress.appliedAt ?? now);
  const next = eventsBetween(schedule, from + 1, from + 8 * DAY_MS).find((e) => e.action === 'stop');
  return next && { event: next, at: effectiveTime(next, progress) };
}

/** "Postpone 1 h": the pending stop happens `byMs` later than it would now (repeatable). */
export function postponeStop(
  schedule: Schedule,
  progress: ScheduleProgress,
  now: number,
  byMs = HOUR_MS,
): ScheduleProgress {
  const stop = pendingStop(schedule, progress, now);
  if (!stop) throw new Error('the schedule has no stop time to postpone');
  // Postponing a stop that is already due counts from now: "one more hour".
  const until = Math.max(stop.at, now) + byMs;
  return { ...progress, postpone: { event: stop.event.at, until } };
}

/**
 * "Pause schedule today": every event left today (in the schedule's zone) counts as done; the
 * schedule resumes with the first event of tomorrow. A postponed stop of today goes with them.
 */
export function pauseToday(schedule: Schedule, progress: ScheduleProgress, now: number): ScheduleProgress {
  const endOfDay = DateTime.fromMillis(now, { zone: schedule.zone }).endOf('day').toMillis();
  const postpone = progress.postpone && progress.postpone.event > endOfDay ? progress.postpone : undefined;
  return { ...progress, appliedAt: Math.max(progress.appliedAt ?? endOfDay, endOfDay), postpone };
}

/** When something is next to be done (the next event, or a postponed stop), for timers. */
export function nextWakeUp(schedule: Schedule, progress: ScheduleProgress, now: number): number | undefined {
  const times: number[] = [];
  const next = nextEvent(schedule, Math.max(now, progress.appliedAt ?? now));
  if (next) times.push(effectiveTime(next, progress));
  const p = progress.postpone;
  if (p && p.until > now) times.push(p.until);
  return times.length ? Math.min(...times) : undefined;
}

/**
 * Milliseconds in [from, to) the schedule keeps a machine running, given whether it runs at
 * `from` (the cost projection of a host billed only while it runs).
 */
export function scheduledRunningMs(
  schedule: Schedule,
  from: number,
  to: number,
  runningAtFrom: boolean,
): number {
  let running = runningAtFrom;
  let since = from;
  let total = 0;
  for (const e of eventsBetween(schedule, from, to)) {
    if (running) total += e.at - since;
    running = e.action === 'start';
    since = e.at;
  }
  if (running) total += to - since;
  return total;
}

/** Whether a start and a stop fall on the same minute of the same day (which would win?). */
export function clashingDays(schedule: Schedule): Weekday[] {
  const { start, stop } = schedule;
  if (!start || !stop || start.hour !== stop.hour || start.minute !== stop.minute) return [];
  return start.days.filter((d) => stop.days.includes(d));
}

/**
 * Events in [from, to] that do not happen at their wall-clock time (a DST gap moved them):
 * systemd skips those, so its timer lists them as absolute instants. Only the days around an
 * offset change are looked at (every day of a year, one by one, took half a second).
 */
export function shiftedEvents(schedule: Schedule, from: number, to: number): ScheduleEvent[] {
  const zone = IANAZone.create(schedule.zone);
  const shifted: ScheduleEvent[] = [];
  const week = 7 * DAY_MS;
  // Offsets change a few times a year: compare week by week, then the days of a week that changed.
  const offsetAt = (t: number) => zone.offset(Math.min(t, to));
  let before = offsetAt(from);
  for (let w = from; w < to; w += week) {
    const after = offsetAt(w + week);
    if (after === before) continue;
    let dayBefore = before;
    for (let t = w; t < Math.min(w + week, to); t += DAY_MS) {
      const dayAfter = offsetAt(t + DAY_MS);
      if (dayAfter !== dayBefore) {
        for (const e of eventsBetween(schedule, Math.max(from, t - DAY_MS), Math.min(to, t + 2 * DAY_MS))) {
          const time = schedule[e.action]!;
          const local = DateTime.fromMillis(e.at, { zone: schedule.zone });
          const moved = local.hour !== time.hour || local.minute !== time.minute;
          if (moved && !shifted.some((x) => x.at === e.at && x.action === e.action)) shifted.push(e);
        }
      }
      dayBefore = dayAfter;
    }
    before = after;
  }
  return shifted;
}
