/**
 * A machine's schedule: machines/NAME/moor-schedule.json, a Moor-only file beside config.json.
 * docker-machine reads only config.json (and the certificates and keys it names), so it ignores
 * this file, and its `rm` deletes it with the directory. Written atomically under the machine's
 * lock, so the app and an OS-timer run never lose each other's updates.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { errorMessage, MoorError } from '../base/errors.js';
import { parseJsonText } from '../base/json-text.js';
import { formatTimeOfWeek, parseTimeOfWeek } from '../schedule/spec.js';
import {
  isValidZone,
  type Schedule,
  type ScheduleAction,
  type ScheduleProgress,
} from '../schedule/timeline.js';
import { writeFileAtomic } from './atomic.js';
import { readRegularFile } from './regular-file.js';
import type { Store } from './store.js';

export const SCHEDULE_FILE = 'moor-schedule.json';

/** The outcome of the last action a schedule ran (shown by `moor schedule ls`). */
export interface ScheduleRun {
  action: ScheduleAction;
  /** The event's time (epoch ms). */
  event: number;
  /** When it ran. */
  ranAt: number;
  /** '' when it worked. */
  error: string;
}

/** An action claimed and not yet finished: by which process, so a killed one's claim is redone. */
export interface ScheduleInFlight {
  action: ScheduleAction;
  event: number;
  pid: number;
  hostname: string;
  since: number;
}

export interface MachineSchedule {
  schedule: Schedule;
  progress: ScheduleProgress;
  lastRun?: ScheduleRun;
  inFlight?: ScheduleInFlight;
}

const isoTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
const FileShape = z.object({
  Version: z.literal(1),
  TimeZone: z.string().refine(isValidZone, 'not an IANA time zone'),
  Start: z.string().optional(),
  Stop: z.string().optional(),
  IdleStopMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .optional(),
  Hibernate: z.boolean().optional(),
  IdleSince: isoTime.optional(),
  AppliedAt: isoTime.optional(),
  Postpone: z.object({ Event: isoTime, Until: isoTime }).optional(),
  LastRun: z
    .object({ Action: z.enum(['start', 'stop']), Event: isoTime, RanAt: isoTime, Error: z.string() })
    .optional(),
  InFlight: z
    .object({
      Action: z.enum(['start', 'stop']),
      Event: isoTime,
      Pid: z.number().int().positive(),
      Hostname: z.string(),
      Since: isoTime,
    })
    .optional(),
});

export function scheduleFilePath(store: Store, name: string): string {
  return path.join(store.machineDir(name), SCHEDULE_FILE);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The file's text: times as users write them, instants as ISO 8601 UTC. */
export function scheduleFileText(s: MachineSchedule): string {
  const { schedule, progress, lastRun, inFlight } = s;
  const doc = {
    Version: 1,
    TimeZone: schedule.zone,
    Start: schedule.start && formatTimeOfWeek(schedule.start),
    Stop: schedule.stop && formatTimeOfWeek(schedule.stop),
    IdleStopMinutes: schedule.idleStopMinutes || undefined,
    Hibernate: schedule.hibernate || undefined,
    IdleSince: progress.idleSince === undefined ? undefined : iso(progress.idleSince),
    AppliedAt: progress.appliedAt === undefined ? undefined : iso(progress.appliedAt),
    Postpone: progress.postpone && {
      Event: iso(progress.postpone.event),
      Until: iso(progress.postpone.until),
    },
    LastRun: lastRun && {
      Action: lastRun.action,
      Event: iso(lastRun.event),
      RanAt: iso(lastRun.ranAt),
      Error: lastRun.error,
    },
    InFlight: inFlight && {
      Action: inFlight.action,
      Event: iso(inFlight.event),
      Pid: inFlight.pid,
      Hostname: inFlight.hostname,
      Since: iso(inFlight.since),
    },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Parses the file's text; a bad file is an error naming the file and the field. */
export function parseScheduleFile(text: string, file: string): MachineSchedule {
  const json = parseJsonText(text);
  if (!json.ok) throw new MoorError(`${file}: ${json.problem}`);
  const parsed = FileShape.safeParse(json.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MoorError(`${file}: ${issue.path.join('.') || 'the file'}: ${issue.message}`);
  }
  const d = parsed.data;
  try {
    return {
      schedule: {
        zone: d.TimeZone,
        start: d.Start === undefined ? undefined : parseTimeOfWeek(d.Start),
        stop: d.Stop === undefined ? undefined : parseTimeOfWeek(d.Stop),
        idleStopMinutes: d.IdleStopMinutes,
        ...(d.Hibernate ? { hibernate: true } : {}),
      },
      progress: {
        appliedAt: d.AppliedAt,
        postpone: d.Postpone && { event: d.Postpone.Event, until: d.Postpone.Until },
        idleSince: d.IdleSince,
      },
      lastRun: d.LastRun && {
        action: d.LastRun.Action,
        event: d.LastRun.Event,
        ranAt: d.LastRun.RanAt,
        error: d.LastRun.Error,
      },
      inFlight: d.InFlight && {
        action: d.InFlight.Action,
        event: d.InFlight.Event,
        pid: d.InFlight.Pid,
        hostname: d.InFlight.Hostname,
        since: d.InFlight.Since,
      },
    };
  } catch (err) {
    throw new MoorError(`${file}: ${errorMessage(err)}`);
  }
}

/** The machine's schedule, or undefined when it has none. */
export async function readSchedule(store: Store, name: string): Promise<MachineSchedule | undefined> {
  const file = scheduleFilePath(store, name);
  let text: string;
  try {
    text = await readRegularFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof MoorError) throw err;
    throw new MoorError(`open ${file}: ${errorMessage(err)}`);
  }
  return parseScheduleFile(text, file);
}

/**
 * Read-modify-write under the machine's lock. `change` returns the new schedule, or null to
 * delete the file. Resolves with what was written.
 */
export async function updateSchedule(
  store: Store,
  name: string,
  change: (current: MachineSchedule | undefined) => MachineSchedule | null | Promise<MachineSchedule | null>,
): Promise<MachineSchedule | null> {
  return store.withMachineLock(name, async () => {
    const next = await change(await readSchedule(store, name));
    const file = scheduleFilePath(store, name);
    if (next === null) await fs.rm(file, { force: true });
    else await writeFileAtomic(file, scheduleFileText(next), { mode: 0o600 });
    return next;
  });
}

/** Every machine with a schedule file; a file that does not load is an error row. */
export async function listSchedules(
  store: Store,
): Promise<Array<{ name: string; schedule?: MachineSchedule; error?: string }>> {
  const rows = await Promise.all(
    (await store.names()).map(async (name) => {
      try {
        const schedule = await readSchedule(store, name);
        return schedule ? { name, schedule } : undefined;
      } catch (err) {
        return { name, error: errorMessage(err) };
      }
    }),
  );
  return rows.filter((r) => r !== undefined);
}
