import { MoorError } from '../../base/errors.js';
import type { BaseDriverConfig } from '../../store/config.js';
import { flagString } from '../flag-values.js';
import type { FlagValues } from '../types.js';
import { ACCELERATORS, type Accel } from './accel.js';
import type { QemuLaunch } from './argv.js';
import { defaultBinary } from './argv.js';
import { isLoopbackV4 } from './net.js';

/** config.json's Driver object of a qemu machine. IPAddress is the loopback address of the forwards. */
export interface QemuConfig extends BaseDriverConfig {
  /** --qemu-image as given (URL or path). */
  Image: string;
  ImageChecksum: string;
  /** The local base image under the overlay (the cache entry of a URL). */
  ImagePath: string;
  ImageFormat: 'qcow2' | 'raw' | '';
  CPUCount: number;
  /** MB. */
  Memory: number;
  /** MB. */
  DiskSize: number;
  /** --qemu-accel as given; the accelerator is chosen again on every start (KVM may come or go). */
  Accel: Accel;
  Binary: string;
  UserDataFile: string;
  EnginePort: number;
  /** The cloud-init instance id of the seed (kept when the seed is rewritten: a new one re-runs first boot). */
  InstanceId?: string;
  /** The seed still holds the engine's first-boot boothook (its server key): rewritten without it on start. */
  SeedHoldsKey?: boolean;
}

export const DEFAULT_CPU_COUNT = 2;
export const DEFAULT_MEMORY_MB = 2048;
export const DEFAULT_DISK_MB = 20000;
export const DEFAULT_SSH_USER = 'docker';
export const DEFAULT_FORWARD_ADDRESS = '127.0.0.1';

export function hostArch(nodeArch: string): QemuLaunch['arch'] {
  if (nodeArch === 'x64') return 'x86_64';
  if (nodeArch === 'arm64') return 'aarch64';
  throw new MoorError(`the qemu driver runs on x86-64 and arm64 hosts, not ${nodeArch}`);
}

/** Debian stable's "genericcloud" image for the host's architecture (its SHA512SUMS sits next to it). */
export function defaultImage(arch: QemuLaunch['arch']): string {
  const debArch = arch === 'aarch64' ? 'arm64' : 'amd64';
  return `https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-${debArch}.qcow2`;
}

function positiveInt(values: FlagValues, flag: string, fallback: number, min: number): number {
  const raw = values[flag];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new MoorError(
      `invalid value "${String(raw)}" for flag --${flag}: a whole number of at least ${min}`,
    );
  }
  return n;
}

/** The Driver object from flag values, every value checked (a bad one is named before anything starts). */
export function qemuConfigFromFlags(
  values: FlagValues,
  base: BaseDriverConfig,
  nodeArch: string,
): QemuConfig {
  const arch = hostArch(nodeArch);
  const accel = (flagString(values['qemu-accel'], 'auto') || 'auto') as Accel;
  if (!ACCELERATORS.includes(accel)) {
    throw new MoorError(`invalid value "${accel}" for flag --qemu-accel: one of ${ACCELERATORS.join(', ')}`);
  }
  const address =
    flagString(values['qemu-forward-address'], DEFAULT_FORWARD_ADDRESS) || DEFAULT_FORWARD_ADDRESS;
  if (!isLoopbackV4(address)) {
    throw new MoorError(
      `invalid value "${address}" for flag --qemu-forward-address: a loopback address (127.0.0.0/8); ` +
        'the forwarded SSH and Docker ports are never exposed beyond this computer',
    );
  }
  const user = flagString(values['qemu-ssh-user'], DEFAULT_SSH_USER) || DEFAULT_SSH_USER;
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user) || user === 'root') {
    throw new MoorError(
      `invalid value "${user}" for flag --qemu-ssh-user: a user name for cloud-init to create (lower case, not root)`,
    );
  }
  return {
    ...base,
    IPAddress: address,
    SSHUser: user,
    SSHPort: 0,
    SSHKeyPath: '',
    Image: flagString(values['qemu-image']) || defaultImage(arch),
    ImageChecksum: flagString(values['qemu-image-checksum']).trim(),
    ImagePath: '',
    ImageFormat: '',
    CPUCount: positiveInt(values, 'qemu-cpu-count', DEFAULT_CPU_COUNT, 1),
    Memory: positiveInt(values, 'qemu-memory', DEFAULT_MEMORY_MB, 256),
    DiskSize: positiveInt(values, 'qemu-disk-size', DEFAULT_DISK_MB, 1024),
    Accel: accel,
    Binary: flagString(values['qemu-binary']) || defaultBinary(arch),
    UserDataFile: flagString(values['qemu-user-data']),
    EnginePort: 0,
  };
}
