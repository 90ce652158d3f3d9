import { describe, expect, it } from 'vitest';
import { formatTimeOfWeek, parseTimeOfWeek } from '../../../main/schedule/spec.js';
import {
  clashingDays,
  dueAction,
  eventsBetween,
  HOUR_MS,
  lastEvent,
  nextEvent,
  nextWakeUp,
  pendingStop,
  postponeStop,
  type Schedule,
  scheduledRunningMs,
} from '../../../main/schedule/timeline.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function schedule(zone: string, start?: string, stop?: string): Schedule {
  return {
    zone,
    start: start === undefined ? undefined : parseTimeOfWeek(start),
    stop: stop === undefined ? undefined : parseTimeOfWeek(stop),
  };
}

describe('schedule times', () => {
  it('parses days, ranges, aliases and times', () => {
    expect(parseTimeOfWeek('mon-fri 08:30')).toEqual({ days: [1, 2, 3, 4, 5], hour: 8, minute: 30 });
    expect(parseTimeOfWeek('Sat,Sun 7:05').days).toEqual([6, 7]);
    expect(parseTimeOfWeek('fri-mon 07:15').days).toEqual([1, 5, 6, 7]); // wraps past Sunday
    expect(parseTimeOfWeek('19:00').days).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(parseTimeOfWeek('weekdays 09:00').days).toEqual([1, 2, 3, 4, 5]);
    expect(parseTimeOfWeek('monday,wednesday 10:00').days).toEqual([1, 3]);
  });

  it('formats canonically', () => {
    expect(formatTimeOfWeek(parseTimeOfWeek('MON-FRI   8:30'))).toBe('mon-fri 08:30');
    expect(formatTimeOfWeek(parseTimeOfWeek('sun,sat 10:00'))).toBe('sat,sun 10:00');
    expect(formatTimeOfWeek(parseTimeOfWeek('mon,tue,wed,fri 10:00'))).toBe('mon-wed,fri 10:00');
    expect(formatTimeOfWeek(parseTimeOfWeek('fri-thu 00:00'))).toBe('daily 00:00');
  });

  it('refuses bad specs with a message naming the problem', () => {
    expect(() => parseTimeOfWeek('')).toThrow(/Invalid schedule time "": it is empty/);
    expect(() => parseTimeOfWeek('mon-fri')).toThrow(/must end with a time of day, HH:MM/);
    expect(() => parseTimeOfWeek('mon-fri 24:00')).toThrow(/hour 24 is not 0-23/);
    expect(() => parseTimeOfWeek('mon-fri 08:61')).toThrow(/minute 61 is not 0-59/);
    expect(() => parseTimeOfWeek('mox 08:00')).toThrow(/unknown day "mox"/);
    expect(() => parseTimeOfWeek('mon-tue-wed 08:00')).toThrow(/"mon-tue-wed" is not a day or a range/);
    expect(() => parseTimeOfWeek('mon,,fri 08:00')).toThrow(/an empty day/);
  });

  it('finds a start and a stop on the same minute of the same day', () => {
    expect(clashingDays(schedule('UTC', 'mon-fri 08:00', 'fri,sat 08:00'))).toEqual([5]);
    expect(clashingDays(schedule('UTC', 'mon-fri 08:00', 'mon-fri 19:00'))).toEqual([]);
  });
});

