import type { DriverModule, FlagSpec } from '../types.js';
import { ACCELERATORS } from './accel.js';
import {
  DEFAULT_CPU_COUNT,
  DEFAULT_DISK_MB,
  DEFAULT_FORWARD_ADDRESS,
  DEFAULT_MEMORY_MB,
  DEFAULT_SSH_USER,
  type QemuConfig,
  qemuConfigFromFlags,
} from './config.js';
import { QemuDriver } from './driver.js';

/** The qemu driver's flags (docker-machine-style names: driver prefix, then what it sets). */
export const flags: FlagSpec[] = [
  {
    name: 'qemu-image',
    label: 'Cloud image',
    group: 'common',
    type: 'string',
    help: "Cloud image (qcow2 or raw): URL or local path; default: Debian stable's genericcloud image for this CPU",
    envVar: 'QEMU_IMAGE',
    default: '',
    configKey: 'Image',
  },
  {
    name: 'qemu-image-checksum',
    label: 'Image checksum (SHA-256)',
    group: 'advanced',
    type: 'string',
    help: "sha256 or sha512 of the image (sha256:HEX, sha512:HEX); default: from the SHA512SUMS/SHA256SUMS next to the image's URL",
    envVar: 'QEMU_IMAGE_CHECKSUM',
    default: '',
  },
  {
    name: 'qemu-cpu-count',
    label: 'CPUs',
    group: 'common',
    type: 'int',
    help: 'Number of CPUs',
    envVar: 'QEMU_CPU_COUNT',
    default: DEFAULT_CPU_COUNT,
    configKey: 'CPUCount',
  },
  {
    name: 'qemu-memory',
    label: 'Memory (MB)',
    group: 'common',
    type: 'int',
    help: 'Memory in MB',
    envVar: 'QEMU_MEMORY',
    default: DEFAULT_MEMORY_MB,
  },
  {
    name: 'qemu-disk-size',
    label: 'Disk size (MB)',
    group: 'common',
    type: 'int',
    help: 'Disk size in MB',
    envVar: 'QEMU_DISK_SIZE',
    default: DEFAULT_DISK_MB,
  },
  {
    name: 'qemu-ssh-user',
    label: 'SSH user',
    group: 'advanced',
    type: 'string',
    help: 'SSH user that cloud-init creates (passwordless sudo, the machine key)',
    envVar: 'QEMU_SSH_USER',
    default: DEFAULT_SSH_USER,
    configKey: 'SSHUser',
  },
  {
    name: 'qemu-accel',
    label: 'Accelerator',
    group: 'advanced',
    type: 'string',
    help: `Accelerator: ${ACCELERATORS.join('|')} (auto: kvm on Linux, hvf on macOS, whpx on Windows when usable, else tcg)`,
    envVar: 'QEMU_ACCEL',
    default: 'auto',
  },
  {
    name: 'qemu-binary',
    label: 'QEMU binary',
    group: 'advanced',
    type: 'string',
    help: 'QEMU system emulator (qemu-img is looked for next to it when this is a path)',
    envVar: 'QEMU_BINARY',
    default: '',
  },
  {
    name: 'qemu-user-data',
    label: 'Cloud-init user-data file',
    group: 'advanced',
    type: 'string',
    help: "Extra cloud-init user-data file (#cloud-config or a script), merged with Moor's",
    envVar: 'QEMU_USER_DATA',
    default: '',
    configKey: 'UserDataFile',
  },
  {
    name: 'qemu-forward-address',
    label: 'Forwarded ports address',
    group: 'advanced',
    type: 'string',
    help: 'Loopback address (127.0.0.0/8) of the forwarded SSH and Docker ports',
    envVar: 'QEMU_FORWARD_ADDRESS',
    default: DEFAULT_FORWARD_ADDRESS,
    configKey: 'IPAddress',
  },
];

const qemu: DriverModule = {
  name: 'qemu',
  description: 'A local VM under QEMU (a cloud image with cloud-init; kvm/hvf/whpx when usable, else tcg)',
  capabilities: {
    actions: ['start', 'stop', 'restart', 'kill'],
    ssh: true,
    removes: "the VM's process and disk (the downloaded image stays cached for other machines)",
    restartReboots: false,
  },
  provisions: true,
  flags,
  configFromFlags(values, base) {
    return qemuConfigFromFlags(values, base, process.arch);
  },
  open(config, ctx) {
    return new QemuDriver(config as QemuConfig, ctx);
  },
};

export default qemu;
