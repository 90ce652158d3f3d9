import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ProgressEvent, progressReporter } from '../../main/base/progress.js';
import { createMachine } from '../../main/core/create.js';
import { CREATE_MARKER } from '../../main/core/interrupted-create.js';
import { removeMachine } from '../../main/core/remove.js';
import { Store } from '../../main/store/store.js';

// The machine lock covers the whole create (issue 9 item 8) and a failed create's rollback never
// hides the error that stopped it (item 10). The `none` driver's create ends by copying the
// client certificates into the machine directory; MOOR_FAULT holds or fails it right there.
let root: string;
let store: Store;
let events: ProgressEvent[];

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-create-lock-'));
  store = new Store(root);
  events = [];
  await create('first'); // the store's CA and client certificate exist from here on
});
afterEach(async () => {
  delete process.env.MOOR_FAULT;
  await fs.rm(root, { recursive: true, force: true });
});

function create(name: string, on: Store = store) {
  return createMachine({
    store: on,
    name,
    driverName: 'none',
    flagValues: { url: 'tcp://127.0.41.1:2376' },
    progress: progressReporter(name, (e) => events.push(e)),
    env: { PATH: process.env.PATH },
  });
}

/** Resolves once the create has saved its config.json (it is then held by the fault point). */
async function savedConfig(name: string): Promise<void> {
  for (let i = 0; i < 500 && !existsSync(store.configPath(name)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(existsSync(store.configPath(name))).toBe(true);
}

describe('rm while create is still running', () => {
  it('is refused with a clear message, and the create completes the machine', async () => {
    process.env.MOOR_FAULT = 'write:ca.pem=delay:1500';
    const creating = create('held');
    await savedConfig('held');
    const other = new Store(root); // as another process would see the store
    const result = await removeMachine('held', { store: other });
    expect(result.removed).toBe(false);
    expect(result.busy).toBe(true);
    expect(result.errors).toEqual([
      `Error removing host "held": it is still being created (by process ${process.pid}); wait for the create to end, or cancel it (Ctrl-C), which removes what it made`,
    ]);
    await expect(creating).resolves.toMatchObject({ Name: 'held' });
    expect((await store.load('held')).DriverName).toBe('none');
    expect(existsSync(path.join(store.machineDir('held'), 'ca.pem'))).toBe(true);
    delete process.env.MOOR_FAULT;
    expect(await removeMachine('held', { store: other })).toEqual({ removed: true, errors: [] });
    expect(existsSync(store.machineDir('held'))).toBe(false);
  });

  it('without a marker to go by, rm waits for the lock the create holds, then removes all of it', async () => {
    process.env.MOOR_FAULT = 'write:ca.pem=delay:1500';
    const creating = create('unmarked');
    await savedConfig('unmarked');
    await fs.rm(path.join(store.machineDir('unmarked'), CREATE_MARKER)); // the window before it is written
    const removing = removeMachine('unmarked', { store: new Store(root) });
    await expect(creating).resolves.toMatchObject({ Name: 'unmarked' });
    expect(await removing).toEqual({ removed: true, errors: [] });
    expect(existsSync(store.machineDir('unmarked'))).toBe(false);
  });
});

describe('a failed create', () => {
  it('reports the error that stopped it even when its rollback fails too', async () => {
    class FailingRemove extends Store {
      override async remove(): Promise<void> {
        throw Object.assign(new Error(`ENOTEMPTY: directory not empty, rmdir '${root}/machines/full'`), {
          code: 'ENOTEMPTY',
        });
      }
    }
    process.env.MOOR_FAULT = 'write:ca.pem=enospc';
    await expect(create('full', new FailingRemove(root))).rejects.toThrow(
      "ENOSPC: no space left on device, write 'write:ca.pem'",
    );
    const warnings = events.filter((e) => e.level === 'warn').map((e) => e.message);
    expect(warnings).toContain(
      `Error removing the partially created machine "full": ENOTEMPTY: directory not empty, rmdir '${root}/machines/full'`,
    );
  });
});
