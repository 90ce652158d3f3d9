import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ActiveHost,
  type MoorEvents,
  TERMINAL_HIGH_WATERMARK,
  TERMINAL_LOW_WATERMARK,
} from '../../../main/api/contract.js';
import type { ProgressSink } from '../../../main/base/progress.js';
import { NO_CAPABILITIES } from '../../../main/drivers/capabilities.js';
import { AppServices } from '../../../main/services/app-services.js';
import type { ActiveHostBackend, MachineBackend, MachineRow } from '../../../main/services/backend.js';
import { filePreferences } from '../../../main/services/preferences.js';
import { FLUSH_INTERVAL_MS, REPLAY_LIMIT, RingBuffer } from '../../../main/services/terminals.js';
import { Store } from '../../../main/store/store.js';
import { DRIVER_CAPABILITIES, FakeShell } from './fixtures.js';

type Pushed = { [E in keyof MoorEvents]: { event: E; payload: MoorEvents[E] } }[keyof MoorEvents];

function row(name: string, patch: Partial<MachineRow> = {}): MachineRow {
  const driver = patch.driver ?? 'digitalocean';
  return {
    name,
    driver,
    state: 'Running',
    url: 'tcp://1.2.3.4:2376',
    dockerVersion: '24.0',
    error: '',
    reason: null,
    capabilities: DRIVER_CAPABILITIES[driver] ?? NO_CAPABILITIES,
    ...patch,
  };
}

/**
 * In-memory backends (the services' own interfaces; the real ones are exercised by the e2e suite).
 * `rollback`: what an aborted create waits for before it rejects (the core's rollback).
 */
function setup(opts: { rollback?: () => Promise<void>; disposeTimeoutMs?: number } = {}) {
  let rows = [row('alpha'), row('beta', { state: 'Stopped', url: '', dockerVersion: '' })];
  const calls: string[] = [];
  let listCalls = 0;
  /** The next power action fails with this error (the driver or the host refused it). */
  let actionFailure: Error | null = null;
  type Run = {
    sink: ProgressSink;
    signal: AbortSignal;
    resolve: () => void;
    reject: (e: Error) => void;
  };
  let createRun: Run | null = null;
  let provisionRun: Run | null = null;
  const machines: MachineBackend = {
    list: async () => {
      listCalls++;
      return rows;
    },
    drivers: async () => ({
      drivers: [
        {
          name: 'generic',
          description: 'SSH host',
          provisions: true,
          capabilities: DRIVER_CAPABILITIES.generic!,
          flags: [
            { name: 'generic-ip-address', type: 'string', help: 'IP' },
            { name: 'token', type: 'string', help: 't', secret: true },
          ],
        },
      ],
      commonFlags: [],
      envSet: [],
    }),
    create: (request, sink, signal) =>
      new Promise<void>((resolve, reject) => {
        calls.push(`create ${request.name}`);
        createRun = { sink, signal, resolve, reject };
        signal.addEventListener('abort', () => {
          const { rollback } = opts;
          if (rollback) void rollback().then(() => reject(new Error('Cancelled')));
          else reject(new Error('Cancelled'));
        });
      }),
    action: async (action, name) => {
      calls.push(`${action} ${name}`);
      const failure = actionFailure;
      actionFailure = null;
      if (failure) throw failure;
      rows = rows.map((r) =>
        r.name === name ? { ...r, state: action === 'stop' || action === 'kill' ? 'Stopped' : 'Running' } : r,
      );
    },
    remove: async (name) => {
      calls.push(`rm ${name}`);
      rows = rows.filter((r) => r.name !== name);
    },
    regenerateCerts: async () => {},
    provision: (name, sink, signal) =>
      new Promise<void>((resolve, reject) => {
        calls.push(`provision ${name}`);
        provisionRun = { sink, signal, resolve, reject };
        signal.addEventListener('abort', () => reject(new Error('Cancelled')));
      }),
    sshTarget: async (name) => ({
      host: '127.0.0.1',
      port: 22,
      user: 'root',
      keyPath: '',
      knownHostsPath: `/x/${name}/known_hosts`,
    }),
  };
  let activeListener: ((a: ActiveHost) => void) | null = null;
  let current: ActiveHost = { machine: null, context: 'default' };
  const active: ActiveHostBackend = {
    current: async () => current,
    use: async (name) => {
      // As the contexts layer does: machine "default" gets a prefixed context name.
      current =
        name === null ? { machine: null, context: 'default' } : { machine: name, context: `moor-${name}` };
      calls.push(`use ${name}`);
    },
    watch: (l) => {
      activeListener = l;
      return () => {
        activeListener = null;
      };
    },
  };
  const shells: FakeShell[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'moor-services-'));
  const revealed: string[] = [];
  const services = new AppServices({
    store: new Store(dir),
    machines,
    active,
    openShell: async () => {
      const shell = new FakeShell();
      shells.push(shell);
      return { shell, close: () => shell.close() };
    },
    pollIntervalMs: 60_000,
    disposeTimeoutMs: opts.disposeTimeoutMs,
    revealPath: (file) => {
      revealed.push(file);
    },
  });
  const events: Pushed[] = [];
  services.subscribe((event, payload) => events.push({ event, payload } as Pushed));
  return {
    services,
    events,
    calls,
    shells,
    dir,
    setRows: (r: MachineRow[]) => {
      rows = r;
    },
    listCalls: () => listCalls,
    revealed,
    machines,
    active,
    failNextAction: (err: Error) => {
      actionFailure = err;
    },
    externalSwitch: (next: ActiveHost) => {
      current = next;
      activeListener?.(next);
    },
    createRun: () => createRun!,
    provisionRun: () => provisionRun!,
  };
}

