import { mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContextLayout } from '../../../main/docker/contexts/layout.js';
import { syncMachineContext } from '../../../main/docker/contexts/machines.js';
import { activeHostService } from '../../../main/docker/contexts/service.js';
import { writeContext } from '../../../main/docker/contexts/store.js';
import { type ActiveHostState, ContextWatcher } from '../../../main/docker/contexts/watcher.js';
import { Store } from '../../../main/store/store.js';
import { tempDir } from '../../harness/components.js';
import { writeNoneMachine, writeStoreCerts } from './fixtures.js';

/** What the docker CLI does to config.json: write a temp file beside it, rename it over. */
function writeLikeDockerCli(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.config.json.tmp${Math.random()}`);
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ContextWatcher (real files, fs.watch only: polling off)', () => {
  let dir: string;
  let cleanup: () => void;
  let storePath: string;
  let layout: ContextLayout;
  let watcher: ContextWatcher;
  let events: ActiveHostState[];
  const last = () => events[events.length - 1];
  const eventWhere = (what: string, pred: (s: ActiveHostState) => boolean) =>
    until(what, () => events.find((e, i) => i >= seen && pred(e)));
  let seen = 0;
  const mark = () => {
    seen = events.length;
  };

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('moor-ctx-watch'));
    storePath = path.join(dir, 'store');
    writeStoreCerts(storePath);
    // DOCKER_CONFIG two levels below anything that exists: the watcher must wait for it.
    layout = new ContextLayout(path.join(dir, 'home', '.docker'));
    events = [];
    seen = 0;
  });
  afterEach(() => {
    watcher?.close();
    cleanup();
  });

  async function startWatcher(): Promise<ActiveHostState> {
    watcher = new ContextWatcher({ layout, storePath, pollMs: 0, debounceMs: 30 });
    watcher.onChange((s) => events.push(s));
    return watcher.start();
  }

  it('follows contexts and currentContext from a config dir that does not exist yet', async () => {
    expect(await startWatcher()).toEqual({
      machine: null,
      context: 'default',
      host: 'unix:///var/run/docker.sock',
      contexts: [],
    });

    mark();
    await syncMachineContext(writeNoneMachine(storePath, 'alpha', 'tcp://127.0.3.1:2376'), storePath, {
      layout,
    });
    await syncMachineContext(writeNoneMachine(storePath, 'beta', 'tcp://127.0.3.2:2376'), storePath, {
      layout,
    });
    const listed = await eventWhere('two contexts', (s) => s.contexts.length === 2);
    expect(listed.contexts.map((c) => c.name)).toEqual(['alpha', 'beta']);
    expect(listed.machine).toBeNull();

    mark();
    writeLikeDockerCli(layout.configFile, '{\n\t"auths": {},\n\t"currentContext": "alpha"\n}');
    expect(await eventWhere('alpha', (s) => s.machine === 'alpha')).toMatchObject({
      context: 'alpha',
      host: 'tcp://127.0.3.1:2376',
    });

    mark();
    writeLikeDockerCli(layout.configFile, '{\n\t"auths": {},\n\t"currentContext": "beta"\n}');
    await eventWhere('beta', (s) => s.machine === 'beta');

    // An in-place write (an editor) is noticed too.
    mark();
    writeFileSync(layout.configFile, '{\n\t"auths": {}\n}');
    expect(await eventWhere('default', (s) => s.context === 'default')).toMatchObject({ machine: null });
  });

  it('reports a foreign context as no machine, and updates of the current context', async () => {
    await syncMachineContext(writeNoneMachine(storePath, 'alpha', 'tcp://127.0.3.1:2376'), storePath, {
      layout,
    });
    await startWatcher();
    mark();
    await writeContext(
      layout,
      { Name: 'theirs', Metadata: {}, Endpoints: { docker: { Host: 'ssh://x', SkipTLSVerify: false } } },
      null,
    );
    writeLikeDockerCli(layout.configFile, '{"currentContext": "theirs"}');
    expect(await eventWhere('theirs', (s) => s.context === 'theirs')).toMatchObject({
      machine: null,
      host: 'ssh://x',
    });

    mark();
    writeLikeDockerCli(layout.configFile, '{"currentContext": "alpha"}');
    await eventWhere('alpha', (s) => s.machine === 'alpha');
    mark();
    await syncMachineContext(await new Store(storePath).load('alpha'), storePath, {
      layout,
      url: 'tcp://127.0.3.3:2376',
    });
    expect(await eventWhere('new host', (s) => s.host === 'tcp://127.0.3.3:2376')).toMatchObject({
      machine: 'alpha',
    });

    // The current context disappears (docker context rm -f alpha, by hand).
    mark();
    rmSync(layout.metaDir('alpha'), { recursive: true });
    expect(await eventWhere('missing', (s) => s.host === null)).toMatchObject({
      context: 'alpha',
      machine: null,
      error: 'context "alpha" does not exist',
    });
  });

  it('survives the config dir being deleted and recreated, and follows a symlinked config.json', async () => {
    mkdirSync(layout.configDir, { recursive: true });
    await syncMachineContext(writeNoneMachine(storePath, 'alpha', 'tcp://127.0.3.1:2376'), storePath, {
      layout,
    });
    const dotfiles = path.join(dir, 'dotfiles');
    mkdirSync(dotfiles);
    const target = path.join(dotfiles, 'config.json');
    writeFileSync(target, '{}');
    symlinkSync(target, layout.configFile);
    await startWatcher();

    mark();
    writeLikeDockerCli(target, '{"currentContext": "alpha"}'); // the CLI writes through the link
    await eventWhere('alpha via symlink', (s) => s.machine === 'alpha');

    mark();
    rmSync(layout.configDir, { recursive: true });
    await eventWhere('gone', (s) => s.context === 'default' && s.contexts.length === 0);
    mark();
    await syncMachineContext(await new Store(storePath).load('alpha'), storePath, { layout });
    writeLikeDockerCli(layout.configFile, '{"currentContext": "alpha"}');
    await eventWhere('back', (s) => s.machine === 'alpha');
  });

  it('debounces a burst into few events and never writes anything itself', async () => {
    mkdirSync(layout.configDir, { recursive: true });
    await syncMachineContext(writeNoneMachine(storePath, 'alpha', 'tcp://127.0.3.1:2376'), storePath, {
      layout,
    });
    writeFileSync(layout.configFile, '{"auths": {}}');
    const before = { text: readFileSync(layout.configFile), mtime: statSync(layout.configFile).mtimeMs };
    await startWatcher();
    await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(layout.configFile)).toEqual(before.text);
    expect(statSync(layout.configFile).mtimeMs).toBe(before.mtime);
    expect(events).toEqual([]);

    for (let i = 0; i < 20; i++) {
      writeLikeDockerCli(layout.configFile, `{"currentContext": "${i % 2 ? 'alpha' : 'default'}"}`);
    }
    await until('settled on alpha', () => (last()?.machine === 'alpha' ? true : undefined));
    await new Promise((r) => setTimeout(r, 150));
    expect(last()?.machine).toBe('alpha');
    expect(events.length).toBeLessThan(20);
  });

  it('activeHostService: current, use and watch as the app sees them', async () => {
    const store = new Store(storePath);
    writeNoneMachine(storePath, 'alpha', 'tcp://127.0.3.1:2376');
    const service = activeHostService(store, { layout, pollMs: 0, debounceMs: 30 });
    try {
      const seenNames: string[] = [];
      service.watch((active) => seenNames.push(active.machine ?? active.context));
      expect(await service.current()).toEqual({ machine: null, context: 'default' });
      await service.use('alpha');
      expect(await service.current()).toEqual({ machine: 'alpha', context: 'alpha' });
      writeLikeDockerCli(layout.configFile, '{}'); // `docker context use default` elsewhere
      await until('default', () => (seenNames.at(-1) === 'default' ? true : undefined));
      expect(seenNames).toEqual(['alpha', 'default']);
    } finally {
      service.close();
    }
  });
});
