#!/usr/bin/env node
// Runs the CLI bundle (dist/cli/index.cjs) with a V8 code cache, which saves compiling it on
// every run (see docs/benchmarks.md, CLI start-up). Node ≥ 22.1 has module.enableCompileCache;
// on Node 20 the bundle is compiled with vm.Script and its cachedData. The cache lives in
// $XDG_CACHE_HOME/moor or ~/.cache/moor, one file per bundle build, Node version and arch; a
// missing, rejected or unreadable cache only costs the compile, an unwritable directory is ignored.
// CommonJS (bin/package.json), as an ES module entry costs Node's ESM loader (~17 M instructions).
const {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const file = path.join(__dirname, '../dist/cli/index.cjs');
let source;
try {
  source = readFileSync(file, 'utf8');
} catch {
  process.stderr.write('moor: dist/ is missing; run `npm run build` (npm install runs it too).\n');
  process.exit(1);
}

const xdg = process.env.XDG_CACHE_HOME;
const home = process.env.HOME;
const cacheDir =
  xdg && path.isAbsolute(xdg)
    ? path.join(xdg, 'moor')
    : home && path.isAbsolute(home)
      ? path.join(home, '.cache', 'moor')
      : undefined;

if (cacheDir && typeof Module.enableCompileCache === 'function') {
  Module.enableCompileCache(cacheDir);
  require(file);
} else {
  runWithCodeCache();
}

function runWithCodeCache() {
  const buildId = /moor-cli-build-id:([0-9a-f]{64})/.exec(source.slice(0, 200))?.[1];
  const cacheFile =
    cacheDir && buildId
      ? path.join(cacheDir, `cli-${buildId.slice(0, 16)}-${process.version}-${process.arch}.v8cache`)
      : undefined;
  let cachedData;
  if (cacheFile) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {}
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    // At exit the cache also holds every function this run compiled, not only the top level.
    process.once('exit', () => writeCache(cacheFile, script.createCachedData()));
  }
  const bundle = { exports: {}, filename: file, id: file, loaded: false };
  script
    .runInThisContext()
    .call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, path.dirname(file));
}

/** Writes the cache atomically and drops other builds' caches older than a day; never fatal. */
function writeCache(cacheFile, data) {
  const dir = path.dirname(cacheFile);
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, cacheFile);
    const dayAgo = Date.now() - 86_400_000;
    for (const name of readdirSync(dir)) {
      const other = path.join(dir, name);
      if (/^cli-.*\.v8cache$/.test(name) && other !== cacheFile && statSync(other).mtimeMs < dayAgo)
        rmSync(other, { force: true });
    }
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {}
  }
}
