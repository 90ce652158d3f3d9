import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type ssh2 from 'ssh2';
import { MoorError } from '../base/errors.js';

/**
 * `moor scp`: copies between the local disk and machines over SFTP (the built-in client, so the
 * pinned host keys apply), including machine to machine through this process (scp's -3).
 */
export interface Endpoint {
  /** How paths on this side are shown in messages (`NAME:` or ``). */
  label: string;
  stat(p: string): Promise<{ isDirectory: boolean; mode: number } | null>;
  readdir(p: string): Promise<string[]>;
  mkdir(p: string, mode: number): Promise<void>;
  read(p: string): NodeJS.ReadableStream;
  write(p: string, mode: number): NodeJS.WritableStream;
  join(...parts: string[]): string;
  basename(p: string): string;
}

export const localEndpoint: Endpoint = {
  label: '',
  async stat(p) {
    const s = await fs.stat(p).catch(() => null);
    return s ? { isDirectory: s.isDirectory(), mode: s.mode & 0o7777 } : null;
  },
  readdir: (p) => fs.readdir(p),
  async mkdir(p, mode) {
    await fs.mkdir(p, { mode }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  },
  read: (p) => createReadStream(p),
  write: (p, mode) => createWriteStream(p, { mode }),
  join: (...parts) => path.join(...parts),
  basename: (p) => path.basename(p),
};

function call<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

/** SFTP paths are relative to the login directory; `~/x` means the same. */
export function remotePath(p: string): string {
  if (p === '~' || p === '') return '.';
  return p.startsWith('~/') ? p.slice(2) || '.' : p;
}

export function sftpEndpoint(machine: string, sftp: ssh2.SFTPWrapper): Endpoint {
  return {
    label: `${machine}:`,
    async stat(p) {
      const s = await call<ssh2.Stats>((cb) => sftp.stat(p, cb)).catch(() => null);
      return s ? { isDirectory: s.isDirectory(), mode: s.mode & 0o7777 } : null;
    },
    async readdir(p) {
      const list = await call<ssh2.FileEntry[]>((cb) => sftp.readdir(p, cb));
      return list.map((e) => e.filename).filter((n) => n !== '.' && n !== '..');
    },
    async mkdir(p, mode) {
      if (await this.stat(p)) return;
      await call<void>((cb) => sftp.mkdir(p, { mode }, cb));
    },
    read: (p) => sftp.createReadStream(p),
    write: (p, mode) => sftp.createWriteStream(p, { mode }),
    join: (...parts) => path.posix.join(...parts),
    basename: (p) => path.posix.basename(p),
  };
}

export interface CopyOptions {
  recursive: boolean;
  /** Called per copied file (progress lines unless -q). */
  onFile?: (source: string, bytes: number) => void;
}

/** scp's rules: into an existing directory the source keeps its name; directories need -r. */
export async function copy(
  src: Endpoint,
  srcPath: string,
  dst: Endpoint,
  dstPath: string,
  options: CopyOptions,
): Promise<void> {
  const source = await src.stat(srcPath);
  if (!source) throw new MoorError(`scp: ${src.label}${srcPath}: No such file or directory`);
  if (source.isDirectory && !options.recursive) {
    throw new MoorError(`scp: ${src.label}${srcPath}: is a directory (use -r to copy it)`);
  }
  const target = await dst.stat(dstPath);
  const into = target?.isDirectory
    ? dst.join(dstPath, src.basename(srcPath.replace(/\/+$/, '') || '.'))
    : dstPath;
  await copyEntry(src, srcPath, dst, into, source, options);
}

/**
 * A directory entry named by the source side, joined onto the destination directory: only a single
 * path component that stays inside `dir` is accepted; anything else is an error naming the entry.
 */
export function childPath(dst: Endpoint, dir: string, name: string, listed: string): string {
  const single =
    name !== '' && name !== '.' && name !== '..' && !name.includes('\0') && dst.basename(name) === name;
  const joined = single ? dst.join(dir, name) : '';
  if (!single || !isInside(dst, dir, joined)) {
    throw new MoorError(
      `scp: ${listed}: the remote listing names ${JSON.stringify(name)}, which is not a file name inside the directory; refusing to write it`,
    );
  }
  return joined;
}

function isInside(dst: Endpoint, dir: string, joined: string): boolean {
  const parent = dst.join(joined, '..');
  return parent === dst.join(dir) && joined !== parent;
}

async function copyEntry(
  src: Endpoint,
  srcPath: string,
  dst: Endpoint,
  dstPath: string,
  stat: { isDirectory: boolean; mode: number },
  options: CopyOptions,
): Promise<void> {
  if (stat.isDirectory) {
    await dst.mkdir(dstPath, stat.mode || 0o755);
    for (const name of await src.readdir(srcPath)) {
      // The listing comes from the other side: a lying server must not steer writes (CVE-2019-6111).
      const target = childPath(dst, dstPath, name, `${src.label}${srcPath}`);
      const child = src.join(srcPath, name);
      const childStat = await src.stat(child);
      if (childStat) await copyEntry(src, child, dst, target, childStat, options);
    }
    return;
  }
  let bytes = 0;
  const reader = src.read(srcPath);
  reader.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  try {
    await pipeline(reader, dst.write(dstPath, stat.mode || 0o644));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new MoorError(`scp: ${src.label}${srcPath} -> ${dst.label}${dstPath}: ${message}`);
  }
  options.onFile?.(`${src.label}${srcPath}`, bytes);
}
