/**
 * Idle stop's activity probe against a real host: a test host (systemd, sshd, Docker from Debian)
 * reached over SSH as a machine of the store. Running containers and open SSH connections count;
 * the probe's own SSH session does not.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshActivityProbe } from '../../main/core/idle-probe.js';
import { connect } from '../../main/ssh/connect.js';
import { Store } from '../../main/store/store.js';
import { writeGenericMachine } from '../harness/store-fixtures.js';
import { TEST_DOCKER_HOST } from '../hosts/docker.js';
import { startTestHost, TEST_IMAGE_TAG, type TestHost, testImageTar } from '../hosts/index.js';

const execFileAsync = promisify(execFile);
let dir: string;
let host: TestHost;
let store: Store;
let target: ReturnType<typeof writeGenericMachine>['target'];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-idle-probe-'));
  const key = path.join(dir, 'id_test');
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const publicKey = await fs.readFile(`${key}.pub`, 'utf8');
  host = await startTestHost({
    name: 'sched-idle-1',
    address: '127.0.49.30',
    image: 'bookworm-docker',
    authorizedKey: publicKey,
  });
  ({ target } = writeGenericMachine(dir, 'lab', {
    host: host.address,
    port: 22,
    user: 'root',
    clientKeyPath: key,
  }));
  store = new Store(dir);
  // The busybox image, for a container to run.
  await execFileAsync('docker', [
    '-H',
    TEST_DOCKER_HOST,
    'cp',
    await testImageTar(),
    `${host.id}:/tmp/busybox.tar`,
  ]);
  const load = await host.exec(
    'for i in $(seq 60); do systemctl is-active -q docker && break; sleep 1; done; docker load -i /tmp/busybox.tar',
    { timeoutMs: 120_000 },
  );
  expect(load.exitCode, load.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await host?.remove();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('the idle probe over SSH', () => {
  it('sees running containers and SSH sessions, not itself', async () => {
    const probe = sshActivityProbe(store);
    expect(await probe('lab')).toEqual({ runningContainers: 0, connections: 0 });

    const run = await host.exec(`docker run -d --name busy ${TEST_IMAGE_TAG} sleep 600`);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await probe('lab')).toEqual({ runningContainers: 1, connections: 0 });
    await host.exec('docker rm -f busy');
    expect((await probe('lab')).runningContainers).toBe(0);

    // Someone's terminal: an SSH session left open.
    const session = await connect(target);
    try {
      expect(await probe('lab')).toEqual({ runningContainers: 0, connections: 1 });
    } finally {
      session.close();
    }
    let after = await probe('lab');
    for (let i = 0; i < 50 && after.connections > 0; i++) {
      await new Promise((r) => setTimeout(r, 100)); // the server side of the closed session goes
      after = await probe('lab');
    }
    expect(after).toEqual({ runningContainers: 0, connections: 0 });
  });

  it('a host where containers cannot be listed is an error, never "idle"', async () => {
    await host.exec('systemctl stop docker.socket docker.service');
    await expect(sshActivityProbe(store)('lab')).rejects.toThrow(/cannot list containers/);
  });
});
