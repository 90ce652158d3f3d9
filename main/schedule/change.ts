/**
 * A schedule change checked and applied (pure: no I/O, no Node modules): the one validation the
 * CLI (`moor schedule NAME --start …`), main's setSchedule and the app's Schedule form all use.
 */
import { errorMessage, MoorError } from '../base/errors.js';
import { parseIdleMinutes } from './idle.js';
import { formatTimeOfWeek, parseTimeOfWeek, ScheduleSpecError } from './spec.js';
import { clashingDays, isValidZone, type Schedule } from './timeline.js';

export interface ScheduleChange {
  /** "mon-fri 08:30"; '' removes the start time; undefined keeps it. */
  start?: string;
  stop?: string;
  /** IANA zone; undefined keeps the current one (or the system's for a new schedule). */
  zone?: string;
  /** "30m", "2h"; "0" or '' turns idle stop off; undefined keeps it. */
  idleStop?: string;
  /** A stop hibernates, a start wakes (cloud hosts); undefined keeps it. */
  hibernate?: boolean;
}

export function parseSpec(spec: string, flag: string): ReturnType<typeof parseTimeOfWeek> {
  try {
    return parseTimeOfWeek(spec);
  } catch (err) {
    if (err instanceof ScheduleSpecError) throw new MoorError(`${flag}: ${err.message}`);
    throw err;
  }
}

/** The schedule after a change, validated (pure). */
export function changedSchedule(
  current: Schedule | undefined,
  change: ScheduleChange,
  defaultZone: string,
): Schedule {
  const zone = change.zone ?? current?.zone ?? defaultZone;
  if (!isValidZone(zone)) {
    throw new MoorError(
      `--tz: "${zone}" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`,
    );
  }
  const pick = (key: 'start' | 'stop') => {
    const value = change[key];
    if (value === undefined) return current?.[key];
    return value === '' ? undefined : parseSpec(value, `--${key}`);
  };
  let idleStopMinutes = current?.idleStopMinutes;
  if (change.idleStop !== undefined) {
    try {
      idleStopMinutes = parseIdleMinutes(change.idleStop) || undefined;
    } catch (err) {
      throw new MoorError(`--idle-stop: ${errorMessage(err)}`);
    }
  }
  const hibernate = change.hibernate ?? current?.hibernate;
  const next: Schedule = {
    zone,
    start: pick('start'),
    stop: pick('stop'),
    idleStopMinutes,
    ...(hibernate ? { hibernate: true } : {}),
  };
  if (!next.start && !next.stop && !next.idleStopMinutes) {
    throw new MoorError('A schedule needs --start, --stop or --idle-stop (or use --clear).');
  }
  const clash = clashingDays(next);
  if (clash.length > 0) {
    throw new MoorError(
      `--start and --stop are the same time (${formatTimeOfWeek({ ...next.start!, days: clash })}): which should win?`,
    );
  }
  return next;
}
