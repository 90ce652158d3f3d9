// `moor ls` over 20 machines: 5 whose engine accepts the TCP connection and never answers, 15
// whose port refuses. Default flags (no -t). Goal: ≤ 1.5 s wall time for the whole process, the
// hanging ones listed as Timeout. docker-machine's 10 s default made this take 10 s.
//
//   npm run build && node --import tsx bench/ls-dead-hosts.mjs [--runs N] [--cli PATH]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { progressReporter } from '../main/base/progress.ts';
import { createMachine } from '../main/core/create.ts';
import { Store } from '../main/store/store.ts';
import { refusedAddress, startHangingServer } from '../test/harness/tls-engine.ts';
import { median, moorCli, runsOption, seconds, timeProcess } from './lib.mjs';

const RUNS = runsOption(7);
const run = (args, env) => timeProcess(process.execPath, args, env);

const dir = mkdtempSync(path.join(os.tmpdir(), 'moor-bench-ls-'));
const hanging = [];
try {
  const storePath = path.join(dir, 'store');
  const store = new Store(storePath);
  const urls = [];
  for (let i = 0; i < 5; i++) {
    const server = await startHangingServer('127.0.0.1');
    hanging.push(server);
    urls.push([`hang${i + 1}`, server.url]);
  }
  for (let i = 0; i < 15; i++) urls.push([`dead${i + 1}`, (await refusedAddress('127.0.0.1')).url]);
  for (const [name, url] of urls) {
    await createMachine({
      store,
      name,
      driverName: 'none',
      flagValues: { url },
      progress: progressReporter(name, () => {}),
      env: { HOME: dir },
    });
  }
  const env = { PATH: process.env.PATH, HOME: dir, MACHINE_STORAGE_PATH: storePath };
  await run([moorCli, 'ls'], env); // warm-up
  const lsTimes = [];
  const nodeTimes = [];
  let last;
  for (let i = 0; i < RUNS; i++) {
    nodeTimes.push((await run(['-e', '0'], env)).ms);
    last = await run([moorCli, 'ls'], env);
    if (last.code !== 0) throw new Error(`moor ls exited ${last.code}`);
    lsTimes.push(last.ms);
  }
  const rows = last.stdout.trimEnd().split('\n').slice(1);
  const states = rows.map(
    (r) => `${r.split(/\s+/)[0]}:${r.match(/\b(Timeout|Stopped|Running|Error)\b/)?.[1] ?? '?'}`,
  );
  const timeouts = states.filter((s) => s.endsWith(':Timeout'));
  const okStates =
    rows.length === 20 &&
    timeouts.length === 5 &&
    timeouts.every((s) => s.startsWith('hang')) &&
    states.filter((s) => s.endsWith(':Stopped')).length === 15;
  const m = median(lsTimes);
  console.log(`moor ls, 20 machines (5 hanging, 15 refusing), default flags, ${RUNS} runs`);
  console.log(`  moor ls          median ${seconds(m)}   max ${seconds(Math.max(...lsTimes))}`);
  console.log(
    `  node -e 0        median ${seconds(median(nodeTimes))}   (ratio ${(m / median(nodeTimes)).toFixed(1)}x)`,
  );
  console.log(
    `  rows: ${rows.length}, Timeout: ${timeouts.length} (${timeouts.map((s) => s.split(':')[0]).join(' ')}), states ${okStates ? 'as expected' : 'UNEXPECTED'}`,
  );
  console.log(
    `goal: ≤ 1.500 s with the hanging ones as Timeout → ${m <= 1500 && okStates ? 'met' : 'NOT met'}`,
  );
  if (!okStates) console.log(last.stdout);
} finally {
  for (const s of hanging) await s.close();
  rmSync(dir, { recursive: true, force: true });
}
