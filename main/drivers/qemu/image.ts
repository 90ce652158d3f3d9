import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MoorError } from '../../base/errors.js';
import type { ProgressReporter } from '../../base/progress.js';

export type HashAlgorithm = 'sha256' | 'sha512';
export interface Checksum {
  algorithm: HashAlgorithm;
  hex: string;
}

/** `sha256:HEX`, `sha512:HEX` or a bare digest (its length tells which). */
export function parseChecksum(text: string): Checksum {
  const t = text.trim().toLowerCase();
  const m = /^(?:(sha256|sha512)[:=])?([0-9a-f]+)$/.exec(t);
  const hex = m?.[2] ?? '';
  const algorithm = (m?.[1] as HashAlgorithm | undefined) ?? (hex.length === 128 ? 'sha512' : 'sha256');
  const wanted = algorithm === 'sha512' ? 128 : 64;
  if (!m || hex.length !== wanted) {
    throw new MoorError(
      `--qemu-image-checksum "${text}" is not a sha256 (64 hex digits) or sha512 (128 hex digits) checksum`,
    );
  }
  return { algorithm, hex };
}

/**
 * The digest of `fileName` in a SHA256SUMS/SHA512SUMS file: GNU lines (`HEX  name`, `HEX *name`) or
 * BSD lines (`SHA512 (name) = HEX`). undefined when the file does not list it.
 */
export function findInSums(sums: string, fileName: string, algorithm: HashAlgorithm): Checksum | undefined {
  const length = algorithm === 'sha512' ? 128 : 64;
  for (const raw of sums.split('\n')) {
    const line = raw.trim();
    const gnu = /^([0-9a-fA-F]+)\s+\*?(.+)$/.exec(line);
    const bsd = /^SHA(?:256|512)\s*\((.+)\)\s*=\s*([0-9a-fA-F]+)$/.exec(line);
    const [hex, name] = gnu ? [gnu[1], gnu[2]] : bsd ? [bsd[2], bsd[1]] : [];
    if (hex && name && hex.length === length && path.posix.basename(name.trim()) === fileName) {
      return { algorithm, hex: hex.toLowerCase() };
    }
  }
  return undefined;
}

/** The published SUMS files next to an image URL, strongest first. */
export function sumsUrls(imageUrl: string): Array<{ url: string; algorithm: HashAlgorithm }> {
  return [
    { url: new URL('SHA512SUMS', imageUrl).href, algorithm: 'sha512' },
    { url: new URL('SHA256SUMS', imageUrl).href, algorithm: 'sha256' },
  ];
}

export function isUrl(spec: string): boolean {
  return /^https?:\/\//i.test(spec);
}

