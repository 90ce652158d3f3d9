import { constants, promises as fs } from 'node:fs';
import { MoorError } from '../base/errors.js';

/**
 * Reads a store file as text, refusing anything but a regular file: opening a FIFO blocks until a
 * writer comes (a config.json that is a FIFO hung ls/inspect/env/rm), and a device never ends.
 * O_NONBLOCK makes the open return at once; fstat then says what it is.
 */
export async function readRegularFile(file: string): Promise<string> {
  return (await readRegularFileBytes(file)).toString('utf8');
}

/**
 * The same for keys and certificates (a FIFO as ca.pem or a machine's id_rsa hung `env`, `ssh`
 * and `ls` just as a FIFO config.json did). ENOENT and the like stay Node's own errors.
 */
export async function readRegularFileBytes(file: string): Promise<Buffer> {
  const handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new NotRegularFileError(file, kindOf(stat));
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

export class NotRegularFileError extends MoorError {
  constructor(
    readonly file: string,
    readonly kind: string,
  ) {
    super(`open ${file}: not a regular file (${kind})`);
    this.name = 'NotRegularFileError';
  }
}

function kindOf(stat: import('node:fs').Stats): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'not a file';
}
