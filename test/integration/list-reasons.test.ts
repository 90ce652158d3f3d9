/**
 * Why a host is not simply Running (issue 11 item 5): the core list's `reason` for generic hosts
 * whose SSH port is refused (Stopped), whose engine port is refused (Running, engine down) and
 * whose engine never answers (Timeout), on real sockets; and `moor ls` printing what the real
 * docker-machine 0.16.2 prints for them on the same store. Loopback range 127.0.42.0/24 (.2–.9).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMachines } from '../../main/core/list.js';
import { Store } from '../../main/store/store.js';
import { tempDir } from '../harness/components.js';
import { generateKey, type Tools, tools } from '../harness/docker-machine.js';
import { bootstrapStoreCerts, writeGenericMachine } from '../harness/store-fixtures.js';
import { type HangingServer, refusedAddress, startHangingServer } from '../harness/tls-engine.js';

const SSH_REFUSED_HOST = '127.0.42.2';
const ENGINE_REFUSED_HOST = '127.0.42.3';
const SILENT_HOST = '127.0.42.4';

describe('list reasons', () => {
  const { dir, cleanup } = tempDir('moor-list-reasons');
  const storePath = path.join(dir, 'store');
  let t: Tools;
  let sshOnly: HangingServer;
  let silent: HangingServer;
  let sshRefusedPort = 0;

  /** Sets config.json's Driver.EnginePort (writeGenericMachine writes 2376). */
  const setEnginePort = (name: string, port: number) => {
    const file = path.join(storePath, 'machines', name, 'config.json');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('"EnginePort": 2376', `"EnginePort": ${port}`));
  };

  beforeAll(async () => {
    t = tools(dir, storePath);
    await bootstrapStoreCerts(storePath);
    const { keyPath } = generateKey(dir);
    const refused = await refusedAddress(SSH_REFUSED_HOST);
    sshRefusedPort = refused.port;
    // "SSH" that accepts TCP (all the generic driver's state asks) on hosts whose engine is down or mute.
    [sshOnly, silent] = await Promise.all([
      startHangingServer(ENGINE_REFUSED_HOST),
      startHangingServer(SILENT_HOST),
    ]);
    const user = 'root';
    writeGenericMachine(storePath, 'sshrefused', {
      host: refused.host,
      port: refused.port,
      user,
      clientKeyPath: keyPath,
    });
    writeGenericMachine(storePath, 'enginerefused', {
      host: sshOnly.host,
      port: sshOnly.port,
      user,
      clientKeyPath: keyPath,
    });
    const engineDown = await refusedAddress(ENGINE_REFUSED_HOST);
    setEnginePort('enginerefused', engineDown.port);
    writeGenericMachine(storePath, 'mute', {
      host: silent.host,
      port: silent.port,
      user,
      clientKeyPath: keyPath,
    });
    setEnginePort('mute', silent.port);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([sshOnly?.close(), silent?.close()]);
    cleanup();
  });

  it('says why each host is not Running, naming the address', async () => {
    const rows = await listMachines({ store: new Store(storePath), timeoutMs: 1_000, env: {} });
    const byName = Object.fromEntries(rows.map((r) => [r.Name, r]));
    const ssh = `${SSH_REFUSED_HOST}:${sshRefusedPort}`;
    expect(byName.sshrefused).toMatchObject({
      State: 'Stopped',
      Error: '',
      reason: {
        kind: 'ssh-port',
        address: ssh,
        text: `SSH port ${ssh}: connection refused (the host is up, nothing listens there)`,
      },
    });
    const engine = byName.enginerefused!;
    expect(engine.State).toBe('Running');
    expect(engine.Error).toMatch(/^Unable to query docker version: /);
    expect(engine.reason?.kind).toBe('engine');
    expect(engine.reason?.text).toBe(
      `${engine.reason?.address}: connection refused (the host is up, nothing listens there)`,
    );
    expect(engine.reason?.address).toMatch(/^127\.0\.42\.3:\d+$/);
    expect(byName.mute).toMatchObject({
      State: 'Timeout',
      reason: {
        kind: 'timeout',
        address: `${SILENT_HOST}:${silent.port}`,
        text: `engine ${SILENT_HOST}:${silent.port}: no answer after 1 s`,
      },
    });
  });

  it('a host with nothing to explain has no reason, and a broken config says why', async () => {
    const broken = path.join(storePath, 'machines', 'broken');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(broken, { recursive: true });
    writeFileSync(path.join(broken, 'config.json'), '{ not json');
    try {
      const rows = await listMachines({ store: new Store(storePath), timeoutMs: 1_000, env: {} });
      const row = rows.find((r) => r.Name === 'broken')!;
      expect(row.State).toBe('Error');
      expect(row.reason).toEqual({ kind: 'config', address: '', text: row.Error });
    } finally {
      const { rmSync } = await import('node:fs');
      rmSync(broken, { recursive: true });
    }
  });

  it('moor ls prints what docker-machine 0.16.2 prints for a refused SSH port (no ERRORS)', async () => {
    const args = [
      'ls',
      '--filter',
      'name=sshrefused',
      '--format',
      '{{.Name}}|{{.State}}|{{.URL}}|{{.Error}}',
    ];
    const [dm, moor] = await Promise.all([t.dm(args), t.moor(args)]);
    expect(dm.stdout).toBe('sshrefused|Stopped||\n');
    expect(moor).toEqual(dm);
    // The table too, and its JSON: the app's reason is not a field of docker-machine's struct.
    const table = ['ls', '--filter', 'name=sshrefused'];
    const [dmTable, moorTable] = await Promise.all([t.dm(table), t.moor(table)]);
    expect(moorTable).toEqual(dmTable);
    const json = ['ls', '--filter', 'name=sshrefused', '--format', '{{json .}}'];
    const moorJson = await t.moor(json);
    expect(moorJson.stdout).not.toContain('reason');
    // docker-machine has no `json` template function (Moor adds it): its struct's fields, here.
    expect(Object.keys(JSON.parse(moorJson.stdout))).toEqual([
      'Name',
      'Active',
      'ActiveHost',
      'ActiveSwarm',
      'DriverName',
      'State',
      'URL',
      'SwarmOptions',
      'Swarm',
      'EngineOptions',
      'Error',
      'DockerVersion',
      'ResponseTime',
    ]);
    // And a template naming it fails as docker-machine's does for any unknown field.
    const unknown = ['ls', '--filter', 'name=sshrefused', '--format', '{{.Name}} {{.reason}}'];
    const [dmUnknown, moorUnknown] = await Promise.all([t.dm(unknown), t.moor(unknown)]);
    expect(dmUnknown.code).not.toBe(0);
    expect(moorUnknown).toEqual(dmUnknown);
  });

  it('moor ls prints what docker-machine 0.16.2 prints for a refused engine port', async () => {
    const args = ['ls', '--filter', 'name=enginerefused', '--format', '{{.Name}}|{{.State}}|{{.Error}}'];
    const [dm, moor] = await Promise.all([t.dm(args), t.moor(args)]);
    expect(dm.stdout).toBe(
      'enginerefused|Running|Unable to query docker version: Cannot connect to the docker engine endpoint\n',
    );
    expect(moor).toEqual(dm);
    const table = ['ls', '--filter', 'name=enginerefused'];
    const [dmTable, moorTable] = await Promise.all([t.dm(table), t.moor(table)]);
    expect(moorTable).toEqual(dmTable);
  });
});
