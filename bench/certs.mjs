// Full certificate set (store CA + client certificate, then one machine's server certificate),
// as `create` + provisioning make it, against a baseline in the same process: the same RSA-2048
// key generations alone, in the same pattern (two in parallel, then one). The ratio is the
// overhead of X.509 assembly, signing and atomic file writes. Goal: median ≤ 0.4 s.
//
//   node --import tsx bench/certs.mjs [--runs N]
import { generateKeyPair } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateServerCert, serverCertHosts } from '../main/certs/index.ts';
import { bootstrapStoreCerts } from '../test/harness/store-fixtures.ts';
import { median, runsOption, seconds, timed } from './lib.mjs';

const RUNS = runsOption(15);

const generateKeyPairAsync = promisify(generateKeyPair);
const rsaKey = () =>
  generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });

async function fullSet() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'moor-bench-certs-'));
  try {
    const machine = path.join(dir, 'machines', 'bench');
    return await timed(async () => {
      const certs = await bootstrapStoreCerts(dir);
      await generateServerCert({
        caCert: certs.caCert,
        caKey: certs.caKey,
        serverCert: path.join(machine, 'server.pem'),
        serverKey: path.join(machine, 'server-key.pem'),
        org: 'bench.bench',
        hosts: serverCertHosts(['bench.example'], '127.0.2.1'),
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const keysOnly = () =>
  timed(async () => {
    await Promise.all([rsaKey(), rsaKey()]);
    await rsaKey();
  });

const keysAllParallel = () => timed(() => Promise.all([rsaKey(), rsaKey(), rsaKey()]));

const summary = (xs) =>
  `median ${seconds(median(xs))} (min ${seconds(Math.min(...xs))}, max ${seconds(Math.max(...xs))})`;

// Warm-up: loads node-forge and proper-lockfile once, as a long-running app would have.
await fullSet();
await keysOnly();

const full = [];
const baseline = [];
const parallel3 = [];
for (let i = 0; i < RUNS; i++) {
  // Interleaved, so machine noise hits all three alike.
  full.push(await fullSet());
  baseline.push(await keysOnly());
  parallel3.push(await keysAllParallel());
}

const ratio = median(full) / median(baseline);
console.log(`certs: ${RUNS} runs, ${os.cpus().length} CPUs, Node ${process.version}`);
console.log(`full CA + client + server set:                ${summary(full)}   (goal ≤ 0.400 s)`);
console.log(`baseline, the 3 RSA-2048 keygens (2 ∥, then 1): ${summary(baseline)}`);
console.log(`3 RSA-2048 keygens all in parallel:            ${summary(parallel3)}`);
console.log(`ratio full / baseline: ${ratio.toFixed(2)}`);
console.log(
  JSON.stringify({
    bench: 'certs',
    runs: RUNS,
    fullMedianMs: Math.round(median(full)),
    baselineMedianMs: Math.round(median(baseline)),
    parallel3MedianMs: Math.round(median(parallel3)),
    ratio: Number(ratio.toFixed(2)),
  }),
);