/** Cache file of a URL: readable (the image's own name) and unique (a hash of the URL). */
export function cacheFileName(imageUrl: string): string {
  const u = new URL(imageUrl);
  const base = path.posix.basename(u.pathname) || 'image';
  const tag = createHash('sha256').update(imageUrl).digest('hex').slice(0, 12);
  return `${tag}-${base.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

function bytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

/** `123.4 MB of 345.6 MB (35%), 12.3 MB/s, ETA 18 s`; without a total, no percentage and no ETA. */
export function progressLine(done: number, total: number | undefined, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const speed = `${bytes(rate)}/s`;
  if (!total) return `${bytes(done)}, ${speed}`;
  const pct = Math.floor((done * 100) / total);
  const eta = rate > 0 ? Math.ceil((total - done) / rate) : undefined;
  return `${bytes(done)} of ${bytes(total)} (${pct}%), ${speed}${eta === undefined ? '' : `, ETA ${eta} s`}`;
}

async function fetchText(url: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const r = await fetch(url, { signal });
    if (!r.ok) return undefined;
    return await r.text();
  } catch (err) {
    if (signal?.aborted) throw err;
    return undefined;
  }
}

/** The checksum of an image URL from its published SUMS files; a clear error when none lists it. */
export async function publishedChecksum(imageUrl: string, signal?: AbortSignal): Promise<Checksum> {
  const name = path.posix.basename(new URL(imageUrl).pathname);
  const tried: string[] = [];
  for (const s of sumsUrls(imageUrl)) {
    tried.push(s.url);
    const text = await fetchText(s.url, signal);
    const found = text === undefined ? undefined : findInSums(text, name, s.algorithm);
    if (found) return found;
  }
  throw new MoorError(
    `No checksum for ${imageUrl}: neither ${tried.join(' nor ')} lists "${name}"; pass --qemu-image-checksum`,
  );
}

export async function fileDigest(file: string, algorithm: HashAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

export interface ImageRequest {
  spec: string;
  checksum?: string;
  cacheDir: string;
  progress: ProgressReporter;
  signal?: AbortSignal;
  /** How often the progress line is printed. */
  progressEveryMs?: number;
}

/**
 * The base image of a machine, as a local path. A URL is downloaded once into the cache, to a temp
 * name, hashed on the way, and renamed into place only when its checksum matches: a corrupted or
 * interrupted download is refused and leaves nothing in the cache. A cached image is used again when
 * the expected checksum is the one it was verified with (recorded next to it).
 */
export async function obtainImage(req: ImageRequest): Promise<{ path: string; cached: boolean }> {
  const { spec, progress, signal } = req;
  if (!isUrl(spec)) {
    const local = path.resolve(spec);
    const stat = await fs.stat(local).catch(() => undefined);
    if (!stat?.isFile())
      throw new MoorError(`--qemu-image "${spec}" is neither an http(s) URL nor an image file`);
    if (req.checksum) {
      const want = parseChecksum(req.checksum);
      const got = await fileDigest(local, want.algorithm);
      if (got !== want.hex) throw checksumError(spec, want, got);
    }
    return { path: local, cached: false };
  }
  const want = req.checksum ? parseChecksum(req.checksum) : await publishedChecksum(spec, signal);
  await fs.mkdir(req.cacheDir, { recursive: true });
  const target = path.join(req.cacheDir, cacheFileName(spec));
  const record = `${target}.${want.algorithm}`;
  const recorded = await fs.readFile(record, 'utf8').catch(() => '');
  if (recorded.trim() === want.hex && (await fs.stat(target).catch(() => undefined))?.isFile()) {
    progress.step('image', `Using the cached image ${target}`);
    return { path: target, cached: true };
  }

  const temp = `${target}.part-${randomBytes(4).toString('hex')}`;
  try {
    const res = await fetch(spec, { signal }).catch((err) => {
      throw new MoorError(`Downloading ${spec} failed: ${(err as Error).message}`);
    });
    if (!res.ok || !res.body) throw new MoorError(`Downloading ${spec} failed: HTTP ${res.status}`);
    const total = Number(res.headers.get('content-length')) || undefined;
    const hash = createHash(want.algorithm);
    const started = Date.now();
    let done = 0;
    let last = 0;
    // Steps, not debug logs: a download is the long part of a first create and the user sees it move.
    const every = req.progressEveryMs ?? 5_000;
    progress.step('download', `Downloading ${spec}${total ? ` (${bytes(total)})` : ''}...`);
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        done += chunk.length;
        const now = Date.now();
        if (now - last >= every) {
          last = now;
          progress.step('download', `Downloading: ${progressLine(done, total, now - started)}`);
        }
        cb(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as never), meter, createWriteStream(temp, { mode: 0o644 }), {
      signal,
    });
    progress.done(`Downloaded ${progressLine(done, total, Date.now() - started)}`);
    if (total !== undefined && done !== total) {
      throw new MoorError(`Downloading ${spec} stopped after ${done} of ${total} bytes`);
    }
    const got = hash.digest('hex');
    if (got !== want.hex) throw checksumError(spec, want, got);
    // Renamed first: a crash in between leaves an unrecorded image, downloaded again next time.
    await fs.rename(temp, target);
    await fs.writeFile(record, `${want.hex}\n`);
    return { path: target, cached: false };
  } finally {
    await fs.rm(temp, { force: true });
  }
}

function checksumError(spec: string, want: Checksum, got: string): MoorError {
  return new MoorError(
    `The image ${spec} is corrupted or not the expected one: its ${want.algorithm} is ${got}, expected ${want.hex} (not cached)`,
  );
}

/** qcow2 or raw, from the file's magic (`QFI\xfb`). */
export async function imageFormat(file: string): Promise<'qcow2' | 'raw'> {
  const fh = await fs.open(file, 'r');
  try {
    const magic = Buffer.alloc(4);
    await fh.read(magic, 0, 4, 0);
    return magic.equals(Buffer.from([0x51, 0x46, 0x49, 0xfb])) ? 'qcow2' : 'raw';
  } finally {
    await fh.close();
  }
}
