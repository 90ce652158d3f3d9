import { spawn } from 'node:child_process';
import { promises as fs, constants as fsConstants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ACCELERATORS = ['auto', 'kvm', 'hvf', 'whpx', 'tcg'] as const;
export type Accel = (typeof ACCELERATORS)[number];
export type ConcreteAccel = Exclude<Accel, 'auto'>;

/** What the host offers: the platform and whether its hardware accelerator really runs a guest. */
export interface AccelFacts {
  platform: string;
  /** null: the accelerator works; otherwise why not (shown in the TCG warning). */
  hardwareProblem: string | null;
}

export interface AccelChoice {
  accel: ConcreteAccel;
  /** Set when falling back to TCG: why it is used and that it will be slow. */
  warning?: string;
}

/** The accelerator of each platform (kvm on Linux, hvf on macOS, whpx on Windows). */
export function hardwareAccelFor(platform: string): ConcreteAccel | null {
  if (platform === 'linux') return 'kvm';
  if (platform === 'darwin') return 'hvf';
  if (platform === 'win32') return 'whpx';
  return null;
}

/** `--qemu-accel auto` → the platform's accelerator when it works, else TCG with a warning saying why. */
export function chooseAccel(requested: Accel, facts: AccelFacts): AccelChoice {
  if (requested !== 'auto') return { accel: requested };
  const hw = hardwareAccelFor(facts.platform);
  if (hw && facts.hardwareProblem === null) return { accel: hw };
  const why = hw
    ? `${hw} is not usable: ${facts.hardwareProblem}`
    : `no hardware accelerator on ${facts.platform}`;
  return {
    accel: 'tcg',
    warning: `Using TCG (software emulation) because ${why}. The machine will be slow (a boot takes a minute or more).`,
  };
}

/**
 * A 512-byte boot sector that prints a marker on COM1 and halts: the probe guest. /dev/kvm can open
 * and still be unable to run a guest (nested virtualisation without the CPU features a guest needs):
 * only running code tells.
 */
export const PROBE_MARKER = 'MOOR-ACCEL-OK';
export function probeBootSector(): Uint8Array {
  const code = [
    0x31,
    0xc0, // xor ax, ax
    0x8e,
    0xd8, // mov ds, ax
    0xfc, // cld
    0xba,
    0xf8,
    0x03, // mov dx, 0x3f8 (COM1)
    0xbe,
    0x17,
    0x7c, // mov si, msg
    0xac, // next: lodsb
    0x84,
    0xc0, // test al, al
    0x74,
    0x03, // jz halt
    0xee, // out dx, al
    0xeb,
    0xf8, // jmp next
    0xfa, // halt: cli
    0xf4, // hlt
    0xeb,
    0xfd, // jmp hlt
  ];
  const sector = new Uint8Array(512);
  sector.set(code);
  sector.set(new TextEncoder().encode(`${PROBE_MARKER}\n\0`), code.length);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** Why KVM cannot run guests here, or null when it can (opens /dev/kvm, then boots the probe). */
export async function probeKvm(binary: string, timeoutMs = 5_000): Promise<string | null> {
  try {
    await fs.access('/dev/kvm', fsConstants.R_OK | fsConstants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? '/dev/kvm does not exist' : `/dev/kvm is not accessible (${code})`;
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-kvm-probe-'));
  const disk = path.join(dir, 'probe.img');
  await fs.writeFile(disk, probeBootSector());
  try {
    return await new Promise<string | null>((resolve) => {
      const child = spawn(
        binary,
        [
          '-accel',
          'kvm',
          '-machine',
          'pc',
          '-nodefaults',
          '-display',
          'none',
          '-serial',
          'stdio',
          '-no-reboot',
          '-drive',
          `file=${disk},format=raw,if=ide`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      let settled = false;
      const finish = (result: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve(result);
      };
      const timer = setTimeout(
        () =>
          finish(
            `a test guest did not run within ${timeoutMs / 1000} s under KVM (${lastLine(err) || 'no output'})`,
          ),
        timeoutMs,
      );
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes(PROBE_MARKER)) finish(null);
      });
      child.stderr.on('data', (d) => {
        err += d;
      });
      child.on('error', (e) => finish(`cannot run ${binary}: ${e.message}`));
      child.on('exit', (code) => finish(`${binary} -accel kvm exited (${code}): ${lastLine(err)}`));
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^qemu-system-\w+: /, '') ?? ''
  );
}
