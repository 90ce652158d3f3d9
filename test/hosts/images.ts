import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireCommand } from '../harness/components.js';
import { docker, dockerOk, ensureTestDocker, STATE_DIR, spawnDocker, withLock } from './docker.js';
import { runOk } from './proc.js';

/**
 * Test-host images, built once per recipe and cached in the test dockerd's persistent data root:
 * debootstrap (Debian's mirror) → configure → `docker import` (no Dockerfile, no network during import).
 * An image is rebuilt only when its recipe label differs from the hash of image/ (script + overlay).
 */
export type TestHostImage = 'bookworm' | 'bookworm-docker' | 'flatcar';
export const TEST_HOST_IMAGES: readonly TestHostImage[] = ['bookworm', 'bookworm-docker', 'flatcar'];

export function imageTag(variant: TestHostImage): string {
  return `moor-testhost:${variant}`;
}

/** The tiny image for `docker run` tests inside a test host's engine (busybox, ~1 MB). */
export const TEST_IMAGE_TAG = 'moor-test/busybox:latest';

const RECIPE_LABEL = 'org.moor.testhost.recipe';
const IMAGE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'image');
const BUILD_SCRIPT = path.join(IMAGE_DIR, 'build-rootfs.sh');
const CACHE_DIR = path.join(STATE_DIR, 'cache');

function mirror(): string {
  if (process.env.MOOR_TESTHOSTS_MIRROR) return process.env.MOOR_TESTHOSTS_MIRROR;
  return 'http://deb.debian.org/debian';
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? listFiles(full) : [full];
    })
    .sort();
}