let t: ReturnType<typeof setup>;
beforeEach(() => {
  t = setup();
});
afterEach(async () => {
  await t.services.dispose();
  rmSync(t.dir, { recursive: true, force: true });
  vi.useRealTimers();
});

describe('machine list', () => {
  it('pushes the list after the first poll, and only when something changed', async () => {
    await t.services.init();
    const pushes = () => t.events.filter((e) => e.event === 'machineState');
    expect(pushes()).toHaveLength(1);
    expect((await t.services.listMachines()).map((m) => [m.name, m.state])).toEqual([
      ['alpha', 'Running'],
      ['beta', 'Stopped'],
    ]);
    await t.services.refresh();
    expect(pushes()).toHaveLength(1); // nothing changed: nothing pushed
    t.setRows([row('alpha', { state: 'Stopped' }), row('beta')]);
    await t.services.refresh();
    expect(pushes()).toHaveLength(2);
  });

  it('follows active host switches made elsewhere (docker CLI) and never switches by itself', async () => {
    await t.services.init();
    expect(t.calls.filter((c) => c.startsWith('use'))).toEqual([]);
    t.externalSwitch({ machine: 'alpha', context: 'alpha' });
    expect(t.events.at(-2)).toEqual({
      event: 'activeChanged',
      payload: { active: { machine: 'alpha', context: 'alpha' } },
    });
    expect((await t.services.listMachines()).find((m) => m.active)?.name).toBe('alpha');
  });

  it('setActiveHost switches through the backend and refuses unknown machines', async () => {
    await t.services.init();
    await t.services.setActiveHost({ name: 'alpha' });
    expect(t.calls).toContain('use alpha');
    expect((await t.services.snapshot()).active).toEqual({ machine: 'alpha', context: 'moor-alpha' });
    await expect(t.services.setActiveHost({ name: 'nope' })).rejects.toThrow(/does not exist/);
    await t.services.setActiveHost({ name: null });
    expect(t.calls).toContain('use null');
    expect((await t.services.snapshot()).active).toEqual({ machine: null, context: 'default' });
  });

  it('tells a machine named "default" from the default context', async () => {
    t.setRows([row('default'), row('alpha')]);
    await t.services.init();
    await t.services.setActiveHost({ name: 'default' });
    expect(t.calls.at(-1)).toBe('use default');
    expect((await t.services.listMachines()).find((m) => m.active)?.name).toBe('default');
    expect(t.events.filter((e) => e.event === 'activeChanged').at(-1)?.payload).toEqual({
      active: { machine: 'default', context: 'moor-default' },
    });
    await t.services.setActiveHost({ name: null });
    expect(t.calls.at(-1)).toBe('use null');
    expect((await t.services.listMachines()).some((m) => m.active)).toBe(false);
    // Without a machine named "default", the string "default" is not the default context.
    t.setRows([row('alpha')]);
    await t.services.refresh();
    await expect(t.services.setActiveHost({ name: 'default' })).rejects.toThrow(/does not exist/);
  });

  it('marks a user stop, clears it on a user start, and never starts a machine by itself', async () => {
    await t.services.init();
    await t.services.stop({ name: 'alpha' });
    let alpha = (await t.services.listMachines()).find((m) => m.name === 'alpha')!;
    expect(alpha).toMatchObject({ state: 'Stopped', stoppedByUser: true, busy: null });
    for (let i = 0; i < 3; i++) await t.services.refresh();
    expect(t.calls.filter((c) => c.startsWith('start'))).toEqual([]);
    await t.services.start({ name: 'alpha' });
    alpha = (await t.services.listMachines()).find((m) => m.name === 'alpha')!;
    expect(alpha).toMatchObject({ state: 'Running', stoppedByUser: false });
  });

  it('a failed action never changes recorded intent', async () => {
    await t.services.init();
    t.failNextAction(new Error('droplet is locked'));
    await expect(t.services.stop({ name: 'alpha' })).rejects.toThrow(/droplet is locked/);
    let alpha = (await t.services.listMachines()).find((m) => m.name === 'alpha')!;
    expect(alpha).toMatchObject({ state: 'Running', stoppedByUser: false, busy: null });
    // A stop that worked marks it; a start that then fails leaves the mark (nothing may restart it).
    await t.services.stop({ name: 'alpha' });
    t.failNextAction(new Error('timed out'));
    await expect(t.services.start({ name: 'alpha' })).rejects.toThrow(/timed out/);
    alpha = (await t.services.listMachines()).find((m) => m.name === 'alpha')!;
    expect(alpha.stoppedByUser).toBe(true);
  });

  it("refuses an action the machine's driver cannot do, before anything runs", async () => {
    t.setRows([
      row('gen', { driver: 'generic' }),
      row('url', { driver: 'none' }),
      row('broken', { driver: '', state: 'Error', error: 'config.json: bad JSON' }),
    ]);
    await t.services.init();
    const before = t.events.length;
    await expect(t.services.stop({ name: 'gen' })).rejects.toThrow(
      /Can't stop "gen": the generic driver cannot stop a machine \(Moor did not make this host/,
    );
    await expect(t.services.kill({ name: 'gen' })).rejects.toThrow(/generic driver cannot kill/);
    await expect(t.services.restart({ name: 'url' })).rejects.toThrow(/none driver cannot restart/);
    await expect(t.services.start({ name: 'broken' })).rejects.toThrow(/configuration did not load/);
    await expect(t.services.start({ name: 'ghost' })).rejects.toThrow(/does not exist/);
    expect(t.calls.filter((c) => /^(start|stop|restart|kill) /.test(c))).toEqual([]);
    expect(t.events.slice(before)).toEqual([]); // never shown busy
    const gen = (await t.services.listMachines()).find((m) => m.name === 'gen')!;
    expect(gen.stoppedByUser).toBe(false);
    // What it can do still works.
    await t.services.restart({ name: 'gen' });
    expect(t.calls).toContain('restart gen');
  });

  it('shows the busy state while an action runs', async () => {
    await t.services.init();
    const started = t.services.restart({ name: 'alpha' });
    const busy = t.events.filter((e) => e.event === 'machineState').at(-1)!;
    expect(busy.event === 'machineState' && busy.payload.machines.find((m) => m.name === 'alpha')?.busy).toBe(
      'restarting',
    );
    await started;
    expect((await t.services.listMachines()).find((m) => m.name === 'alpha')?.busy).toBeNull();
  });
});

