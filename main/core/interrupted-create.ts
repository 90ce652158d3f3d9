import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../base/errors.js';
import type { ProgressReporter } from '../base/progress.js';
import type { SecretStore } from '../secrets/types.js';
import { readRegularFile } from '../store/regular-file.js';
import type { Store } from '../store/store.js';

/**
 * A create in progress leaves `.moor-create-in-progress` in its machine directory (the creating
 * process's pid, boot and start time) until it succeeds or has rolled back. A marker whose process
 * is gone means the create was killed (kill -9, power loss): the next `ls` or `rm` deletes what it
 * had recorded in config.json (the driver's remove: droplet, key) and then the directory.
 */
export const CREATE_MARKER = '.moor-create-in-progress';

export interface CreateMarker {
  pid: number;
  hostname: string;
  /** /proc/sys/kernel/random/boot_id: a pid from before a reboot is dead whatever runs under it now. */
  bootId: string;
  /** The process's start time (/proc/<pid>/stat field 22), so a reused pid is not mistaken for it. */
  startTime: string;
  startedAt: string;
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

function processStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process stays a zombie until its parent reaps it: it answers kill(0) but is dead.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(0) is all we know
  }
}

export async function markCreateInProgress(machineDir: string): Promise<void> {
  const marker: CreateMarker = {
    pid: process.pid,
    hostname: os.hostname(),
    bootId: bootId(),
    startTime: processStartTime(process.pid),
    startedAt: new Date().toISOString(),
  };
  await fs.writeFile(path.join(machineDir, CREATE_MARKER), `${JSON.stringify(marker)}\n`, { mode: 0o600 });
}

export async function clearCreateMarker(machineDir: string): Promise<void> {
  await fs.rm(path.join(machineDir, CREATE_MARKER), { force: true });
}

export async function readCreateMarker(machineDir: string): Promise<CreateMarker | null> {
  let text: string;
  try {
    text = await readRegularFile(path.join(machineDir, CREATE_MARKER));
  } catch {
    return null;
  }
  try {
    const m = JSON.parse(text) as Partial<CreateMarker>;
    return {
      pid: Number(m.pid) || 0,
      hostname: String(m.hostname ?? ''),
      bootId: String(m.bootId ?? ''),
      startTime: String(m.startTime ?? ''),
      startedAt: String(m.startedAt ?? ''),
    };
  } catch {
    // A torn marker (killed while writing it): the create cannot have got far.
    return { pid: 0, hostname: os.hostname(), bootId: '', startTime: '', startedAt: '' };
  }
}

/**
 * Whether the process that wrote the marker is gone. A marker from another host (a store on a
 * shared disk) is never judged: that create may be alive elsewhere.
 */
export function createIsInterrupted(marker: CreateMarker): boolean {
  if (marker.hostname !== os.hostname()) return false;
  if (!marker.pid) return true;
  if (marker.bootId && marker.bootId !== bootId()) return true;
  if (!pidAlive(marker.pid)) return true;
  const start = processStartTime(marker.pid);
  return Boolean(marker.startTime && start && start !== marker.startTime);
}

/**
 * Who is still creating the machine ("moor process 123", "a process on host h"), or null when no
 * create of it is running. Inside that create's own flow (it holds the machine's lock), its own
 * marker does not count: a rollback removes the machine it is making.
 */
export async function createStillRunning(store: Store, name: string): Promise<string | null> {
  if (!(await store.exists(name)) || store.holdsMachineLock(name)) return null;
  const marker = await readCreateMarker(store.machineDir(name));
  if (!marker || createIsInterrupted(marker)) return null;
  if (marker.hostname !== os.hostname()) return `by a process on host ${marker.hostname}`;
  return `by process ${marker.pid}`;
}

export interface RecoveryOptions {
  env?: NodeJS.ProcessEnv;
  /** The app's secret store (safeStorage), so the driver can read a token it keeps. */
  secrets?: SecretStore;
  progress?: ProgressReporter;
  /**
   * Stop waiting after this long (ls must stay fast when the cloud API is down). The cleanup goes
   * on in the background; if the process exits first, its lock is stale and the next ls takes over.
   */
  timeoutMs?: number;
}

