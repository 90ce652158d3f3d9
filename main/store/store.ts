import { AsyncLocalStorage } from 'node:async_hooks';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { debug } from '../base/debug.js';
import { errorMessage, MachineNotFoundError, MoorError } from '../base/errors.js';
import { parseJsonText } from '../base/json-text.js';
import { machineNameProblem } from '../base/validate-input.js';
import { writeFileAtomic } from './atomic.js';
import { certsDirMissing, recoverCertsSwap } from './certs-swap.js';
import { CONFIG_VERSION, type HostConfig } from './config.js';
import { ensureDir } from './dirs.js';
import { goMarshalIndent } from './go-json.js';
import { readRegularFile } from './regular-file.js';

/** docker-machine's rule, shared with the app's create form (base/validate-input.ts). */
export function validateMachineName(name: string): void {
  const problem = machineNameProblem(name);
  if (problem) throw new MoorError(`Error creating machine: ${problem}`);
}

/** Whether `name` is a single path segment (what a machine directory's name must be). */
function isEntryName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

/** One row of `list()`: a machine that loaded, or the reason it did not. */
export type StoreEntry =
  | { name: string; config: HostConfig; error?: undefined }
  | { name: string; config?: undefined; error: string };

const LOCK_OPTIONS = {
  realpath: false,
  stale: 10_000,
  retries: { retries: 100, minTimeout: 20, maxTimeout: 200 },
};

/**
 * The on-disk machine store, in docker-machine's layout:
 *   <root>/certs/{ca,ca-key,cert,key}.pem and <root>/machines/<name>/config.json (+ keys, certs).
 * A machine exists when its directory exists. Writes are atomic and serialised per machine with a
 * lock file, so two processes (CLI and app) never lose or tear each other's updates.
 */
export class Store {
  readonly certsDir: string;
  readonly machinesDir: string;

  /**
   * The machine locks the current async flow holds (a create holds its machine's lock from start to
   * end, and the saves it makes meanwhile must not wait for that same lock).
   */
  private readonly heldLocks = new AsyncLocalStorage<ReadonlySet<string>>();

  constructor(readonly root: string) {
    this.certsDir = path.join(root, 'certs');
    this.machinesDir = path.join(root, 'machines');
  }

  /**
   * A machine's directory. The name must be one directory entry: `..`, `.` or `a/b` would point
   * outside machines/ (`rm -f ..` deleted the whole store), so such a name is a machine that does
   * not exist.
   */
  machineDir(name: string): string {
    if (!isEntryName(name)) throw new MachineNotFoundError(name);
    return path.join(this.machinesDir, name);
  }

  configPath(name: string): string {
    return path.join(this.machineDir(name), 'config.json');
  }

