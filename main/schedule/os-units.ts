/**
 * The OS scheduler's own job definitions that run `moor schedule run` at a store's schedule
 * times while the app is closed: a systemd user timer + service (Linux), a launchd agent plist
 * (macOS), a Task Scheduler task XML (Windows). Pure text generation; installing is core's job.
 *
 * `schedule run` is idempotent and converges (timeline.dueAction), so an extra or late firing
 * is harmless: what matters is that the job fires at or soon after every event.
 */
import { DateTime } from 'luxon';
import { dayRuns, pad, type TimeOfWeek, type Weekday } from './spec.js';
import { SCHEDULE_ACTIONS, type Schedule, shiftedEvents } from './timeline.js';

export interface SchedulerJob {
  /** Unit / label base name, e.g. "moor-schedule-1a2b3c4d" (one per store). */
  name: string;
  /** Shown in descriptions: the store the job runs schedules of. */
  storePath: string;
  /** The command line: argv[0] is an absolute program path (node, or a packaged moor). */
  command: readonly string[];
  /** Environment variables the command needs, if any. */
  environment?: Readonly<Record<string, string>>;
  schedules: readonly Schedule[];
  /** Absolute instants (epoch ms) to fire at as well: postponed stops. */
  extraTimes: readonly number[];
  /** "Now", for the DST-gap entries (a year ahead) and zone conversions. */
  now: number;
}

