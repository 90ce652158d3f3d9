import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { errorMessage, HostNotRunningError, MoorError } from '../../base/errors.js';
import { cancellableSleep } from '../../base/sleep.js';
import type { MachineState } from '../../base/state.js';
import { DEFAULT_ENGINE_PORT } from '../../store/config.js';
import { seedImage } from '../cloud-init/seed.js';
import type { Driver, DriverContext, SshTarget } from '../types.js';
import { type AccelChoice, chooseAccel, hardwareAccelFor, probeKvm } from './accel.js';
import { buildQemuArgs, type QemuLaunch } from './argv.js';
import { hostArch, type QemuConfig } from './config.js';
import { imageFormat, obtainImage } from './image.js';
import { freePorts, portInUse, readSshBanner, tlsServerAnswers } from './net.js';
import { mapQmpStatus, QmpClient } from './qmp.js';

const run = promisify(execFile);

/** The machine's own key (docker-machine's file name for it, whatever its type). */
export const MACHINE_KEY = 'id_rsa';
export const DISK_FILE = 'disk.qcow2';
export const SEED_FILE = 'seed.iso';
export const PID_FILE = 'qemu.pid';
export const SERIAL_LOG = 'serial.log';

/** Knobs for tests and slow hosts (environment, seconds). */
export function timings(env: Record<string, string | undefined>) {
  const num = (name: string, fallback: number) => {
    const v = Number(env[name]);
    return env[name] && Number.isFinite(v) && v > 0 ? v : fallback;
  };
  return {
    /** From QEMU's start to the guest's SSH banner (TCG boots take ~30–45 s on a small CI machine). */
    bootMs: num('MOOR_QEMU_BOOT_TIMEOUT_SECONDS', 300) * 1000,
    /** From the ACPI power button to QEMU's exit, then it is killed. */
    stopMs: num('MOOR_QEMU_STOP_TIMEOUT_SECONDS', 60) * 1000,
  };
}

/**
 * The QMP socket of a machine: in its directory, unless that path is longer than a unix socket
 * address allows (108 bytes on Linux, 104 on macOS); then in the temp directory, named by the
 * machine directory's hash (found again from the same directory, no record needed).
 */
export function qmpSocketPath(machineDir: string, tmpDir = os.tmpdir()): string {
  const inDir = path.join(machineDir, 'qmp.sock');
  if (Buffer.byteLength(inDir) <= 100) return inDir;
  const tag = createHash('sha256').update(machineDir).digest('hex').slice(0, 16);
  return path.join(tmpDir, `moor-qmp-${tag}.sock`);
}

/** qemu-img next to the QEMU binary when that is a path (a bundled QEMU), else from PATH. */
export function qemuImgFor(binary: string): string {
  return binary.includes('/') || binary.includes('\\')
    ? path.join(path.dirname(binary), 'qemu-img')
    : 'qemu-img';
}

/** The overlay's size: the requested disk size, never smaller than the base image (MB). */
export function overlaySizeMb(requestedMb: number, baseVirtualBytes: number): number {
  return Math.max(requestedMb, Math.ceil(baseVirtualBytes / (1024 * 1024)));
}

