import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressReporter } from '../../main/base/progress.js';
import { createMachine } from '../../main/core/create.js';
import { CREATE_MARKER, recoverInterruptedCreates } from '../../main/core/interrupted-create.js';
import { Store } from '../../main/store/store.js';
import {
  type GoogleComputeEmulator,
  type InstanceFault,
  type RequestFault,
  startGoogleEmulator,
} from '../emulators/google/server.js';
import { prng } from '../harness/prng.js';

// Random fault schedules against the google driver (emulator, fake backend: SSH never answers, so
// every create ends in a rollback), some of them cut short the way a kill -9 would be (the create
// is aborted with its rollback skipped; config.json holds only what was checkpointed, a request may
// still land after the client gave up), then cleaned up by the next `ls`'s recovery. After every
// run: zero instances, boot disks and firewall rules of Moor's left, the neighbour's instance never touched,
// nothing left in the store.
let emulator: GoogleComputeEmulator;
let root: string;
let keyFile: string;
const PROJECT = 'moor-test-project';
const RUNS = 24;

beforeAll(async () => {
  process.env.MOOR_SSH_WAIT_SECONDS = '1';
  emulator = await startGoogleEmulator({ operationMinMs: 5 });
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-gce-faults-'));
  keyFile = await emulator.writeServiceAccountKey(root);
  emulator.addForeignInstance('neighbour', { labels: { owner: 'someone-else' }, tags: ['web'] });
});
afterAll(async () => {
  await emulator.close();
  await fs.rm(root, { recursive: true, force: true });
});

const INSTANCES = /\/zones\/[^/]+\/instances$/;
const catalog = (n: number): RequestFault[] => [
  { method: 'GET', path: '/projects/moor-test-project/global/firewalls/', status: 503, times: n },
  { method: 'POST', path: '/projects/moor-test-project/global/firewalls', status: 503, times: n },
  { method: 'POST', path: '/projects/moor-test-project/global/firewalls', status: 503, afterCommit: true },
  { method: 'POST', path: INSTANCES, status: 503, times: n },
  { method: 'POST', path: INSTANCES, status: 503, afterCommit: true, times: n },
  { method: 'POST', path: INSTANCES, drop: true, afterCommit: true, times: n },
  { method: 'POST', path: INSTANCES, delayMs: 100 * n },
  { method: 'POST', path: /\/operations\/[^/]+\/wait$/, status: 503, times: n },
  { method: 'GET', path: /\/instances\/fs-\d+$/, status: 503, times: n },
  { method: 'DELETE', path: /\/instances\/fs-\d+$/, status: 503, times: n },
  { method: 'GET', path: /\/aggregated\/instances$/, status: 503, times: n },
  { path: '/token', status: 500 },
];
const instanceFaults: Array<InstanceFault | undefined> = [
  undefined,
  undefined,
  'host-fails',
  'never-running',
  'no-ssh',
];

const env = () => ({
  PATH: process.env.PATH,
  HOME: root,
  GOOGLE_APPLICATION_CREDENTIALS: keyFile,
  MOOR_GOOGLE_COMPUTE_URL: emulator.computeUrl,
  MOOR_GOOGLE_POLL_MS: '5',
  MOOR_GOOGLE_RETRY_BASE_MS: '2',
  MOOR_GOOGLE_WAIT_SECONDS: '1',
});

describe('google create: random fault schedules and kills', () => {
  it.each(Array.from({ length: RUNS }, (_, i) => i + 1))(
    'seed %i: zero leaks, zero foreign resources touched',
    async (seed) => {
      const random = prng(seed);
      const name = `fs-${seed}`;
      const store = new Store(path.join(root, `store-${seed}`));
      emulator.clearFaults();
      const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
      const faults = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
        pick(catalog(1 + Math.floor(random() * 4))),
      );
      for (const fault of faults) emulator.injectFault(fault);
      const instanceFault = pick(instanceFaults);
      if (instanceFault) emulator.injectInstanceFault(instanceFault);
      // A kill lands while the k-th request of this create is at the server (answer not yet read).
      const killed = random() < 0.5;
      const killAtRequest = 1 + Math.floor(random() * 10);
      const controller = new AbortController();
      const seen = emulator.requests.length;
      const watch = killed
        ? setInterval(() => {
            if (emulator.requests.length - seen >= killAtRequest) controller.abort();
          }, 1)
        : undefined;

      const outcome = await createMachine({
        store,
        name,
        driverName: 'google',
        flagValues: {
          'google-project': PROJECT,
          'google-open-port': ['8080'],
          'google-labels': 'suite=faults',
          'google-userdata': '#cloud-config\nruncmd: [touch /tmp/seeded]\n',
          'google-disk-size': 20,
        },
        engine: { InstallURL: 'distro' },
        progress: progressReporter(name, () => {}),
        env: env(),
        signal: controller.signal,
        wait: { tries: 3, intervalMs: 10 },
        keepOnFailure: killed, // a kill leaves what was checkpointed, with no rollback
      }).then(
        () => 'created',
        (err: Error) => err.message,
      );
      clearInterval(watch);
      expect(outcome).not.toBe('created'); // no host answers SSH: every create fails somewhere

      // The next `ls` after a kill (or after a rollback that the faults defeated): the faults are over.
      await emulator.idle();
      emulator.clearFaults();
      if (await store.exists(name)) {
        await fs.writeFile(
          path.join(store.machineDir(name), CREATE_MARKER),
          JSON.stringify({ pid: 0, hostname: os.hostname(), bootId: '', startTime: '', startedAt: '' }),
        );
        const results = await recoverInterruptedCreates(store, { env: env() });
        expect(results).toEqual([{ name, cleaned: true }]);
      }
      await emulator.idle();

      expect(emulator.state().instances.map((i) => i.name)).toEqual(['neighbour']);
      expect(emulator.state().instances[0]).toMatchObject({
        status: 'RUNNING',
        labels: { owner: 'someone-else' },
        tags: ['web'],
      });
      expect(emulator.state().firewalls).toEqual([]);
      // Boot disks go with their instances (autoDelete): only the neighbour's is left, still attached.
      expect(emulator.state().disks).toEqual([
        expect.objectContaining({ name: 'neighbour', users: ['neighbour'] }),
      ]);
      expect(emulator.backgroundErrors).toEqual([]);
      expect(await store.exists(name)).toBe(false);
      const touched = emulator.requests
        .slice(seen)
        .filter((r) => r.method !== 'GET' && r.path.includes('/neighbour'));
      expect(touched).toEqual([]);
      const inserts = emulator
        .state()
        .operations.filter(
          (op) => op.operationType === 'insert' && op.targetLink.endsWith(`/instances/${name}`),
        );
      expect(inserts.length).toBeLessThanOrEqual(1); // never a second instance
    },
  );
});
