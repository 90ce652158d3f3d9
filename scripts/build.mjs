// Builds everything `npm start`, the `moor` bin and the tests run: the CLI and Electron main
// process with esbuild (ESM, deps left in node_modules), the preload as CommonJS (sandboxed
// preloads cannot be ES modules) and the renderer with Vite.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { build } from 'esbuild';
import pkg from '../package.json' with { type: 'json' };

const root = new URL('..', import.meta.url).pathname;
process.chdir(root);
// Build into a staging directory and swap it in at the end, so a `moor` process running while
// another build happens (parallel test runs) never sees a half-written dist/.
const out = `.dist-staging-${process.pid}`;
await rm(out, { recursive: true, force: true });

// `moor --version` prints "moor version X, build <commit>" like docker-machine's "version X, build Y".
let commit = 'dev';
try {
  commit = execFileSync('git', ['rev-parse', '--short=8', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();
} catch {}
const common = {
  define: { __MOOR_BUILD__: JSON.stringify(commit) },
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
};

const jobs = [
  build({
    ...common,
    entryPoints: { 'cli/index': 'main/cli/index.ts' },
    outdir: out,
    format: 'esm',
    splitting: true, // drivers and heavy commands load lazily as their own chunks
    // Dependencies stay in node_modules, except commander: every run parses every command with it,
    // and bundled it is one ESM file instead of an ESM wrapper around six CommonJS files
    // (see docs/benchmarks.md, CLI start-up).
    external: Object.keys(pkg.dependencies)
      .filter((name) => name !== 'commander')
      .flatMap((name) => [name, `${name}/*`]),
    // commander's require('node:events') etc. need a real require in ESM output.
    banner: {
      js: "import { createRequire as __moorCreateRequire } from 'node:module'; const require = __moorCreateRequire(import.meta.url);",
    },
    chunkNames: 'chunks/[name]-[hash]',
  }),
];
if (existsSync('main/app/main.ts')) {
  jobs.push(
    build({
      ...common,
      entryPoints: { 'app/main': 'main/app/main.ts' },
      outdir: out,
      format: 'esm',
      splitting: true,
      packages: 'external',
      chunkNames: 'app-chunks/[name]-[hash]',
    }),
  );
}
if (existsSync('preload/index.ts')) {
  jobs.push(
    build({
      ...common,
      entryPoints: ['preload/index.ts'],
      outfile: `${out}/preload/index.cjs`,
      format: 'cjs',
      external: ['electron'],
    }),
  );
}
if (existsSync('renderer/index.html')) {
  const { build: viteBuild } = await import('vite');
  jobs.push(
    viteBuild({
      configFile: 'renderer/vite.config.ts',
      logLevel: 'warn',
      build: { outDir: `../${out}/renderer` },
    }),
  );
}
try {
  await Promise.all(jobs);
} catch (err) {
  await rm(out, { recursive: true, force: true });
  throw err;
}
const old = `.dist-old-${process.pid}`;
await rename('dist', old).catch(() => {});
await rename(out, 'dist');
await rm(old, { recursive: true, force: true });
