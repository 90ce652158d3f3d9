// DigitalOcean driver figures (issue 5), against the API emulator in test/emulators/digitalocean:
//  1. `moor create -d digitalocean` → `moor rm` through the real binary, droplets being real test
//     hosts (bookworm-docker): wall time per step, median of --runs.
//  2. Rollback: time from an injected failure (droplet never gets an IP, wait bound 1 s) to zero
//     droplets and keys — i.e. what the rollback adds after the failure is known.
//  3. What `ls` pays to look for interrupted creates: 100 machines, scan vs the directory listing.
//
//   npm run build && node --import tsx bench/digitalocean.mjs [--runs N] [--cli PATH]
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { recoverInterruptedCreates } from '../main/core/interrupted-create.ts';
import { Store } from '../main/store/store.ts';
import { startDigitalOceanEmulator } from '../test/emulators/digitalocean/server.ts';
import { tempDir } from '../test/harness/components.ts';
import { median, moorCli, ms as msText, runsOption, timeOk } from './lib.mjs';

const runs = runsOption(3);
const ms = (x) => msText(x, 0);
/** Wall time of a `moor` process that must succeed (async: the emulator answers it from here). */
const moor = (args, env) => timeOk(process.execPath, [moorCli, ...args], env, 300_000);

const store = tempDir('moor-bench-do');
const emulator = await startDigitalOceanEmulator({ backend: 'test-hosts' });
const env = {
  ...process.env,
  MACHINE_STORAGE_PATH: store.dir,
  DIGITALOCEAN_API_URL: emulator.url,
  DIGITALOCEAN_ACCESS_TOKEN: emulator.token,
  MOOR_SECRET_STORE: 'plain',
  MOOR_DIGITALOCEAN_POLL_MS: '250',
};
try {
  const steps = { create: [], stop: [], start: [], 'start on a new IP': [], restart: [], rm: [] };
  for (let i = 0; i < runs; i++) {
    const name = `bench-do-${i}`;
    steps.create.push(
      await moor(['create', '-d', 'digitalocean', '--engine-install-url', 'distro', name], env),
    );
    steps.stop.push(await moor(['stop', name], env));
    steps.start.push(await moor(['start', name], env));
    // Back on another address: host key moved, a server certificate issued for it, engine restarted.
    await moor(['stop', name], env);
    emulator.readdressOnNextPowerOn(name);
    steps['start on a new IP'].push(await moor(['start', name], env));
    steps.restart.push(await moor(['restart', name], env));
    steps.rm.push(await moor(['rm', '-y', name], env));
    await emulator.idle();
  }
  console.log(`\n1. moor against the emulator (test-host droplets), median of ${runs}:`);
  console.log('| step | median |\n|---|---|');
  for (const [step, xs] of Object.entries(steps)) console.log(`| ${step} | ${ms(median(xs))} |`);

  const rollback = [];
  for (let i = 0; i < runs; i++) {
    emulator.injectDropletFault('never-ip');
    const started = performance.now();
    await moor(['create', '-d', 'digitalocean', `rb-${i}`], {
      ...env,
      MOOR_DIGITALOCEAN_WAIT_SECONDS: '1',
    }).catch(() => undefined);
    await emulator.idle();
    const left = emulator.state();
    if (left.droplets.length || left.keys.length) throw new Error('rollback leaked resources');
    rollback.push(performance.now() - started - 1000); // minus the 1 s IP wait itself
  }
  console.log(
    `\n2. failed create (no IP within 1 s) to zero leaks, minus the wait: median ${ms(median(rollback))}`,
  );
} finally {
  await emulator.close();
}

const scanStore = tempDir('moor-bench-do-scan');
for (let i = 0; i < 100; i++) mkdirSync(path.join(scanStore.dir, 'machines', `m${i}`), { recursive: true });
const s = new Store(scanStore.dir);
const scan = [];
const names = [];
for (let i = 0; i < 30; i++) {
  let t = performance.now();
  await s.names();
  names.push(performance.now() - t);
  t = performance.now();
  await recoverInterruptedCreates(s);
  scan.push(performance.now() - t);
}
console.log(
  `\n3. ls's interrupted-create scan, 100 machines: ${median(scan).toFixed(2)} ms (directory listing alone ${median(names).toFixed(2)} ms)`,
);
scanStore.cleanup();
store.cleanup();
