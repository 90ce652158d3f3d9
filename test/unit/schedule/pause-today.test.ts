import { describe, expect, it } from 'vitest';
import { overviewOf } from '../../../main/core/schedule.js';
import { parseTimeOfWeek } from '../../../main/schedule/spec.js';
import {
  dueAction,
  nextWakeUp,
  pauseToday,
  pendingStop,
  postponeStop,
  type Schedule,
} from '../../../main/schedule/timeline.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

// Berlin is UTC+1 in December: 08:30 there is 07:30Z, 19:00 is 18:00Z.
const office: Schedule = {
  zone: 'Europe/Berlin',
  start: parseTimeOfWeek('mon-fri 08:30'),
  stop: parseTimeOfWeek('mon-fri 19:00'),
};
const friNoon = at('2026-12-04T11:00:00Z'); // Fri 12:00 in Berlin

describe('Pause schedule today', () => {
  const paused = pauseToday(office, { appliedAt: at('2026-12-04T07:30:00Z') }, friNoon);

  it('counts the events left today (in the schedule’s zone) as done', () => {
    expect(iso(paused.appliedAt)).toBe('2026-12-04T22:59:59.999Z'); // Fri 23:59:59.999 Berlin
    expect(dueAction(office, paused, at('2026-12-04T18:00:00Z'))).toBeUndefined(); // no stop at 19:00
    expect(dueAction(office, paused, at('2026-12-04T23:30:00Z'))).toBeUndefined();
  });

  it('resumes with the next day’s first event (Monday’s start)', () => {
    expect(dueAction(office, paused, at('2026-12-07T07:30:00Z'))).toEqual({
      action: 'start',
      at: at('2026-12-07T07:30:00Z'),
    });
    expect(iso(nextWakeUp(office, paused, friNoon))).toBe('2026-12-07T07:30:00.000Z');
    expect(iso(pendingStop(office, paused, friNoon)?.at)).toBe('2026-12-07T18:00:00.000Z');
  });

  it('shows Monday’s start as next, and drops a postponed stop of today', () => {
    const row = overviewOf(
      'office',
      { schedule: office, progress: paused, lastRun: undefined } as Parameters<typeof overviewOf>[1],
      friNoon,
    );
    expect(row.next).toEqual({ action: 'start', at: at('2026-12-07T07:30:00Z') });
    const postponed = postponeStop(office, { appliedAt: at('2026-12-04T07:30:00Z') }, friNoon);
    expect(postponed.postpone).toBeDefined();
    expect(pauseToday(office, postponed, friNoon).postpone).toBeUndefined();
  });

  it('changes nothing for a schedule that was not paused', () => {
    const progress = { appliedAt: at('2026-12-04T07:30:00Z') };
    expect(iso(pendingStop(office, progress, friNoon)?.at)).toBe('2026-12-04T18:00:00.000Z');
    expect(iso(nextWakeUp(office, progress, friNoon))).toBe('2026-12-04T18:00:00.000Z');
  });
});
