import path from 'node:path';
import type { ConcreteAccel } from './accel.js';

/** Everything the QEMU command line of a machine depends on. */
export interface QemuLaunch {
  name: string;
  arch: 'x86_64' | 'aarch64';
  accel: ConcreteAccel;
  cpus: number;
  memoryMb: number;
  /** The machine's qcow2 overlay. */
  disk: string;
  /** The NoCloud seed (ISO 9660). */
  seed: string;
  qmpSocket: string;
  pidFile: string;
  serialLog: string;
  /** Loopback address of the host forwards (127.0.0.0/8, never 0.0.0.0). */
  forwardAddress: string;
  sshPort: number;
  enginePort: number;
  /** The guest reaches nothing but the forwards (tests): QEMU's `restrict=on`. */
  restrictNetwork?: boolean;
  /** UEFI firmware (aarch64 `virt` has no BIOS). */
  firmware?: string;
}

/** The QEMU binary of an architecture. */
export function defaultBinary(arch: QemuLaunch['arch']): string {
  return `qemu-system-${arch}`;
}

function requireAbsolute(what: string, p: string): void {
  // -daemonize changes the working directory to /: a relative path would point elsewhere.
  if (!path.isAbsolute(p)) throw new Error(`${what} must be an absolute path for -daemonize: "${p}"`);
}

/** QEMU's option-list syntax: a comma inside a value is written twice. */
function opt(value: string): string {
  return value.replace(/,/g, ',,');
}

/**
 * The command line of a machine: daemonized, headless, user-mode networking with the SSH and engine
 * forwards on the loopback address only (the engine port is the same inside, where dockerd listens),
 * QMP on a unix socket for state and power, the guest's console in a file for diagnostics.
 */
export function buildQemuArgs(l: QemuLaunch): string[] {
  for (const [what, p] of [
    ['disk', l.disk],
    ['seed', l.seed],
    ['QMP socket', l.qmpSocket],
    ['pid file', l.pidFile],
    ['serial log', l.serialLog],
  ] as const) {
    requireAbsolute(what, p);
  }
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(l.forwardAddress)) {
    throw new Error(`host forwards must be on a loopback address (127.0.0.0/8), not "${l.forwardAddress}"`);
  }
  const fwd = (host: number, guest: number) => `hostfwd=tcp:${l.forwardAddress}:${host}-:${guest}`;
  const netdev = [
    'user',
    'id=net0',
    fwd(l.sshPort, 22),
    fwd(l.enginePort, l.enginePort),
    ...(l.restrictNetwork ? ['restrict=on'] : []),
  ].join(',');
  const hardware = l.accel === 'kvm' || l.accel === 'hvf';
  const machine = l.arch === 'aarch64' ? 'virt' : 'q35';
  return [
    '-name',
    opt(`moor-${l.name}`),
    '-machine',
    machine,
    '-accel',
    l.accel === 'tcg' ? 'tcg,thread=multi' : l.accel,
    '-cpu',
    hardware ? 'host' : 'max',
    '-smp',
    String(l.cpus),
    '-m',
    String(l.memoryMb),
    ...(l.firmware ? ['-bios', l.firmware] : []),
    '-nodefaults',
    '-display',
    'none',
    '-drive',
    `file=${opt(l.disk)},if=virtio,format=qcow2,discard=unmap`,
    '-drive',
    `file=${opt(l.seed)},if=virtio,format=raw,readonly=on`,
    '-netdev',
    netdev,
    '-device',
    'virtio-net-pci,netdev=net0',
    '-device',
    'virtio-rng-pci',
    '-serial',
    `file:${l.serialLog}`,
    '-qmp',
    `unix:${l.qmpSocket},server=on,wait=off`,
    '-pidfile',
    l.pidFile,
    '-daemonize',
  ];
}
