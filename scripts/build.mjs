// Builds everything `npm start`, the `moor` bin and the tests run: the CLI (one CommonJS bundle)
// and Electron main process (ESM) with esbuild, deps left in node_modules, the preload as CommonJS
// (sandboxed preloads cannot be ES modules) and the renderer with Vite.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
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

const BUILD_ID_MARK = 'moor-cli-build-id:';
/** Replaces the zeros after BUILD_ID_MARK in `file` with the SHA-256 of its content. */
async function stampBuildId(file) {
  const text = await readFile(file, 'utf8');
  const id = createHash('sha256').update(text).digest('hex');
  await writeFile(file, text.replace(`${BUILD_ID_MARK}${'0'.repeat(64)}`, `${BUILD_ID_MARK}${id}`));
}

const jobs = [
  build({
    ...common,
    // One CommonJS bundle (no code splitting: esbuild splits only ESM), so that bin/moor.js can
    // compile it through vm.Script with a V8 code cache on Node 20, which has no
    // module.enableCompileCache (see docs/benchmarks.md, CLI start-up). Lazily imported code
    // stays lazy: esbuild wraps it in functions that run on first import.
    entryPoints: { 'cli/index': 'main/cli/index.ts' },
    outExtension: { '.js': '.cjs' },
    outdir: out,
    format: 'cjs',
    // import() of a dependency becomes require(): a vm.Script has no module loader for import().
    supported: { 'dynamic-import': false },
    // Dependencies stay in node_modules, except commander: every run parses every command with it.
    external: Object.keys(pkg.dependencies)
      .filter((name) => name !== 'commander')
      .flatMap((name) => [name, `${name}/*`]),
    define: { ...common.define, 'import.meta.url': '__moorImportMetaUrl' },
    // The first line carries the bundle's content hash (filled in below, same length, so the
    // source map still fits), which keys the code cache: V8 itself checks only the length.
    banner: {
      js: `/*${BUILD_ID_MARK}${'0'.repeat(64)}*/ 'use strict'; const __moorImportMetaUrl = require('node:url').pathToFileURL(__filename).href;`,
    },
  }).then(() => stampBuildId(`${out}/cli/index.cjs`)),
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