describe('create operations', () => {
  it('reports progress events, lists the machine while creating, and succeeds', async () => {
    await t.services.init();
    const { operationId } = await t.services.createMachine({
      name: 'gamma',
      driver: 'generic',
      flags: { 'generic-ip-address': '127.0.30.2', token: 's3cret' },
    });
    expect((await t.services.listMachines()).find((m) => m.name === 'gamma')?.busy).toBe('creating');
    t.createRun().sink({
      machine: 'gamma',
      step: 'create',
      level: 'step',
      message: 'Creating machine...',
      elapsedMs: 5,
    });
    expect(await t.services.readLogs({ operationId })).toHaveLength(1);
    const snap = await t.services.snapshot();
    expect(snap.operations[0]!.request.flags).toEqual({ 'generic-ip-address': '127.0.30.2' }); // secret not kept
    t.setRows([
      ...(await t.services.listMachines()).filter((m) => m.name !== 'gamma').map((m) => row(m.name, m)),
      row('gamma'),
    ]);
    t.createRun().resolve();
    await vi.waitFor(async () =>
      expect((await t.services.snapshot()).operations[0]!.status).toBe('succeeded'),
    );
    expect((await t.services.listMachines()).find((m) => m.name === 'gamma')?.busy).toBeNull();
  });

  it('cancel aborts the create (the core rolls back) and reports cancelled', async () => {
    await t.services.init();
    const { operationId } = await t.services.createMachine({ name: 'delta', driver: 'generic', flags: {} });
    await t.services.cancelCreate({ operationId });
    expect(t.createRun().signal.aborted).toBe(true);
    await vi.waitFor(async () =>
      expect((await t.services.snapshot()).operations[0]!.status).toBe('cancelled'),
    );
    expect((await t.services.listMachines()).some((m) => m.name === 'delta')).toBe(false);
  });

  it('refuses bad names, unknown drivers and existing machines before starting anything', async () => {
    await t.services.init();
    await expect(t.services.createMachine({ name: '-bad', driver: 'generic', flags: {} })).rejects.toThrow(
      /Invalid hostname/,
    );
    await expect(t.services.createMachine({ name: 'ok', driver: 'vbox', flags: {} })).rejects.toThrow(
      /Driver "vbox" not found/,
    );
    await expect(t.services.createMachine({ name: 'alpha', driver: 'generic', flags: {} })).rejects.toThrow(
      /already exists/,
    );
    expect(t.calls.filter((c) => c.startsWith('create'))).toEqual([]);
  });
});

