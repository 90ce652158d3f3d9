import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  overviewOf,
  runDueSchedules,
  runIdleStops,
  scheduledMachineAction,
  scheduleOverview,
  setSchedule,
} from '../../../main/core/schedule.js';
import { parseTimeOfWeek } from '../../../main/schedule/spec.js';
import { readSchedule, scheduleFilePath, updateSchedule } from '../../../main/store/schedule-file.js';
import { Store } from '../../../main/store/store.js';
import { writeGenericMachine } from '../../harness/store-fixtures.js';

const at = (iso: string) => Date.parse(iso);
let dir: string;
let store: Store;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-schedule-run-'));
  store = new Store(dir);
  for (const name of ['a', 'b']) {
    writeGenericMachine(dir, name, {
      host: '127.0.49.1',
      port: 22,
      user: 'root',
      clientKeyPath: '/etc/hostname',
    });
  }
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A schedule written as the CLI would (generic machines cannot really be stopped; the runner here is a stub). */
async function schedule(name: string, appliedAt: number) {
  await updateSchedule(store, name, () => ({
    schedule: {
      zone: 'Europe/Berlin',
      start: parseTimeOfWeek('mon-fri 08:30'),
      stop: parseTimeOfWeek('mon-fri 19:00'),
    },
    progress: { appliedAt },
  }));
}

