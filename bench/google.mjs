// Google driver figures (issue 12 part 3), against the Compute Engine emulator in test/emulators/google:
//  1. `moor create -d google` → `moor rm` through the real binary, instances being real test hosts
//     (bookworm-docker): wall time per step, median of --runs. Every start lands on a new ephemeral
//     IP, as on Compute Engine (host key moved, server certificate issued for it).
//  2. Rollback: a failed create (the insert operation ends ZONE_RESOURCE_POOL_EXHAUSTED) to zero
//     instances and firewall rules.
//
//   npm run build && node --import tsx bench/google.mjs [--runs N] [--cli PATH]
import { startGoogleEmulator } from '../test/emulators/google/server.ts';
import { tempDir } from '../test/harness/components.ts';
import { median, moorCli, ms as msText, runsOption, timeOk } from './lib.mjs';

const runs = runsOption(3);
const ms = (x) => msText(x, 0);
const moor = (args, env) => timeOk(process.execPath, [moorCli, ...args], env, 300_000);

const store = tempDir('moor-bench-gce');
const emulator = await startGoogleEmulator({ backend: 'test-hosts' });
const keyFile = await emulator.writeServiceAccountKey(store.dir);
const env = {
  ...process.env,
  MACHINE_STORAGE_PATH: store.dir,
  GOOGLE_APPLICATION_CREDENTIALS: keyFile,
  GOOGLE_PROJECT: 'moor-test-project',
  MOOR_GOOGLE_COMPUTE_URL: emulator.computeUrl,
  MOOR_GOOGLE_POLL_MS: '250',
};
try {
  const steps = {
    create: [],
    stop: [],
    'start (new ephemeral IP)': [],
    'restart (stop + start, new IP)': [],
    rm: [],
  };
  for (let i = 0; i < runs; i++) {
    const name = `bench-gce-${i}`;
    steps.create.push(await moor(['create', '-d', 'google', '--engine-install-url', 'distro', name], env));
    steps.stop.push(await moor(['stop', name], env));
    steps['start (new ephemeral IP)'].push(await moor(['start', name], env));
    steps['restart (stop + start, new IP)'].push(await moor(['restart', name], env));
    steps.rm.push(await moor(['rm', '-y', name], env));
    await emulator.idle();
  }
  console.log(`\n1. moor against the emulator (test-host instances), median of ${runs}:`);
  console.log('| step | median |\n|---|---|');
  for (const [step, xs] of Object.entries(steps)) console.log(`| ${step} | ${ms(median(xs))} |`);

  const rollback = [];
  for (let i = 0; i < runs; i++) {
    emulator.injectInstanceFault('host-fails');
    const started = performance.now();
    await moor(['create', '-d', 'google', `rb-${i}`], env).catch(() => undefined);
    await emulator.idle();
    const left = emulator.state();
    if (left.instances.length || left.firewalls.length) throw new Error('rollback leaked resources');
    rollback.push(performance.now() - started);
  }
  console.log(`\n2. failed create (no capacity in the zone) to zero leaks: median ${ms(median(rollback))}`);
} finally {
  await emulator.close();
  store.cleanup();
}
