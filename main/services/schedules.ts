/**
 * The app runs machine schedules while it is open (the OS timer does while it is closed; both
 * claim each event under the machine's lock, so it happens once), and says a few minutes before
 * a scheduled stop that it comes, with "Postpone 1 h". The clock is injected: tests drive it.
 */
import type { MoorEvents, ScheduleInfo } from '../api/contract.js';
import { errorMessage } from '../base/errors.js';
import * as core from '../core/schedule.js';
import { HOUR_MS, pendingStop, systemZone } from '../schedule/timeline.js';
import { listSchedules } from '../store/schedule-file.js';
import type { Store } from '../store/store.js';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

type Emit = <E extends keyof MoorEvents>(event: E, payload: MoorEvents[E]) => void;

export interface ScheduleServiceOptions {
  store: Store;
  clock: Clock;
  emit: Emit;
  /** Starts or stops a machine for its schedule (the app's own action path: busy flags, refresh). */
  runAction: core.ScheduledActionRunner;
  /** Idle stop: the activity probe and the running check (default: over SSH, from the driver). */
  probe?: core.ActivityProbe;
  isRunning?: (name: string) => Promise<boolean>;
  /** Brings the OS scheduler's job in line after a change (default: nothing). */
  syncOsScheduler?: (now: number) => Promise<void>;
  /** How long before a scheduled stop the notice comes (default 5 min). */
  noticeMs?: number;
  /** Cost lookups ask the provider (default true; tests of schedules alone turn it off). */
  withCost?: boolean;
  env?: NodeJS.ProcessEnv;
  /** A failure in the background loop (logged by the app). */
  onError?: (err: unknown) => void;
}

export const DEFAULT_NOTICE_MS = 5 * 60_000;
/** The app looks for idle machines this often. */
const IDLE_CHECK_MS = 60_000;
/** The loop looks again at least this often (the OS timer or another process may have changed files). */
const MAX_SLEEP_MS = 60_000;

export function toScheduleInfo(row: core.ScheduleOverview): ScheduleInfo {
  return {
    name: row.name,
    zone: row.zone,
    start: row.start,
    stop: row.stop,
    next: row.next ?? null,
    postponedUntil: row.postponedUntil ?? null,
    lastRun: row.lastRun ?? null,
    idleStopMinutes: row.idleStopMinutes ?? null,
    hibernate: row.hibernate ?? false,
    idleSince: row.idleSince ?? null,
    cost: row.cost
      ? {
          currency: row.cost.currency,
          size: row.cost.size,
          hourly: row.cost.hourly,
          monthly: row.cost.monthly,
          soFar: row.cost.soFar,
          projected: row.cost.projected,
          note: row.cost.note ?? '',
        }
      : null,
    costError: row.costError ?? '',
    error: row.error ?? '',
  };
}

export class ScheduleService {
  private timer: unknown = null;
  private lastIdleCheck: number | undefined;
  private running: Promise<void> | null = null;
  private stopped = true;
  /** Stops already announced, by "name at": one notice per stop (a postponed one gets a new one). */
  private readonly announced = new Set<string>();
  /**
   * Each machine's schedule as the last tick saw it: a change made elsewhere (`moor schedule` in
   * a terminal, the OS job's run) is pushed as scheduleChanged at the next tick.
   */
  private seen: Map<string, string> | null = null;

  constructor(private readonly options: ScheduleServiceOptions) {}

  private get now(): number {
    return this.options.clock.now();
  }

  /** Starts the loop: a tick now, then at each next event, notice or at least every minute. */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.options.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Settles when the current tick (if any) is done. */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /**
   * Runs what is due and announces stops that come within the notice time; re-arms the timer.
   * Calls queue up (each sees the clock as it is when it runs); none overlaps another.
   */
  tick(): Promise<void> {
    const run = (this.running ?? Promise.resolve()).then(() => this.runTick());
    this.running = run;
    void run.finally(() => {
      if (this.running === run) this.running = null;
    });
    return run;
  }

