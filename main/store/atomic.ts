import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

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
  const target = await fs.realpath(file).catch(() => file);
  let mode = options.mode;
  if (mode === undefined) {
    mode = await fs.stat(target).then(
      (s) => s.mode & 0o777,
      () => 0o600,
    );
  }
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.tmp-${randomBytes(6).toString('hex')}`,
  );
  const handle = await fs.open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode); // open() mode is filtered by the umask
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