describe('running due schedules', () => {
  it('two runners at once (app and OS timer) act on an event once', async () => {
    await schedule('a', at('2026-12-04T07:30:00Z'));
    const calls: string[] = [];
    const runner = async (name: string, action: string) => {
      calls.push(`${name} ${action}`);
      await new Promise((r) => setTimeout(r, 50));
    };
    const now = at('2026-12-04T18:00:00Z');
    const results = await Promise.all([
      runDueSchedules(store, now, runner),
      runDueSchedules(store, now, runner),
    ]);
    expect(calls).toEqual(['a stop']);
    expect(results.flat()).toEqual([{ name: 'a', action: 'stop', event: now, error: '' }]);
    expect((await readSchedule(store, 'a'))?.lastRun).toEqual({
      action: 'stop',
      event: now,
      ranAt: now,
      error: '',
    });
  });

  it('records a failure and does not retry it; the next event gets its turn', async () => {
    await schedule('a', at('2026-12-04T07:30:00Z'));
    const fail = async () => {
      throw new Error('droplet\nlocked');
    };
    const stop = at('2026-12-04T18:00:00Z');
    expect(await runDueSchedules(store, stop, fail)).toEqual([
      { name: 'a', action: 'stop', event: stop, error: 'droplet locked' },
    ]);
    expect(await runDueSchedules(store, stop + 60_000, fail)).toEqual([]);
    const row = overviewOf('a', await readSchedule(store, 'a'), stop + 60_000);
    expect(row.lastRun?.error).toBe('droplet locked');
    const monday = at('2026-12-07T07:30:00Z');
    expect((await runDueSchedules(store, monday, async () => {})).map((r) => r.action)).toEqual(['start']);
  });

  it('redoes an action whose runner died mid-way (kill -9), not one whose runner still works', async () => {
    await schedule('a', at('2026-12-04T18:00:00Z'));
    // As a killed runner leaves it: the stop claimed (applied) with its pid, never finished.
    await updateSchedule(store, 'a', (current) => ({
      ...current!,
      inFlight: {
        action: 'stop',
        event: at('2026-12-04T18:00:00Z'),
        pid: 999_999,
        hostname: os.hostname(),
        since: 0,
      },
    }));
    const calls: string[] = [];
    const runner = async (n: string, a: string) => {
      calls.push(`${n} ${a}`);
    };
    await runDueSchedules(store, at('2026-12-04T18:10:00Z'), runner, { holderAlive: () => true });
    expect(calls).toEqual([]);
    await runDueSchedules(store, at('2026-12-04T18:10:00Z'), runner, { holderAlive: () => false });
    expect(calls).toEqual(['a stop']);
    const after = await readSchedule(store, 'a');
    expect(after?.inFlight).toBeUndefined();
    expect(after?.lastRun).toMatchObject({ action: 'stop', error: '' });
    // The real check: pid 999999 is no process here, ours is.
    const { claimHolderAlive } = await import('../../../main/core/schedule.js');
    expect(
      claimHolderAlive({ action: 'stop', event: 0, pid: 999_999, hostname: os.hostname(), since: 0 }),
    ).toBe(false);
    expect(
      claimHolderAlive({ action: 'stop', event: 0, pid: process.pid, hostname: os.hostname(), since: 0 }),
    ).toBe(true);
  });

  it('an orphaned claim whose period is over is dropped, not redone', async () => {
    await schedule('a', at('2026-12-04T18:00:00Z'));
    await updateSchedule(store, 'a', (current) => ({
      ...current!,
      progress: { appliedAt: at('2026-12-04T18:00:00Z') },
      inFlight: {
        action: 'stop',
        event: at('2026-12-04T18:00:00Z'),
        pid: 999_999,
        hostname: os.hostname(),
        since: 0,
      },
    }));
    const calls: string[] = [];
    // Monday 08:30 has come: the start is due, the Friday stop is history.
    await runDueSchedules(store, at('2026-12-07T07:31:00Z'), async (n, a) => {
      calls.push(`${n} ${a}`);
    });
    expect(calls).toEqual(['a start']);
    expect((await readSchedule(store, 'a'))?.inFlight).toBeUndefined();
  });

  it('a broken schedule file is an error row, and the other machines still run', async () => {
    await schedule('b', at('2026-12-04T07:30:00Z'));
    await fs.writeFile(scheduleFilePath(store, 'a'), '{"Version": 1, "TimeZone": "Nowhere/Land"}');
    const calls: string[] = [];
    await runDueSchedules(store, at('2026-12-04T18:00:00Z'), async (n, a) => {
      calls.push(`${n} ${a}`);
    });
    expect(calls).toEqual(['b stop']);
    const rows = await scheduleOverview(store, at('2026-12-04T18:00:00Z'), { withCost: false });
    expect(rows.find((r) => r.name === 'a')?.error).toMatch(
      /moor-schedule\.json: TimeZone: not an IANA time zone/,
    );
    await fs.writeFile(scheduleFilePath(store, 'a'), '{"Version": 1,');
    const again = await scheduleOverview(store, 0, { withCost: false });
    expect(again.find((r) => r.name === 'a')?.error).toMatch(
      /moor-schedule\.json: property name expected at line 1, column 15/,
    );
  });

  it('refuses a schedule for a driver that cannot start or stop, writing nothing', async () => {
    await expect(
      setSchedule(store, 'a', { stop: 'daily 19:00', zone: 'UTC' }, { now: 0, defaultZone: 'UTC' }),
    ).rejects.toThrow(
      'Machine "a" uses the generic driver, which cannot stop it: its schedule cannot either.',
    );
    expect(await readSchedule(store, 'a')).toBeUndefined();
  });

  it('goes with the machine: rm deletes it', async () => {
    await schedule('a', 0);
    await store.remove('a');
    await expect(fs.stat(path.join(dir, 'machines', 'a'))).rejects.toThrow(/ENOENT/);
  });

  it('idle stop: stops a running machine idle for its minutes; activity, a stopped machine or a failed probe do not', async () => {
    await updateSchedule(store, 'a', () => ({
      schedule: { zone: 'UTC', idleStopMinutes: 30 },
      progress: {},
    }));
    await updateSchedule(store, 'b', () => ({
      schedule: { zone: 'UTC', idleStopMinutes: 30 },
      progress: {},
    }));
    const activity = new Map([
      ['a', { runningContainers: 0, connections: 0 }],
      ['b', { runningContainers: 0, connections: 0 }],
    ]);
    let running = new Set(['a', 'b']);
    let failB = false;
    const probe = async (n: string) => {
      if (n === 'b' && failB) throw new Error('ssh: connection refused');
      return activity.get(n)!;
    };
    const calls: string[] = [];
    const run = (now: number) =>
      runIdleStops(
        store,
        now,
        probe,
        async (n) => running.has(n),
        async (n, a) => {
          calls.push(`${n} ${a}`);
          running.delete(n);
        },
      );
    const t0 = at('2026-12-04T10:00:00Z');
    expect(await run(t0)).toEqual([]);
    expect((await readSchedule(store, 'a'))?.progress.idleSince).toBe(t0);
    // b gets a container at 10:20: its idle clock restarts then.
    activity.set('b', { runningContainers: 1, connections: 0 });
    await run(t0 + 20 * 60_000);
    expect((await readSchedule(store, 'b'))?.progress.idleSince).toBeUndefined();
    activity.set('b', { runningContainers: 0, connections: 0 });
    await run(t0 + 25 * 60_000);
    // 10:30: a has been idle 30 minutes; b only 5.
    expect(await run(t0 + 30 * 60_000)).toEqual([
      { name: 'a', action: 'stop', event: t0 + 30 * 60_000, error: '' },
    ]);
    expect(calls).toEqual(['a stop']);
    expect((await readSchedule(store, 'a'))?.lastRun).toMatchObject({ action: 'stop', error: '' });
    // A stopped machine is not probed or stopped again; a probe that fails is no idleness.
    failB = true;
    await run(t0 + 60 * 60_000);
    expect(calls).toEqual(['a stop']);
    expect((await readSchedule(store, 'b'))?.progress.idleSince).toBeUndefined();
    running = new Set();
    expect(await run(t0 + 120 * 60_000)).toEqual([]);
  });

  it('--hibernate: an idle stop and a scheduled stop ask the runner to hibernate; a start stays a start', async () => {
    await updateSchedule(store, 'a', () => ({
      schedule: { zone: 'UTC', idleStopMinutes: 30, hibernate: true },
      progress: {},
    }));
    await updateSchedule(store, 'b', () => ({
      schedule: {
        zone: 'Europe/Berlin',
        start: parseTimeOfWeek('mon-fri 08:30'),
        stop: parseTimeOfWeek('mon-fri 19:00'),
        hibernate: true,
      },
      progress: { appliedAt: at('2026-12-04T07:30:00Z') },
    }));
    // The file keeps the choice (docker-machine ignores the file).
    expect((await readSchedule(store, 'b'))?.schedule.hibernate).toBe(true);
    const calls: string[] = [];
    const runner = async (n: string, a: 'start' | 'stop', how?: { hibernate?: boolean }) => {
      calls.push(`${n} ${scheduledMachineAction(a, how)}`);
    };
    const t0 = at('2026-12-04T10:00:00Z');
    const idle = async () => ({ runningContainers: 0, connections: 0 });
    await runIdleStops(store, t0, idle, async () => true, runner, { names: ['a'] });
    await runIdleStops(store, t0 + 30 * 60_000, idle, async () => true, runner, { names: ['a'] });
    await runDueSchedules(store, at('2026-12-04T18:00:00Z'), runner, { names: ['b'] });
    await runDueSchedules(store, at('2026-12-07T07:30:00Z'), runner, { names: ['b'] });
    expect(calls).toEqual(['a hibernate', 'b hibernate', 'b start']);
  });
});
