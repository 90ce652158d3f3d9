// CLI start-up: `moor env NAME`, `moor url NAME` and `moor active` as whole processes (what a
// shell prompt or `eval $(moor env x)` pays), against `node -e 0` in the same run. `env` does its
// TLS handshake with a local mutual-TLS engine using the store's certificates, as in real use.
// Goals: median ≤ 0.25 s each, and at most 15 ms above `node -e 0` (issue 9, "Numbers").
//
//   npm run build && node --import tsx bench/cli-startup.mjs [--runs N] [--cli PATH]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootstrapStoreCerts } from '../test/harness/store-fixtures.ts';
import { startTlsEngine } from '../test/harness/tls-engine.ts';
import { median, moorCli, percentile, runsOption, seconds, timeOk } from './lib.mjs';

const RUNS = runsOption(21);
const p90 = (xs) => percentile(xs, 90);

const dir = mkdtempSync(path.join(os.tmpdir(), 'moor-bench-cli-'));
let engine;
try {
  const store = path.join(dir, 'store');
  const certs = await bootstrapStoreCerts(store);
  mkdirSync(path.join(dir, 'engine'));
  engine = await startTlsEngine({
    caCert: certs.caCert,
    caKey: certs.caKey,
    dir: path.join(dir, 'engine'),
  });
  const env = { PATH: process.env.PATH, HOME: dir, SHELL: '/bin/bash', MACHINE_STORAGE_PATH: store };
  await timeOk(process.execPath, [moorCli, 'create', '-d', 'none', '--url', engine.url, 'bench'], env);

  const cases = [
    ['node -e 0 (baseline)', ['-e', '0'], env],
    ['moor env bench', [moorCli, 'env', 'bench'], env],
    ['moor url bench', [moorCli, 'url', 'bench'], env],
    ['moor active', [moorCli, 'active'], { ...env, DOCKER_HOST: engine.url }],
  ];
  const samples = cases.map(() => []);
  for (const [, args, e] of cases) await timeOk(process.execPath, args, e); // warm the file cache
  // Interleaved, so drift in machine load hits every case alike.
  for (let i = 0; i < RUNS; i++) {
    for (const [c, [, args, e]] of cases.entries()) samples[c].push(await timeOk(process.execPath, args, e));
  }
  const base = median(samples[0]);
  console.log(
    `CLI start-up, whole processes, ${RUNS} runs each (node ${process.version}, ${os.cpus().length} CPUs)`,
  );
  console.log(
    `${'command'.padEnd(24)}${'median'.padStart(10)}${'p90'.padStart(10)}${'vs node'.padStart(10)}${'+ node'.padStart(10)}`,
  );
  for (const [c, [label]] of cases.entries()) {
    const m = median(samples[c]);
    console.log(
      `${label.padEnd(24)}${seconds(m).padStart(10)}${seconds(p90(samples[c])).padStart(10)}${`${(m / base).toFixed(2)}x`.padStart(10)}${`+${(m - base).toFixed(0)} ms`.padStart(10)}`,
    );
  }
  const worst = Math.max(...samples.slice(1).map(median));
  console.log(
    `goal: every moor median ≤ 0.250 s → ${worst <= 250 ? 'met' : 'NOT met'} (worst ${seconds(worst)})`,
  );
  console.log(
    `goal: every moor median ≤ node -e 0 + 15 ms → ${worst - base <= 15 ? 'met' : 'NOT met'} (worst +${(worst - base).toFixed(0)} ms, load ${os.loadavg()[0].toFixed(1)})`,
  );
} finally {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
}
