/**
 * Machine schedules: setting them, running what is due (the OS timer's `moor schedule run`, and
 * the app while it is open), postponing a stop, and the overview `moor schedule ls` and the app
 * show (next event, cost).
 */
import os from 'node:os';
import { errorMessage, MachineNotFoundError, MoorError } from '../base/errors.js';
import type { ProgressReporter } from '../base/progress.js';
import type { MachineState } from '../base/state.js';
import { changedSchedule, type ScheduleChange } from '../schedule/change.js';
import { type HostPrice, type MonthCost, monthCost } from '../schedule/cost.js';
import { type Activity, idleDecision } from '../schedule/idle.js';
import { formatTimeOfWeek } from '../schedule/spec.js';
import {
  dueAction,
  lastEvent,
  nextWakeUp,
  pauseToday,
  pendingStop,
  postponeStop,
  type ScheduleAction,
  type ScheduleEvent,
  nextEvent as upcomingEvent,
} from '../schedule/timeline.js';
import {
  listSchedules,
  type MachineSchedule,
  readSchedule,
  type ScheduleInFlight,
  updateSchedule,
} from '../store/schedule-file.js';
import type { Store } from '../store/store.js';

export { changedSchedule, type ScheduleChange } from '../schedule/change.js';

/**
 * Sets (or changes) a machine's schedule. Events before `now` count as done: a schedule set at
 * 23:00 does not stop the machine the user is working on; its next event does.
 */
export async function setSchedule(
  store: Store,
  name: string,
  change: ScheduleChange,
  options: { now: number; defaultZone: string },
): Promise<MachineSchedule> {
  const host = await store.load(name); // the machine must exist (and load): the not-found error otherwise
  const { loadDriver } = await import('../drivers/registry.js');
  const { capabilities } = await loadDriver(host.DriverName);
  const written = await updateSchedule(store, name, (current) => {
    const schedule = changedSchedule(current?.schedule, change, options.defaultZone);
    const missing: string[] = (['start', 'stop'] as const).filter(
      (a) => schedule[a] && !capabilities.actions.includes(a),
    );
    if (schedule.hibernate && !capabilities.actions.includes('hibernate')) missing.push('hibernate');
    if (missing.length > 0) {
      throw new MoorError(
        `Machine "${name}" uses the ${host.DriverName} driver, which cannot ${missing.join(' or ')} it: its schedule cannot either.`,
      );
    }
    return { schedule, progress: { appliedAt: options.now }, lastRun: current?.lastRun };
  });
  return written!;
}

export async function clearSchedule(store: Store, name: string): Promise<boolean> {
  await store.load(name);
  let had = false;
  await updateSchedule(store, name, (current) => {
    had = current !== undefined;
    return null;
  });
  return had;
}

/** "Postpone 1 h": the machine's pending stop happens an hour later. Resolves with the new stop time. */
export async function postponeScheduledStop(
  store: Store,
  name: string,
  options: { now: number; byMs?: number },
): Promise<number> {
  let until = 0;
  await updateSchedule(store, name, (current) => {
    if (!current) throw new MoorError(`Machine "${name}" has no schedule.`);
    let progress: MachineSchedule['progress'];
    try {
      progress = postponeStop(current.schedule, current.progress, options.now, options.byMs);
    } catch (err) {
      throw new MoorError(`Machine "${name}": ${errorMessage(err)}`);
    }
    until = progress.postpone!.until;
    return { ...current, progress };
  });
  return until;
}

/**
 * "Pause schedule today": the machine's events left today are skipped. Resolves with when it
 * resumes (the last millisecond of today, in the schedule's zone) and that zone.
 */
export async function pauseScheduleToday(
  store: Store,
  name: string,
  options: { now: number },
): Promise<{ until: number; zone: string }> {
  let result = { until: 0, zone: '' };
  await updateSchedule(store, name, (current) => {
    if (!current) throw new MoorError(`Machine "${name}" has no schedule.`);
    const progress = pauseToday(current.schedule, current.progress, options.now);
    result = { until: progress.appliedAt!, zone: current.schedule.zone };
    return { ...current, progress };
  });
  return result;
}

/**
 * Does one scheduled action on one machine: start or stop, unless it already is so. With
 * `hibernate` (the schedule's --hibernate) a stop hibernates the machine; a start wakes it.
 */
export type ScheduledActionRunner = (
  name: string,
  action: ScheduleAction,
  options?: { hibernate?: boolean },
) => Promise<void>;

/** The machine action a scheduled (or idle) start/stop runs. */
export function scheduledMachineAction(
  action: ScheduleAction,
  options: { hibernate?: boolean } = {},
): 'start' | 'stop' | 'hibernate' {
  return action === 'stop' && options.hibernate ? 'hibernate' : action;
}

export interface ScheduleRunResult {
  name: string;
  action: ScheduleAction;
  event: number;
  error: string;
}

