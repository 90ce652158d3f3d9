import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentProgress } from '../../../main/base/progress.js';
import { sleep } from '../../../main/base/sleep.js';
import type { Driver } from '../../../main/drivers/types.js';
import { provisionMachine } from '../../../main/provision/index.js';
import { generateSshKey } from '../../../main/ssh/index.js';
import { baseDriverConfig, newHostConfig } from '../../../main/store/config.js';
import { authPaths } from '../../../main/store/paths.js';
import { Store } from '../../../main/store/store.js';
import { tempDir } from '../../harness/components.js';
import { bootstrapStoreCerts } from '../../harness/store-fixtures.js';

// A failed provisioning must not leave the server certificate still being written: create's
// rollback removes the machine directory next, and a certificate landing after that broke it
// (ENOTEMPTY) or recreated the directory. The virtualbox driver's ip() asks the VM over SSH,
// so it can resolve after the OS probe already failed.
const tmp = tempDir('moor-cert-race');
const HOST = '127.0.48.1';
let server: ssh2.Server;
let port = 0;

beforeAll(async () => {
  server = new ssh2.Server({ hostKeys: [ssh2.utils.generateKeyPairSync('ed25519').private] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => ctx.accept());
    client.on('session', (accept) =>
      accept().on('exec', (acceptExec) => {
        const channel = acceptExec();
        channel.stderr.write('no OS here\n');
        channel.exit(1);
        channel.end();
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  server.close();
  tmp.cleanup();
});

it('waits for the server certificate before a failed provisioning returns', async () => {
  const storePath = path.join(tmp.dir, 'store');
  const store = new Store(storePath);
  await bootstrapStoreCerts(storePath);
  const machineDir = path.join(storePath, 'machines', 'm');
  mkdirSync(machineDir, { recursive: true });
  const host = newHostConfig({
    name: 'm',
    storePath,
    driverName: 'generic',
    driver: baseDriverConfig('m', storePath),
  });
  await store.save(host);
  const keyPath = path.join(tmp.dir, 'id');
  await generateSshKey(keyPath);
  const slowIp = async () => {
    await sleep(700);
    return HOST;
  };
  const driver = {
    config: host.Driver,
    ip: slowIp,
    sshTarget: async () => ({
      host: HOST,
      port,
      user: 'u',
      keyPath,
      knownHostsPath: path.join(machineDir, 'known_hosts'),
    }),
  } as unknown as Driver;
  await expect(provisionMachine({ store, host, driver, progress: silentProgress('m') })).rejects.toThrow(
    'Detecting the OS of "m" failed',
  );
  expect(existsSync(authPaths(host, storePath).serverCert)).toBe(true);
});
