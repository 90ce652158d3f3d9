import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MoorEvents } from '../../../main/api/contract.js';
import { validateArgs } from '../../../main/api/validate.js';
import { AppServices } from '../../../main/services/app-services.js';
import type { MachineBackend, MachineRow } from '../../../main/services/backend.js';
import type { Clock } from '../../../main/services/schedules.js';
import { baseDriverConfig, newHostConfig } from '../../../main/store/config.js';
import { goMarshalIndent } from '../../../main/store/go-json.js';
import { Store } from '../../../main/store/store.js';
import { DRIVER_CAPABILITIES } from './fixtures.js';

type Pushed = { [E in keyof MoorEvents]: { event: E; payload: MoorEvents[E] } }[keyof MoorEvents];
const at = (iso: string) => Date.parse(iso);

/** A clock the test moves; the armed timer is recorded, never fired by itself. */
class TestClock implements Clock {
  armed: number | null = null;
  constructor(public time: number) {}
  now = () => this.time;
  setTimeout = (_fn: () => void, ms: number) => {
    this.armed = ms;
    return 1;
  };
  clearTimeout = () => {
    this.armed = null;
  };
}

let dir: string;
let services: AppServices;
let clock: TestClock;
let events: Pushed[];
let calls: string[];
let rows: MachineRow[];

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'moor-app-schedules-'));
  // A DigitalOcean machine record (its driver can start and stop; the backend here is in memory).
  const machineDir = path.join(dir, 'machines', 'office');
  mkdirSync(machineDir, { recursive: true });
  const host = newHostConfig({
    name: 'office',
    storePath: dir,
    driverName: 'digitalocean',
    driver: { ...baseDriverConfig('office', dir), DropletID: 1 },
  });
  writeFileSync(path.join(machineDir, 'config.json'), goMarshalIndent(host));
  rows = [
    {
      name: 'office',
      driver: 'digitalocean',
      state: 'Running',
      url: '',
      dockerVersion: '',
      error: '',
      reason: null,
      capabilities: DRIVER_CAPABILITIES.digitalocean!,
    },
  ];
  calls = [];
  const machines: MachineBackend = {
    list: async () => rows,
    drivers: async () => ({ drivers: [], commonFlags: [], envSet: [] }),
    create: async () => {},
    action: async (action, name) => {
      calls.push(`${action} ${name}`);
      rows = rows.map((r) =>
        r.name === name ? { ...r, state: action === 'stop' ? 'Stopped' : 'Running' } : r,
      );
    },
    remove: async () => {},
    regenerateCerts: async () => {},
    provision: async () => {},
    sshTarget: async () => null,
  };
  clock = new TestClock(at('2026-12-04T12:00:00Z')); // Friday, 13:00 in Berlin
  services = new AppServices({
    store: new Store(dir),
    machines,
    active: {
      current: async () => ({ machine: null, context: 'default' }),
      use: async () => {},
      watch: () => () => {},
    },
    openShell: async () => {
      throw new Error('no shells here');
    },
    pollIntervalMs: 3_600_000,
    clock,
    scheduleCosts: false,
  });
  events = [];
  services.subscribe((event, payload) => events.push({ event, payload } as Pushed));
  await services.init();
  await services.scheduleService.idle();
});
afterEach(async () => {
  await services.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function tickAt(iso: string) {
  clock.time = at(iso);
  await services.scheduleService.tick();
}
function named<E extends Pushed['event']>(event: E): MoorEvents[E][] {
  return events.filter((p) => p.event === event).map((p) => p.payload as MoorEvents[E]);
}

describe('the app runs schedules while open (test clock)', () => {
  it('pushes a schedule changed elsewhere (the CLI in a terminal) at its next tick', async () => {
    const { setSchedule, clearSchedule } = await import('../../../main/core/schedule.js');
    await setSchedule(
      new Store(dir),
      'office',
      { stop: 'daily 19:00', zone: 'UTC' },
      { now: clock.time, defaultZone: 'UTC' },
    );
    expect(named('scheduleChanged')).toEqual([]);
    await tickAt('2026-12-04T12:01:00Z');
    expect(named('scheduleChanged').map((c) => c.schedule.stop)).toEqual(['daily 19:00']);
    await tickAt('2026-12-04T12:02:00Z'); // nothing changed: nothing pushed
    expect(named('scheduleChanged')).toHaveLength(1);
    await clearSchedule(new Store(dir), 'office');
    await tickAt('2026-12-04T12:03:00Z');
    expect(named('scheduleChanged').at(-1)?.schedule).toMatchObject({ name: 'office', zone: '', next: null });
  });

  it('announces a stop five minutes ahead, once, postpones it by an hour, then stops on time', async () => {
    const info = await services.setSchedule({
      name: 'office',
      start: 'mon-fri 08:30',
      stop: 'mon-fri 19:00',
      zone: 'Europe/Berlin',
    });
    expect(info).toMatchObject({
      zone: 'Europe/Berlin',
      next: { action: 'stop', at: at('2026-12-04T18:00:00Z') },
    });
    expect(named('scheduleChanged').at(-1)?.schedule.stop).toBe('mon-fri 19:00');

    await tickAt('2026-12-04T17:54:59Z');
    expect(named('scheduleStopSoon')).toEqual([]);
    await tickAt('2026-12-04T17:55:00Z');
    expect(named('scheduleStopSoon')).toEqual([
      { name: 'office', at: at('2026-12-04T18:00:00Z'), postponeHours: 1 },
    ]);
    await tickAt('2026-12-04T17:56:00Z');
    expect(named('scheduleStopSoon')).toHaveLength(1);
    // The timer is armed for the stop itself, not a minute later.
    await tickAt('2026-12-04T17:59:30Z');
    expect(clock.armed).toBe(30_000);

    expect(await services.postponeStop({ name: 'office' })).toEqual({ until: at('2026-12-04T19:00:00Z') });
    expect(named('scheduleChanged').at(-1)?.schedule.postponedUntil).toBe(at('2026-12-04T19:00:00Z'));
    await tickAt('2026-12-04T18:00:00Z');
    expect(calls).toEqual([]);
    await tickAt('2026-12-04T18:55:00Z');
    expect(named('scheduleStopSoon').at(-1)).toEqual({
      name: 'office',
      at: at('2026-12-04T19:00:00Z'),
      postponeHours: 1,
    });
    await tickAt('2026-12-04T19:00:00Z');
    expect(calls).toEqual(['stop office']);
    expect(named('scheduleRan')).toEqual([
      { name: 'office', action: 'stop', event: at('2026-12-04T18:00:00Z'), error: '' },
    ]);
    // Shown busy while it ran, like a user's stop.
    expect(named('machineState').some((m) => m.machines.some((x) => x.busy === 'stopping'))).toBe(true);
    expect((await services.getSchedule({ name: 'office' })).lastRun).toMatchObject({
      action: 'stop',
      error: '',
    });
  });

  it('converges after the app was closed over a missed window', async () => {
    await services.setSchedule({
      name: 'office',
      start: 'mon-fri 08:30',
      stop: 'mon-fri 19:00',
      zone: 'Europe/Berlin',
    });
    // Closed from Friday noon to Saturday 10:00: the Friday stop happens on the first tick.
    await tickAt('2026-12-05T09:00:00Z');
    expect(calls).toEqual(['stop office']);
    // Closed again until Tuesday 10:00: Monday's 19:00 stop is long past Tuesday's 08:30 start.
    await tickAt('2026-12-08T09:00:00Z');
    expect(calls).toEqual(['stop office', 'start office']);
  });

  it('a scheduled start lifts the stopped-by-user mark', async () => {
    await services.stop({ name: 'office' });
    expect((await services.listMachines())[0]?.stoppedByUser).toBe(true);
    await services.setSchedule({ name: 'office', start: 'mon-fri 08:30', zone: 'Europe/Berlin' });
    await tickAt('2026-12-07T07:30:00Z');
    expect(calls).toEqual(['stop office', 'start office']);
    expect((await services.listMachines())[0]?.stoppedByUser).toBe(false);
  });

  it('refuses bad arguments and bad schedules with clear errors', async () => {
    expect(() => validateArgs('postponeStop', { name: 'office', hours: -1 })).toThrow(/hours/);
    expect(() => validateArgs('setSchedule', { name: 'office', start: 7 })).toThrow(/start/);
    await expect(services.setSchedule({ name: 'office', start: 'mon-fri 8h' })).rejects.toThrow(
      /--start: Invalid schedule time "mon-fri 8h"/,
    );
    await expect(services.postponeStop({ name: 'office' })).rejects.toThrow(
      'Machine "office" has no schedule.',
    );
    await expect(services.getSchedule({ name: 'nope' })).rejects.toThrow(/does not exist/);
  });

  it('clears a schedule', async () => {
    await services.setSchedule({ name: 'office', stop: 'daily 19:00', zone: 'UTC' });
    await services.clearSchedule({ name: 'office' });
    expect(await services.getSchedule({ name: 'office' })).toMatchObject({ zone: '', next: null });
    await tickAt('2026-12-04T19:00:00Z');
    expect(calls).toEqual([]);
  });
});
