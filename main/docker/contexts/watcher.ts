import { type FSWatcher, promises as fs, watch } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../base/errors.js';
import { ContextLayout } from './layout.js';
import { listMoorContexts, type MachineContext } from './machines.js';
import { resolveActive } from './resolve.js';

/**
 * Notices when the active Docker host changes outside Moor (`docker context use`, an edited
 * config.json, a context created, updated or removed) and tells the app. It only reads: it never
 * switches the active host itself (users rightly hate GUI tools that switch context on start).
 *
 * It watches directories, not files: the docker CLI replaces config.json and meta.json by
 * renaming a temp file over them, which a watch on the file itself would lose after the first
 * change; and a directory that does not exist yet is covered by watching its nearest existing
 * parent until it appears. Events are debounced, then the state is read again and an event is
 * emitted only when it differs.
 */

/** What a new terminal's `docker` uses: config.json's current context (DOCKER_HOST/DOCKER_CONTEXT of the app's own environment are ignored). */
export interface ActiveHostState {
  /** The Moor machine of the current context (of the watched store), or null (`default`, a foreign context). */
  machine: string | null;
  /** The current context's name (`default` when none). */
  context: string;
  /** Its docker endpoint; null when the context is missing or unreadable. */
  host: string | null;
  /** The contexts Moor made for this store's machines, by name. */
  contexts: MachineContext[];
  /** Set when config.json or the current context's meta.json cannot be read. */
  error?: string;
}

export interface ContextWatcherOptions {
  /** DOCKER_CONFIG is read from here (default process.env). */
  env?: NodeJS.ProcessEnv;
  layout?: ContextLayout;
  /** Only contexts of machines in this store count as machines. */
  storePath?: string;
  /** Quiet time after the last file event before re-reading (default 75 ms). */
  debounceMs?: number;
  /** Backstop re-read interval for file systems without change events; 0 disables (default 10 s). */
  pollMs?: number;
}

type Listener = (state: ActiveHostState) => void;

interface Watch {
  watcher: FSWatcher;
  ino: number;
}

export class ContextWatcher {
  private readonly layout: ContextLayout;
  private readonly storePath: string | undefined;
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private readonly listeners = new Set<Listener>();
  private readonly watches = new Map<string, Watch>();
  private state: ActiveHostState | null = null;
  private stateKey = '';
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(options: ContextWatcherOptions = {}) {
    this.layout = options.layout ?? ContextLayout.fromEnv(options.env ?? process.env);
    this.storePath = options.storePath === undefined ? undefined : path.resolve(options.storePath);
    this.debounceMs = options.debounceMs ?? 75;
    this.pollMs = options.pollMs ?? 10_000;
  }

  /** Reads the initial state and starts watching; the initial state is returned, not emitted. */
  async start(): Promise<ActiveHostState> {
    await this.rescan(false);
    if (this.pollMs > 0 && !this.closed) {
      this.poll = setInterval(() => this.schedule(0), this.pollMs);
      this.poll.unref();
    }
    return this.state!;
  }