  /** Machine names in directory byte order (what `ls -q` prints); dot-directories are ignored. */
  async names(): Promise<string[]> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(this.machinesDir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return [];
      if (code === 'ENOTDIR') {
        throw new MoorError(
          `the storage path ${this.root} is not a directory tree (${this.machinesDir}: ${code})`,
        );
      }
      throw err;
    }
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : a === b ? 0 : 1));
  }

  async exists(name: string): Promise<boolean> {
    if (!isEntryName(name)) return false;
    return fs.stat(this.machineDir(name)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  /** Loads one machine; a broken file gives an error naming the file and what is wrong with it. */
  async load(name: string): Promise<HostConfig> {
    if (!(await this.exists(name))) throw new MachineNotFoundError(name);
    const file = this.configPath(name);
    let text: string;
    try {
      text = await readRegularFile(file);
    } catch (err) {
      if (err instanceof MoorError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new MoorError(`open ${file}: no such file or directory`);
      }
      throw new MoorError(`open ${file}: ${errorMessage(err)}`);
    }
    const config = parseHostConfig(text, name, file);
    await this.recoverCertsSwapOf(config);
    return config;
  }

  /**
   * A `regenerate-certs --client-certs` killed between its two renames left the machine without
   * certs/: put it back before anyone reads it (one lstat for machines with their own certs).
   */
  private async recoverCertsSwapOf(config: HostConfig): Promise<void> {
    const dir = this.machineDir(config.Name);
    const recorded = config.HostOptions.AuthOptions?.CertDir ?? '';
    if (!recorded || !(await certsDirMissing(dir, recorded))) return;
    await this.withMachineLock(config.Name, () => recoverCertsSwap(dir)).catch(() => undefined);
  }

  /** Every machine, loaded in parallel; one that fails to load becomes an error row, never a throw. */
  async list(): Promise<StoreEntry[]> {
    const names = await this.names();
    return Promise.all(
      names.map(async (name): Promise<StoreEntry> => {
        try {
          return { name, config: await this.load(name) };
        } catch (err) {
          return { name, error: errorMessage(err).replace(/\n/g, ' ') };
        }
      }),
    );
  }

  /**
   * Claims a new machine directory and runs `fn` (the whole create, rollback included) holding the
   * machine's lock, so that an `rm` meanwhile waits for it or is refused, never deletes a machine
   * that the create then brings back. The lock is taken before the directory exists: no moment is
   * left where the directory is there but unlocked. mkdir is atomic, so of two concurrent creates
   * of one name exactly one wins; the other gets docker-machine's "already exists" error.
   */
  async claimMachineDir<T>(name: string, fn: (dir: string) => Promise<T>): Promise<T> {
    validateMachineName(name);
    await ensureDir(this.machinesDir);
    const dir = this.machineDir(name);
    return this.lockMachine(name, async () => {
      try {
        await fs.mkdir(dir, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new MoorError(`Docker machine "${name}" already exists`);
        }
        throw err;
      }
      return fn(dir);
    });
  }

  /** Claims a new machine directory without keeping it locked (tests and imports). */
  async createMachineDir(name: string): Promise<string> {
    return this.claimMachineDir(name, async (dir) => dir);
  }

  /**
   * Writes config.json atomically (0600), as Go's MarshalIndent would. The machine's directory must
   * exist (createMachineDir claims it); a machine removed meanwhile is the not-found error.
   */
  async save(config: HostConfig): Promise<void> {
    await this.withMachineLock(config.Name, () => this.saveUnlocked(config));
  }

  /** The directory exists here (withMachineLock checked it): only createMachineDir makes one. */
  private async saveUnlocked(config: HostConfig): Promise<void> {
    await writeFileAtomic(this.configPath(config.Name), goMarshalIndent(config), { mode: 0o600 });
  }

  /**
   * Read-modify-write of one machine under its lock: concurrent updates from other processes
   * are applied one after the other, none is lost.
   */
  async update(name: string, change: (config: HostConfig) => void | Promise<void>): Promise<HostConfig> {
    return this.withMachineLock(name, async () => {
      const config = await this.load(name);
      await change(config);
      await this.saveUnlocked(config);
      return config;
    });
  }

  /**
   * Deletes the machine's directory under its lock: an update() in progress finishes first, and
   * one waiting for the lock then finds no machine instead of writing a lone config.json.
   */
  async remove(name: string): Promise<void> {
    const dir = this.machineDir(name);
    if (!(await this.exists(name))) {
      await fs.rm(dir, { recursive: true, force: true }); // a stray file of that name, if any
      return;
    }
    await this.withMachineLock(name, () => fs.rm(dir, { recursive: true, force: true })).catch((err) => {
      if (!(err instanceof MachineNotFoundError)) throw err; // removed meanwhile by someone else
    });
  }

  /**
   * Runs `fn` holding the machine's inter-process lock, a lock directory beside the machine's
   * directory (machines/.NAME.lock: hidden from both tools' listings like every dot-directory), so
   * that remove() can delete the whole machine while holding it. A machine that does not exist, or
   * was removed while we waited, is the not-found error: this never creates a machine directory.
   */
  async withMachineLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (!(await this.exists(name))) throw new MachineNotFoundError(name);
    return this.lockMachine(name, async () => {
      if (!(await this.exists(name))) throw new MachineNotFoundError(name);
      return fn();
    });
  }

  /** Whether the current async flow holds the machine's lock (inside a create, for instance). */
  holdsMachineLock(name: string): boolean {
    return this.heldLocks.getStore()?.has(name) ?? false;
  }

  /** The lock itself; re-entrant within one async flow (a create's own saves). */
  private lockMachine<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (this.holdsMachineLock(name)) return fn();
    const held = new Set(this.heldLocks.getStore() ?? []).add(name);
    return withLockFile(
      path.join(this.machineDir(name), 'config.json'),
      path.join(this.machinesDir, `.${name}.lock`),
      () => this.heldLocks.run(held, fn),
      `machine "${name}"`,
    );
  }

  /** Runs `fn` holding the store-wide certificate lock (bootstrap of CA/client certs). */
  async withCertsLock<T>(fn: () => Promise<T>): Promise<T> {
    await ensureDir(this.certsDir);
    return withCertsDirLock(this.certsDir, fn);
  }
}