const YEAR_MS = 366 * 24 * 3_600_000;
/** How often the OS job looks for idle machines when one has idle stop. */
export const IDLE_CHECK_MINUTES = 5;
const SYSTEMD_DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** systemd's quoting of one ExecStart word (systemd.service "Command lines"; % is a specifier). */
export function systemdQuote(word: string): string {
  const escaped = word.replace(/%/g, '%%');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function utcStamp(ms: number): string {
  return `${DateTime.fromMillis(ms, { zone: 'UTC' }).toFormat('yyyy-MM-dd HH:mm:ss')} UTC`;
}

/** `Mon..Fri *-*-* 08:30:00 Europe/Berlin`: systemd does the zone and DST arithmetic. */
export function systemdCalendar(time: TimeOfWeek, zone: string): string {
  const days = dayRuns(time.days)
    .map(([a, b]) => (a === b ? SYSTEMD_DAYS[a - 1] : `${SYSTEMD_DAYS[a - 1]}..${SYSTEMD_DAYS[b - 1]}`))
    .join(',');
  return `${days} *-*-* ${pad(time.hour)}:${pad(time.minute)}:00 ${zone}`;
}

/** Every OnCalendar= value of the timer, without duplicates. */
export function systemdCalendars(job: SchedulerJob): string[] {
  const entries = new Set<string>();
  for (const schedule of job.schedules) {
    for (const action of SCHEDULE_ACTIONS) {
      const time = schedule[action];
      if (time) entries.add(systemdCalendar(time, schedule.zone));
    }
  }
  // Idle stop needs a look every few minutes.
  if (job.schedules.some((s) => s.idleStopMinutes)) entries.add(`*-*-* *:0/${IDLE_CHECK_MINUTES}:00`);
  // systemd skips a time a DST gap removes; Moor counts it an hour later, so list those instants.
  const shifted = job.schedules.flatMap((s) => shiftedEvents(s, job.now, job.now + YEAR_MS).map((e) => e.at));
  for (const at of [...shifted, ...job.extraTimes].sort((a, b) => a - b)) {
    if (at > job.now) entries.add(utcStamp(at));
  }
  return [...entries];
}

export function systemdService(job: SchedulerJob): string {
  return [
    '[Unit]',
    `Description=Moor machine schedules of ${job.storePath}`,
    '',
    '[Service]',
    'Type=oneshot',
    ...Object.entries(job.environment ?? {}).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`),
    `ExecStart=${job.command.map(systemdQuote).join(' ')}`,
    '',
  ].join('\n');
}

export function systemdTimer(job: SchedulerJob): string {
  return [
    '[Unit]',
    `Description=Moor machine schedules of ${job.storePath}`,
    '',
    '[Timer]',
    ...systemdCalendars(job).map((c) => `OnCalendar=${c}`),
    // A run missed while the computer was off or asleep happens at boot / wake.
    'Persistent=true',
    'AccuracySec=1s',
    `Unit=${job.name}.service`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

/** One schedule time on the OS's local clock (launchd and Task Scheduler know no other zone). */
export interface LocalTime {
  weekday: Weekday;
  hour: number;
  minute: number;
}

/**
 * A schedule's times in `localZone`, converted at the offsets of the coming week. Two zones
 * whose DST changes on different dates drift apart for a few weeks a year; the jobs' 15-minute
 * backstop run covers that.
 */
export function localTimes(job: SchedulerJob, localZone: string): LocalTime[] {
  const seen = new Map<string, LocalTime>();
  for (const schedule of job.schedules) {
    const start = DateTime.fromMillis(job.now, { zone: schedule.zone }).startOf('day');
    for (const action of SCHEDULE_ACTIONS) {
      const time = schedule[action];
      if (!time) continue;
      for (let i = 1; i <= 7; i++) {
        const day = start.plus({ days: i });
        if (!time.days.includes(day.weekday as Weekday)) continue;
        const local = day.set({ hour: time.hour, minute: time.minute }).setZone(localZone);
        const t: LocalTime = { weekday: local.weekday as Weekday, hour: local.hour, minute: local.minute };
        seen.set(`${t.weekday} ${t.hour} ${t.minute}`, t);
      }
    }
  }
  return [...seen.values()].sort((a, b) => a.weekday - b.weekday || a.hour - b.hour || a.minute - b.minute);
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export const BACKSTOP_MINUTES = 15;

/** A launchd agent (~/Library/LaunchAgents/<label>.plist); launchd runs missed calendar jobs on wake. */
export function launchdPlist(job: SchedulerJob, localZone: string): string {
  const intervals = localTimes(job, localZone).map(
    (t) =>
      // launchd: Weekday 0 and 7 are Sunday.
      `    <dict><key>Weekday</key><integer>${t.weekday % 7}</integer><key>Hour</key><integer>${t.hour}</integer><key>Minute</key><integer>${t.minute}</integer></dict>`,
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    `  <key>Label</key><string>${xmlEscape(job.name)}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...job.command.map((w) => `    <string>${xmlEscape(w)}</string>`),
    '  </array>',
    ...(job.environment && Object.keys(job.environment).length
      ? [
          '  <key>EnvironmentVariables</key>',
          '  <dict>',
          ...Object.entries(job.environment).map(
            ([k, v]) => `    <key>${xmlEscape(k)}</key><string>${xmlEscape(v)}</string>`,
          ),
          '  </dict>',
        ]
      : []),
    '  <key>StartCalendarInterval</key>',
    '  <array>',
    ...intervals,
    '  </array>',
    `  <key>StartInterval</key><integer>${BACKSTOP_MINUTES * 60}</integer>`,
    '  <key>RunAtLoad</key><true/>',
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

const WINDOWS_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** Windows quoting of one command-line argument (CommandLineToArgvW rules). */
export function windowsQuote(arg: string): string {
  if (arg && !/[\s"]/.test(arg)) return arg;
  return `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

/** A Task Scheduler task (schtasks /Create /XML); StartWhenAvailable runs what a sleep missed. */
export function taskSchedulerXml(job: SchedulerJob, localZone: string): string {
  // One weekly trigger per local time of day, listing its weekdays.
  const byTime = new Map<string, Weekday[]>();
  for (const t of localTimes(job, localZone)) {
    const key = `${pad(t.hour)}:${pad(t.minute)}`;
    byTime.set(key, [...(byTime.get(key) ?? []), t.weekday]);
  }
  const anchor = DateTime.fromMillis(job.now, { zone: localZone }).toFormat('yyyy-MM-dd');
  const triggers = [...byTime].map(([hhmm, days]) =>
    [
      '    <CalendarTrigger>',
      `      <StartBoundary>${anchor}T${hhmm}:00</StartBoundary>`,
      '      <ScheduleByWeek><WeeksInterval>1</WeeksInterval><DaysOfWeek>',
      ...days.map((d) => `        <${WINDOWS_DAYS[d - 1]} />`),
      '      </DaysOfWeek></ScheduleByWeek>',
      '    </CalendarTrigger>',
    ].join('\n'),
  );
  const [program = '', ...args] = job.command;
  return [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    '  <RegistrationInfo>',
    `    <Description>${xmlEscape(`Moor machine schedules of ${job.storePath}`)}</Description>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    ...triggers,
    '    <TimeTrigger>',
    `      <StartBoundary>${anchor}T00:00:00</StartBoundary>`,
    `      <Repetition><Interval>PT${BACKSTOP_MINUTES}M</Interval></Repetition>`,
    '    </TimeTrigger>',
    '  </Triggers>',
    '  <Settings>',
    '    <StartWhenAvailable>true</StartWhenAvailable>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <ExecutionTimeLimit>PT1H</ExecutionTimeLimit>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    `      <Command>${xmlEscape(windowsQuote(program))}</Command>`,
    `      <Arguments>${xmlEscape(args.map(windowsQuote).join(' '))}</Arguments>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
    '',
  ].join('\n');
}
