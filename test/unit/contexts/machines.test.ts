import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCurrentContext } from '../../../main/docker/contexts/config-file.js';
import { switchActiveHost } from '../../../main/docker/contexts/index.js';
import { ContextLayout, contextId } from '../../../main/docker/contexts/layout.js';
import {
  engineUrlFromConfig,
  findMachineContext,
  listMoorContexts,
  removeMachineContext,
  switchContext,
  syncMachineContext,
} from '../../../main/docker/contexts/machines.js';
import { activeMachineFromContext, resolveActive } from '../../../main/docker/contexts/resolve.js';
import { readContextMeta, writeContext } from '../../../main/docker/contexts/store.js';
import { Store } from '../../../main/store/store.js';
import { tempDir } from '../../harness/components.js';
import { writeNoneMachine, writeStoreCerts } from './fixtures.js';

describe('machine contexts', () => {
  let dir: string;
  let cleanup: () => void;
  let storePath: string;
  let layout: ContextLayout;
  const env = () => ({ DOCKER_CONFIG: layout.configDir });

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('moor-ctx-machines'));
    storePath = path.join(dir, 'store');
    layout = new ContextLayout(path.join(dir, 'docker'));
    writeStoreCerts(storePath);
  });
  afterEach(() => cleanup());

  it("writes the docker CLI's layout: sha256 dirs, meta.json, TLS files, modes, Moor marker", async () => {
    const config = writeNoneMachine(storePath, 'dev', 'tcp://127.0.3.9:2376');
    const result = await syncMachineContext(config, storePath, { layout });
    expect(result).toMatchObject({
      changed: true,
      context: { name: 'dev', machine: 'dev', host: 'tcp://127.0.3.9:2376' },
    });
    const id = contextId('dev');
    expect(id).toBe('ef260e9aa3c673af240d17a2660480361a8e081d1ffeca2a5ed0e3219fc18567');
    const metaDir = path.join(layout.configDir, 'contexts', 'meta', id);
    const meta = JSON.parse(readFileSync(path.join(metaDir, 'meta.json'), 'utf8'));
    expect(meta).toEqual({
      Name: 'dev',
      Metadata: { Description: 'Moor machine "dev" (none)', Moor: { Machine: 'dev', StorePath: storePath } },
      Endpoints: { docker: { Host: 'tcp://127.0.3.9:2376', SkipTLSVerify: false } },
    });
    expect(Object.keys(meta)).toEqual(['Name', 'Metadata', 'Endpoints']);
    expect(statSync(metaDir).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(metaDir, 'meta.json')).mode & 0o777).toBe(0o644);
    const tls = path.join(layout.configDir, 'contexts', 'tls', id);
    expect(statSync(tls).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(tls, 'docker')).mode & 0o777).toBe(0o700);
    expect(readdirSync(path.join(tls, 'docker')).sort()).toEqual(['ca.pem', 'cert.pem', 'key.pem']);
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) {
      expect(statSync(path.join(tls, 'docker', file)).mode & 0o777).toBe(0o600);
      expect(readFileSync(path.join(tls, 'docker', file))).toEqual(
        readFileSync(path.join(storePath, 'certs', file)),
      );
    }
    // Idempotent: nothing rewritten the second time.
    expect((await syncMachineContext(config, storePath, { layout })).changed).toBe(false);
  });

  it('updates the URL and TLS material (re-certified machine, new IP)', async () => {
    const config = writeNoneMachine(storePath, 'dev', 'tcp://127.0.3.9:2376');
    await syncMachineContext(config, storePath, { layout });
    writeStoreCerts(storePath, 'renewed');
    const again = await syncMachineContext(config, storePath, { layout, url: 'tcp://127.0.3.10:2376' });
    expect(again.changed).toBe(true);
    expect((await readContextMeta(layout, 'dev'))?.Endpoints.docker?.Host).toBe('tcp://127.0.3.10:2376');
    expect(readFileSync(path.join(layout.dockerTlsDir('dev'), 'ca.pem'), 'utf8')).toContain('renewed-ca.pem');
  });

  it('finds TLS material of a moved store through its recorded paths', async () => {
    const config = writeNoneMachine(storePath, 'dev', 'tcp://127.0.3.9:2376');
    const moved = path.join(dir, 'moved-store');
    cpSync(storePath, moved, { recursive: true });
    const movedStore = new Store(moved);
    const loaded = await movedStore.load('dev');
    expect(loaded.HostOptions.AuthOptions.CaCertPath).toBe(config.HostOptions.AuthOptions.CaCertPath); // still the old path
    rmSync(storePath, { recursive: true }); // only the relocated paths can work now
    const result = await syncMachineContext(loaded, moved, { layout });
    expect(result.context.storePath).toBe(moved);
    expect(existsSync(path.join(layout.dockerTlsDir('dev'), 'key.pem'))).toBe(true);
  });

  it('never overwrites a foreign context: a clash gets the prefix, and says so', async () => {
    await writeContext(
      layout,
      {
        Name: 'prod',
        Metadata: { Description: 'mine' },
        Endpoints: { docker: { Host: 'ssh://me@h', SkipTLSVerify: false } },
      },
      null,
    );
    const foreign = readFileSync(layout.metaFile('prod'));
    const config = writeNoneMachine(storePath, 'prod', 'tcp://127.0.3.9:2376');
    const result = await syncMachineContext(config, storePath, { layout });
    expect(result.context.name).toBe('moor-prod');
    expect(result.notice).toMatch(/"prod" already exists and was not created by Moor.*"moor-prod"/);
    expect(readFileSync(layout.metaFile('prod'))).toEqual(foreign);
    // Stable: found again without a notice; a custom prefix only applies to new contexts.
    const again = await syncMachineContext(config, storePath, { layout, prefix: 'x-' });
    expect(again).toMatchObject({ context: { name: 'moor-prod' }, changed: false });
    expect(again.notice).toBeUndefined();
    // Removal only removes Moor's context.
    expect(await removeMachineContext('prod', storePath, { layout })).toEqual({
      removed: 'moor-prod',
      wasCurrent: false,
    });
    expect(readFileSync(layout.metaFile('prod'))).toEqual(foreign);
    expect(await removeMachineContext('prod', storePath, { layout })).toEqual({
      removed: null,
      wasCurrent: false,
    });
  });

  it('uses a configurable prefix when both names are taken, and fails clearly when out of names', async () => {
    for (const name of ['web', 'moor-web']) {
      await writeContext(
        layout,
        { Name: name, Metadata: {}, Endpoints: { docker: { Host: 'tcp://h:1', SkipTLSVerify: false } } },
        null,
      );
    }
    const config = writeNoneMachine(storePath, 'web', 'tcp://127.0.3.9:2376');
    await expect(syncMachineContext(config, storePath, { layout })).rejects.toThrow(
      /"web" and "moor-web" already exist and were not created by Moor.*MOOR_CONTEXT_PREFIX/,
    );
    const viaEnv = await syncMachineContext(config, storePath, {
      layout,
      env: { MOOR_CONTEXT_PREFIX: 'mm_' },
    });
    expect(viaEnv.context.name).toBe('mm_web');
  });

  it('prefixes machine names that are not valid context names ("a", "default")', async () => {
    const a = await syncMachineContext(writeNoneMachine(storePath, 'a', 'tcp://127.0.3.9:2376'), storePath, {
      layout,
    });
    expect(a.context.name).toBe('moor-a');
    expect(a.notice).toMatch(/"a" cannot be a Docker context name/);
    const d = await syncMachineContext(
      writeNoneMachine(storePath, 'default', 'tcp://127.0.3.8:2376'),
      storePath,
      {
        layout,
      },
    );
    expect(d.context.name).toBe('moor-default');
    expect((await listMoorContexts({ layout })).map((c) => c.name)).toEqual(['moor-a', 'moor-default']);
  });

  it('keeps contexts of the same machine name in two stores apart', async () => {
    const other = path.join(dir, 'other-store');
    writeStoreCerts(other);
    await syncMachineContext(writeNoneMachine(storePath, 'dev', 'tcp://127.0.3.9:2376'), storePath, {
      layout,
    });
    const second = await syncMachineContext(writeNoneMachine(other, 'dev', 'tcp://127.0.3.7:2376'), other, {
      layout,
    });
    expect(second.context.name).toBe('moor-dev');
    expect((await findMachineContext('dev', storePath, { layout }))?.name).toBe('dev');
    expect((await listMoorContexts({ layout, storePath: other })).map((c) => c.name)).toEqual(['moor-dev']);
  });

  it('a machine without certificates gets a clear error naming the file', async () => {
    const config = writeNoneMachine(storePath, 'dev', 'tcp://127.0.3.9:2376');
    writeFileSync(path.join(storePath, 'certs', 'key.pem'), '-----BEGIN ENCRYPTED PRIVATE KEY-----\n');
    await expect(syncMachineContext(config, storePath, { layout })).rejects.toThrow(
      /client key .* is encrypted/,
    );
    rmSync(path.join(storePath, 'certs'), { recursive: true });
    await expect(syncMachineContext(config, storePath, { layout })).rejects.toThrow(
      /Cannot read the CA certificate of machine "dev" \(.*ca\.pem\)/,
    );
    expect(existsSync(layout.metaFile('dev'))).toBe(false);
  });

  it('removing the current context switches back to default first', async () => {
    const config = writeNoneMachine(storePath, 'dev', 'tcp://127.0.3.9:2376');
    await syncMachineContext(config, storePath, { layout });
    await switchContext('dev', { layout });
    expect(await readCurrentContext(layout)).toBe('dev');
    expect(await removeMachineContext('dev', storePath, { layout })).toEqual({
      removed: 'dev',
      wasCurrent: true,
    });
    expect(await readCurrentContext(layout)).toBe('default');
    expect(existsSync(layout.metaDir('dev'))).toBe(false);
    expect(existsSync(layout.tlsDir('dev'))).toBe(false);
  });

  it("prunes Moor's contexts of machines that are gone, never the current one nor foreign ones", async () => {
    const store = new Store(storePath);
    const gone = path.join(dir, 'deleted-store');
    writeStoreCerts(gone);
    for (const name of ['old1', 'old2']) {
      await syncMachineContext(writeNoneMachine(gone, name, 'tcp://127.0.3.9:2376'), gone, { layout });
    }
    await writeContext(
      layout,
      { Name: 'mine', Metadata: {}, Endpoints: { docker: { Host: 'tcp://h:1', SkipTLSVerify: false } } },
      null,
    );
    await switchContext('old2', { layout });
    rmSync(gone, { recursive: true });
    writeNoneMachine(storePath, 'dev', 'tcp://127.0.3.9:2376');
    await switchActiveHost(store, 'dev', { layout }); // switches away from old2 first, then prunes
    expect((await listMoorContexts({ layout })).map((c) => c.name)).toEqual(['dev']);
    expect(existsSync(layout.metaFile('mine'))).toBe(true);
    expect(existsSync(layout.tlsDir('old1'))).toBe(false);
  });

  it('the create/rm/regenerate-certs hooks turn every context problem into a warning', async () => {
    const { removeMachineContextOrWarn, syncMachineContextOrWarn } = await import(
      '../../../main/docker/contexts/hooks.js'
    );
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    const hookEnv = { DOCKER_CONFIG: layout.configDir };
    const config = writeNoneMachine(storePath, 'a', 'tcp://127.0.3.9:2376');
    await syncMachineContextOrWarn(config, storePath, {
      env: hookEnv,
      warn,
      driverUrl: async () => 'tcp://127.0.3.5:2376',
    });
    expect((await readContextMeta(layout, 'moor-a'))?.Endpoints.docker?.Host).toBe('tcp://127.0.3.5:2376');
    rmSync(path.join(storePath, 'certs'), { recursive: true });
    await syncMachineContextOrWarn(config, storePath, { env: hookEnv, warn });
    await switchContext('moor-a', { layout });
    await removeMachineContextOrWarn('a', storePath, { env: hookEnv, warn });
    expect(warnings).toEqual([
      '"a" cannot be a Docker context name: machine "a" uses the context "moor-a"',
      expect.stringMatching(/^Could not update the Docker context of "a": Cannot read the CA certificate/),
      '"moor-a" was the current Docker context: docker now uses the default context',
    ]);
  });

  it('switchContext refuses missing and invalid contexts', async () => {
    await expect(switchContext('nope', { layout })).rejects.toThrow('Docker context "nope" does not exist');
    await expect(switchContext('a', { layout })).rejects.toThrow('not a valid Docker context name');
    expect(existsSync(layout.configFile)).toBe(false);
  });

  it('switchActiveHost: machine, machine named "default", default context, missing machine', async () => {
    const store = new Store(storePath);
    writeNoneMachine(storePath, 'dev', 'tcp://127.0.3.9:2376');
    expect(await switchActiveHost(store, 'dev', { layout })).toEqual({
      context: 'dev',
      machine: 'dev',
      changed: true,
    });
    expect(await switchActiveHost(store, 'default', { layout })).toEqual({
      context: 'default',
      machine: null,
      changed: true,
    });
    writeNoneMachine(storePath, 'default', 'tcp://127.0.3.8:2376');
    expect(await switchActiveHost(store, 'default', { layout })).toMatchObject({
      context: 'moor-default',
      machine: 'default',
    });
    expect(await switchActiveHost(store, null, { layout })).toMatchObject({
      context: 'default',
      machine: null,
    });
    await expect(switchActiveHost(store, 'ghost', { layout })).rejects.toThrow(
      'Docker machine "ghost" does not exist',
    );
  });

  it("resolves the active host in the docker CLI's order", async () => {
    const store = new Store(storePath);
    writeNoneMachine(storePath, 'dev', 'tcp://127.0.3.9:2376');
    writeNoneMachine(storePath, 'web', 'tcp://127.0.3.8:2376');
    await switchActiveHost(store, 'web', { layout });
    await syncMachineContext(await store.load('dev'), storePath, { layout });
    expect(await resolveActive({ env: env() })).toEqual({
      source: 'currentContext',
      context: 'web',
      host: 'tcp://127.0.3.8:2376',
      machine: 'web',
      storePath,
    });
    expect(await resolveActive({ env: { ...env(), DOCKER_CONTEXT: 'dev' } })).toMatchObject({
      source: 'DOCKER_CONTEXT',
      machine: 'dev',
    });
    expect(
      await resolveActive({ env: { ...env(), DOCKER_CONTEXT: 'dev', DOCKER_HOST: 'tcp://1.2.3.4:2376' } }),
    ).toEqual({
      source: 'DOCKER_HOST',
      context: 'default',
      host: 'tcp://1.2.3.4:2376',
      machine: null,
      storePath: null,
    });
    expect(await resolveActive({ env: { ...env(), DOCKER_CONTEXT: 'gone' } })).toMatchObject({
      context: 'gone',
      host: null,
      error: 'context "gone" does not exist',
    });
    expect(await activeMachineFromContext(storePath, env())).toBe('web');
    expect(await activeMachineFromContext(storePath, { ...env(), DOCKER_HOST: 'tcp://x:1' })).toBeNull();
    expect(await activeMachineFromContext(path.join(dir, 'elsewhere'), env())).toBeNull();
    await switchActiveHost(store, null, { layout });
    expect(await resolveActive({ env: env() })).toMatchObject({
      source: 'default',
      context: 'default',
      machine: null,
    });
    expect(await activeMachineFromContext(storePath, env())).toBeNull();
  });

  it('engine URL from config.json: none URL, IP + 2376, generic EnginePort, IPv6', () => {
    const base = writeNoneMachine(storePath, 'dev', 'tcp://127.0.3.9:2376');
    expect(engineUrlFromConfig(base)).toBe('tcp://127.0.3.9:2376');
    const vm = { ...base, Driver: { ...base.Driver, URL: undefined, IPAddress: '10.0.0.5' } };
    expect(engineUrlFromConfig(vm)).toBe('tcp://10.0.0.5:2376');
    expect(engineUrlFromConfig({ ...vm, Driver: { ...vm.Driver, EnginePort: 2377 } })).toBe(
      'tcp://10.0.0.5:2377',
    );
    expect(engineUrlFromConfig({ ...vm, Driver: { ...vm.Driver, IPAddress: 'fd00::5' } })).toBe(
      'tcp://[fd00::5]:2376',
    );
    expect(engineUrlFromConfig({ ...vm, Driver: { ...vm.Driver, IPAddress: '' } })).toBe('');
  });
});