describe('next and last event in a time zone', () => {
  const berlin = schedule('Europe/Berlin', 'mon-fri 08:30', 'mon-fri 19:00');

  it('follows the zone offset in winter and summer', () => {
    // Friday 4 Dec 2026, 12:00 UTC = 13:00 CET: next is the stop at 19:00 CET = 18:00 UTC.
    expect(nextEvent(berlin, at('2026-12-04T12:00:00Z'))).toEqual({
      action: 'stop',
      at: at('2026-12-04T18:00:00Z'),
    });
    // Friday evening: the next start is Monday 08:30 CET.
    expect(iso(nextEvent(berlin, at('2026-12-04T18:00:00Z'))?.at)).toBe('2026-12-07T07:30:00.000Z');
    // In July (CEST, +02:00) the same wall time is an hour earlier in UTC.
    expect(iso(nextEvent(berlin, at('2027-07-05T00:00:00Z'))?.at)).toBe('2027-07-05T06:30:00.000Z');
    expect(lastEvent(berlin, at('2026-12-05T12:00:00Z'))).toEqual({
      action: 'stop',
      at: at('2026-12-04T18:00:00Z'),
    });
  });

  it('keeps the wall-clock time across the DST changes (Europe/Berlin)', () => {
    // Spring forward: Sunday 28 March 2027. Friday 08:30 CET, Monday 08:30 CEST.
    const events = eventsBetween(berlin, at('2027-03-26T00:00:00Z'), at('2027-03-30T00:00:00Z'));
    expect(events.map((e) => `${e.action} ${iso(e.at)}`)).toEqual([
      'start 2027-03-26T07:30:00.000Z',
      'stop 2027-03-26T18:00:00.000Z',
      'start 2027-03-29T06:30:00.000Z',
      'stop 2027-03-29T17:00:00.000Z',
    ]);
    // Fall back: Sunday 31 October 2027.
    expect(iso(nextEvent(berlin, at('2027-10-30T00:00:00Z'))?.at)).toBe('2027-11-01T07:30:00.000Z');
  });

  it('keeps the wall-clock time across the DST changes (America/New_York)', () => {
    const ny = schedule('America/New_York', 'daily 08:30', 'daily 19:00');
    // Spring forward Sunday 14 March 2027: EST (-05:00) on Saturday, EDT (-04:00) on Sunday.
    const spring = eventsBetween(ny, at('2027-03-13T00:00:00Z'), at('2027-03-15T00:00:00Z'));
    expect(spring.filter((e) => e.action === 'start').map((e) => iso(e.at))).toEqual([
      '2027-03-13T13:30:00.000Z',
      '2027-03-14T12:30:00.000Z',
    ]);
    // Fall back Sunday 7 November 2027.
    const fall = eventsBetween(ny, at('2027-11-06T00:00:00Z'), at('2027-11-08T00:00:00Z'));
    expect(fall.filter((e) => e.action === 'stop').map((e) => iso(e.at))).toEqual([
      '2027-11-06T23:00:00.000Z',
      '2027-11-08T00:00:00.000Z',
    ]);
  });

  it('a time skipped by spring-forward happens an hour later; a doubled one happens once, first', () => {
    const night = schedule('Europe/Berlin', 'daily 02:30');
    const spring = eventsBetween(night, at('2027-03-27T00:00:00Z'), at('2027-03-29T23:00:00Z'));
    // 28 March 02:30 does not exist: 03:30 CEST = 01:30 UTC.
    expect(spring.map((e) => iso(e.at))).toEqual([
      '2027-03-27T01:30:00.000Z',
      '2027-03-28T01:30:00.000Z',
      '2027-03-29T00:30:00.000Z',
    ]);
    const fall = eventsBetween(night, at('2027-10-30T12:00:00Z'), at('2027-10-31T23:00:00Z'));
    // 31 October 02:30 happens twice (CEST then CET): once, at 02:30 CEST = 00:30 UTC.
    expect(fall.map((e) => iso(e.at))).toEqual(['2027-10-31T00:30:00.000Z']);
  });
});

