import { existsSync, readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachineNotFoundError } from '../../main/base/errors.js';
import { baseDriverConfig, newHostConfig } from '../../main/store/config.js';
import { Store } from '../../main/store/store.js';
import { tempDir } from '../harness/components.js';

// The store's machine lock against remove(): a machine removed while (or before) another command
// updates it stays removed, with no empty machines/NAME left to show up as an Error row in `ls`.
describe('Store: update, save and remove under the machine lock', () => {
  let work: { dir: string; cleanup: () => void };
  let store: Store;

  beforeEach(() => {
    work = tempDir('moor-store');
    store = new Store(work.dir);
  });
  afterEach(() => work.cleanup());

  const hostConfig = (name: string) =>
    newHostConfig({
      name,
      storePath: work.dir,
      driverName: 'none',
      driver: baseDriverConfig(name, work.dir),
    });

  async function createMachine(name: string): Promise<void> {
    await store.createMachineDir(name);
    await store.save(hostConfig(name));
  }

  /** Everything in machines/, dot-entries (lock directories) included. */
  const machinesEntries = () => readdirSync(store.machinesDir).sort();

  it('create claims the directory, then saves and updates config.json', async () => {
    await createMachine('dev');
    const updated = await store.update('dev', (c) => {
      c.DriverName = 'generic';
    });
    expect(updated.DriverName).toBe('generic');
    expect((await store.load('dev')).DriverName).toBe('generic');
    expect(machinesEntries()).toEqual(['dev']); // no lock directory left behind
  });

  it('update() and save() of a machine that is gone give the not-found error and create nothing', async () => {
    await createMachine('gone');
    await store.remove('gone');
    await expect(store.update('gone', () => {})).rejects.toBeInstanceOf(MachineNotFoundError);
    await expect(store.save(hostConfig('gone'))).rejects.toBeInstanceOf(MachineNotFoundError);
    await expect(store.update('never', () => {})).rejects.toThrow('Docker machine "never" does not exist.');
    expect(machinesEntries()).toEqual([]);
    expect(await store.names()).toEqual([]);
  });

  it('remove() waits for an update in progress; an update after it finds no machine', async () => {
    await createMachine('busy');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const updating = store.update('busy', async (c) => {
      entered();
      await gate;
      c.DriverName = 'generic';
    });
    await inside;
    let removed = false;
    const removing = store.remove('busy').then(() => {
      removed = true;
    });
    await new Promise((r) => setTimeout(r, 150)); // a few lock retries
    expect(removed).toBe(false);
    expect(existsSync(store.machineDir('busy'))).toBe(true);
    release();
    await updating;
    await removing;
    expect(existsSync(store.machineDir('busy'))).toBe(false);
    await expect(store.update('busy', () => {})).rejects.toBeInstanceOf(MachineNotFoundError);
    expect(machinesEntries()).toEqual([]);
  });

  it('remove() of a missing machine is a no-op, and two removes at once both succeed', async () => {
    await expect(store.remove('nothing')).resolves.toBeUndefined();
    await createMachine('twice');
    await Promise.all([store.remove('twice'), store.remove('twice')]);
    expect(machinesEntries()).toEqual([]);
  });
});
