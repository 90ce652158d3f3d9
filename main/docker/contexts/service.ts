import type { Store } from '../../store/store.js';
import { switchActiveHost } from './index.js';
import { DEFAULT_CONTEXT_NAME } from './layout.js';
import { type ActiveHostState, ContextWatcher, type ContextWatcherOptions } from './watcher.js';

/**
 * The app's view of the active host as one string: a machine name of this store, `default`, or
 * '' when the current context is one Moor did not make (no machine is active, nor `default`).
 */
export function activeName(state: ActiveHostState): string {
  if (state.machine) return state.machine;
  return state.context === DEFAULT_CONTEXT_NAME ? DEFAULT_CONTEXT_NAME : '';
}

/**
 * The active-host backend for the app (structurally the services' ActiveHostBackend): `current`
 * reads config.json, `use` switches (creating or refreshing the machine's context), `watch`
 * reports switches made anywhere, the docker CLI included. Nothing here switches on its own.
 */
export function activeHostService(store: Store, options: Omit<ContextWatcherOptions, 'storePath'> = {}) {
  let watcher: ContextWatcher | null = null;
  let started: Promise<ActiveHostState> | null = null;
  const listeners = new Set<(active: string) => void>();
  let last: string | null = null;
  // The watcher also reports context list changes; listeners hear only when the name changes.
  const publish = (state: ActiveHostState) => {
    const name = activeName(state);
    if (name === last) return;
    last = name;
    for (const listener of [...listeners]) listener(name);
  };
  const ensureWatcher = () => {
    if (!watcher) {
      watcher = new ContextWatcher({ ...options, storePath: store.root });
      watcher.onChange(publish);
      started = watcher.start().then((state) => {
        last ??= activeName(state);
        return state;
      });
    }
    return started!;
  };
  return {
    async current(): Promise<string> {
      return activeName(await (watcher ? watcher.refresh() : ensureWatcher()));
    },
    async use(name: string): Promise<void> {
      await switchActiveHost(store, name === DEFAULT_CONTEXT_NAME ? null : name, options);
      await watcher?.refresh();
    },
    watch(listener: (active: string) => void): () => void {
      listeners.add(listener);
      void ensureWatcher();
      return () => listeners.delete(listener);
    },
    close(): void {
      watcher?.close();
      watcher = null;
      listeners.clear();
    },
  };
}
