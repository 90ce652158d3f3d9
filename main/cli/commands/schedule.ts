import { type Command, InvalidArgumentError, Option } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';
import { incorrectUsage } from '../options.js';

/** `--now` (hidden): run as if it were this time; the test clock of the OS-timer path. */
function parseNow(value: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`"${value}" is not an ISO 8601 time`);
  return ms;
}

function parseHours(value: string): number {
  const hours = Number(value);
  if (!Number.isFinite(hours) || hours <= 0 || value.trim() === '') {
    throw new InvalidArgumentError(`"${value}" is not a positive number of hours`);
  }
  return hours;
}

const nowOption = () =>
  new Option('--now <time>', 'Act as if it were this time').argParser(parseNow).hideHelp();

/**
 * `moor schedule` (Moor only; docker-machine has no such command): start and stop machines at
 * times of the week, run by the OS scheduler while the app is closed and by the app while open.
 */
export function register(program: Command, cli: CliContext): void {
  const schedule = program
    .command('schedule')
    .summary('Start and stop a machine at set times (Moor only)')
    .description(
      'Start and stop a machine at set times of the week, in a time zone (DST-correct). ' +
        'Times are DAYS HH:MM: "mon-fri 08:30", "sat,sun 10:00", "daily 19:00". ' +
        "Without options, prints the machine's schedule and cost. Events before now count as done.\n\n" +
        'The schedule is kept in machines/NAME/moor-schedule.json (docker-machine ignores it) and run ' +
        'by a systemd user timer, launchd agent or Task Scheduler task that this command installs ' +
        '(and removes with the last schedule), and by the Moor app while it is open. ' +
        'A stop missed while the computer slept happens on wake if the off period still holds.',
    )
    .usage(
      'NAME [--start WHEN] [--stop WHEN] [--tz ZONE] [--idle-stop TIME] [--hibernate] | NAME --clear | ls | run | postpone NAME | pause NAME',
    )
    .argument('[name]')
    .option('--start <when>', 'Start the machine at these times ("" removes the start time)')
    .option('--stop <when>', 'Stop the machine at these times ("" removes the stop time)')
    .option('--tz <zone>', "IANA time zone of the times (default: the current one, or the system's)")
    .option(
      '--idle-stop <duration>',
      'Stop the machine after this long ("30m", "2h") without running containers or Docker/SSH connections; 0 turns it off',
    )
    .option(
      '--hibernate',
      'Cloud hosts: a stop (scheduled or idle) hibernates the machine (snapshot, server destroyed: only the snapshot is billed) and a start wakes it',
    )
    .option('--no-hibernate', 'A stop stops the machine again (the default)')
    .option('--clear', "Remove the machine's schedule")
    .addOption(nowOption())
    .action(
      async (
        name: string | undefined,
        opts: {
          start?: string;
          stop?: string;
          tz?: string;
          idleStop?: string;
          hibernate?: boolean;
          clear?: boolean;
          now?: number;
        },
      ) => {
        if (!name)
          throw new MoorError(`Error: No machine name specified. See '${cli.programName} schedule --help'.`);
        const now = opts.now ?? Date.now();
        const core = await import('../../core/schedule.js');
        const changing =
          opts.start !== undefined ||
          opts.stop !== undefined ||
          opts.tz !== undefined ||
          opts.idleStop !== undefined ||
          opts.hibernate !== undefined;
        if (opts.clear && changing)
          throw new MoorError('--clear cannot be combined with --start, --stop or --tz.');
        if (opts.clear) {
          const had = await core.clearSchedule(cli.store, name);
          cli.println(had ? `Schedule of "${name}" removed.` : `Machine "${name}" has no schedule.`);
          await syncScheduler(cli, now, true);
          return;
        }
        if (changing) {
          const { systemZone } = await import('../../schedule/timeline.js');
          await core.setSchedule(
            cli.store,
            name,
            {
              start: opts.start,
              stop: opts.stop,
              zone: opts.tz,
              idleStop: opts.idleStop,
              hibernate: opts.hibernate,
            },
            { now, defaultZone: systemZone() },
          );
          await syncScheduler(cli, now, true);
        }
        const { describeSchedule } = await import('../schedule-format.js');
        cli.out(describeSchedule(await core.scheduleDetails(cli.store, name, now, { env: cli.env })));
      },
    );

  schedule
    .command('ls')
    .description('List machines with their schedule, next event and cloud cost')
    .option('--no-cost', 'Do not ask cloud providers for prices (faster, offline)')
    .addOption(nowOption())
    .action(async (opts: { cost: boolean; now?: number }) => {
      const now = opts.now ?? Date.now();
      const { scheduleOverview } = await import('../../core/schedule.js');
      const { renderScheduleTable } = await import('../schedule-format.js');
      cli.out(
        renderScheduleTable(
          await scheduleOverview(cli.store, now, { env: cli.env, withCost: opts.cost }),
          now,
        ),
      );
    });

  schedule
    .command('run')
    .description('Start or stop the machines whose scheduled time has come (what the OS timer runs)')
    .argument('[names...]', 'Only these machines')
    .addOption(nowOption())
    .action(async (names: string[], opts: { now?: number }) => {
      const now = opts.now ?? Date.now();
      const { driverActionRunner, runDueSchedules, runIdleStops } = await import('../../core/schedule.js');
      const { driverIsRunning, sshActivityProbe } = await import('../../core/idle-probe.js');
      const runner = driverActionRunner(cli.store, { env: cli.env, progress: (n) => cli.progress(n) });
      const results = await runDueSchedules(cli.store, now, runner, {
        names: names.length ? names : undefined,
      });
      const idle = await runIdleStops(
        cli.store,
        now,
        sshActivityProbe(cli.store, { env: cli.env }),
        driverIsRunning(cli.store, { env: cli.env }),
        runner,
        { names: names.length ? names : undefined },
      );
      results.push(...idle);
      let failed = false;
      for (const r of results) {
        const when = new Date(r.event).toISOString();
        const idleStop = idle.includes(r);
        if (r.error) {
          failed = true;
          cli.errln(
            idleStop
              ? `Idle stop of "${r.name}" failed: ${r.error}`
              : `Scheduled ${r.action} of "${r.name}" (due ${when}) failed: ${r.error}`,
          );
        } else {
          cli.println(
            idleStop
              ? `Idle stop of "${r.name}" done.`
              : `Scheduled ${r.action} of "${r.name}" (due ${when}) done.`,
          );
        }
      }
      await syncScheduler(cli, now, false);
      if (failed) throw new MoorError('', 1);
    });

  schedule
    .command('postpone')
    .description("Move a machine's coming (or due) scheduled stop later")
    .argument('<name>')
    .option('--hours <n>', 'How much later', parseHours, 1)
    .addOption(nowOption())
    .action(async (name: string, opts: { hours: number; now?: number }) => {
      const now = opts.now ?? Date.now();
      const { postponeScheduledStop } = await import('../../core/schedule.js');
      await cli.loadHost(name);
      const until = await postponeScheduledStop(cli.store, name, { now, byMs: opts.hours * 3_600_000 });
      cli.println(`The scheduled stop of "${name}" is postponed to ${new Date(until).toISOString()}.`);
      await syncScheduler(cli, now, true);
    });

  schedule
    .command('pause')
    .description(
      "Skip a machine's scheduled start and stop times left today (in its time zone); it resumes tomorrow",
    )
    .argument('<name>')
    .addOption(nowOption())
    .action(async (name: string, opts: { now?: number }) => {
      const now = opts.now ?? Date.now();
      const { pauseScheduleToday } = await import('../../core/schedule.js');
      await cli.loadHost(name);
      const { formatWhen } = await import('../../schedule/format.js');
      const { until, zone } = await pauseScheduleToday(cli.store, name, { now });
      cli.println(
        `The schedule of "${name}" is paused for today: it resumes ${formatWhen(until + 1, zone)}.`,
      );
      await syncScheduler(cli, now, true);
    });

  for (const sub of schedule.commands) {
    const usage = `${cli.programName} schedule ${sub.name()}`;
    sub
      .exitOverride()
      .configureOutput({ outputError: (message, write) => write(incorrectUsage(message, usage)) });
  }
}

/** Brings the OS scheduler's job in line with the store's schedules; problems are a warning. */
async function syncScheduler(cli: CliContext, now: number, force: boolean): Promise<void> {
  const { syncOsScheduler } = await import('../../core/os-scheduler.js');
  const result = await syncOsScheduler(cli.store, { env: cli.env, now, force });
  if (result.warning) cli.errln(`Warning: ${result.warning}`);
  else if (force && result.files.length) cli.debug(`${result.kind} job: ${result.files.join(', ')}`);
}
