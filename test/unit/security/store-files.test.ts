import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyClientCertsToMachine, readCertificateInfo } from '../../../main/certs/index.js';
import { readEngineTls } from '../../../main/docker/engine.js';
import { readPrivateKey } from '../../../main/ssh/keys.js';
import { ensureDir } from '../../../main/store/dirs.js';
import { Store } from '../../../main/store/store.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'moor-store-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('store files that are not regular files', () => {
  it('refuses a config.json that is a FIFO at once instead of hanging (ls lists it as an error)', async () => {
    const dir = path.join(root, 'machines', 'fifo');
    mkdirSync(dir, { recursive: true });
    execFileSync('mkfifo', [path.join(dir, 'config.json')]);
    const store = new Store(root);
    await expect(store.load('fifo')).rejects.toThrow(
      `open ${path.join(dir, 'config.json')}: not a regular file (a FIFO)`,
    );
    expect(await store.list()).toEqual([{ name: 'fifo', error: expect.stringContaining('a FIFO') }]);
    await store.remove('fifo');
    expect(await store.names()).toEqual([]);
  });
});

describe('machine names too long for the file system', () => {
  it('refuses them before anything is created (the lock .NAME.lock must fit in 255 bytes)', async () => {
    const store = new Store(root);
    await expect(store.createMachineDir('a'.repeat(250))).rejects.toThrow(
      'Error creating machine: the name is 250 characters long; a machine name has at most 249',
    );
    expect(await store.names()).toEqual([]);
    const longest = 'b'.repeat(249);
    await store.createMachineDir(longest);
    await store.remove(longest);
    expect(await store.names()).toEqual([]);
  });
});

describe('certificates and keys that are not regular files', () => {
  const dir = path.join(root, 'fifos');
  const fifo = (name: string) => {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name);
    execFileSync('mkfifo', [file]);
    return file;
  };

  it('a FIFO as the CA certificate is refused at once when reading the engine TLS files', async () => {
    const caCert = fifo('ca.pem');
    await expect(readEngineTls({ caCert, clientCert: caCert, clientKey: caCert })).rejects.toThrow(
      `open ${caCert}: not a regular file (a FIFO)`,
    );
    await expect(
      copyClientCertsToMachine({ caCert, clientCert: caCert, clientKey: caCert }, dir),
    ).rejects.toThrow('not a regular file (a FIFO)');
    await expect(readCertificateInfo(caCert)).rejects.toThrow('not a regular file (a FIFO)');
  });

  it('a FIFO as the machine SSH key is refused at once with the key named', async () => {
    const key = fifo('id_rsa');
    await expect(readPrivateKey(key)).rejects.toThrow(
      `ssh: cannot use key ${key}: it is a FIFO, not a key file`,
    );
  });
});

describe('a storage path that is not a plain directory tree', () => {
  it("-s /proc/self: creating the store is refused with a clear error (Node's recursive mkdir spun there)", async () => {
    const store = new Store('/proc/self');
    await expect(store.createMachineDir('x')).rejects.toThrow(
      'cannot create the directory /proc/self/machines: /proc/self does not take new directories (the storage path must be a plain directory tree)',
    );
    await expect(store.withCertsLock(async () => undefined)).rejects.toThrow(
      'cannot create the directory /proc/self/certs: /proc/self does not take new directories',
    );
  });

  it('a file as the storage path is refused by name, for reads and writes', async () => {
    const file = path.join(root, 'a-file');
    writeFileSync(file, '');
    const store = new Store(file);
    await expect(store.names()).rejects.toThrow(`the storage path ${file} is not a directory tree`);
    await expect(ensureDir(path.join(file, 'certs'))).rejects.toThrow(
      `cannot create the directory ${file}/certs: a part of its path is not a directory`,
    );
  });
});
