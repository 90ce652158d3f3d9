import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMoorSync } from '../harness/moor-cli.js';

// bin/moor.js runs the CLI bundle with a V8 code cache in $XDG_CACHE_HOME/moor (else ~/.cache/moor):
// on Node 20 its own file, compiled through vm.Script; on Node ≥ 22.1 module.enableCompileCache.
const root = mkdtempSync(path.join(os.tmpdir(), 'moor-code-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const nodeCompileCache =
  typeof (Module as { enableCompileCache?: unknown }).enableCompileCache === 'function';

let n = 0;
function freshEnv(): { home: string; env: NodeJS.ProcessEnv } {
  const home = path.join(root, `home-${n++}`);
  return {
    home,
    env: { PATH: process.env.PATH, HOME: home, MACHINE_STORAGE_PATH: path.join(home, 'store') },
  };
}

function moorOk(args: string[], env: NodeJS.ProcessEnv): string {
  const r = runMoorSync(args, { env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

/** The cache files under dir: path → inode (a rewrite renames a new file in), size and hash. */
function cacheFiles(dir: string): Map<string, { ino: number; size: number; sha256: string }> {
  const files = new Map<string, { ino: number; size: number; sha256: string }>();
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const file = path.join(dir, name);
    const stat = statSync(file);
    if (stat.isFile()) {
      const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
      files.set(file, { ino: stat.ino, size: stat.size, sha256 });
    }
  }
  return files;
}

describe('the CLI code cache', () => {
  it('is written on the first run under ~/.cache/moor and used, unchanged, by the next', () => {
    const { home, env } = freshEnv();
    const version = moorOk(['--version'], env);
    expect(version).toMatch(/^moor version /);
    const dir = path.join(home, '.cache', 'moor');
    const first = cacheFiles(dir);
    expect(first.size).toBeGreaterThan(0);
    expect(moorOk(['ls', '-q'], env)).toBe('');
    expect(moorOk(['--version'], env)).toBe(version);
    if (!nodeCompileCache) {
      // Accepted by V8, so not rewritten (a rejected cache would be).
      const [file] = [...first.keys()];
      expect(path.basename(file ?? '')).toMatch(
        new RegExp(`^cli-[0-9a-f]{16}-${process.version}-${process.arch}\\.v8cache$`),
      );
      expect(cacheFiles(dir)).toEqual(first);
    }
  });

  it('goes to $XDG_CACHE_HOME/moor when that is set', () => {
    const { home, env } = freshEnv();
    const xdg = path.join(home, 'xdg');
    moorOk(['--version'], { ...env, XDG_CACHE_HOME: xdg });
    expect(cacheFiles(path.join(xdg, 'moor')).size).toBeGreaterThan(0);
  });

  it('ignores a corrupt or truncated cache file and writes a good one in its place', () => {
    const { home, env } = freshEnv();
    const version = moorOk(['--version'], env);
    const dir = path.join(home, '.cache', 'moor');
    const good = cacheFiles(dir);
    for (const bad of [
      () => Buffer.from('not a V8 code cache'),
      (b: Buffer) => b.subarray(0, b.length >> 1),
    ]) {
      for (const file of good.keys()) writeFileSync(file, bad(readFileSync(file)));
      expect(moorOk(['--version'], env)).toBe(version);
      const after = cacheFiles(dir);
      for (const [file, { size }] of after) expect(size, file).toBeGreaterThan(1000);
      if (!nodeCompileCache) {
        // The rewritten cache is accepted: the next run leaves it as it is.
        expect([...after.keys()]).toEqual([...good.keys()]);
        moorOk(['--version'], env);
        expect(cacheFiles(dir)).toEqual(after);
      }
    }
  });

  it('still runs when the cache directory cannot be made', () => {
    const { env } = freshEnv();
    const { env: okEnv } = freshEnv();
    const blocker = path.join(root, `blocker-${n}`);
    writeFileSync(blocker, 'a file where the cache directory would go');
    const version = moorOk(['--version'], okEnv);
    expect(moorOk(['--version'], { ...env, XDG_CACHE_HOME: blocker })).toBe(version);
    expect(moorOk(['ls', '-q'], { ...env, XDG_CACHE_HOME: blocker })).toBe('');
    expect(readFileSync(blocker, 'utf8')).toBe('a file where the cache directory would go');
    expect(readdirSync(path.dirname(blocker)).filter((f) => f.startsWith(path.basename(blocker)))).toEqual([
      path.basename(blocker),
    ]);
  });
});