/** Hash of everything that shapes the images: the build script and the overlay files (with modes). */
export function recipeHash(): string {
  const hash = createHash('sha256');
  for (const file of listFiles(IMAGE_DIR)) {
    hash.update(`${path.relative(IMAGE_DIR, file)}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Hash of what debootstrap produces (package list + mirror): its tarball is cached separately. */
function debootstrapHash(): string {
  const script = readFileSync(BUILD_SCRIPT, 'utf8');
  const packages = /^PACKAGES=.*$/m.exec(script)?.[0] ?? '';
  return createHash('sha256').update(`${packages}\0${mirror()}`).digest('hex').slice(0, 16);
}

async function imageRecipe(tag: string): Promise<string | undefined> {
  const result = await docker([
    'image',
    'inspect',
    '--format',
    `{{ index .Config.Labels "${RECIPE_LABEL}" }}`,
    tag,
  ]);
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

function stage(name: string, dir: string, ...extra: string[]): Promise<string> {
  return runOk(requireCommand('sh', 'dash'), [BUILD_SCRIPT, name, dir, ...extra]);
}

/** tar of a directory → `docker import` with the given Dockerfile changes. */
function importDir(dir: string, tag: string, changes: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn(
      requireCommand('tar', 'tar'),
      [
        '-C',
        dir,
        '--numeric-owner',
        '--xattrs',
        '--exclude=./proc/*',
        '--exclude=./sys/*',
        '--exclude=./dev/*',
        '-cf',
        '-',
        '.',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const imp = spawnDocker(['import', ...changes.flatMap((c) => ['--change', c]), '-', tag]);
    imp.stdin!.on('error', () => {}); // EPIPE when docker import fails early: reported below
    tar.stdout.pipe(imp.stdin!);
    let errors = '';
    tar.stderr.on('data', (d) => {
      errors += d;
    });
    imp.stderr!.on('data', (d) => {
      errors += d;
    });
    imp.stdout!.resume();
    let tarCode: number | null = null;
    tar.on('close', (code) => {
      tarCode = code;
    });
    imp.on('error', reject);
    tar.on('error', reject);
    imp.on('close', (code) => {
      if (code === 0 && (tarCode === 0 || tarCode === null)) resolve();
      else
        reject(
          new Error(`importing ${dir} as ${tag} failed (tar ${tarCode}, docker ${code}): ${errors.trim()}`),
        );
    });
  });
}

/**
 * The rootfs is imported without metadata (`docker import --change` of docker 20.10 refuses STOPSIGNAL),
 * then a metadata-only Dockerfile (no RUN, so no network) sets what systemd as PID 1 needs.
 */
async function importHostImage(dir: string, variant: TestHostImage, hash: string): Promise<void> {
  const rootfsTag = `moor-testhost-rootfs:${variant}`;
  await importDir(dir, rootfsTag, []);
  const dockerfile = [
    `FROM ${rootfsTag}`,
    'ENV container=docker',
    // systemd halts cleanly on SIGRTMIN+3 (docker stop); SIGTERM would only re-execute it.
    'STOPSIGNAL SIGRTMIN+3',
    'CMD ["/sbin/init"]',
    `LABEL ${RECIPE_LABEL}=${hash} org.moor.testhost.variant=${variant}`,
    '',
  ].join('\n');
  await dockerOk(['build', '-q', '-t', imageTag(variant), '-'], { input: dockerfile });
  await docker(['rmi', rootfsTag]);
}

/** Work directories of builds that were killed (we hold the images lock, so none is in use). */
function removeAbandonedWorkDirs(): void {
  for (const entry of readdirSync(CACHE_DIR, { withFileTypes: true })) {
    if (entry.isDirectory() && /^(build|busybox)-/.test(entry.name)) {
      rmSync(path.join(CACHE_DIR, entry.name), { recursive: true, force: true });
    }
  }
}

export interface EnsureImagesOptions {
  /** Variants to make sure of (default: all three). */
  variants?: readonly TestHostImage[];
  /** Progress lines (default: silent). */
  log?: (line: string) => void;
  /** Rebuild even when current: 'images' reuses the debootstrap tarball, 'all' runs debootstrap too. */
  rebuild?: 'images' | 'all';
}

export interface EnsureImagesResult {
  built: TestHostImage[];
  /** Seconds per step of this build (empty when everything was cached). */
  timings: Record<string, number>;
}

/**
 * Builds the test-host images that are missing or stale; returns at once (a few docker inspects) when the
 * cache is current. Serialised across processes.
 */
export async function ensureImages(opts: EnsureImagesOptions = {}): Promise<EnsureImagesResult> {
  const wanted = opts.variants ?? TEST_HOST_IMAGES;
  const log = opts.log ?? (() => {});
  await ensureTestDocker();
  const hash = recipeHash();
  const stale = async () => {
    if (opts.rebuild) return [...wanted];
    const out: TestHostImage[] = [];
    for (const v of wanted) if ((await imageRecipe(imageTag(v))) !== hash) out.push(v);
    return out;
  };
  if ((await stale()).length === 0) return { built: [], timings: {} };
  return withLock('images', async () => {
    const todo = await stale();
    if (todo.length === 0) return { built: [], timings: {} };
    requireCommand('debootstrap', 'debootstrap');
    requireCommand('chroot', 'coreutils');
    const timings: Record<string, number> = {};
    const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      log(`${name}...`);
      const result = await fn();
      timings[name] = (Date.now() - t0) / 1000;
      log(`${name}: ${timings[name].toFixed(1)} s`);
      return result;
    };
    mkdirSync(CACHE_DIR, { recursive: true });
    removeAbandonedWorkDirs();
    const work = mkdtempSync(path.join(CACHE_DIR, 'build-'));
    const root = path.join(work, 'rootfs');
    try {
      const cached = path.join(CACHE_DIR, `debootstrap-bookworm-${debootstrapHash()}.tar`);
      if (opts.rebuild === 'all') rmSync(cached, { force: true });
      if (!existsSync(cached)) {
        await timed('debootstrap', () => stage('debootstrap', root, mirror()));
        await timed('cache debootstrap tarball', async () => {
          await runOk('tar', ['-C', root, '--numeric-owner', '--xattrs', '-cf', `${cached}.tmp`, '.']);
          renameSync(`${cached}.tmp`, cached);
        });
      } else {
        await timed('unpack cached debootstrap', async () => {
          mkdirSync(root);
          await runOk('tar', ['-C', root, '--numeric-owner', '--xattrs', '-xpf', cached]);
        });
      }
      await timed('configure base', () => stage('base', root));
      if (todo.includes('bookworm')) {
        await timed('import bookworm', () => importHostImage(root, 'bookworm', hash));
      }
      if (todo.includes('bookworm-docker') || todo.includes('flatcar')) {
        await timed('install docker.io', () => stage('docker', root));
        if (todo.includes('bookworm-docker')) {
          await timed('import bookworm-docker', () => importHostImage(root, 'bookworm-docker', hash));
        }
        if (todo.includes('flatcar')) {
          await timed('configure flatcar', () => stage('flatcar', root));
          await timed('import flatcar', () => importHostImage(root, 'flatcar', hash));
        }
      }
      await docker(['image', 'prune', '-f']);
      return { built: todo, timings };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/**
 * Path of a `docker save` tar holding TEST_IMAGE_TAG (busybox): `docker load -i` it into a test host's
 * engine, then `docker run --rm moor-test/busybox echo hi`. Built once (apt-get download busybox-static).
 */
export async function testImageTar(): Promise<string> {
  const hash = recipeHash();
  const file = path.join(CACHE_DIR, `busybox-${hash}.tar`);
  if (existsSync(file)) return file;
  await ensureTestDocker();
  return withLock('images', async () => {
    if (existsSync(file)) return file;
    mkdirSync(CACHE_DIR, { recursive: true });
    removeAbandonedWorkDirs();
    const work = mkdtempSync(path.join(CACHE_DIR, 'busybox-'));
    try {
      const root = path.join(work, 'rootfs');
      mkdirSync(root);
      await stage('busybox', root);
      await importDir(root, TEST_IMAGE_TAG, ['CMD ["/bin/sh"]', `LABEL ${RECIPE_LABEL}=${hash}`]);
      await dockerOk(['save', '-o', `${file}.tmp`, TEST_IMAGE_TAG]);
      renameSync(`${file}.tmp`, file);
      for (const old of readdirSync(CACHE_DIR)) {
        if (/^busybox-[0-9a-f]+\.tar$/.test(old) && path.join(CACHE_DIR, old) !== file) {
          rmSync(path.join(CACHE_DIR, old), { force: true });
        }
      }
      return file;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}
