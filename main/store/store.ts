import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorMessage, MachineNotFoundError, MoorError } from '../base/errors.js';
import { writeFileAtomic } from './atomic.js';
import { CONFIG_VERSION, type HostConfig } from './config.js';
import { goMarshalIndent } from './go-json.js';

/** docker-machine's rule (libmachine/host/host.go ValidateHostName). */
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9\-.]*$/;

export function validateMachineName(name: string): void {
  if (!VALID_NAME.test(name)) {
    throw new MoorError(
      'Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -',
    );
  }
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
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
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
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new MoorError(`open ${file}: no such file or directory`);
      }
      throw new MoorError(`open ${file}: ${errorMessage(err)}`);
    }
    return parseHostConfig(text, name, file);
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
   * Claims a new machine directory. mkdir is atomic, so of two concurrent creates of one name
   * exactly one wins; the other gets docker-machine's "already exists" error.
   */
  async createMachineDir(name: string): Promise<string> {
    validateMachineName(name);
    await fs.mkdir(this.machinesDir, { recursive: true, mode: 0o700 });
    const dir = this.machineDir(name);
    try {
      await fs.mkdir(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new MoorError(`Docker machine "${name}" already exists`);
      }
      throw err;
    }
    return dir;
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
    const dir = this.machineDir(name);
    if (!(await this.exists(name))) throw new MachineNotFoundError(name);
    return withLockFile(
      path.join(dir, 'config.json'),
      path.join(this.machinesDir, `.${name}.lock`),
      async () => {
        if (!(await this.exists(name))) throw new MachineNotFoundError(name);
        return fn();
      },
    );
  }

  /** Runs `fn` holding the store-wide certificate lock (bootstrap of CA/client certs). */
  async withCertsLock<T>(fn: () => Promise<T>): Promise<T> {
    await fs.mkdir(this.certsDir, { recursive: true, mode: 0o700 });
    return withCertsDirLock(this.certsDir, fn);
  }
}

/**
 * Runs `fn` holding an inter-process lock (proper-lockfile: a lock directory at `lockfilePath`,
 * taken over once stale, so a killed holder does not block others for good).
 */
async function withLockFile<T>(target: string, lockfilePath: string, fn: () => Promise<T>): Promise<T> {
  const { lock } = await import('proper-lockfile'); // loaded on first write: read-only commands stay fast
  const release = await lock(target, { ...LOCK_OPTIONS, lockfilePath });
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** The certificate lock of a certs directory (`.certs.lock` in it): the store's, or a machine's own. */
export function withCertsDirLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  return withLockFile(dir, path.join(dir, '.certs.lock'), fn);
}

/** Parses and checks a config.json text, with docker-machine's messages for the common failures. */
export function parseHostConfig(text: string, name: string, file = 'config.json'): HostConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new MoorError(`Error getting migrated host: ${errorMessage(err)} (in ${file})`);
  }
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