describe('dispose (quit)', () => {
  it('aborts running creates and waits for their rollback before it resolves', async () => {
    let finishRollback = () => {};
    const rollingBack = new Promise<void>((resolve) => {
      finishRollback = resolve;
    });
    const d = setup({ rollback: () => rollingBack });
    try {
      await d.services.init();
      await d.services.createMachine({ name: 'delta', driver: 'generic', flags: {} });
      const lists = d.listCalls();
      let settled: boolean | null = null;
      const disposing = d.services.dispose();
      void disposing.then((finished) => {
        settled = finished;
      });
      expect(d.services.dispose()).toBe(disposing); // a second quit waits for the same work
      expect(d.createRun().signal.aborted).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(settled).toBeNull(); // still rolling back
      finishRollback();
      await expect(disposing).resolves.toBe(true);
      const op = (await d.services.snapshot()).operations[0]!;
      expect(op).toMatchObject({ status: 'cancelled', error: 'Cancelled' });
      expect(d.listCalls()).toBe(lists); // no host polling once disposed
      await expect(d.services.createMachine({ name: 'late', driver: 'generic', flags: {} })).rejects.toThrow(
        /Moor is quitting/,
      );
    } finally {
      finishRollback();
      rmSync(d.dir, { recursive: true, force: true });
    }
  });

  it('gives up waiting after its bound and says so', async () => {
    const d = setup({ rollback: () => new Promise<void>(() => {}), disposeTimeoutMs: 30 });
    try {
      await d.services.init();
      await d.services.createMachine({ name: 'stuck', driver: 'generic', flags: {} });
      await expect(d.services.dispose()).resolves.toBe(false);
      expect(d.createRun().signal.aborted).toBe(true);
    } finally {
      rmSync(d.dir, { recursive: true, force: true });
    }
  });

  it('resolves at once with nothing running', async () => {
    await t.services.init();
    await expect(t.services.dispose()).resolves.toBe(true);
  });
});

