/**
 * The OS scheduler's job for schedules set in the app runs the app itself, not node: the packaged
 * app's RunAsNode fuse is off (issue 9), so `ELECTRON_RUN_AS_NODE=1 Moor moor.js …` cannot work.
 * `Moor --moor-schedule-run -s STORE` runs the CLI's `schedule run` in Electron's main process
 * instead, with no window, no tray and no single-instance lock (runs claim each event under the
 * machine lock, so the open app and the job never act twice).
 */
export const SCHEDULE_RUN_FLAG = '--moor-schedule-run';

/** The command line the OS job runs (an AppImage's execPath is a mount that changes each run). */
export function scheduleJobCommand(o: {
  execPath: string;
  appImage?: string;
  storagePath: string;
}): string[] {
  return [o.appImage || o.execPath, SCHEDULE_RUN_FLAG, '-s', o.storagePath];
}

/** The CLI arguments when this process is the OS job (`-s STORE schedule run`), else null. */
export function scheduleJobArgs(argv: readonly string[]): string[] | null {
  const at = argv.indexOf(SCHEDULE_RUN_FLAG);
  return at === -1 ? null : [...argv.slice(at + 1), 'schedule', 'run'];
}
