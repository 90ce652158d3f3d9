/**
 * A VirtualBox VM driven through VBoxManage, with docker-machine 0.16.2's behaviour (its
 * drivers/virtualbox/virtualbox.go and network.go): the same calls, in the same order, so a
 * machine docker-machine made keeps working and one Moor makes looks the same to docker-machine.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { HostNotRunningError, MoorError } from '../../base/errors.js';
import { cancellableSleep } from '../../base/sleep.js';
import type { MachineState } from '../../base/state.js';
import type { HostConfig } from '../../store/config.js';
import { relocate } from '../../store/paths.js';
import type { Driver, DriverContext, SshTarget } from '../types.js';
import { DEFAULT_CLOUD_IMAGE, SSH_USER, type VirtualBoxConfig } from './config.js';
import {
  checkVBoxManageVersion,
  defaultShare,
  dhcpRange,
  dhcpServerAddress,
  type HostOnlyCidr,
  type HostOnlyInterface,
  hostOnlyMac,
  ipForMac,
  machineReadable,
  parseDhcpServers,
  parseHostOnlyCidr,
  parseHostOnlyIfs,
  parseShareFolder,
  vmState,
  vtxDisabledInLog,
} from './parse.js';
import {
  boot2dockerDiskCommand,
  boot2dockerUserdataTar,
  CLOUD_NETWORK_CONFIG,
  cloudDiskCommands,
  createVmCommands,
  hostOnlyNicCommand,
  sshForwardCommands,
  vmCpus,
} from './plan.js';
import {
  findVBoxManage,
  isMachineNotFound,
  processExec,
  type VBoxManage,
  vboxManage,
} from './vbox-manage.js';

/** What the driver needs from the outside world; tests replace VBoxManage and SSH. */
export interface VirtualBoxDeps {
  vbox: VBoxManage;
  /** Runs `command` on the VM over SSH and returns its stdout (RunSSHCommandFromDriver). */
  sshRun: (
    target: SshTarget,
    command: string,
    o: { retryForMs: number; signal?: AbortSignal },
  ) => Promise<string>;
  /** The host's IPv4 interface addresses (address + netmask), loopback excluded. */
  hostNetworks: () => { address: string; netmask: string }[];
  /** A free TCP port on 127.0.0.1, `preferred` when it is free. */
  freePort: (preferred: number) => Promise<number>;
  random: (n: number) => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  platform: string;
  hostCpus: number;
  /** Where ~/.ssh/id_boot2docker is (--virtualbox-import-boot2docker-vm). */
  homeDir: string;
  /** Whether the CPU offers VT-x/AMD-V; undefined when it cannot be told (docker-machine: cpuid). */
  cpuHasVtx: () => Promise<boolean | undefined>;
  /**
   * Writes the cloud-init NoCloud seed image for a cloud-image machine and returns its path
   * (drivers/cloud-init, shared with qemu). Unset (tests): new machines need --virtualbox-boot2docker-url.
   */
  writeSeed?: (o: {
    dir: string;
    hostname: string;
    user: string;
    publicKey: string;
    /** cloud-init network-config (v2): DHCP on both NICs. */
    networkConfig: string;
  }) => Promise<string>;
}

/** docker-machine's drivers.WaitForSSH: 60 tries, 3 s apart. */
const SSH_WAIT_MS = 180_000;
/** hostOnlyIPAvailable: 5 tries, 4 s apart. */
const IP_TRIES = 5;
const IP_INTERVAL_MS = 4_000;
/** docker-machine waits for an ACPI shutdown forever; Moor gives up and says what to do. */
const STOP_TIMEOUT_MS = 120_000;
/** How long VirtualBox takes to show a new host-only adapter (waitForNewHostOnlyNetwork). */
const NEW_ADAPTER_TRIES = 10;
const DHCP_PREFIX = 'HostInterfaceNetworking-';