describe('provisioning a kept machine', () => {
  it('a create that kept its machine says so; Retry provisions it instead of creating again', async () => {
    await t.services.init();
    const { operationId } = await t.services.createMachine({
      name: 'kept',
      driver: 'generic',
      flags: { 'generic-ip-address': '127.0.30.9' },
    });
    const kept = new Error('Error creating machine: boom\nThe machine "kept" was kept');
    kept.name = 'MachineKeptError';
    t.setRows([row('alpha'), row('kept', { state: 'Running' })]);
    t.createRun().reject(kept);
    await vi.waitFor(async () => {
      const op = (await t.services.snapshot()).operations.find((o) => o.id === operationId)!;
      expect(op).toMatchObject({ status: 'failed', machineKept: true, kind: 'create' });
    });
    await expect(t.services.createMachine({ name: 'kept', driver: 'generic', flags: {} })).rejects.toThrow(
      /already exists/,
    );

    const again = await t.services.provisionMachine({ name: 'kept' });
    expect(t.calls).toContain('provision kept');
    expect((await t.services.listMachines()).find((m) => m.name === 'kept')?.busy).toBe('provisioning');
    await expect(t.services.provisionMachine({ name: 'kept' })).rejects.toThrow(/busy/);
    t.provisionRun().sink({
      machine: 'kept',
      step: 'install',
      level: 'step',
      message: 'Installing Docker...',
      elapsedMs: 3,
    });
    const progress = t.events.filter((e) => e.event === 'createProgress').at(-1)!;
    expect(progress.payload).toMatchObject({
      operation: { id: again.operationId, kind: 'provision', machine: 'kept', status: 'running' },
      event: { message: 'Installing Docker...' },
    });
    t.provisionRun().resolve();
    await vi.waitFor(async () => {
      const op = (await t.services.snapshot()).operations.find((o) => o.id === again.operationId)!;
      expect(op).toMatchObject({ status: 'succeeded', machineKept: false });
    });
    expect(await t.services.readLogs({ operationId: again.operationId })).toHaveLength(1);
    expect((await t.services.listMachines()).find((m) => m.name === 'kept')?.busy).toBeNull();
  });

  it('a failed create that rolled back is not marked kept', async () => {
    await t.services.init();
    const { operationId } = await t.services.createMachine({ name: 'gone', driver: 'generic', flags: {} });
    t.createRun().reject(new Error('Error creating machine: ssh refused'));
    await vi.waitFor(async () => {
      const op = (await t.services.snapshot()).operations.find((o) => o.id === operationId)!;
      expect(op).toMatchObject({ status: 'failed', machineKept: false });
    });
  });

  it('a rolled-back create is gone from the list when its end is told (not one poll later)', async () => {
    await t.services.init();
    const { operationId } = await t.services.createMachine({ name: 'ghost', driver: 'generic', flags: {} });
    // A poll during the create saw its directory.
    t.setRows([row('alpha'), row('ghost', { state: '', url: '' })]);
    await t.services.refresh();
    t.setRows([row('alpha')]);
    let listedAtEnd: string[] | null = null;
    t.services.subscribe((...[event, payload]) => {
      if (event === 'createProgress' && payload.operation.status !== 'running') {
        listedAtEnd = t.services.machines().map((m) => m.name);
      }
    });
    await t.services.cancelCreate({ operationId });
    await vi.waitFor(() => expect(listedAtEnd).not.toBeNull());
    expect(listedAtEnd).toEqual(['alpha']);
  });

  it('a create that fails (however long after it started) is notified; a cancel is not', async () => {
    await t.services.init();
    const notices = () => t.events.filter((e) => e.event === 'notify').map((e) => e.payload);
    const { operationId } = await t.services.createMachine({ name: 'late', driver: 'generic', flags: {} });
    t.createRun().reject(new Error('Error creating machine: ssh refused'));
    await vi.waitFor(() => expect(notices()).toHaveLength(1));
    expect(notices()[0]).toEqual({
      level: 'error',
      title: 'Creating "late" failed',
      body: 'Error creating machine: ssh refused',
      operationId,
      machine: 'late',
    });
    const second = await t.services.createMachine({ name: 'late2', driver: 'generic', flags: {} });
    await t.services.cancelCreate({ operationId: second.operationId });
    await vi.waitFor(async () => {
      const op = (await t.services.snapshot()).operations.find((o) => o.id === second.operationId)!;
      expect(op.status).toBe('cancelled');
    });
    expect(notices()).toHaveLength(1);
    const third = await t.services.createMachine({ name: 'fine', driver: 'generic', flags: {} });
    t.createRun().resolve();
    await vi.waitFor(() => expect(notices()).toHaveLength(2));
    expect(notices()[1]).toMatchObject({
      level: 'info',
      title: '"fine" is ready',
      operationId: third.operationId,
    });
  });

  it('keeps settings (file-backed), checks them, and filters desktop notifications by them', async () => {
    const file = path.join(t.dir, 'prefs', 'preferences.json');
    let login = false;
    const s = new AppServices({
      store: new Store(t.dir),
      machines: t.machines,
      active: t.active,
      openShell: async () => {
        throw new Error('no shells here');
      },
      preferences: filePreferences(file),
      loginItem: { get: () => login, set: (v) => (login = v) },
      version: '1.2.3',
    });
    await s.init();
    try {
      expect((await s.settings()).settings).toEqual({
        openAtLogin: false,
        defaultDriver: 'generic',
        notifications: 'all',
      });
      expect((await s.settings()).about).toMatchObject({ version: '1.2.3', storePath: t.dir });
      await s.updateSettings({ notifications: 'failures', openAtLogin: true });
      expect(login).toBe(true);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
        defaultDriver: 'generic',
        notifications: 'failures',
      });
      expect(s.wantsDesktopNotification({ level: 'info', title: 'x', body: '' })).toBe(false);
      expect(s.wantsDesktopNotification({ level: 'error', title: 'x', body: '' })).toBe(true);
      await expect(s.updateSettings({ defaultDriver: 'virtualbox' })).rejects.toThrow(
        /Driver "virtualbox" not found/,
      );
      // Read back by the next start; a broken file means the defaults.
      expect(await filePreferences(file).load()).toEqual({
        defaultDriver: 'generic',
        notifications: 'failures',
      });
      writeFileSync(file, '{ not json');
      expect(await filePreferences(file).load()).toEqual({ defaultDriver: 'generic', notifications: 'all' });
    } finally {
      await s.dispose();
    }
    // Without a login item (Linux builds) the setting says so and cannot be changed.
    expect((await t.services.settings()).settings.openAtLogin).toBeNull();
    await expect(t.services.updateSettings({ openAtLogin: true })).rejects.toThrow(/not available/);
  });

  it("reveals a machine's config.json (or its folder) and refuses unknown machines", async () => {
    await t.services.init();
    const store = new Store(t.dir);
    mkdirSync(store.machineDir('alpha'), { recursive: true });
    expect(await t.services.revealInFolder({ name: 'alpha' })).toEqual({ path: store.machineDir('alpha') });
    writeFileSync(store.configPath('alpha'), '{');
    expect(await t.services.revealInFolder({ name: 'alpha' })).toEqual({ path: store.configPath('alpha') });
    expect(t.revealed).toEqual([store.machineDir('alpha'), store.configPath('alpha')]);
    await expect(t.services.revealInFolder({ name: 'ghost' })).rejects.toThrow(/does not exist/);
  });

  it('provisioning can be cancelled, keeps the machine, and refuses unknown machines', async () => {
    await t.services.init();
    await expect(t.services.provisionMachine({ name: 'nope' })).rejects.toThrow(/does not exist/);
    const { operationId } = await t.services.provisionMachine({ name: 'alpha' });
    await t.services.cancelCreate({ operationId });
    expect(t.provisionRun().signal.aborted).toBe(true);
    await vi.waitFor(async () => {
      const op = (await t.services.snapshot()).operations.find((o) => o.id === operationId)!;
      expect(op).toMatchObject({ status: 'cancelled', machineKept: true });
    });
    expect((await t.services.listMachines()).some((m) => m.name === 'alpha')).toBe(true);
  });
});

