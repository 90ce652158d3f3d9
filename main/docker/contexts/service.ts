import type { ActiveHost } from '../../api/contract.js';
import type { Store } from '../../store/store.js';
import { switchActiveHost } from './index.js';
import { type ActiveHostState, ContextWatcher, type ContextWatcherOptions } from './watcher.js';

/**
 * The app's view of the active host (main/api/contract.ts ActiveHost): the machine of this store
 * whose context is current, or null, and the current context's name. Two fields, because
 * "default" names both the docker CLI's default context and, possibly, a machine.
 */
export function activeHost(state: ActiveHostState): ActiveHost {
  return { machine: state.machine, context: state.context };
}

/**
 * The active-host backend for the app (structurally the services' ActiveHostBackend): `current`
 * reads config.json, `use` switches (creating or refreshing the machine's context), `watch`
 * reports switches made anywhere, the docker CLI included. Nothing here switches on its own.
 */
export function activeHostService(store: Store, options: Omit<ContextWatcherOptions, 'storePath'> = {}) {
  let watcher: ContextWatcher | null = null;
  let started: Promise<ActiveHostState> | null = null;
  const listeners = new Set<(active: ActiveHost) => void>();
  let last: string | null = null;
  // The watcher also reports context list changes; listeners hear only when the host changes.
  const publish = (state: ActiveHostState) => {
    const active = activeHost(state);
    const key = JSON.stringify(active);
    if (key === last) return;
    last = key;
    for (const listener of [...listeners]) listener(active);
  };
  const ensureWatcher = () => {
    if (!watcher) {
      watcher = new ContextWatcher({ ...options, storePath: store.root });
      watcher.onChange(publish);
      started = watcher.start().then((state) => {
        last ??= JSON.stringify(activeHost(state));
        return state;
      });
    }
    return started!;
  };
  return {
    async current(): Promise<ActiveHost> {
      return activeHost(await (watcher ? watcher.refresh() : ensureWatcher()));
    },
    /** null = the default context; a string is always a machine name (even "default"). */
    async use(name: string | null): Promise<void> {
      await switchActiveHost(store, name, options);
      await watcher?.refresh();
    },
    watch(listener: (active: ActiveHost) => void): () => void {
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