export function defaultDeps(env: Record<string, string | undefined>): VirtualBoxDeps {
  return {
    writeSeed: async (o) => {
      const { seedImage } = await import('../cloud-init/seed.js');
      const file = path.join(o.dir, 'seed.iso');
      const image = seedImage({
        hostname: o.hostname,
        user: o.user,
        authorizedKey: o.publicKey,
        networkConfig: o.networkConfig,
      });
      await fs.writeFile(file, image);
      return file;
    },
    vbox: vboxManage(processExec(findVBoxManage(env))),
    sshRun: async (target, command, o) => {
      const { connect } = await import('../../ssh/index.js');
      const session = await connect(target, { retryForMs: o.retryForMs, signal: o.signal });
      try {
        const r = await session.exec(command, { signal: o.signal });
        if (r.code !== 0) {
          throw new MoorError(`ssh command error:\ncommand : ${command}\nexit status ${r.code}\n${r.stderr}`);
        }
        return r.stdout;
      } finally {
        session.close();
      }
    },
    hostNetworks: () =>
      Object.values(os.networkInterfaces())
        .flat()
        .filter((a) => a && a.family === 'IPv4' && !a.internal)
        .map((a) => ({ address: a?.address ?? '', netmask: a?.netmask ?? '' })),
    freePort,
    random: (n) => Math.floor(Math.random() * n),
    sleep: cancellableSleep,
    platform: process.platform,
    hostCpus: os.availableParallelism(),
    homeDir: os.homedir(),
    cpuHasVtx: async () => {
      if (process.platform !== 'linux') return undefined;
      const info = await fs.readFile('/proc/cpuinfo', 'utf8').catch(() => '');
      return info ? /^flags\s*:.*\b(vmx|svm)\b/m.test(info) : undefined;
    },
  };
}

export class VirtualBoxDriver implements Driver {
  constructor(
    readonly config: VirtualBoxConfig,
    private readonly ctx: DriverContext,
    private readonly deps: VirtualBoxDeps,
    private readonly host?: HostConfig,
  ) {}

  private get name(): string {
    return this.config.MachineName;
  }

  private vbm(args: string[], stdin?: Readable): Promise<string> {
    return this.deps.vbox(args, { stdin, signal: this.ctx.signal });
  }

  /** docker-machine's PreCreateCheck, plus the settings checks it only did later (mid-create). */
  async preCreateCheck(): Promise<void> {
    const { warning } = checkVBoxManageVersion((await this.vbm(['--version'])).trim());
    if (warning) this.ctx.progress.warn(warning);
    if (!this.config.NoVTXCheck && (await this.deps.cpuHasVtx()) === false) {
      throw new MoorError(
        "This computer doesn't have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory",
      );
    }
    parseHostOnlyCidr(this.config.HostOnlyCIDR);
    if (!['gui', 'sdl', 'headless', 'separate'].includes(this.config.UIType)) {
      throw new MoorError(`--virtualbox-ui-type "${this.config.UIType}": use gui, sdl, headless or separate`);
    }
    if (!this.config.Boot2DockerURL && !this.config.Boot2DockerImportVM && !this.deps.writeSeed) {
      throw new MoorError(
        'virtualbox: new machines need --virtualbox-boot2docker-url (a boot2docker ISO) or ' +
          '--virtualbox-import-boot2docker-vm; the cloud-image path needs the cloud-init seed writer, not in this build',
      );
    }
    parseHostOnlyIfs(await this.vbm(['list', 'hostonlyifs']));
  }

