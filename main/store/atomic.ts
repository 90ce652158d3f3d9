import { promises as fs } from 'node:fs';
import path from 'node:path';
import { faultPoint } from '../base/faults.js';

/** A file written and fsynced beside its target under a temporary name, not yet in place. */
export interface StagedWrite {
  /** Where `commit` puts it (a symlinked target resolved). */
  readonly target: string;
  /** Renames it over the target: readers see the old content or the new, never a mix. */
  commit(): Promise<void>;
  /** Removes the staged copy (after a failure); never throws. */
  discard(): Promise<void>;
}

/**
 * Writes `data` to a temporary file beside `file` (fsynced, mode set despite the umask) and
 * returns it staged. Nothing is left behind when the write fails (a full disk): the temporary
 * file is removed before the error is rethrown. Fault points: `write:NAME`, `rename:NAME`.
 */
export async function stageFile(
  file: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<StagedWrite> {
  const target = await fs.realpath(file).catch(() => file);
  let mode = options.mode;
  if (mode === undefined) {
    mode = await fs.stat(target).then(
      (s) => s.mode & 0o777,
      () => 0o600,
    );
  }
  const name = path.basename(target);
  // node:crypto on first write only: reading commands (`moor env`/`url`/`active`) never load it.
  const { randomBytes } = await import('node:crypto');
  const tmp = path.join(path.dirname(target), `.${name}.tmp-${randomBytes(6).toString('hex')}`);
  const discard = () => fs.rm(tmp, { force: true }).catch(() => undefined);
  const handle = await fs.open(tmp, 'wx', mode);
  try {
    await faultPoint(`write:${name}`);
    await handle.writeFile(data);
    await handle.chmod(mode); // open() mode is filtered by the umask
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await discard();
    throw err;
  }
  await handle.close();
  return {
    target,
    discard,
    async commit() {
      await faultPoint(`rename:${name}`);
      await fs.rename(tmp, target);
    },
  };
}

/**
 * Writes a file so readers only ever see the old or the new content: write a temp file beside
 * it, fsync, then rename over. Follows a symlinked target (writes where the link points, as the
 * docker CLI does for config.json) and keeps the existing file's mode unless one is given.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const staged = await stageFile(file, data, options);
  try {
    await staged.commit();
  } catch (err) {
    await staged.discard();
    throw err;
  }
}

/**
 * Writes several files as one unit as far as a full disk goes: every file is staged (written
 * and fsynced) before the first is renamed into place, so a failed write leaves none of them.
 * The renames then follow in the order given; a crash between two of them can still leave the
 * first ones alone, which the caller must be able to recover from (see certs' lone-key rule).
 * Every write has settled when this returns or throws.
 */
export async function writeFilesAtomic(
  files: ReadonlyArray<{ file: string; data: string | Uint8Array; mode?: number }>,
): Promise<void> {
  const results = await Promise.allSettled(files.map((f) => stageFile(f.file, f.data, { mode: f.mode })));
  const staged = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(staged.map((s) => s.discard()));
    throw failed.reason;
  }
  for (const [i, s] of staged.entries()) {
    try {
      await s.commit();
    } catch (err) {
      await Promise.all(staged.slice(i).map((rest) => rest.discard()));
      throw err;
    }
  }
}