describe('converging after a missed window', () => {
  const ny = schedule('America/New_York', 'mon-fri 08:30', 'mon-fri 19:00');
  const friStop = at('2026-12-05T00:00:00Z'); // Fri 4 Dec 19:00 EST
  const monStart = at('2026-12-07T13:30:00Z'); // Mon 7 Dec 08:30 EST

  it('does the missed stop on wake while the off period holds', () => {
    // Asleep from Friday 18:00 to Saturday 10:00: the stop happens on wake.
    expect(dueAction(ny, { appliedAt: at('2026-12-04T13:30:00Z') }, at('2026-12-05T15:00:00Z'))).toEqual({
      action: 'stop',
      at: friStop,
    });
    // Once done, nothing more is due until Monday.
    expect(dueAction(ny, { appliedAt: friStop }, at('2026-12-06T15:00:00Z'))).toBeUndefined();
  });

  it('skips a missed stop once the next start has come: only the start is due', () => {
    expect(dueAction(ny, { appliedAt: at('2026-12-04T13:30:00Z') }, at('2026-12-07T14:00:00Z'))).toEqual({
      action: 'start',
      at: monStart,
    });
  });

  it('acts exactly at the event time, not a millisecond before', () => {
    const progress = { appliedAt: at('2026-12-04T13:30:00Z') };
    expect(dueAction(ny, progress, friStop - 1)).toBeUndefined();
    expect(dueAction(ny, progress, friStop)?.action).toBe('stop');
  });

  it('a new schedule (nothing applied) acts on the latest event', () => {
    expect(dueAction(ny, {}, at('2026-12-05T03:00:00Z'))?.action).toBe('stop');
  });
});

describe('postponing a stop', () => {
  const berlin = schedule('Europe/Berlin', 'mon-fri 08:30', 'mon-fri 19:00');
  const stop = at('2026-12-04T18:00:00Z');
  const before = { appliedAt: at('2026-12-04T07:30:00Z') };

  it('moves the coming stop by an hour, repeatably', () => {
    const now = stop - 5 * 60_000;
    const once = postponeStop(berlin, before, now);
    expect(once.postpone).toEqual({ event: stop, until: stop + HOUR_MS });
    expect(dueAction(berlin, once, stop)).toBeUndefined();
    expect(dueAction(berlin, once, stop + HOUR_MS - 1)).toBeUndefined();
    expect(dueAction(berlin, once, stop + HOUR_MS)?.action).toBe('stop');
    expect(nextWakeUp(berlin, once, stop + 1)).toBe(stop + HOUR_MS);
    const twice = postponeStop(berlin, once, stop + 10 * 60_000);
    expect(twice.postpone?.until).toBe(stop + 2 * HOUR_MS);
    expect(pendingStop(berlin, twice, stop + 10 * 60_000)?.at).toBe(stop + 2 * HOUR_MS);
  });

  it('a stop already due is postponed from now', () => {
    const now = stop + 30 * 60_000;
    expect(postponeStop(berlin, before, now).postpone).toEqual({ event: stop, until: now + HOUR_MS });
  });

  it('applies to that one stop only: the next day stops on time', () => {
    const once = postponeStop(berlin, before, stop - 60_000);
    const mondayStop = at('2026-12-07T18:00:00Z');
    expect(dueAction(berlin, { ...once, appliedAt: at('2026-12-07T07:30:00Z') }, mondayStop)?.action).toBe(
      'stop',
    );
  });

  it('refuses a schedule without a stop', () => {
    expect(() => postponeStop(schedule('UTC', 'daily 08:00'), {}, 0)).toThrow(/no stop time/);
  });
});

describe('running time under a schedule', () => {
  it('counts the hours between starts and stops', () => {
    const week = schedule('UTC', 'mon-fri 08:00', 'mon-fri 18:00');
    // Monday 7 Dec 2026 00:00 to Monday 14 Dec 00:00: 5 × 10 h.
    expect(scheduledRunningMs(week, at('2026-12-07T00:00:00Z'), at('2026-12-14T00:00:00Z'), false)).toBe(
      50 * HOUR_MS,
    );
    // Running at the start counts until the first stop.
    expect(scheduledRunningMs(week, at('2026-12-07T00:00:00Z'), at('2026-12-08T00:00:00Z'), true)).toBe(
      18 * HOUR_MS,
    );
  });
});