  async create(): Promise<void> {
    const { progress, machineDir } = this.ctx;
    const keyPath = path.join(machineDir, 'id_rsa');
    let kind: 'boot2docker' | 'cloud-image' = 'boot2docker';
    let dvdPath = path.join(machineDir, 'boot2docker.iso');
    let diskPath = path.join(machineDir, 'disk.vmdk');
    progress.step('create-vm', 'Creating VirtualBox VM...');
    if (this.config.Boot2DockerImportVM) {
      const oldIso = await this.importBoot2DockerVm(diskPath, keyPath);
      // docker-machine took its cached latest ISO here; Moor takes the URL, else the old VM's ISO.
      const iso = this.config.Boot2DockerURL || oldIso;
      if (!iso) {
        throw new MoorError(
          `VM "${this.config.Boot2DockerImportVM}" has no boot2docker ISO attached: give --virtualbox-boot2docker-url`,
        );
      }
      await fetchTo(iso, dvdPath);
    } else if (this.config.Boot2DockerURL) {
      progress.log(`Downloading ${dvdPath} from ${this.config.Boot2DockerURL}...`);
      await fetchTo(this.config.Boot2DockerURL, dvdPath);
      progress.log('Creating SSH key...');
      const { generateSshKey } = await import('../../ssh/index.js');
      // boot2docker's sshd predates ed25519 in some releases: RSA, like docker-machine's id_rsa.
      const { publicKey } = await generateSshKey(keyPath, 'rsa', 'moor');
      const sizeMb = this.config.DiskSize;
      await this.vbm(
        boot2dockerDiskCommand(diskPath, sizeMb),
        rawDiskStream(boot2dockerUserdataTar(Buffer.from(publicKey)), sizeMb),
      );
    } else {
      kind = 'cloud-image';
      diskPath = path.join(machineDir, 'disk.vdi');
      const writeSeed = this.deps.writeSeed;
      if (!writeSeed) throw new MoorError('virtualbox: the cloud-init seed writer is not in this build');
      // Cached in the store by file name, like docker-machine's boot2docker.iso (cache/).
      const source = this.config.Image || DEFAULT_CLOUD_IMAGE;
      const fileName = path.basename(/^[a-z]+:\/\//i.test(source) ? new URL(source).pathname : source);
      const image = path.join(this.ctx.storePath, 'cache', fileName);
      if (!(await exists(image))) {
        progress.log(`Downloading ${source}...`);
        await fetchTo(source, image);
      }
      const { generateSshKey } = await import('../../ssh/index.js');
      const { publicKey } = await generateSshKey(keyPath, 'ed25519', 'moor');
      for (const args of cloudDiskCommands(image, diskPath, this.config.DiskSize)) await this.vbm(args);
      dvdPath = await writeSeed({
        dir: machineDir,
        hostname: this.name,
        user: SSH_USER,
        publicKey,
        networkConfig: CLOUD_NETWORK_CONFIG,
      });
    }
    this.config.SSHKeyPath = keyPath;
    const layout = {
      machineDir,
      dvdPath,
      diskPath,
      cpus: vmCpus(this.config.CPU, this.deps.hostCpus),
      share: await this.share(),
      kind,
    };
    for (const args of createVmCommands(this.config, layout)) await this.vbm(args);
    progress.log('Starting the VM...');
    await this.start();
  }

  /** --virtualbox-import-boot2docker-vm: the old VM's disk, CPUs, memory and ~/.ssh/id_boot2docker. */
  private async importBoot2DockerVm(diskPath: string, keyPath: string): Promise<string> {
    const from = this.config.Boot2DockerImportVM;
    await this.vbm(['controlvm', from, 'poweroff']).catch(() => {}); // it may be off already
    const fields = new Map(machineReadable(await this.vbm(['showvminfo', from, '--machinereadable'])));
    const disk = fields.get('SATA-1-0') ?? '';
    if (!disk || !(await exists(disk)))
      throw new MoorError(`The disk of VM "${from}" was not found: "${disk}"`);
    const key = path.join(this.deps.homeDir, '.ssh', 'id_boot2docker');
    if (!(await exists(key))) throw new MoorError(`The SSH key of boot2docker VMs was not found: "${key}"`);
    await this.vbm(['clonehd', disk, diskPath]);
    this.config.CPU = Number(fields.get('cpus')) || this.config.CPU;
    this.config.Memory = Number(fields.get('memory')) || this.config.Memory;
    await fs.copyFile(key, keyPath);
    await fs.chmod(keyPath, 0o600);
    const iso = fields.get('SATA-0-0') ?? '';
    return iso && iso !== 'none' ? iso : '';
  }

  /** The shared folder: --virtualbox-share-folder, else the OS's home directories, if they exist. */
  private async share(): Promise<{ dir: string; name: string } | null> {
    if (this.config.NoShare) return null;
    let { dir, name } = defaultShare(this.deps.platform);
    if (this.config.ShareFolder) ({ dir, name } = parseShareFolder(this.config.ShareFolder));
    if (!dir || !(await exists(dir))) return null;
    // VirtualBox mishandles share names that start with "/".
    return { dir, name: name || dir.replace(/^\/+/, '') };
  }

  async start(): Promise<void> {
    const { progress } = this.ctx;
    const s = await this.state();
    let adapter: HostOnlyInterface | undefined;
    if (s === 'Stopped') {
      progress.log('Check network to re-create if needed...');
      try {
        adapter = await this.setupHostOnlyNetwork();
      } catch (err) {
        throw new MoorError(`Error setting up host only network on machine start: ${(err as Error).message}`);
      }
    }
    if (s === 'Stopped' || s === 'Saved') {
      this.config.SSHPort = await this.forwardSsh();
      await this.startVm();
    } else if (s === 'Paused') {
      progress.log('Resuming VM ...');
      await this.vbm(['controlvm', this.name, 'resume']);
    } else {
      progress.log('VM not in restartable state');
    }
    await this.checkVtxInVm();
    progress.log('Waiting for an IP...');
    await this.waitForIp();
    if (!adapter) return;
    // VirtualBox (on Windows mostly) can corrupt a new adapter at VM start: check it, repair once.
    const cidr = parseHostOnlyCidr(this.config.HostOnlyCIDR);
    const nets = parseHostOnlyIfs(await this.vbm(['list', 'hostonlyifs']));
    this.checkNoCollision(cidr, nets);
    if (findAdapter(nets, cidr)) return;
    progress.warn(
      "The host-only adapter is corrupted. Let's stop the VM, fix the host-only adapter and restart the VM",
    );
    await this.stop();
    await this.deps.sleep(5_000, this.ctx.signal);
    await this.vbm(['hostonlyif', 'ipconfig', adapter.name, '--ip', cidr.ip, '--netmask', cidr.netmask]);
    await this.deps.sleep(5_000, this.ctx.signal);
    await this.startVm();
    progress.log('Waiting for an IP...');
    await this.waitForIp();
  }

  private async startVm(): Promise<void> {
    try {
      await this.vbm(['startvm', this.name, '--type', this.config.UIType || 'headless']);
    } catch (err) {
      const lines = await this.vboxLog();
      const details = lines.length ? `\nDetails: ${lines[lines.length - 1]}` : '';
      throw new MoorError(`Unable to start the VM: ${(err as Error).message}${details}`);
    }
  }

  private async vboxLog(): Promise<string[]> {
    const log = path.join(this.ctx.machineDir, this.name, 'Logs', 'VBox.log');
    return (await fs.readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  }

  private async checkVtxInVm(): Promise<void> {
    if (this.config.NoVTXCheck) return;
    if (vtxDisabledInLog(await this.vboxLog())) {
      throw new MoorError(
        "This computer doesn't have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory",
      );
    }
  }

  /** NAT rule `ssh` on 127.0.0.1: the recorded port when it is free, else any free one. */
  private async forwardSsh(): Promise<number> {
    const port = await this.deps.freePort(this.config.SSHPort);
    const { remove, add } = sshForwardCommands(this.name, port);
    await this.vbm(remove).catch(() => {}); // there is none on a new VM
    await this.vbm(add);
    return port;
  }

  /** SSH over the NAT forward, then the host-only IP (docker-machine's sshIPWaiter). */
  private async waitForIp(): Promise<void> {
    const target = await this.sshTarget();
    await this.deps.sshRun(target, 'exit 0', { retryForMs: SSH_WAIT_MS, signal: this.ctx.signal });
    let lastError: unknown;
    for (let i = 0; i < IP_TRIES; i++) {
      try {
        const ip = await this.ip();
        if (ip) {
          this.config.IPAddress = ip;
          return;
        }
      } catch (err) {
        lastError = err;
      }
      if (i < IP_TRIES - 1) await this.deps.sleep(IP_INTERVAL_MS, this.ctx.signal);
    }
    throw new MoorError(
      `Maximum number of retries (${IP_TRIES}) exceeded: no IP on the host-only adapter` +
        (lastError ? ` (${(lastError as Error).message})` : ''),
    );
  }

  /** docker-machine's setupHostOnlyNetwork: adapter, DHCP server, then NIC 2 of the VM. */
  private async setupHostOnlyNetwork(): Promise<HostOnlyInterface> {
    const cidr = parseHostOnlyCidr(this.config.HostOnlyCIDR || '192.168.99.1/24');
    const nets = parseHostOnlyIfs(await this.vbm(['list', 'hostonlyifs']));
    this.checkNoCollision(cidr, nets);
    const adapter = findAdapter(nets, cidr) ?? (await this.createHostOnlyAdapter(cidr, nets));
    await this.removeOrphanDhcpServers();
    const dhcpIp = dhcpServerAddress(cidr, this.deps.random);
    const { lower, upper } = dhcpRange(dhcpIp, cidr);
    const netName = DHCP_PREFIX + adapter.name;
    const existing = parseDhcpServers(await this.vbm(['list', 'dhcpservers'])).get(netName);
    const enabled = !this.config.HostOnlyNoDHCP;
    const upToDate =
      existing &&
      existing.ip === dhcpIp &&
      existing.netmask === cidr.netmask &&
      existing.lower === lower &&
      existing.upper === upper &&
      existing.enabled === enabled;
    if (!upToDate) {
      await this.vbm([
        'dhcpserver',
        existing ? 'modify' : 'add',
        '--netname',
        netName,
        '--ip',
        dhcpIp,
        '--netmask',
        cidr.netmask,
        '--lowerip',
        lower,
        '--upperip',
        upper,
        enabled ? '--enable' : '--disable',
      ]);
    }
    await this.vbm(hostOnlyNicCommand(this.config, adapter.name));
    return adapter;
  }

  private async createHostOnlyAdapter(
    cidr: HostOnlyCidr,
    before: HostOnlyInterface[],
  ): Promise<HostOnlyInterface> {
    await this.vbm(['hostonlyif', 'create']).catch((err: Error) => {
      // VirtualBox ticket 14040: it reports a failure but the adapter exists; look for it anyway.
      this.ctx.progress.warn(`Creating a new host-only adapter produced an error: ${err.message}`);
    });
    let created: HostOnlyInterface | undefined;
    for (let i = 0; i < NEW_ADAPTER_TRIES && !created; i++) {
      await this.deps.sleep(1_000, this.ctx.signal);
      const now = parseHostOnlyIfs(await this.vbm(['list', 'hostonlyifs']));
      created = now.find((n) => !before.some((o) => o.networkName === n.networkName));
    }
    if (!created) {
      throw new MoorError(
        'The host-only adapter we just created is not visible. This is a well known VirtualBox bug. You might want to uninstall it and reinstall at least version 5.0.12 that is is supposed to fix this issue',
      );
    }
    this.ctx.progress.log(`Found a new host-only adapter: "${created.name}"`);
    await this.vbm(['hostonlyif', 'ipconfig', created.name, '--ip', cidr.ip, '--netmask', cidr.netmask]);
    return { ...created, ip: cidr.ip, netmask: cidr.netmask };
  }

  private async removeOrphanDhcpServers(): Promise<void> {
    const servers = parseDhcpServers(await this.vbm(['list', 'dhcpservers']));
    if (servers.size === 0) return;
    const nets = parseHostOnlyIfs(await this.vbm(['list', 'hostonlyifs']));
    for (const name of servers.keys()) {
      if (name.startsWith(DHCP_PREFIX) && !nets.some((n) => n.networkName === name)) {
        await this.vbm(['dhcpserver', 'remove', '--netname', name]).catch((err: Error) =>
          this.ctx.progress.warn(`Unable to remove orphan dhcp server "${name}": ${err.message}`),
        );
      }
    }
  }

  /** The host-only network must not be the network of one of the host's own interfaces. */
  private checkNoCollision(cidr: HostOnlyCidr, nets: HostOnlyInterface[]): void {
    const ownAdapters = new Set(nets.map((n) => n.ip));
    for (const iface of this.deps.hostNetworks()) {
      if (ownAdapters.has(iface.address)) continue;
      if (networkOf(iface.address, iface.netmask) === cidr.network) {
        throw new MoorError('host-only cidr conflicts with the network address of a host interface');
      }
    }
  }

  async stop(): Promise<void> {
    if ((await this.state()) === 'Paused') {
      await this.vbm(['controlvm', this.name, 'resume']);
      this.ctx.progress.log('Resuming VM ...');
    }
    await this.vbm(['controlvm', this.name, 'acpipowerbutton']);
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while ((await this.state()) === 'Running') {
      if (Date.now() > deadline) {
        throw new MoorError(
          `"${this.name}" did not shut down within ${STOP_TIMEOUT_MS / 1000} s of the ACPI power button; \`moor kill ${this.name}\` powers it off`,
        );
      }
      await this.deps.sleep(1_000, this.ctx.signal);
    }
    this.config.IPAddress = '';
  }

  async restart(): Promise<void> {
    try {
      await this.stop();
    } catch (err) {
      throw new MoorError(`Problem stopping the VM: ${(err as Error).message}`);
    }
    try {
      await this.start();
    } catch (err) {
      throw new MoorError(`Problem starting the VM: ${(err as Error).message}`);
    }
  }

  async kill(): Promise<void> {
    await this.vbm(['controlvm', this.name, 'poweroff']);
  }

  /** Powers the VM off unless it is already off or saved, then deletes it and its disks. */
  async remove(): Promise<void> {
    let s: MachineState;
    try {
      s = await this.state();
    } catch (err) {
      if (err instanceof MoorError && err.message === 'machine does not exist') return;
      throw err;
    }
    if (s !== 'Stopped' && s !== 'Saved') await this.kill();
    await this.vbm(['unregistervm', '--delete', this.name]);
  }

  async state(): Promise<MachineState> {
    try {
      return vmState(await this.vbm(['showvminfo', this.name, '--machinereadable']));
    } catch (err) {
      if (isMachineNotFound(err)) throw new MoorError('machine does not exist');
      throw err;
    }
  }

  /**
   * The host-only adapter's address, read in the guest as docker-machine does: the NIC's MAC from
   * showvminfo, then `ip addr show` over SSH (VirtualBox's DHCP server gave the address).
   */
  async ip(): Promise<string> {
    return this.guestIp(await this.runningVmInfo());
  }

  /**
   * tcp://IP:2376 with the address recorded at the last start (Moor's start and restart refresh
   * it; docker-machine's stop clears it), so `ls` and `env` cost one VBoxManage call and no SSH
   * login; without a recorded address it is read from the guest like ip().
   */
  async url(): Promise<string> {
    const info = await this.runningVmInfo();
    const ip = this.config.IPAddress || (await this.guestIp(info));
    return ip ? `tcp://${ip}:2376` : '';
  }

  private async runningVmInfo(): Promise<string> {
    const info = await this.vbm(['showvminfo', this.name, '--machinereadable']).catch((err) => {
      throw isMachineNotFound(err) ? new MoorError('machine does not exist') : err;
    });
    if (vmState(info) !== 'Running') throw new HostNotRunningError();
    return info;
  }

  private async guestIp(info: string): Promise<string> {
    const mac = hostOnlyMac(info);
    const output = await this.deps.sshRun(await this.sshTarget(), 'ip addr show', {
      retryForMs: 0,
      signal: this.ctx.signal,
    });
    return ipForMac(output, mac);
  }

  /** SSH goes through the NAT rule on 127.0.0.1 (docker-machine's GetSSHHostname), as `docker`. */
  async sshTarget(): Promise<SshTarget> {
    const recorded = this.config.SSHKeyPath || path.join(this.ctx.machineDir, 'id_rsa');
    return {
      host: '127.0.0.1',
      port: this.config.SSHPort,
      user: this.config.SSHUser || SSH_USER,
      keyPath: this.host ? relocate(recorded, this.host, this.ctx.storePath) : recorded,
      knownHostsPath: path.join(this.ctx.machineDir, 'known_hosts'),
      machineName: this.name,
    };
  }
}

function findAdapter(nets: HostOnlyInterface[], cidr: HostOnlyCidr): HostOnlyInterface | undefined {
  // 0f000000: the netmask VirtualBox reports for a just-created adapter (docker-machine's buggyNetmask).
  return nets.find((n) => n.ip === cidr.ip && (n.netmask === cidr.netmask || n.netmask === '15.0.0.0'));
}

function networkOf(address: string, netmask: string): string {
  const a = address.split('.').map(Number);
  const m = netmask.split('.').map(Number);
  return a.map((o, i) => o & (m[i] ?? 0)).join('.');
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/** The raw disk for convertfromraw: the userdata tar, then zeros up to the full size. */
function rawDiskStream(head: Buffer, sizeMb: number): Readable {
  const total = sizeMb * 2 ** 20;
  const chunk = Buffer.alloc(1 << 20);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const piece = sent === 0 ? head : chunk.subarray(0, Math.min(chunk.length, total - sent));
      sent += piece.length;
      this.push(piece);
    },
  });
}