describe('regenerateCerts', () => {
  it('refuses a machine that does not exist without marking it busy or starting an operation', async () => {
    await t.services.init();
    await expect(t.services.regenerateCerts({ name: 'nope' })).rejects.toThrow(
      'Docker machine "nope" does not exist',
    );
    const snapshot = await t.services.snapshot();
    expect(snapshot.operations.filter((o) => o.machine === 'nope')).toEqual([]);
    expect((await t.services.listMachines()).some((m) => m.name === 'nope')).toBe(false);
    // A machine that exists still gets its operation.
    const { operationId } = await t.services.regenerateCerts({ name: 'alpha' });
    expect(operationId).toBeTruthy();
  });
});

describe('terminal sessions', () => {
  async function open() {
    await t.services.init();
    const result = await t.services.terminalOpen({ machine: 'alpha', rows: 40, cols: 120 });
    return { id: result.info.id, shell: t.shells.at(-1)! };
  }
  const dataEvents = () => t.events.filter((e) => e.event === 'terminalData');

  it('batches output: many chunks within one frame make one message', async () => {
    const { id, shell } = await open();
    for (let i = 0; i < 50; i++) shell.emit(`line ${i}\r\n`);
    expect(dataEvents()).toHaveLength(0);
    await new Promise((r) => setTimeout(r, FLUSH_INTERVAL_MS * 3));
    expect(dataEvents()).toHaveLength(1);
    const first = dataEvents()[0]!;
    expect(first.event === 'terminalData' && first.payload.id).toBe(id);
    expect(first.event === 'terminalData' && first.payload.data.split('\r\n')).toHaveLength(51);
  });

  it('keeps multi-byte characters split across packets intact', async () => {
    const { shell } = await open();
    const bytes = Buffer.from('é✓');
    shell.emit(bytes.subarray(0, 1));
    shell.emit(bytes.subarray(1, 4));
    shell.emit(bytes.subarray(4));
    await new Promise((r) => setTimeout(r, FLUSH_INTERVAL_MS * 3));
    const e = dataEvents()[0]!;
    expect(e.event === 'terminalData' && e.payload.data).toBe('é✓');
  });

  it('pauses the channel above the high watermark and resumes below the low one', async () => {
    const { id, shell } = await open();
    const chunk = 'x'.repeat(16_384);
    let sent = 0;
    while (!shell.paused) {
      shell.emit(chunk);
      sent += chunk.length;
      await new Promise((r) => setTimeout(r, FLUSH_INTERVAL_MS + 5)); // one batch per frame
      if (sent > 10 * TERMINAL_HIGH_WATERMARK) break;
    }
    expect(shell.paused).toBe(true);
    expect(sent).toBeGreaterThan(TERMINAL_HIGH_WATERMARK);
    expect(sent).toBeLessThanOrEqual(TERMINAL_HIGH_WATERMARK + chunk.length);
    await t.services.terminalAck({ id, chars: sent - TERMINAL_LOW_WATERMARK }); // still at the low mark
    expect(shell.paused).toBe(true);
    await t.services.terminalAck({ id, chars: 1 });
    expect(shell.paused).toBe(false);
    expect(shell.resumeCalls).toBe(1);
  });

  it('forwards input and resizes, and opens with the real size', async () => {
    const { id, shell } = await open();
    await t.services.terminalWrite({ id, data: 'uname -a\r' });
    await t.services.terminalResize({ id, rows: 30, cols: 100 });
    expect(shell.written).toEqual(['uname -a\r']);
    expect(shell.sizes).toEqual([[30, 100]]);
  });

  it('survives detach: output goes to a bounded replay buffer, replayed on attach', async () => {
    const { id, shell } = await open();
    shell.emit('before\r\n');
    await t.services.terminalDetach({ id });
    expect((await t.services.listTerminals())[0]).toMatchObject({ id, attached: false, exitCode: null });
    const n = dataEvents().length;
    shell.emit('while away\r\n');
    await new Promise((r) => setTimeout(r, FLUSH_INTERVAL_MS * 3));
    expect(dataEvents()).toHaveLength(n); // nothing pushed while detached
    expect(shell.paused).toBe(false); // and the remote is never blocked by a missing view
    const again = await t.services.terminalAttach({ id, rows: 24, cols: 80 });
    expect(again.replay).toBe('before\r\nwhile away\r\n');
    expect(again.info.attached).toBe(true);
    expect(shell.sizes.at(-1)).toEqual([24, 80]);
  });

  it('ends the session on terminalClose and reports a remote exit', async () => {
    const { id, shell } = await open();
    await t.services.terminalClose({ id });
    expect(shell.closed).toBe(true);
    expect(await t.services.listTerminals()).toEqual([]);
    await expect(t.services.terminalWrite({ id, data: 'x' })).rejects.toThrow(/no longer exists/);

    const second = await open();
    second.shell.emit('bye\r\n');
    second.shell.exit(0);
    expect(t.events.filter((e) => e.event === 'terminalExit').at(-1)).toEqual({
      event: 'terminalExit',
      payload: { id: second.id, exitCode: 0 },
    });
    // The final output was flushed before the exit event.
    const last = dataEvents().at(-1)!;
    expect(last.event === 'terminalData' && last.payload.data).toBe('bye\r\n');
  });

  it('numbers several sessions on one machine, reusing the lowest free number', async () => {
    const first = await open();
    const b = await t.services.terminalOpen({ machine: 'alpha', rows: 24, cols: 80 });
    expect(b.info.title).toBe('alpha #2');
    await t.services.terminalClose({ id: first.id });
    const c = await t.services.terminalOpen({ machine: 'alpha', rows: 24, cols: 80 });
    expect(c.info.title).toBe('alpha'); // not a second "alpha #2"
  });

  it('removing a machine ends its sessions', async () => {
    const { shell } = await open();
    await t.services.remove({ name: 'alpha' });
    expect(shell.closed).toBe(true);
    expect(t.calls).toContain('rm alpha');
  });
});

describe('RingBuffer', () => {
  it('keeps only the last `limit` characters', () => {
    const ring = new RingBuffer(10);
    ring.push('abcdef');
    ring.push('ghijkl');
    expect(ring.text()).toBe('cdefghijkl');
    ring.push('x'.repeat(25));
    expect(ring.text()).toBe('x'.repeat(10));
    expect(ring.length).toBe(10);
  });
  it('is bounded at the replay limit', () => {
    const ring = new RingBuffer(REPLAY_LIMIT);
    for (let i = 0; i < 100; i++) ring.push('y'.repeat(10_000));
    expect(ring.length).toBe(REPLAY_LIMIT);
  });
  it('replays from the first whole line once the front was dropped', () => {
    const ring = new RingBuffer(20);
    ring.push('one\n');
    expect(ring.text()).toBe('one\n'); // nothing dropped: replay all of it
    ring.push('\u001b[31mred\u001b[0m\nline two\n');
    // The cut fell inside the colour escape; replay starts at "line two".
    expect(ring.text()).toBe('line two\n');
  });
});
