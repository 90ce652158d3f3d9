// Docker context switch figures (issue 4), on real files in a temp DOCKER_CONFIG:
//  1. In-process: switchActiveHost(store, NAME) (refresh the machine's context, then set
//     currentContext atomically) and the bare switchContext(NAME); baseline in the same process:
//     writeFileAtomic of the final config.json bytes, precomputed (the least an atomic switch costs).
//     Goal: median ≤ 50 ms. After every timed call the real docker CLI must read the new context
//     (`docker context inspect`, untimed), so a figure never counts a switch docker would not see.
//  2. `moor use NAME` as a whole process; baselines in the same run: `node -e 0`, `moor --version`
//     (the CLI's start-up alone) and the docker CLI's own `docker context use NAME`.
//     Goal: median ≤ 0.25 s.
//
//   npm run build && node --import tsx bench/contexts.mjs [--runs N] [--cli dist/cli/index.js]
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withCurrentContext } from '../main/docker/contexts/config-edit.ts';
import { switchActiveHost } from '../main/docker/contexts/index.ts';
import { ContextLayout } from '../main/docker/contexts/layout.ts';
import { switchContext } from '../main/docker/contexts/machines.ts';
import { writeFileAtomic } from '../main/store/atomic.ts';
import { Store } from '../main/store/store.ts';
import { requireCommand, tempDir } from '../test/harness/components.ts';
import { bootstrapStoreCerts } from '../test/harness/store-fixtures.ts';
import { writeNoneMachine } from '../test/unit/contexts/fixtures.ts';
import { moorCli as cli, median, ms as msText, runsOption, timeProcessSync } from './lib.mjs';

const RUNS = runsOption(41);
const PROCESS_RUNS = Math.max(5, Math.round(RUNS / 2));
const ms = (x) => msText(x, x < 10 ? 2 : 1);
const now = () => process.hrtime.bigint();
const since = (t) => Number(process.hrtime.bigint() - t) / 1e6;

const docker = requireCommand('docker', 'docker.io');
const { dir, cleanup } = tempDir('moor-bench-contexts');
try {
  const storePath = path.join(dir, 'store');
  const dockerConfig = path.join(dir, 'docker');
  const layout = new ContextLayout(dockerConfig);
  // Real certificates: the docker CLI parses a context's TLS files when it resolves the context.
  await bootstrapStoreCerts(storePath);
  writeNoneMachine(storePath, 'alpha', 'tcp://127.0.3.1:2376');
  writeNoneMachine(storePath, 'beta', 'tcp://127.0.3.2:2376');
  const store = new Store(storePath);
  const env = { ...process.env, DOCKER_CONFIG: dockerConfig, MACHINE_STORAGE_PATH: storePath };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  // A realistic config.json to edit: credentials and settings that must survive every switch.
  await switchActiveHost(store, 'alpha', { layout });
  await switchActiveHost(store, 'beta', { layout });
  writeFileSync(
    layout.configFile,
    '{\n\t"auths": {\n\t\t"registry.example.com": {\n\t\t\t"auth": "dXNlcjpzZWNyZXQ="\n\t\t}\n\t},\n\t"psFormat": "table {{.ID}}"\n}',
    { mode: 0o600 },
  );

  const dockerSees = () => {
    const r = spawnSync(docker, ['context', 'inspect', '--format', '{{.Name}}'], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`docker context inspect failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  const names = ['alpha', 'beta'];

  const timeInProcess = async (label, call) => {
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const name = names[i % 2];
      const t = now();
      await call(name);
      times.push(since(t));
      const seen = dockerSees();
      if (seen !== name) throw new Error(`${label}: docker sees "${seen}" after switching to "${name}"`);
    }
    return median(times);
  };

  // Baseline: the same final config.json bytes, precomputed, written with the same atomic write
  // (what any correct switch must at least pay); checked by the docker CLI like the others.
  const userConfig = readFileSync(layout.configFile, 'utf8');
  const finalText = Object.fromEntries(names.map((n) => [n, withCurrentContext(userConfig, n)]));
  const baseMedian = await timeInProcess('baseline', (name) =>
    writeFileAtomic(layout.configFile, finalText[name]),
  );
  const full = await timeInProcess('switchActiveHost', (name) => switchActiveHost(store, name, { layout }));
  const bare = await timeInProcess('switchContext', (name) => switchContext(name, { layout }));

  const timeProcess = (file, args) => timeProcessSync(file, args, env);
  const nodeBase = [];
  const moorVersion = [];
  const moorUse = [];
  const dockerUse = [];
  for (let i = 0; i < PROCESS_RUNS; i++) {
    const name = names[i % 2];
    nodeBase.push(timeProcess(process.execPath, ['-e', '0']));
    moorVersion.push(timeProcess(process.execPath, [cli, '--version']));
    moorUse.push(timeProcess(process.execPath, [cli, 'use', name]));
    if (dockerSees() !== name) throw new Error(`moor use ${name}: docker does not see it`);
    dockerUse.push(timeProcess(docker, ['context', 'use', name === 'alpha' ? 'beta' : 'alpha']));
  }

  const lines = [
    `Docker context switch (${RUNS} in-process runs, ${PROCESS_RUNS} process runs, medians; node ${process.version})`,
    `  baseline: atomic write of final config.json    ${ms(baseMedian)}`,
    `  switchContext(NAME) (config.json only)         ${ms(bare)}  (${(bare / baseMedian).toFixed(1)}× baseline)`,
    `  switchActiveHost(store, NAME) (sync + switch)  ${ms(full)}  (${(full / baseMedian).toFixed(1)}× baseline)  goal ≤ 50 ms`,
    `  baseline: node -e 0                            ${ms(median(nodeBase))}`,
    `  baseline: moor --version (CLI start-up)        ${ms(median(moorVersion))}`,
    `  moor use NAME (whole process)                  ${ms(median(moorUse))}  (${(median(moorUse) / median(nodeBase)).toFixed(1)}× node -e 0)  goal ≤ 250 ms`,
    `  docker context use NAME (the CLI's own switch) ${ms(median(dockerUse))}`,
  ];
  console.log(lines.join('\n'));
} finally {
  cleanup();
}
