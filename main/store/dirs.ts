import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MoorError } from '../base/errors.js';

/**
 * `mkdir -p` that ends. Node's recursive mkdir loops for ever where mkdir answers ENOENT although
 * the parent exists (`-s /proc/self`: /proc refuses new entries that way), so each missing level
 * is made by hand and a refusal is a clear error naming the directory. A path component that is
 * not a directory (a file, a device) is refused too: the store must be a plain directory tree.
 */
export async function ensureDir(dir: string, mode = 0o700): Promise<void> {
  const made = await mkdirOnce(dir, mode);
  if (made === 'ok') return;
  if (made === 'no-parent') {
    const parent = path.dirname(dir);
    if (parent === dir) throw notPlainDirectory(dir, 'its root does not exist');
    await ensureDir(parent, mode);
    const again = await mkdirOnce(dir, mode);
    if (again === 'ok') return;
    // The parent is there now, yet mkdir still says it is not: a pseudo file system (/proc, /sys).
    throw notPlainDirectory(dir, `${parent} does not take new directories`);
  }
}

async function mkdirOnce(dir: string, mode: number): Promise<'ok' | 'no-parent'> {
  try {
    await fs.mkdir(dir, { mode });
    return 'ok';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      const stat = await fs.stat(dir).catch(() => null);
      if (stat?.isDirectory()) return 'ok';
      throw notPlainDirectory(dir, 'it exists and is not a directory');
    }
    if (code === 'ENOENT') return 'no-parent';
    if (code === 'ENOTDIR') throw notPlainDirectory(dir, 'a part of its path is not a directory');
    throw new MoorError(`cannot create the directory ${dir}: ${(err as Error).message}`);
  }
}

function notPlainDirectory(dir: string, why: string): MoorError {
  return new MoorError(
    `cannot create the directory ${dir}: ${why} (the storage path must be a plain directory tree)`,
  );
}