/** Whether the process that claimed an action still runs (on this computer; another's counts as alive). */
export function claimHolderAlive(inFlight: ScheduleInFlight): boolean {
  if (inFlight.hostname !== os.hostname()) return true;
  try {
    process.kill(inFlight.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * Does what is due on every scheduled machine at `now`. An event is claimed (recorded as applied,
 * with this process as its runner) under the machine's lock before its action runs, so two
 * runners at once (the app and the OS timer) never both act on it. A runner killed mid-action
 * (kill -9, power loss) leaves its claim: the next run redoes that action while its event is
 * still the latest. A failure is recorded, shown by `schedule ls`, and not retried (the next
 * event gets its turn). Machines are done in parallel.
 */
export async function runDueSchedules(
  store: Store,
  now: number,
  runAction: ScheduledActionRunner,
  options: { names?: readonly string[]; holderAlive?: (inFlight: ScheduleInFlight) => boolean } = {},
): Promise<ScheduleRunResult[]> {
  const holderAlive = options.holderAlive ?? claimHolderAlive;
  const rows = (await listSchedules(store)).filter((r) => !options.names || options.names.includes(r.name));
  const results = await Promise.all(
    rows.map(async ({ name, schedule }): Promise<ScheduleRunResult | undefined> => {
      if (!schedule) return undefined; // a broken file: listed as an error by `schedule ls`
      let claimed: ScheduleEvent | undefined;
      await updateSchedule(store, name, (current) => {
        if (!current) return null;
        const orphan = current.inFlight && !holderAlive(current.inFlight) ? current.inFlight : undefined;
        claimed = dueAction(current.schedule, current.progress, now);
        if (!claimed && orphan && lastEvent(current.schedule, now)?.at === orphan.event) {
          claimed = { action: orphan.action, at: orphan.event };
        }
        if (!claimed) return orphan ? { ...current, inFlight: undefined } : current;
        const postpone =
          current.progress.postpone?.event === claimed.at ? undefined : current.progress.postpone;
        return {
          ...current,
          progress: { appliedAt: claimed.at, postpone },
          inFlight: {
            action: claimed.action,
            event: claimed.at,
            pid: process.pid,
            hostname: os.hostname(),
            since: now,
          },
        };
      }).catch(() => undefined); // removed meanwhile: nothing to do
      if (!claimed) return undefined;
      const event = claimed;
      let error = '';
      try {
        await runAction(name, event.action, { hibernate: schedule.schedule.hibernate });
      } catch (err) {
        error = errorMessage(err).replace(/\n/g, ' ');
      }
      await updateSchedule(store, name, (current) => {
        if (!current) return null;
        const mine = current.inFlight?.pid === process.pid && current.inFlight.event === event.at;
        return {
          ...current,
          inFlight: mine ? undefined : current.inFlight,
          lastRun: { action: event.action, event: event.at, ranAt: now, error },
        };
      }).catch(() => undefined);
      return { name, action: event.action, event: event.at, error };
    }),
  );
  return results.filter((r) => r !== undefined);
}

/** Looks at a running machine's activity (core/idle-probe.ts over SSH; tests pass their own). */
export type ActivityProbe = (name: string) => Promise<Activity>;

/**
 * Idle stop on every machine that has it: a running machine the probe finds without containers
 * and connections for its idle minutes is stopped. The idle clock starts at the first idle probe
 * and restarts at any activity; a machine not running, or whose probe fails, is left alone (never
 * stop what cannot be seen). `isRunning` asks the driver.
 */
export async function runIdleStops(
  store: Store,
  now: number,
  probe: ActivityProbe,
  isRunning: (name: string) => Promise<boolean>,
  runAction: ScheduledActionRunner,
  options: { names?: readonly string[] } = {},
): Promise<ScheduleRunResult[]> {
  const rows = (await listSchedules(store)).filter(
    (r) => r.schedule?.schedule.idleStopMinutes && (!options.names || options.names.includes(r.name)),
  );
  const results = await Promise.all(
    rows.map(async ({ name, schedule }): Promise<ScheduleRunResult | undefined> => {
      const minutes = schedule!.schedule.idleStopMinutes!;
      let activity: Activity | undefined;
      try {
        if (await isRunning(name)) activity = await probe(name);
      } catch {
        activity = undefined; // unreachable or unreadable: not idle as far as we know
      }
      let stop = false;
      await updateSchedule(store, name, (current) => {
        if (!current) return null;
        const decision = activity
          ? idleDecision(minutes, current.progress.idleSince, activity, now)
          : { idleSince: undefined, stop: false };
        stop = decision.stop;
        const progress = { ...current.progress, idleSince: stop ? undefined : decision.idleSince };
        return { ...current, progress };
      }).catch(() => undefined);
      if (!stop) return undefined;
      let error = '';
      try {
        await runAction(name, 'stop', { hibernate: schedule!.schedule.hibernate });
      } catch (err) {
        error = errorMessage(err).replace(/\n/g, ' ');
      }
      await updateSchedule(store, name, (current) =>
        current ? { ...current, lastRun: { action: 'stop', event: now, ranAt: now, error } } : null,
      ).catch(() => undefined);
      return { name, action: 'stop', event: now, error };
    }),
  );
  return results.filter((r) => r !== undefined);
}

/**
 * The default runner: the machine's driver starts or stops it (docker-machine's semantics and
 * waits); a machine already in the wanted state is left alone.
 */
export function driverActionRunner(
  store: Store,
  options: { env?: NodeJS.ProcessEnv; progress?: (name: string) => ProgressReporter } = {},
): ScheduledActionRunner {
  return async (name, scheduled, how) => {
    const { runMachineAction } = await import('./actions.js');
    const { driverFor } = await import('./driver-context.js');
    const host = await store.load(name);
    const { driver } = await driverFor(store, host, { env: options.env });
    const action = scheduledMachineAction(scheduled, how);
    const wanted: MachineState =
      action === 'start' ? 'Running' : action === 'hibernate' ? 'Hibernated' : 'Stopped';
    const now = await driver.state().catch(() => 'Error');
    // A hibernated machine is not started by a stop's `Stopped` check, nor stopped again.
    if (now === wanted || (action === 'stop' && now === 'Hibernated')) return;
    await runMachineAction(name, action, { store, env: options.env, progress: options.progress?.(name) });
  };
}

/** One machine's row in `moor schedule ls` and the app's details. */
export interface ScheduleOverview {
  name: string;
  /** Empty when the machine has no schedule. */
  zone: string;
  start: string;
  stop: string;
  next?: { action: ScheduleAction; at: number };
  /** The pending stop's new time when it was postponed. */
  postponedUntil?: number;
  lastRun?: MachineSchedule['lastRun'];
  idleStopMinutes?: number;
  idleSince?: number;
  /** A stop hibernates, a start wakes (`--hibernate`). */
  hibernate?: boolean;
  cost?: MonthCost & { size: string; monthly: number };
  costError?: string;
  /** The schedule file (or config.json) does not load. */
  error?: string;
}

export function overviewOf(name: string, s: MachineSchedule | undefined, now: number): ScheduleOverview {
  if (!s) return { name, zone: '', start: '', stop: '' };
  // Events up to appliedAt count as done, also ones still ahead today ("Pause schedule today").
  const next = upcomingEvent(s.schedule, Math.max(now, s.progress.appliedAt ?? now));
  const stop = pendingStop(s.schedule, s.progress, now);
  const wake = nextWakeUp(s.schedule, s.progress, now);
  const postponed = stop && stop.at !== stop.event.at ? stop.at : undefined;
  return {
    name,
    zone: s.schedule.zone,
    start: s.schedule.start ? formatTimeOfWeek(s.schedule.start) : '',
    stop: s.schedule.stop ? formatTimeOfWeek(s.schedule.stop) : '',
    // A postponed stop that comes before the next event is what happens next.
    next:
      postponed !== undefined && wake === postponed
        ? { action: 'stop', at: postponed }
        : next && { action: next.action, at: next.at },
    postponedUntil: postponed,
    lastRun: s.lastRun,
    idleStopMinutes: s.schedule.idleStopMinutes,
    idleSince: s.progress.idleSince,
    ...(s.schedule.hibernate ? { hibernate: true } : {}),
  };
}

/** Looks up a machine's price through its driver; undefined for drivers without prices. */
export async function machinePrice(
  store: Store,
  name: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<HostPrice | undefined> {
  const { driverFor } = await import('./driver-context.js');
  const host = await store.load(name);
  const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const { driver } = await driverFor(store, host, { env: options.env, signal });
  if (!driver.price) return undefined;
  return driver.price();
}

export interface OverviewOptions {
  env?: NodeJS.ProcessEnv;
  /** Ask cloud providers for prices (default true). */
  withCost?: boolean;
}

/** One machine's schedule, next event and (for cloud hosts) the month's cost. */
export async function scheduleDetails(
  store: Store,
  name: string,
  now: number,
  options: OverviewOptions = {},
): Promise<ScheduleOverview> {
  if (!(await store.exists(name))) throw new MachineNotFoundError(name);
  const schedule = await readSchedule(store, name);
  const row = overviewOf(name, schedule, now);
  if (options.withCost === false) return row;
  try {
    const price = await machinePrice(store, name, { env: options.env });
    if (price) {
      row.cost = {
        ...monthCost(price, now, { schedule: schedule?.schedule }),
        size: price.size,
        monthly: price.monthly,
      };
    }
  } catch (err) {
    row.costError = errorMessage(err).replace(/\n/g, ' ');
  }
  return row;
}

/** Every machine of the store (scheduled or not: cloud hosts show their cost), in `ls` order. */
export async function scheduleOverview(
  store: Store,
  now: number,
  options: OverviewOptions = {},
): Promise<ScheduleOverview[]> {
  return Promise.all(
    (await store.names()).map(async (name): Promise<ScheduleOverview> => {
      try {
        return await scheduleDetails(store, name, now, options);
      } catch (err) {
        return { name, zone: '', start: '', stop: '', error: errorMessage(err).replace(/\n/g, ' ') };
      }
    }),
  );
}