/**
 * A URL (http, https, file) or local path copied to `dest`, through a temporary file so an
 * interrupted download never leaves a half-written ISO or image behind.
 */
export async function fetchTo(source: string, dest: string): Promise<void> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  try {
    if (/^https?:\/\//.test(source)) {
      const res = await fetch(source);
      if (!res.ok || !res.body) throw new MoorError(`Download of ${source} failed: HTTP ${res.status}`);
      const { pipeline } = await import('node:stream/promises');
      const { createWriteStream } = await import('node:fs');
      await pipeline(
        Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
        createWriteStream(tmp),
      );
    } else {
      const file = source.startsWith('file://') ? new URL(source).pathname : source;
      await fs.copyFile(file, tmp);
    }
    await fs.rename(tmp, dest);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    if (err instanceof MoorError) throw err;
    throw new MoorError(`Could not get ${source}: ${(err as Error).message}`);
  }
}

/** docker-machine's getAvailableTCPPort: the preferred port on 127.0.0.1 when free, else the OS's pick. */
export async function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => {
        const got = (server.address() as net.AddressInfo).port;
        server.close(() => resolve(got));
      });
    });
  const port = (preferred > 0 ? await tryPort(preferred) : undefined) ?? (await tryPort(0));
  if (!port) throw new MoorError('unable to allocate tcp port');
  return port;
}
