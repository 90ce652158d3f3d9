import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressReporter } from '../../main/base/progress.js';
import generic, { type GenericConfig } from '../../main/drivers/generic/index.js';
import type { DriverContext } from '../../main/drivers/types.js';
import { baseDriverConfig, newHostConfig } from '../../main/store/config.js';
import { tempDir } from '../harness/components.js';
import { GENERIC_DRIVER_KEYS } from '../harness/docker-machine-shapes.js';

const tmp = tempDir('moor-generic-unit');
const storePath = path.join(tmp.dir, 'store');
const machineDir = path.join(storePath, 'machines', 'gen');
const logs: string[] = [];
const ctx: DriverContext = {
  storePath,
  machineDir,
  progress: progressReporter('gen', (e) => logs.push(e.message)),
  env: {},
};
const base = baseDriverConfig('gen', storePath);
const config = (values: Record<string, string | number>) =>
  generic.configFromFlags(values, base, ctx) as GenericConfig;

let server: net.Server;
let openPort = 0;
let closedPort = 0;

beforeAll(async () => {
  mkdirSync(machineDir, { recursive: true });
  server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  openPort = (server.address() as net.AddressInfo).port;
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(() => {
  server.close();
  tmp.cleanup();
});

describe('generic flags (docker-machine generic.go)', () => {
  it('are declared as data with docker-machine names, defaults and env vars', () => {
    expect(generic.flags.map((f) => [f.name, f.type, f.default, f.envVar])).toEqual([
      ['generic-engine-port', 'int', 2376, 'GENERIC_ENGINE_PORT'],
      ['generic-ip-address', 'string', '', 'GENERIC_IP_ADDRESS'],
      ['generic-ssh-key', 'string', '', 'GENERIC_SSH_KEY'],
      ['generic-ssh-port', 'int', 22, 'GENERIC_SSH_PORT'],
      ['generic-ssh-user', 'string', 'root', 'GENERIC_SSH_USER'],
    ]);
    expect(generic.provisions).toBe(true);
    expect(generic.keepOnProvisionFailure).toBe(true);
  });

  it("requires the IP address with docker-machine's message", () => {
    expect(() => config({})).toThrow('generic driver requires the --generic-ip-address option');
  });

  it("builds the Driver object in docker-machine's key order", () => {
    const c = config({
      'generic-ip-address': '10.0.0.5',
      'generic-ssh-user': 'ubuntu',
      'generic-ssh-port': 2222,
      'generic-engine-port': 12376,
      'generic-ssh-key': 'keys/id',
    });
    expect(Object.keys(c)).toEqual(GENERIC_DRIVER_KEYS);
    expect(c).toMatchObject({
      IPAddress: '10.0.0.5',
      SSHUser: 'ubuntu',
      SSHPort: 2222,
      SSHKeyPath: '',
      EnginePort: 12376,
      SSHKey: path.resolve('keys/id'),
    });
  });

  it('rejects a port that is not one', () => {
    expect(() => config({ 'generic-ip-address': '1.2.3.4', 'generic-ssh-port': 'x' })).toThrow(
      /--generic-ssh-port: not a port number/,
    );
  });
});

describe('GenericDriver', () => {
  it('preCreateCheck: the key must exist', async () => {
    const missing = path.join(tmp.dir, 'nope');
    const driver = generic.open(config({ 'generic-ip-address': '1.2.3.4', 'generic-ssh-key': missing }), ctx);
    await expect(driver.preCreateCheck()).rejects.toThrow(`SSH key does not exist: "${missing}"`);
    const noKey = generic.open(config({ 'generic-ip-address': '1.2.3.4' }), ctx);
    await expect(noKey.preCreateCheck()).resolves.toBeUndefined();
  });

  it('create copies the key and its .pub into the machine dir as id_rsa, 0600', async () => {
    const key = path.join(tmp.dir, 'id_user');
    writeFileSync(key, 'PRIVATE');
    writeFileSync(`${key}.pub`, 'PUBLIC');
    chmodSync(`${key}.pub`, 0o644);
    const driver = generic.open(config({ 'generic-ip-address': '1.2.3.4', 'generic-ssh-key': key }), ctx);
    await driver.create();
    expect(driver.config.SSHKeyPath).toBe(path.join(machineDir, 'id_rsa'));
    expect(statSync(path.join(machineDir, 'id_rsa')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(machineDir, 'id_rsa.pub')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(machineDir, 'id_rsa.pub'), 'utf8')).toBe('PUBLIC');
    expect(logs).toContain('Importing SSH key...');
  });

  it.each(['key.pem', 'cert.pem', 'ca.pem', 'config.json', 'server-key.pem', 'known_hosts'])(
    'a key named %s never touches the store file of that name',
    async (name) => {
      const dir = path.join(tmp.dir, `keys-${name}`);
      mkdirSync(dir, { recursive: true });
      const key = path.join(dir, name);
      writeFileSync(key, `PRIVATE ${name}`);
      writeFileSync(path.join(machineDir, name), 'STORE FILE');
      const driver = generic.open(config({ 'generic-ip-address': '1.2.3.4', 'generic-ssh-key': key }), ctx);
      await driver.create();
      expect(readFileSync(path.join(machineDir, name), 'utf8')).toBe('STORE FILE');
      expect(readFileSync(driver.config.SSHKeyPath, 'utf8')).toBe(`PRIVATE ${name}`);
    },
  );

  it('state is a TCP dial to the SSH port; url needs it running', async () => {
    const up = generic.open(config({ 'generic-ip-address': '127.0.0.1', 'generic-ssh-port': openPort }), ctx);
    expect(await up.state()).toBe('Running');
    expect(await up.url()).toBe('tcp://127.0.0.1:2376');
    const down = generic.open(
      config({ 'generic-ip-address': '127.0.0.1', 'generic-ssh-port': closedPort }),
      ctx,
    );
    expect(await down.state()).toBe('Stopped');
    await expect(down.url()).rejects.toThrow('Host is not running');
  });

  it("start, stop and kill are refused with docker-machine's messages; remove does nothing", async () => {
    const driver = generic.open(config({ 'generic-ip-address': '1.2.3.4' }), ctx);
    await expect(driver.start()).rejects.toThrow('generic driver does not support start');
    await expect(driver.stop()).rejects.toThrow('generic driver does not support stop');
    await expect(driver.kill()).rejects.toThrow('generic driver does not support kill');
    await expect(driver.remove()).resolves.toBeUndefined();
  });

  it('sshTarget pins host keys in the machine dir and finds the key copy of a moved store', async () => {
    const recordedStore = '/home/olduser/.docker/machine';
    const c = {
      ...config({ 'generic-ip-address': '1.2.3.4', 'generic-ssh-user': 'admin', 'generic-ssh-port': 2200 }),
      SSHKeyPath: `${recordedStore}/machines/gen/id_user`,
    };
    const host = newHostConfig({ name: 'gen', storePath: recordedStore, driverName: 'generic', driver: c });
    const target = await generic.open(c, ctx, host).sshTarget();
    expect(target).toEqual({
      host: '1.2.3.4',
      port: 2200,
      user: 'admin',
      keyPath: path.join(machineDir, 'id_user'),
      knownHostsPath: path.join(machineDir, 'known_hosts'),
      machineName: 'gen',
    });
  });
});