export interface RecoveryResult {
  name: string;
  /** Cloud resources and directory are gone. */
  cleaned: boolean;
  error?: string;
  /** What the cleanup verified, one line per journaled resource ("deleted droplet 123", ...). */
  outcomes?: string[];
}

/**
 * Cleans up one interrupted create. Returns null when the machine has no marker or its create is
 * still running. Two processes recovering at once: the one that renames the marker away does it.
 */
export async function recoverInterruptedCreate(
  store: Store,
  name: string,
  options: RecoveryOptions = {},
): Promise<RecoveryResult | null> {
  const dir = store.machineDir(name);
  const marker = await readCreateMarker(dir);
  if (!marker || !createIsInterrupted(marker)) return null;
  if (!(await claimRecovery(dir))) return null; // another ls/rm is on it
  const hasConfig = await fs.access(store.configPath(name)).then(
    () => true,
    () => false,
  );
  const outcomes: string[] = [];
  try {
    if (hasConfig) {
      const host = await store.load(name);
      const { driverFor } = await import('./driver-context.js');
      const { driver } = await driverFor(store, host, {
        progress: options.progress,
        env: options.env,
        secrets: options.secrets,
      });
      const { removeCreatedResources } = await import('./create-journal.js');
      await removeCreatedResources(driver, dir, (line) => outcomes.push(line));
    }
    await store.remove(name);
    return { name, cleaned: true, ...(outcomes.length ? { outcomes } : {}) };
  } catch (err) {
    // The marker stays, so the next ls/rm tries again; the directory keeps the record.
    await fs.rm(path.join(dir, RECOVERY_LOCK), { force: true });
    return { name, cleaned: false, error: errorMessage(err), ...(outcomes.length ? { outcomes } : {}) };
  }
}

const RECOVERY_LOCK = '.moor-create-recovery';

/** Exclusive right to clean up a directory (a lock file with our pid; a dead owner's is taken over). */
async function claimRecovery(dir: string): Promise<boolean> {
  const lock = path.join(dir, RECOVERY_LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      const owner = Number(await fs.readFile(lock, 'utf8').catch(() => '0'));
      if (owner && pidAlive(owner)) return false;
      await fs.rm(lock, { force: true });
    }
  }
  return false;
}

/** Every interrupted create in the store, cleaned up concurrently (what `ls` runs first). */
export async function recoverInterruptedCreates(
  store: Store,
  options: RecoveryOptions = {},
): Promise<RecoveryResult[]> {
  const names = await store.names();
  const results = await Promise.all(
    names.map(async (name) => {
      // Cheap check first: most machines have no marker.
      const exists = await fs.access(path.join(store.machineDir(name), CREATE_MARKER)).then(
        () => true,
        () => false,
      );
      if (!exists) return null;
      const work = recoverInterruptedCreate(store, name, options);
      if (!options.timeoutMs) return work;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<RecoveryResult>((resolve) => {
        timer = setTimeout(
          () => resolve({ name, cleaned: false, error: 'cleanup still running' }),
          options.timeoutMs,
        );
        timer.unref();
      });
      return Promise.race([work, late]).finally(() => clearTimeout(timer));
    }),
  );
  return results.filter((r): r is RecoveryResult => r !== null);
}

/**
 * `create NAME` over a killed create of that name: clean it up first (reported as progress), so
 * the name is free again; a cleanup that could not verify everything keeps the record, and the
 * create then fails with "already exists" after saying what to delete.
 */
export async function recoverBeforeCreate(
  store: Store,
  name: string,
  options: RecoveryOptions & { progress: ProgressReporter },
): Promise<void> {
  if (!(await store.exists(name))) return;
  const result = await recoverInterruptedCreate(store, name, options);
  if (!result) return;
  const what = result.outcomes?.length ? `: ${result.outcomes.join('; ')}` : '';
  if (result.cleaned) options.progress.log(`An interrupted create of "${name}" was cleaned up${what}`);
  else options.progress.warn(`An interrupted create of "${name}" could not be cleaned up: ${result.error}`);
}