/** UEFI firmware for aarch64 `virt` (Debian's qemu-efi-aarch64, Homebrew's and QEMU's own names). */
function aarch64Firmware(binary: string): string {
  const share = path.join(path.dirname(path.dirname(binary)), 'share', 'qemu');
  const candidates = [
    '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd',
    '/usr/share/AAVMF/AAVMF_CODE.fd',
    path.join(share, 'edk2-aarch64-code.fd'),
    '/opt/homebrew/share/qemu/edk2-aarch64-code.fd',
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw new MoorError(`no UEFI firmware for aarch64 guests found (looked for ${candidates.join(', ')})`);
  return found;
}

function errorText(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim();
}

export class QemuDriver implements Driver {
  private readonly t: ReturnType<typeof timings>;

  constructor(
    readonly config: QemuConfig,
    private readonly ctx: DriverContext,
  ) {
    this.t = timings(ctx.env);
  }

  private file(name: string): string {
    return path.join(this.ctx.machineDir, name);
  }

  private get qmpSocket(): string {
    return qmpSocketPath(this.ctx.machineDir);
  }

  async preCreateCheck(): Promise<void> {
    const c = this.config;
    for (const [binary, flag] of [
      [c.Binary, '--qemu-binary'],
      [qemuImgFor(c.Binary), 'qemu-img (next to --qemu-binary)'],
    ] as const) {
      try {
        await run(binary, ['--version'], { timeout: 15_000 });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new MoorError(
          code === 'ENOENT'
            ? `${binary} was not found (${flag}): install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86 qemu-utils; macOS: brew install qemu)`
            : `${binary} --version failed: ${errorText(err)}`,
        );
      }
    }
    if (c.UserDataFile) {
      const { userDataType } = await import('../cloud-init/seed.js');
      const text = await fs.readFile(c.UserDataFile, 'utf8').catch((err) => {
        throw new MoorError(`--qemu-user-data "${c.UserDataFile}" cannot be read: ${(err as Error).message}`);
      });
      try {
        userDataType(text);
      } catch (err) {
        throw new MoorError(`--qemu-user-data "${c.UserDataFile}": ${(err as Error).message}`);
      }
    }
    if (!/^https?:\/\//i.test(c.Image) && !existsSync(c.Image)) {
      throw new MoorError(`--qemu-image "${c.Image}" is neither an http(s) URL nor an existing file`);
    }
  }

  async create(): Promise<void> {
    const c = this.config;
    const { progress, signal } = this.ctx;
    progress.log(`Getting the image ${c.Image}...`);
    const image = await obtainImage({
      spec: c.Image,
      checksum: c.ImageChecksum || undefined,
      cacheDir: path.join(this.ctx.storePath, 'cache'),
      progress,
      signal,
    });
    c.ImagePath = image.path;
    c.ImageFormat = await imageFormat(image.path);

    progress.step('ssh-key', 'Creating SSH key...');
    const { generateSshKey } = await import('../../ssh/keys.js');
    const { publicKey } = await generateSshKey(this.file(MACHINE_KEY), 'ed25519', `moor-${c.MachineName}`);
    c.SSHKeyPath = this.file(MACHINE_KEY);

    progress.log(`Creating the disk (${c.DiskSize} MB, over ${path.basename(image.path)})...`);
    const qemuImg = qemuImgFor(c.Binary);
    let virtualSize = 0;
    try {
      const info = await run(qemuImg, ['info', '--output=json', '-f', c.ImageFormat, image.path]);
      virtualSize = Number(JSON.parse(info.stdout)['virtual-size']) || 0;
      // -F: since QEMU 6, a backing file without its format is refused (no format probing).
      await run(qemuImg, [
        'create',
        '-q',
        '-f',
        'qcow2',
        '-F',
        c.ImageFormat,
        '-b',
        image.path,
        this.file(DISK_FILE),
        `${overlaySizeMb(c.DiskSize, virtualSize)}M`,
      ]);
    } catch (err) {
      throw new MoorError(`qemu-img could not make the machine's disk: ${errorText(err)}`);
    }

    const ports = await freePorts(c.IPAddress, 2);
    c.SSHPort = ports[0] ?? 0;
    c.EnginePort = ports[1] ?? 0;

    const extra = c.UserDataFile ? await fs.readFile(c.UserDataFile, 'utf8') : undefined;
    // The engine's address is known now (the loopback forward): its TLS files go with the first boot.
    const boothook = this.ctx.engineSeed
      ? await this.ctx.engineSeed(c.EnginePort || DEFAULT_ENGINE_PORT)
      : undefined;
    c.InstanceId = `moor-${c.MachineName}-${randomBytes(4).toString('hex')}`;
    await this.writeSeed(publicKey, extra, boothook);
    await this.ctx.checkpoint?.();
    await this.launch();
  }

  /** 0600: with the boothook it holds the server key (as server-key.pem next to it does). */
  private async writeSeed(publicKey: string, extraUserData?: string, boothook?: string): Promise<void> {
    const c = this.config;
    const file = this.file(SEED_FILE);
    await fs.writeFile(
      `${file}.tmp`,
      seedImage({
        hostname: c.MachineName,
        user: c.SSHUser,
        authorizedKey: publicKey,
        instanceId: c.InstanceId,
        extraUserData,
        boothook,
      }),
      { mode: 0o600 },
    );
    await fs.rename(`${file}.tmp`, file);
    c.SeedHoldsKey = boothook !== undefined;
  }

  /**
   * After the first boot the engine's boothook has done its work (once per instance): the seed is
   * written again without it, so the server key is no longer in seed.iso. Same instance id, so
   * cloud-init sees the same instance and runs no first-boot module again.
   */
  private async scrubSeed(): Promise<void> {
    const c = this.config;
    if (!c.SeedHoldsKey || !c.InstanceId) return;
    const publicKey = await fs.readFile(`${this.file(MACHINE_KEY)}.pub`, 'utf8').catch(() => '');
    if (!publicKey) return;
    const extra = c.UserDataFile
      ? await fs.readFile(c.UserDataFile, 'utf8').catch(() => undefined)
      : undefined;
    await this.writeSeed(publicKey, extra);
  }

  /** The accelerator for this start; the TCG warning goes to the progress output. */
  private async accel(): Promise<AccelChoice> {
    const platform = process.platform;
    let problem: string | null = null;
    if (this.config.Accel === 'auto' && hardwareAccelFor(platform) === 'kvm') {
      problem = await probeKvm(this.config.Binary, 3_000);
    } else if (this.config.Accel === 'auto' && !hardwareAccelFor(platform)) {
      problem = 'unsupported platform';
    }
    const choice = chooseAccel(this.config.Accel, { platform, hardwareProblem: problem });
    if (choice.warning) this.ctx.progress.warn(choice.warning);
    return choice;
  }

  launchSpec(accel: QemuLaunch['accel']): QemuLaunch {
    const c = this.config;
    const arch = hostArch(process.arch);
    return {
      name: c.MachineName,
      arch,
      accel,
      cpus: c.CPUCount,
      memoryMb: c.Memory,
      disk: this.file(DISK_FILE),
      seed: this.file(SEED_FILE),
      qmpSocket: this.qmpSocket,
      pidFile: this.file(PID_FILE),
      serialLog: this.file(SERIAL_LOG),
      forwardAddress: c.IPAddress,
      sshPort: c.SSHPort,
      enginePort: c.EnginePort || DEFAULT_ENGINE_PORT,
      restrictNetwork: this.ctx.env.MOOR_QEMU_RESTRICT_NETWORK === '1',
      firmware: arch === 'aarch64' ? aarch64Firmware(c.Binary) : undefined,
    };
  }

  /** Starts the QEMU daemon (returns once QEMU runs; the guest boots on). */
  private async launch(): Promise<void> {
    const c = this.config;
    if (await this.pid()) throw new MoorError(`Machine "${c.MachineName}" is already running.`);
    // A busy forwarded port makes QEMU exit with a terse message: say which and why first.
    for (const [port, what] of [
      [c.SSHPort, 'SSH'],
      [c.EnginePort, 'Docker'],
    ] as const) {
      if (await portInUse(c.IPAddress, port)) {
        throw new MoorError(
          `${c.IPAddress}:${port} (the ${what} port of "${c.MachineName}") is in use by another program; free it and start again`,
        );
      }
    }
    await fs.rm(this.qmpSocket, { force: true });
    await fs.rm(this.file(PID_FILE), { force: true });
    const { accel } = await this.accel();
    try {
      await this.runQemu(accel);
    } catch (err) {
      // The probe guest can run on a KVM that a real guest's vCPU set-up still fails on (e.g.
      // "failed to set MSR"): with --qemu-accel auto, fall back to TCG rather than not start.
      if (accel !== 'kvm' || c.Accel !== 'auto') throw err;
      this.ctx.progress.warn(
        `KVM failed to start this VM (${errorMessage(err).split('\n')[1] ?? errorMessage(err)}); using TCG (software emulation, much slower)`,
      );
      await fs.rm(this.file(PID_FILE), { force: true });
      await fs.rm(this.qmpSocket, { force: true });
      await this.runQemu('tcg');
    }
  }

  private async runQemu(accel: QemuLaunch['accel']): Promise<void> {
    const c = this.config;
    const args = buildQemuArgs(this.launchSpec(accel));
    this.ctx.progress.step('qemu', `Starting QEMU (${accel}, ${c.CPUCount} CPUs, ${c.Memory} MB)...`);
    try {
      // With -daemonize the command returns once the VM is set up (or failed to be).
      await run(c.Binary, args, { timeout: 120_000 });
    } catch (err) {
      throw new MoorError(`QEMU did not start: ${errorText(err)}`);
    }
  }

  /** The QEMU process of this machine, if it runs (pid file + the process is QEMU with our pid file). */
  private async pid(): Promise<number | undefined> {
    const text = await fs.readFile(this.file(PID_FILE), 'utf8').catch(() => '');
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
    }
    if (process.platform === 'linux') {
      // The pid may have been reused after a crash: it must be a QEMU started with our pid file.
      const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (!cmdline.includes(this.file(PID_FILE))) return undefined;
    }
    return pid;
  }

  private async withQmp<T>(fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
    const qmp = await QmpClient.connect(this.qmpSocket);
    try {
      return await fn(qmp);
    } finally {
      qmp.close();
    }
  }

  async state(): Promise<MachineState> {
    if (!(await this.pid())) return 'Stopped';
    try {
      return mapQmpStatus(await this.withQmp((q) => q.queryStatus())) || 'Error';
    } catch {
      // The process runs but QMP does not answer: exiting, or wedged.
      return (await this.pid()) ? 'Error' : 'Stopped';
    }
  }

  /** Waits for the SSH banner (the forward accepts TCP before the guest listens); fails if QEMU exits. */
  private async waitForSsh(deadlineMs: number): Promise<void> {
    const c = this.config;
    const { progress, signal } = this.ctx;
    const started = Date.now();
    let told = false;
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const banner = await readSshBanner(c.IPAddress, c.SSHPort, 3_000);
      if (banner) {
        progress.log(`SSH answers after ${((Date.now() - started) / 1000).toFixed(1)} s (${banner})`);
        return;
      }
      if (!(await this.pid())) {
        throw new MoorError(`QEMU exited while the machine was booting.${await this.consoleTail()}`);
      }
      if (Date.now() - started > deadlineMs) {
        throw new MoorError(
          `The machine did not answer on SSH (${c.IPAddress}:${c.SSHPort}) within ${Math.round(deadlineMs / 1000)} s.${await this.consoleTail()}`,
        );
      }
      if (!told && Date.now() - started > 10_000) {
        told = true;
        progress.log('Waiting for the guest to boot and start sshd...');
      }
      await cancellableSleep(1_000, signal);
    }
  }

  private async consoleTail(): Promise<string> {
    const text = await fs.readFile(this.file(SERIAL_LOG), 'utf8').catch(() => '');
    const lines = text.replace(/\r/g, '').trim().split('\n').slice(-15).join('\n  ');
    return lines ? `\nLast lines of the guest console (${this.file(SERIAL_LOG)}):\n  ${lines}` : '';
  }

  async waitUntilRunning(wait: { tries: number; intervalMs: number }): Promise<void> {
    await this.waitForSsh(Math.max(wait.tries * wait.intervalMs, this.t.bootMs));
  }

  async start(): Promise<void> {
    const started = Date.now();
    if (!(await this.pid())) await this.scrubSeed();
    await this.launch();
    await this.waitForSsh(this.t.bootMs);
    // A provisioned machine: also wait for dockerd, which starts after sshd. The caller's engine
    // wait (docker-machine's 10 tries) is made for hosts that are already booted; under TCG dockerd
    // can take minutes more.
    if (existsSync(this.file('server.pem'))) {
      await this.waitForEngineListener(Math.max(this.t.bootMs - (Date.now() - started), 30_000));
    }
  }

  private async waitForEngineListener(deadlineMs: number): Promise<void> {
    const c = this.config;
    const until = Date.now() + deadlineMs;
    while (Date.now() < until) {
      if (this.ctx.signal?.aborted) throw this.ctx.signal.reason;
      if (await tlsServerAnswers(c.IPAddress, c.EnginePort, 3_000)) return;
      if (!(await this.pid()))
        throw new MoorError(`QEMU exited while the machine was booting.${await this.consoleTail()}`);
      await cancellableSleep(1_000, this.ctx.signal);
    }
    // Not fatal here: the caller's engine wait reports what is wrong.
    this.ctx.progress.warn(
      `The Docker engine on ${c.IPAddress}:${c.EnginePort} did not answer within ${Math.round(deadlineMs / 1000)} s of the boot`,
    );
  }

  /** ACPI power button, then a wait for QEMU to exit; killed when the guest ignores it. */
  async stop(): Promise<void> {
    if (!(await this.pid())) return;
    await this.withQmp((q) => q.execute('system_powerdown'));
    if (await this.exited(this.t.stopMs)) return;
    this.ctx.progress.warn(
      `The guest did not power off within ${this.t.stopMs / 1000} s of the ACPI power button: killing it`,
    );
    await this.kill();
  }

  async kill(): Promise<void> {
    const pid = await this.pid();
    if (!pid) return;
    await this.withQmp((q) => q.execute('quit')).catch(() => undefined);
    if (await this.exited(5_000)) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    if (!(await this.exited(5_000))) throw new MoorError(`QEMU (pid ${pid}) did not exit after SIGKILL`);
  }

  private async exited(withinMs: number): Promise<boolean> {
    const until = Date.now() + withinMs;
    while (Date.now() < until) {
      if (!(await this.pid())) {
        await fs.rm(this.qmpSocket, { force: true });
        return true;
      }
      await cancellableSleep(250);
    }
    return !(await this.pid());
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** The process (if any) and every file of the VM; the cached base image stays for the next machine. */
  async remove(): Promise<void> {
    await this.kill();
    for (const f of [DISK_FILE, SEED_FILE, PID_FILE, SERIAL_LOG]) await fs.rm(this.file(f), { force: true });
    await fs.rm(this.qmpSocket, { force: true });
  }

  async ip(): Promise<string> {
    if (!this.config.IPAddress) throw new MoorError('IP address is not set');
    return this.config.IPAddress;
  }

  async url(): Promise<string> {
    if ((await this.state()) !== 'Running') throw new HostNotRunningError();
    return `tcp://${this.config.IPAddress}:${this.config.EnginePort || DEFAULT_ENGINE_PORT}`;
  }

  async sshTarget(): Promise<SshTarget> {
    return {
      host: this.config.IPAddress,
      port: this.config.SSHPort,
      user: this.config.SSHUser,
      // The copy in the machine directory as it is now (a moved store keeps working).
      keyPath: this.file(MACHINE_KEY),
      knownHostsPath: this.file('known_hosts'),
      machineName: this.config.MachineName,
    };
  }
}
