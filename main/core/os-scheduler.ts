/**
 * Installs and removes the OS scheduler's job that runs `moor schedule run` for a store while the
 * app is closed: a systemd user timer (Linux), a launchd agent (macOS), a Task Scheduler task
 * (Windows). One job per store, named after a hash of its path; its text is regenerated from
 * every schedule in the store whenever one changes, and removed with the last one.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { errorMessage } from '../base/errors.js';
import {
  launchdPlist,
  type SchedulerJob,
  systemdService,
  systemdTimer,
  taskSchedulerXml,
} from '../schedule/os-units.js';
import { systemZone } from '../schedule/timeline.js';
import { writeFileAtomic } from '../store/atomic.js';
import { listSchedules } from '../store/schedule-file.js';
import type { Store } from '../store/store.js';

const run = promisify(execFile);

export type OsSchedulerKind = 'systemd' | 'launchd' | 'taskscheduler' | 'none';

/** $MOOR_OS_SCHEDULER overrides the platform's (`none`: schedules run only in the app). */
export function osSchedulerKind(env: NodeJS.ProcessEnv, platform = process.platform): OsSchedulerKind {
  const chosen = env.MOOR_OS_SCHEDULER;
  if (chosen === 'systemd' || chosen === 'launchd' || chosen === 'taskscheduler' || chosen === 'none')
    return chosen;
  if (platform === 'darwin') return 'launchd';
  if (platform === 'win32') return 'taskscheduler';
  return 'systemd';
}

export function jobName(store: Store): string {
  return `moor-schedule-${createHash('sha256').update(store.root).digest('hex').slice(0, 10)}`;
}

/** The command the job runs: this very moor (node + its script), on this store. */
export function defaultJobCommand(store: Store): string[] {
  const script = process.argv[1] ? path.resolve(process.argv[1]) : '';
  return [process.execPath, ...(script ? [script] : []), '-s', store.root, 'schedule', 'run'];
}

/** Where the job's files go (the OS's per-user places; $XDG_CONFIG_HOME / $HOME are honoured). */
export function jobFiles(kind: OsSchedulerKind, name: string, env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME || os.homedir();
  switch (kind) {
    case 'systemd': {
      const dir = path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'systemd', 'user');
      return [path.join(dir, `${name}.timer`), path.join(dir, `${name}.service`)];
    }
    case 'launchd':
      return [path.join(home, 'Library', 'LaunchAgents', `${name}.plist`)];
    case 'taskscheduler':
      return [path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'Moor', `${name}.xml`)];
    case 'none':
      return [];
  }
}

export interface SyncResult {
  kind: OsSchedulerKind;
  /** The job's files now on disk (empty when it was removed). */
  files: string[];
  /** What went wrong activating it (no user systemd, ...): the files are still written. */
  warning?: string;
}

async function activate(
  kind: OsSchedulerKind,
  name: string,
  files: string[],
  installed: boolean,
): Promise<void> {
  switch (kind) {
    case 'systemd':
      await run('systemctl', ['--user', 'daemon-reload']);
      if (installed) await run('systemctl', ['--user', 'enable', '--now', `${name}.timer`]);
      return;
    case 'launchd': {
      const domain = `gui/${os.userInfo().uid}`;
      await run('launchctl', ['bootout', `${domain}/${name}`]).catch(() => undefined); // not loaded yet
      if (installed) await run('launchctl', ['bootstrap', domain, files[0]!]);
      return;
    }
    case 'taskscheduler':
      if (installed) await run('schtasks', ['/Create', '/F', '/TN', `Moor\\${name}`, '/XML', files[0]!]);
      else await run('schtasks', ['/Delete', '/F', '/TN', `Moor\\${name}`]);
      return;
    case 'none':
      return;
  }
}

/**
 * Makes the OS job match the store's schedules. Files are rewritten only when their text
 * changed; activation problems (no user session bus, ...) become a warning, never a failure:
 * the schedule itself is saved and the app still runs it.
 */
export async function syncOsScheduler(
  store: Store,
  options: {
    env?: NodeJS.ProcessEnv;
    now: number;
    command?: string[];
    /** Environment for the command (see SchedulerJob.environment). */
    environment?: Record<string, string>;
    kind?: OsSchedulerKind;
    /** Activate even when the files did not change (after the user changed a schedule). */
    force?: boolean;
  },
): Promise<SyncResult> {
  const env = options.env ?? process.env;
  const kind = options.kind ?? osSchedulerKind(env);
  if (kind === 'none') return { kind, files: [] };
  const name = jobName(store);
  const files = jobFiles(kind, name, env);
  const schedules = (await listSchedules(store)).flatMap((r) => (r.schedule ? [r.schedule] : []));
  const job: SchedulerJob = {
    name,
    storePath: store.root,
    command: options.command ?? defaultJobCommand(store),
    environment: options.environment,
    schedules: schedules.map((s) => s.schedule),
    extraTimes: schedules.flatMap((s) => (s.progress.postpone ? [s.progress.postpone.until] : [])),
    now: options.now,
  };
  const installed = job.schedules.length > 0;
  let changed = false;
  if (installed) {
    const texts: Record<OsSchedulerKind, () => string[]> = {
      systemd: () => [systemdTimer(job), systemdService(job)],
      launchd: () => [launchdPlist(job, systemZone())],
      taskscheduler: () => [taskSchedulerXml(job, systemZone())],
      none: () => [],
    };
    const wanted = texts[kind]();
    for (const [i, file] of files.entries()) {
      const text = wanted[i]!;
      if ((await fs.readFile(file, 'utf8').catch(() => '')) === text) continue;
      await fs.mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, text, { mode: 0o644 });
      changed = true;
    }
  } else {
    for (const file of files) {
      const existed = await fs.stat(file).then(
        () => true,
        () => false,
      );
      if (!existed) continue;
      if (kind === 'systemd' && file.endsWith('.timer')) {
        await run('systemctl', ['--user', 'disable', '--now', `${name}.timer`]).catch(() => undefined);
      }
      await fs.rm(file, { force: true });
      changed = true;
    }
  }
  if (!changed && !(options.force && installed)) return { kind, files: installed ? files : [] };
  try {
    await activate(kind, name, files, installed);
    return { kind, files: installed ? files : [] };
  } catch (err) {
    const detail =
      errorMessage(err)
        .split('\n')
        .find((l) => l.trim() && !l.startsWith('Command failed')) ?? '';
    return {
      kind,
      files: installed ? files : [],
      warning: `The ${kind} job could not be ${installed ? 'activated' : 'deactivated'} (${detail.trim() || errorMessage(err)}); schedules run only while the Moor app is open.`,
    };
  }
}
