import { describe, expect, it } from 'vitest';
import type { HostCost, ScheduleInfo } from '../../../main/api/contract.js';
import { changedSchedule } from '../../../main/core/schedule.js';
import {
  costFacts,
  formFromSchedule,
  hourlyBadge,
  nextEventText,
  rowSpec,
  type ScheduleForm,
  scheduleLimits,
  scheduleRequest,
} from '../../../renderer/src/schedule-model.js';
import { machine } from './fixtures.js';

const info: ScheduleInfo = {
  name: 'office',
  zone: 'Europe/Berlin',
  start: 'mon-fri 08:30',
  stop: 'fri 19:00',
  next: { action: 'stop', at: Date.parse('2026-12-04T18:00:00Z') },
  postponedUntil: null,
  lastRun: null,
  idleStopMinutes: 45,
  idleSince: null,
  hibernate: false,
  cost: null,
  costError: '',
  error: '',
};

const form = (patch: Partial<ScheduleForm> = {}): ScheduleForm => ({
  start: { days: [1, 2, 3, 4, 5], time: '08:30' },
  stop: { days: [1, 2, 3, 4, 5], time: '19:00' },
  zone: 'Europe/Berlin',
  idleMinutes: '',
  hibernate: false,
  ...patch,
});

describe('the Schedule form', () => {
  it('shows a schedule as days and times; a machine without one gets Mon–Fri and the system zone', () => {
    expect(formFromSchedule(info, 'UTC')).toEqual({
      start: { days: [1, 2, 3, 4, 5], time: '08:30' },
      stop: { days: [5], time: '19:00' },
      zone: 'Europe/Berlin',
      idleMinutes: '45',
      hibernate: false,
    });
    expect(formFromSchedule(undefined, 'America/New_York')).toEqual({
      start: { days: [1, 2, 3, 4, 5], time: '' },
      stop: { days: [1, 2, 3, 4, 5], time: '' },
      zone: 'America/New_York',
      idleMinutes: '',
      hibernate: false,
    });
  });

  it('sends canonical specs, as the CLI would store them', () => {
    expect(scheduleRequest('office', form({ idleMinutes: '30' }))).toEqual({
      args: {
        name: 'office',
        start: 'mon-fri 08:30',
        stop: 'mon-fri 19:00',
        zone: 'Europe/Berlin',
        idleStop: '30m',
        hibernate: false,
      },
    });
    // Stops hibernate (a cloud host): sent along, kept by the shared validator.
    expect(scheduleRequest('office', form({ hibernate: true }))).toMatchObject({ args: { hibernate: true } });
    const weekend = scheduleRequest('office', form({ start: { days: [7, 6], time: '10:00' } }));
    expect(weekend).toMatchObject({ args: { start: 'sat,sun 10:00', idleStop: '0' } });
  });

  it('a time left empty removes it (sent as "", as --stop "" does)', () => {
    expect(scheduleRequest('office', form({ stop: { days: [1], time: '' } }))).toMatchObject({
      args: { start: 'mon-fri 08:30', stop: '' },
    });
  });

  it('refuses with the CLI’s own words what the CLI refuses', () => {
    const cli = (change: Parameters<typeof changedSchedule>[1]) => {
      try {
        changedSchedule(undefined, change, 'UTC');
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    const sameTime = form({ stop: { days: [5], time: '08:30' } });
    expect(scheduleRequest('office', sameTime)).toEqual({
      error: cli({ start: 'mon-fri 08:30', stop: 'fri 08:30', zone: 'Europe/Berlin' }),
    });
    expect(scheduleRequest('office', sameTime)).toEqual({
      error: expect.stringContaining('--start and --stop are the same time (fri 08:30)'),
    });
    expect(scheduleRequest('office', form({ zone: 'Mars/Olympus' }))).toEqual({
      error: cli({ start: 'mon-fri 08:30', zone: 'Mars/Olympus' }),
    });
    expect(scheduleRequest('office', form({ start: { days: [1], time: '25:00' } }))).toEqual({
      error: cli({ start: 'mon 25:00' }),
    });
    expect(
      scheduleRequest('office', form({ start: { days: [1], time: '' }, stop: { days: [1], time: '' } })),
    ).toEqual({ error: 'A schedule needs --start, --stop or --idle-stop (or use --clear).' });
  });

  it('says what is missing in the form’s own terms', () => {
    expect(rowSpec({ days: [], time: '08:00' }, 'Start')).toEqual({
      error: 'Start: choose at least one day',
    });
    expect(scheduleRequest('office', form({ idleMinutes: 'soon' }))).toEqual({
      error: 'Idle stop: "soon" is not a whole number of minutes',
    });
  });

  it('explains what the driver does not allow', () => {
    expect(scheduleLimits(machine('web', { driver: 'generic' }))).toEqual({
      canStart: false,
      canStop: false,
      canHibernate: false,
      reason: 'The generic driver cannot start or stop this host, so it cannot have a schedule.',
    });
    expect(scheduleLimits(machine('do1'))).toMatchObject({ canStart: true, canStop: true, reason: '' });
    const cloud = machine('do2');
    cloud.capabilities = { ...cloud.capabilities, actions: [...cloud.capabilities.actions, 'hibernate'] };
    expect(scheduleLimits(cloud).canHibernate).toBe(true);
  });

  it('shows the next event in the schedule’s zone, marked when postponed', () => {
    expect(nextEventText(info)).toBe('stop Fri 2026-12-04 19:00 +01:00');
    expect(nextEventText({ ...info, postponedUntil: info.next!.at })).toBe(
      'stop Fri 2026-12-04 19:00 +01:00 (postponed)',
    );
    expect(nextEventText({ ...info, next: null })).toBe('');
  });
});

describe('costs', () => {
  const cost: HostCost = {
    currency: 'USD',
    size: 's-1vcpu-1gb',
    hourly: 0.00893,
    monthly: 6,
    soFar: 0.29,
    projected: 6,
    note: 'billed while stopped: a stop schedule does not lower the cost',
  };
  it('a badge for the list, and the CLI’s lines for Details', () => {
    expect(hourlyBadge(cost)).toBe('$0.009/h');
    expect(hourlyBadge({ ...cost, hourly: 0.03125 })).toBe('$0.03/h');
    expect(costFacts(cost)).toEqual([
      { label: 'Price', value: '$0.00893/h (s-1vcpu-1gb, at most $6.00 a month)' },
      { label: 'This month so far', value: '$0.29' },
      {
        label: 'Projected this month',
        value: '$6.00 (billed while stopped: a stop schedule does not lower the cost)',
      },
    ]);
  });
});