/**
 * Runs `fn` holding an inter-process lock (proper-lockfile: a lock directory at `lockfilePath`,
 * taken over once stale, so a killed holder does not block others for good).
 */
async function withLockFile<T>(
  target: string,
  lockfilePath: string,
  fn: () => Promise<T>,
  what = target,
): Promise<T> {
  const { lock } = await import('proper-lockfile'); // loaded on first write: read-only commands stay fast
  let release: () => Promise<void>;
  try {
    // A holder stopped for longer than `stale` (Ctrl-Z during a create) finds its lock "compromised"
    // when it resumes; proper-lockfile's default then throws from a timer and kills the process.
    // Carry on instead: the create marker still tells every other process that it is running.
    const onCompromised = (err: Error) => debug('store', () => `lock ${lockfilePath}: ${err.message}`);
    release = await lock(target, { ...LOCK_OPTIONS, lockfilePath, onCompromised });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    throw new LockBusyError(
      `${what} is busy: another Moor process is changing it (lock ${lockfilePath}); try again when it is done`,
    );
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined); // already released when it was compromised
  }
}

/** A lock another process held for longer than we wait (≈20 s). */
export class LockBusyError extends MoorError {
  constructor(message: string) {
    super(message);
    this.name = 'LockBusyError';
  }
}

/** The certificate lock of a certs directory (`.certs.lock` in it): the store's, or a machine's own. */
export function withCertsDirLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  return withLockFile(dir, path.join(dir, '.certs.lock'), fn);
}

/** Parses and checks a config.json text, with docker-machine's messages for the common failures. */
export function parseHostConfig(text: string, name: string, file = 'config.json'): HostConfig {
  const json = parseJsonText(text);
  if (!json.ok)
    throw new MoorError(`Error getting migrated host: ${file} is not valid JSON: ${json.problem}`);
  const parsed = json.value;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MoorError(`Error getting migrated host: ${file} does not hold a JSON object`);
  }
  const config = parsed as HostConfig;
  if (typeof config.ConfigVersion === 'number' && config.ConfigVersion > CONFIG_VERSION) {
    throw new MoorError('config version is from the future -- you should upgrade your Docker Machine client');
  }
  if (typeof config.ConfigVersion === 'number' && config.ConfigVersion < CONFIG_VERSION) {
    throw new MoorError(
      `${file} has ConfigVersion ${config.ConfigVersion}; Moor reads version 3 (docker-machine ≥ 0.6). Run any docker-machine ≥ 0.6 command once to migrate it.`,
    );
  }
  for (const key of ['Driver', 'HostOptions'] as const) {
    if (typeof config[key] !== 'object' || config[key] === null) {
      throw new MoorError(`Error getting migrated host: ${file} has no "${key}" object`);
    }
  }
  for (const key of ['EngineOptions', 'SwarmOptions', 'AuthOptions'] as const) {
    if (typeof config.HostOptions[key] !== 'object' || config.HostOptions[key] === null) {
      throw new MoorError(`Error getting migrated host: ${file} has no "HostOptions.${key}" object`);
    }
  }
  if (typeof config.DriverName !== 'string' || !config.DriverName) {
    throw new MoorError(`Error getting migrated host: ${file} has no "DriverName"`);
  }
  config.Name = name; // docker-machine also takes the name from the directory
  return config;
}
