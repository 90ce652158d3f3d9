import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileDigest } from '../../main/drivers/qemu/image.js';
import { requireCommand } from '../harness/components.js';
import { STATE_DIR, withLock } from '../hosts/docker.js';
import { runOk } from '../hosts/proc.js';

/**
 * The bootable VM image of the qemu e2e, built by build-image.sh and cached by recipe hash next to the
 * test-host images (`$MOOR_TESTHOSTS_STATE/vm-image/`, CI caches that directory): the slow part (debootstrap
 * + apt: kernel, cloud-init, docker.io) is a tarball keyed by its package lists, the rest (configure, disk)
 * takes about a minute.
 */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const BUILD_SCRIPT = path.join(HERE, 'build-image.sh');
export const VM_IMAGE_DIR = path.join(STATE_DIR, 'vm-image');

function mirror(): string {
  return process.env.MOOR_TESTHOSTS_MIRROR ?? 'http://deb.debian.org/debian';
}

export function vmRecipeHash(): string {
  return createHash('sha256').update(readFileSync(BUILD_SCRIPT)).update(mirror()).digest('hex').slice(0, 16);
}

function rootfsHash(): string {
  const script = readFileSync(BUILD_SCRIPT, 'utf8');
  const lists = [/^PACKAGES=.*$/m, /^APT_PACKAGES=.*$/m].map((re) => re.exec(script)?.[0] ?? '').join('\0');
  return createHash('sha256').update(`${lists}\0${mirror()}`).digest('hex').slice(0, 16);
}

function stage(...args: string[]): Promise<string> {
  return runOk(requireCommand('sh', 'dash'), [BUILD_SCRIPT, ...args]);
}

export interface VmImage {
  path: string;
  sha256: string;
}

/** The test image (qcow2), built when missing or stale; serialised across processes. */
export async function ensureVmImage(log: (line: string) => void = () => {}): Promise<VmImage> {
  const hash = vmRecipeHash();
  const file = path.join(VM_IMAGE_DIR, `moor-test-vm-${hash}.qcow2`);
  const sumFile = `${file}.sha256`;
  const ready = (): VmImage | undefined =>
    existsSync(file) && existsSync(sumFile)
      ? { path: file, sha256: readFileSync(sumFile, 'utf8').trim() }
      : undefined;
  const cached = ready();
  if (cached) return cached;
  return withLock('vm-image', async () => {
    const again = ready();
    if (again) return again;
    for (const [cmd, pkg] of [
      ['debootstrap', 'debootstrap'],
      ['syslinux', 'syslinux'],
      ['mcopy', 'mtools'],
      ['mkfs.fat', 'dosfstools'],
      ['sfdisk', 'fdisk'],
      ['mkfs.ext4', 'e2fsprogs'],
      ['qemu-img', 'qemu-utils'],
    ] as const) {
      requireCommand(cmd, pkg);
    }
    mkdirSync(VM_IMAGE_DIR, { recursive: true });
    for (const entry of readdirSync(VM_IMAGE_DIR)) {
      // Work directories of killed builds (we hold the lock).
      if (entry.startsWith('build-'))
        rmSync(path.join(VM_IMAGE_DIR, entry), { recursive: true, force: true });
    }
    const work = mkdtempSync(path.join(VM_IMAGE_DIR, 'build-'));
    const root = path.join(work, 'rootfs');
    try {
      const tarball = path.join(VM_IMAGE_DIR, `rootfs-${rootfsHash()}.tar`);
      if (!existsSync(tarball)) {
        log('vm image: debootstrap + kernel + cloud-init + docker.io (a few minutes)...');
        await stage('rootfs', root, mirror());
        await runOk('tar', ['-C', root, '--numeric-owner', '--xattrs', '-cf', `${tarball}.tmp`, '.']);
        renameSync(`${tarball}.tmp`, tarball);
      } else {
        mkdirSync(root);
        await runOk('tar', ['-C', root, '--numeric-owner', '--xattrs', '-xpf', tarball]);
      }
      log('vm image: configure + disk...');
      await stage('configure', root);
      await stage('disk', root, work, `${file}.tmp`);
      const sha256 = await fileDigest(`${file}.tmp`, 'sha256');
      renameSync(`${file}.tmp`, file);
      writeFileSync(sumFile, `${sha256}\n`);
      for (const old of readdirSync(VM_IMAGE_DIR)) {
        const full = path.join(VM_IMAGE_DIR, old);
        if (/^moor-test-vm-[0-9a-f]+\.qcow2(\.sha256)?$/.test(old) && !full.startsWith(file))
          rmSync(full, { force: true });
        if (/^rootfs-[0-9a-f]+\.tar$/.test(old) && full !== tarball) rmSync(full, { force: true });
      }
      return ready() as VmImage;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}
