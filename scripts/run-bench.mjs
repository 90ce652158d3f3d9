// `npm run bench [NAME...]`: builds, then runs the bench scripts in bench/ one after the other
// (all, or those whose file name starts with a given NAME) and prints their figures.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const wanted = process.argv.slice(2);
const scripts = readdirSync(`${root}bench`)
  .filter((f) => /\.(mjs|ts)$/.test(f))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
let failed = 0;
for (const script of scripts) {
  console.log(`\n=== bench/${script}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', `bench/${script}`], {
    cwd: root,
    stdio: 'inherit',
  });
  if (run.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
