// CLI start-up: `moor env NAME`, `moor url NAME` and `moor active` as whole processes (what a
// shell prompt or `eval $(moor env x)` pays), against `node -e 0` in the same run. `env` does its
// TLS handshake with a local mutual-TLS engine using the store's certificates, as in real use.
// Goal: median ≤ 0.25 s each.
//
//   npm run build && node --import tsx bench/cli-startup.mjs [--runs N]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootstrapCertificates } from '../main/certs/index.ts';
import { startTlsEngine } from '../test/harness/tls-engine.ts';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 21;
const repoRoot = path.resolve(import.meta.dirname, '..');
// MOOR_BIN: a built copy elsewhere (e.g. when another process is rebuilding dist/).
const moorBin = process.env.MOOR_BIN ?? path.join(repoRoot, 'bin/moor.js');

/** Runs a process to completion; resolves with its wall time in ms (async: the engine lives here). */
function timed(args, env) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve(performance.now() - started);
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const p90 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))];
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'moor-bench-cli-'));
let engine;
try {
  const store = path.join(dir, 'store');
  const certs = path.join(store, 'certs');
  await bootstrapCertificates({
    caCert: path.join(certs, 'ca.pem'),
    caKey: path.join(certs, 'ca-key.pem'),
    clientCert: path.join(certs, 'cert.pem'),
    clientKey: path.join(certs, 'key.pem'),
  });
  mkdirSync(path.join(dir, 'engine'));
  engine = await startTlsEngine({
    caCert: path.join(certs, 'ca.pem'),
    caKey: path.join(certs, 'ca-key.pem'),
    dir: path.join(dir, 'engine'),
  });
  const env = { PATH: process.env.PATH, HOME: dir, SHELL: '/bin/bash', MACHINE_STORAGE_PATH: store };
  await timed([moorBin, 'create', '-d', 'none', '--url', engine.url, 'bench'], env);

  const cases = [
    ['node -e 0 (baseline)', ['-e', '0'], env],
    ['moor env bench', [moorBin, 'env', 'bench'], env],
    ['moor url bench', [moorBin, 'url', 'bench'], env],
    ['moor active', [moorBin, 'active'], { ...env, DOCKER_HOST: engine.url }],
  ];
  const samples = cases.map(() => []);
  for (const [, args, e] of cases) await timed(args, e); // warm the file cache
  // Interleaved, so drift in machine load hits every case alike.
  for (let i = 0; i < RUNS; i++) {
    for (const [c, [, args, e]] of cases.entries()) samples[c].push(await timed(args, e));
  }
  const base = median(samples[0]);
  console.log(
    `CLI start-up, whole processes, ${RUNS} runs each (node ${process.version}, ${os.cpus().length} CPUs)`,
  );
  console.log(
    `${'command'.padEnd(24)}${'median'.padStart(10)}${'p90'.padStart(10)}${'vs node'.padStart(10)}`,
  );
  for (const [c, [label]] of cases.entries()) {
    const m = median(samples[c]);
    console.log(
      `${label.padEnd(24)}${`${(m / 1000).toFixed(3)} s`.padStart(10)}${`${(p90(samples[c]) / 1000).toFixed(3)} s`.padStart(10)}${`${(m / base).toFixed(2)}x`.padStart(10)}`,
    );
  }
  const worst = Math.max(...samples.slice(1).map(median));
  console.log(
    `goal: every moor median ≤ 0.250 s → ${worst <= 250 ? 'met' : 'NOT met'} (worst ${(worst / 1000).toFixed(3)} s)`,
  );
} finally {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
}
