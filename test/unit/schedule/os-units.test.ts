import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchdPlist,
  localTimes,
  type SchedulerJob,
  systemdCalendars,
  systemdQuote,
  systemdService,
  systemdTimer,
  taskSchedulerXml,
  windowsQuote,
} from '../../../main/schedule/os-units.js';
import { parseTimeOfWeek } from '../../../main/schedule/spec.js';
import { eventsBetween, type Schedule } from '../../../main/schedule/timeline.js';

const run = promisify(execFile);
const at = (iso: string) => Date.parse(iso);

const berlin: Schedule = {
  zone: 'Europe/Berlin',
  start: parseTimeOfWeek('mon-fri 08:30'),
  stop: parseTimeOfWeek('mon-fri 19:00'),
};
const ny: Schedule = { zone: 'America/New_York', start: parseTimeOfWeek('sat,sun 02:30') };

function job(over: Partial<SchedulerJob> = {}): SchedulerJob {
  return {
    name: 'moor-schedule-0123abcd',
    storePath: '/home/u/.docker/machine',
    command: [process.execPath, path.resolve('bin/moor.js'), '-s', '/home/u/my store %h', 'schedule', 'run'],
    schedules: [berlin, ny],
    extraTimes: [at('2026-12-04T19:00:00Z')],
    now: at('2026-12-04T12:00:00Z'),
    ...over,
  };
}

describe('systemd user timer and service', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'moor-units-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes systemd-analyze verify', async () => {
    const j = job({
      environment: { ELECTRON_RUN_AS_NODE: '1' },
      schedules: [berlin, ny, { zone: 'UTC', idleStopMinutes: 30 }],
    });
    const timer = path.join(dir, `${j.name}.timer`);
    const service = path.join(dir, `${j.name}.service`);
    await writeFile(timer, systemdTimer(j));
    await writeFile(service, systemdService(j));
    const { stderr } = await run('systemd-analyze', ['verify', '--man=no', timer, service]);
    expect(stderr).toBe('');
  });

  it('systemd-analyze verify catches a broken unit (the check is real)', async () => {
    const bad = path.join(dir, 'moor-schedule-bad.timer');
    await writeFile(
      bad,
      systemdTimer(job({ name: 'moor-schedule-bad' })).replace('OnCalendar=Mon', 'OnCalendar=Mox'),
    );
    // verify exits 0 on a bad OnCalendar= but says so on stderr, which the test above requires empty.
    const { stderr } = await run('systemd-analyze', ['verify', '--man=no', bad]);
    expect(stderr).toMatch(/Failed to parse calendar specification/);
  });

  it('lists each schedule time in its zone, DST-gap instants, and postponed stops', () => {
    expect(systemdCalendars(job())).toEqual([
      'Mon..Fri *-*-* 08:30:00 Europe/Berlin',
      'Mon..Fri *-*-* 19:00:00 Europe/Berlin',
      'Sat..Sun *-*-* 02:30:00 America/New_York',
      '2026-12-04 19:00:00 UTC',
      // Sunday 14 March 2027 02:30 does not exist in New York; Moor fires at 03:30 EDT.
      '2027-03-14 07:30:00 UTC',
    ]);
  });

  it("fires when Moor's timeline says, across both DST changes (systemd-analyze calendar)", async () => {
    const base = '2026-12-04 12:00:00 UTC';
    for (const schedule of [berlin, ny]) {
      const expr = systemdCalendars(job({ schedules: [schedule], extraTimes: [] }));
      const expected = eventsBetween(schedule, at('2026-12-04T12:00:01Z'), at('2027-12-04T12:00:00Z'))
        .map((e) => new Date(e.at).toISOString().replace('T', ' ').replace('.000Z', ''))
        .slice(0, 300);
      const { stdout } = await run(
        'systemd-analyze',
        ['calendar', `--base-time=${base}`, `--iterations=${expected.length}`, ...expr],
        { env: { ...process.env, TZ: 'UTC' } },
      );
      // One block per expression; merge their elapse times.
      const got = [...stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\S+ \S+) UTC/g)].map((m) => m[1]!);
      const merged = [...new Set(got)].sort().slice(0, expected.length);
      expect(merged).toEqual(expected);
    }
  });

  it('quotes ExecStart words the systemd way', () => {
    expect(systemdQuote('/usr/bin/node')).toBe('/usr/bin/node');
    expect(systemdQuote('/a b/"c"\\d')).toBe('"/a b/\\"c\\"\\\\d"');
    expect(systemdQuote('100%')).toBe('100%%');
    expect(systemdService(job())).toContain('"/home/u/my store %%h" schedule run');
  });
});