  /** The last state read (null before start). */
  get current(): ActiveHostState | null {
    return this.state;
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads now (e.g. after Moor itself switched) and emits if the state changed. */
  async refresh(): Promise<ActiveHostState> {
    await this.rescan(true);
    return this.state!;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    for (const { watcher } of this.watches.values()) watcher.close();
    this.watches.clear();
    this.listeners.clear();
  }

  private schedule(delay = this.debounceMs): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.rescan(true).catch(() => {});
    }, delay);
    this.debounce.unref();
  }

  /** One re-read at a time; events arriving meanwhile cause exactly one more. */
  private async rescan(emit: boolean): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        let state = await this.readState();
        // A change made before a new watch was in place has no event: read again until the
        // watched set is stable (bounded: each round only adds directories that now exist).
        for (let round = 0; round < 5 && !this.closed && (await this.updateWatches(state)); round++) {
          state = await this.readState();
        }
        if (this.closed) return;
        const key = JSON.stringify(state);
        if (key !== this.stateKey) {
          const first = this.state === null;
          this.state = state;
          this.stateKey = key;
          if (emit && !first) for (const listener of [...this.listeners]) listener(state);
        }
      } while (this.again && !this.closed);
    })();
    try {
      await this.running;
    } finally {
      this.running = null;
    }
  }

  private async readState(): Promise<ActiveHostState> {
    const active = await resolveActive({ layout: this.layout, ignoreEnv: true });
    let contexts: MachineContext[] = [];
    let listError: string | undefined;
    try {
      contexts = await listMoorContexts(
        this.storePath === undefined
          ? { layout: this.layout }
          : { layout: this.layout, storePath: this.storePath },
      );
    } catch (err) {
      listError = errorMessage(err);
    }
    const ours =
      active.machine !== null &&
      (this.storePath === undefined ||
        (active.storePath !== null && path.resolve(active.storePath) === this.storePath));
    const state: ActiveHostState = {
      machine: ours ? active.machine : null,
      context: active.context,
      host: active.host,
      contexts,
    };
    const error = active.error ?? listError;
    if (error) state.error = error;
    return state;
  }

  /**
   * The directories whose entries decide the state: the config dir, the meta root and every
   * context's own directory (an update renames a new meta.json inside it; a context being
   * created may have its directory before its meta.json), plus a symlinked config.json's target.
   */
  private async wantedDirs(state: ActiveHostState): Promise<string[]> {
    const dirs = new Set([this.layout.configDir, this.layout.metaRoot]);
    const real = await fs.realpath(this.layout.configFile).catch(() => null);
    if (real && real !== this.layout.configFile) dirs.add(path.dirname(real));
    if (state.context !== 'default') dirs.add(this.layout.metaDir(state.context));
    const entries = await fs.readdir(this.layout.metaRoot).catch(() => [] as string[]);
    for (const entry of entries) dirs.add(path.join(this.layout.metaRoot, entry));
    return [...dirs];
  }

  /** Watches what `state` needs; resolves with whether a new directory is now watched. */
  private async updateWatches(state: ActiveHostState): Promise<boolean> {
    let added = false;
    const targets = new Map<string, number>();
    for (const dir of await this.wantedDirs(state)) {
      const found = await nearestExistingDir(dir);
      if (found) targets.set(found.dir, found.ino);
    }
    for (const [dir, w] of this.watches) {
      // Gone, replaced by another directory at the same path, or no longer needed.
      if (targets.get(dir) !== w.ino) {
        w.watcher.close();
        this.watches.delete(dir);
      }
    }
    for (const [dir, ino] of targets) {
      // close() may have run during the awaits above: a watch made now would never be closed.
      if (this.closed) return false;
      if (this.watches.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, () => this.schedule());
        watcher.on('error', () => {
          watcher.close();
          if (this.watches.get(dir)?.watcher === watcher) this.watches.delete(dir);
          this.schedule();
        });
        this.watches.set(dir, { watcher, ino });
        added = true;
      } catch {
        // Vanished between stat and watch: the next event or poll picks it up again.
      }
    }
    return added;
  }
}

async function nearestExistingDir(dir: string): Promise<{ dir: string; ino: number } | null> {
  let current = path.resolve(dir);
  for (;;) {
    const stat = await fs.stat(current).catch(() => null);
    if (stat?.isDirectory()) return { dir: current, ino: stat.ino };
    const parent = path.dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}

/** Starts a watcher; `onChange` gets every later change of the active host. */
export async function watchActiveHost(
  onChange: Listener,
  options: ContextWatcherOptions = {},
): Promise<{ watcher: ContextWatcher; initial: ActiveHostState }> {
  const watcher = new ContextWatcher(options);
  watcher.onChange(onChange);
  const initial = await watcher.start();
  return { watcher, initial };
}
