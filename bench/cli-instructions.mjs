// CLI start-up as instructions executed (valgrind --tool=callgrind), the load-independent twin of
// cli-startup.mjs: on a shared 2-core box wall times swing more than the differences sought, while
// instruction counts repeat within ~1 %. Same cases and clean environment as cli-startup.mjs
// (`active` with -t 100: under valgrind a process runs ~50× slower and would hit the 1 s timeout).
// Needs valgrind (apt-get install valgrind). Compare two builds with --cli PATH.
//
//   npm run build && node --import tsx bench/cli-instructions.mjs [--cli PATH]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireCommand } from '../test/harness/components.ts';
import { bootstrapStoreCerts } from '../test/harness/store-fixtures.ts';
import { startTlsEngine } from '../test/harness/tls-engine.ts';
import { moorCli, timeOk } from './lib.mjs';

const valgrind = requireCommand('valgrind', 'valgrind');

/** Instructions executed by `node args` (all threads), in millions. */
function instructions(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      valgrind,
      ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, ...args],
      {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr)?.[1];
      if (code !== 0 || !refs)
        reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`));
      else resolve(Number(refs.replaceAll(',', '')) / 1e6);
    });
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'moor-bench-instr-'));
let engine;
try {
  const store = path.join(dir, 'store');
  const certs = await bootstrapStoreCerts(store);
  mkdirSync(path.join(dir, 'engine'));
  engine = await startTlsEngine({ caCert: certs.caCert, caKey: certs.caKey, dir: path.join(dir, 'engine') });
  const env = { PATH: process.env.PATH, HOME: dir, SHELL: '/bin/bash', MACHINE_STORAGE_PATH: store };
  await timeOk(process.execPath, [moorCli, 'create', '-d', 'none', '--url', engine.url, 'bench'], env);
  const base = await instructions(['-e', '0'], env);
  console.log(
    `CLI start-up in instructions (millions, valgrind callgrind), ${path.relative(process.cwd(), moorCli)}`,
  );
  console.log(`${'node -e 0 (baseline)'.padEnd(24)}${base.toFixed(0).padStart(8)}`);
  for (const [label, args, e] of [
    ['moor env bench', ['env', 'bench'], env],
    ['moor url bench', ['url', 'bench'], env],
    ['moor active -t 100', ['active', '-t', '100'], { ...env, DOCKER_HOST: engine.url }],
  ]) {
    const n = await instructions([moorCli, ...args], e);
    console.log(`${label.padEnd(24)}${n.toFixed(0).padStart(8)}  (+${(n - base).toFixed(0)})`);
  }
} finally {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
}
