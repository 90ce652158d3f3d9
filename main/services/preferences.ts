/**
 * The app's preferences (AppSettings without openAtLogin, which the OS keeps): one JSON file in
 * the app's own data folder, never in the docker-machine store. A missing or unreadable file
 * means the defaults; unknown or wrong-typed entries are ignored, never fatal.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AppSettings, NotifyChoice } from '../api/contract.js';
import { writeFileAtomic } from '../store/atomic.js';

export type Preferences = Omit<AppSettings, 'openAtLogin'>;

export const DEFAULT_PREFERENCES: Preferences = { defaultDriver: 'generic', notifications: 'all' };

export interface PreferencesStore {
  load(): Promise<Preferences>;
  save(preferences: Preferences): Promise<void>;
}

const CHOICES: readonly NotifyChoice[] = ['all', 'failures', 'off'];

/** The valid entries of a parsed file over the defaults. */
export function preferencesFrom(raw: unknown): Preferences {
  const out = { ...DEFAULT_PREFERENCES };
  if (!raw || typeof raw !== 'object') return out;
  const r = raw as Record<string, unknown>;
  if (typeof r.defaultDriver === 'string' && r.defaultDriver) out.defaultDriver = r.defaultDriver;
  if (CHOICES.includes(r.notifications as NotifyChoice)) out.notifications = r.notifications as NotifyChoice;
  return out;
}

export function filePreferences(file: string): PreferencesStore {
  return {
    async load() {
      try {
        return preferencesFrom(JSON.parse(await readFile(file, 'utf8')));
      } catch {
        return { ...DEFAULT_PREFERENCES };
      }
    },
    async save(preferences) {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(file, `${JSON.stringify(preferences, null, 2)}\n`, { mode: 0o600 });
    },
  };
}

export function memoryPreferences(): PreferencesStore {
  let kept = { ...DEFAULT_PREFERENCES };
  return {
    load: async () => ({ ...kept }),
    save: async (p) => {
      kept = { ...p };
    },
  };
}