describe('launchd agent and Task Scheduler task', () => {
  it('converts the times to the local zone (launchd has no other)', () => {
    // Berlin 08:30/19:00 on weekdays is 02:30/13:00 in New York in December.
    const times = localTimes(job({ schedules: [berlin] }), 'America/New_York');
    expect(times.slice(0, 2)).toEqual([
      { weekday: 1, hour: 2, minute: 30 },
      { weekday: 1, hour: 13, minute: 0 },
    ]);
    expect(times).toHaveLength(10);
  });

  it('writes a plist with calendar intervals, a backstop interval and run-at-load', () => {
    const plist = launchdPlist(job({ schedules: [berlin] }), 'Europe/Berlin');
    expect(plist).toContain('<key>Label</key><string>moor-schedule-0123abcd</string>');
    expect(plist).toContain(
      '<dict><key>Weekday</key><integer>1</integer><key>Hour</key><integer>8</integer><key>Minute</key><integer>30</integer></dict>',
    );
    expect(plist).toContain('<key>StartInterval</key><integer>900</integer>');
    expect(plist).toContain('<string>/home/u/my store %h</string>');
    expect(plist.match(/<key>Weekday<\/key>/g)).toHaveLength(10);
  });

  it('launchd counts Sunday as 0', () => {
    const plist = launchdPlist(job({ schedules: [ny] }), 'America/New_York');
    expect(plist).toContain('<key>Weekday</key><integer>0</integer><key>Hour</key><integer>2</integer>');
    expect(plist).toContain('<key>Weekday</key><integer>6</integer>');
  });

  it('writes a task with weekly triggers, StartWhenAvailable and quoted arguments', () => {
    const xml = taskSchedulerXml(job({ schedules: [berlin] }), 'Europe/Berlin');
    expect(xml).toContain('<StartBoundary>2026-12-04T08:30:00</StartBoundary>');
    expect(xml).toContain('<StartBoundary>2026-12-04T19:00:00</StartBoundary>');
    expect(xml.match(/<Monday \/>/g)).toHaveLength(2);
    expect(xml).not.toContain('<Saturday />');
    expect(xml).toContain('<StartWhenAvailable>true</StartWhenAvailable>');
    expect(xml).toContain('<Interval>PT15M</Interval>');
    expect(xml).toContain('&quot;/home/u/my store %h&quot; schedule run</Arguments>');
  });

  it('quotes Windows arguments for CommandLineToArgvW', () => {
    expect(windowsQuote('C:\\Program Files\\moor.exe')).toBe('"C:\\Program Files\\moor.exe"');
    expect(windowsQuote('a"b')).toBe('"a\\"b"');
    expect(windowsQuote('C:\\dir with space\\')).toBe('"C:\\dir with space\\\\"');
    expect(windowsQuote('')).toBe('""');
    expect(windowsQuote('plain')).toBe('plain');
  });
});

describe('idle stop in the timer', () => {
  it('adds a look every five minutes when a schedule has idle stop', () => {
    const idle: Schedule = { zone: 'UTC', idleStopMinutes: 30 };
    expect(systemdCalendars(job({ schedules: [idle], extraTimes: [] }))).toEqual(['*-*-* *:0/5:00']);
    expect(systemdCalendars(job({ schedules: [berlin], extraTimes: [] }))).not.toContain('*-*-* *:0/5:00');
  });
});

describe('the app as the job command', () => {
  it('passes the environment Electron needs to run as node', () => {
    const j = job({ schedules: [berlin], environment: { ELECTRON_RUN_AS_NODE: '1' } });
    expect(systemdService(j)).toMatch(/^Environment=ELECTRON_RUN_AS_NODE=1$/m);
    expect(launchdPlist(j, 'Europe/Berlin')).toContain(
      '<key>EnvironmentVariables</key>\n  <dict>\n    <key>ELECTRON_RUN_AS_NODE</key><string>1</string>\n  </dict>',
    );
    expect(systemdService(job())).not.toContain('Environment=');
  });
});