  private async runTick(): Promise<void> {
    const noticeMs = this.options.noticeMs ?? DEFAULT_NOTICE_MS;
    let wake = this.now + MAX_SLEEP_MS;
    try {
      const now = this.now;
      const results = await core.runDueSchedules(this.options.store, now, this.options.runAction);
      if ((this.lastIdleCheck ?? -Infinity) + IDLE_CHECK_MS <= now) {
        this.lastIdleCheck = now;
        const { sshActivityProbe, driverIsRunning } = await import('../core/idle-probe.js');
        const { store, env } = this.options;
        results.push(
          ...(await core.runIdleStops(
            store,
            now,
            this.options.probe ?? sshActivityProbe(store, { env }),
            this.options.isRunning ?? driverIsRunning(store, { env }),
            this.options.runAction,
          )),
        );
      }
      for (const r of results) {
        this.options.emit('scheduleRan', { name: r.name, action: r.action, event: r.event, error: r.error });
        await this.pushSchedule(r.name);
      }
      const listed = await listSchedules(this.options.store);
      await this.pushOutsideChanges(listed, now);
      for (const { name, schedule } of listed) {
        if (!schedule) continue;
        const stop = pendingStop(schedule.schedule, schedule.progress, now);
        if (stop && stop.at > now) {
          const key = `${name} ${stop.at}`;
          if (stop.at - now <= noticeMs) {
            if (!this.announced.has(key)) {
              this.announced.add(key);
              this.options.emit('scheduleStopSoon', { name, at: stop.at, postponeHours: 1 });
            }
          } else {
            wake = Math.min(wake, stop.at - noticeMs);
          }
          wake = Math.min(wake, stop.at);
        }
        const next = core.overviewOf(name, schedule, now).next;
        if (next && next.at > now) wake = Math.min(wake, next.at);
      }
    } catch (err) {
      this.options.onError?.(err);
    }
    if (!this.stopped) {
      if (this.timer !== null) this.options.clock.clearTimeout(this.timer);
      this.timer = this.options.clock.setTimeout(() => void this.tick(), Math.max(0, wake - this.now));
    }
  }

  private async pushOutsideChanges(
    listed: Awaited<ReturnType<typeof listSchedules>>,
    now: number,
  ): Promise<void> {
    const keys = new Map(
      listed.map(({ name, schedule, error }) => [
        name,
        error ? `error ${error}` : JSON.stringify(core.overviewOf(name, schedule, now)),
      ]),
    );
    const before = this.seen;
    this.seen = keys;
    if (!before) return;
    const names = new Set([...before.keys(), ...keys.keys()]);
    for (const name of names) {
      if (before.get(name) === keys.get(name)) continue;
      // A machine removed meanwhile has nothing left to show.
      await this.pushSchedule(name).catch(() => undefined);
    }
  }

  private async info(name: string): Promise<ScheduleInfo> {
    return toScheduleInfo(
      await core.scheduleDetails(this.options.store, name, this.now, {
        env: this.options.env,
        withCost: this.options.withCost,
      }),
    );
  }

  private async pushSchedule(name: string): Promise<ScheduleInfo> {
    const schedule = await this.info(name);
    this.options.emit('scheduleChanged', { schedule });
    return schedule;
  }

  private async changed(name: string): Promise<ScheduleInfo> {
    await this.options.syncOsScheduler?.(this.now).catch((err: unknown) => this.options.onError?.(err));
    const info = await this.pushSchedule(name);
    void this.tick(); // a new time may be sooner than the armed timer
    return info;
  }

  async list(): Promise<ScheduleInfo[]> {
    const rows = await core.scheduleOverview(this.options.store, this.now, {
      env: this.options.env,
      withCost: this.options.withCost,
    });
    return rows.map(toScheduleInfo);
  }

  get(name: string): Promise<ScheduleInfo> {
    return this.info(name);
  }

  async set(args: {
    name: string;
    start?: string;
    stop?: string;
    zone?: string;
    idleStop?: string;
    hibernate?: boolean;
  }): Promise<ScheduleInfo> {
    await core.setSchedule(
      this.options.store,
      args.name,
      {
        start: args.start,
        stop: args.stop,
        zone: args.zone,
        idleStop: args.idleStop,
        hibernate: args.hibernate,
      },
      { now: this.now, defaultZone: systemZone() },
    );
    return this.changed(args.name);
  }

  async clear(name: string): Promise<void> {
    await core.clearSchedule(this.options.store, name);
    await this.changed(name);
  }

  async pauseToday(name: string): Promise<{ until: number }> {
    const { until } = await core.pauseScheduleToday(this.options.store, name, { now: this.now });
    await this.changed(name);
    return { until };
  }

  async postpone(name: string, hours = 1): Promise<{ until: number }> {
    const until = await core.postponeScheduledStop(this.options.store, name, {
      now: this.now,
      byMs: hours * HOUR_MS,
    });
    await this.changed(name);
    return { until };
  }
}

/** For logs: a failure of the loop, one line. */
export function scheduleLoopError(err: unknown): string {
  return `Schedules: ${errorMessage(err)}`;
}
