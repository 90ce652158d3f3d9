/**
 * The VBoxManage calls that build a new VM, as data (pure): docker-machine's CreateVM for the
 * boot2docker ISO, and Moor's variant for a cloud image with a cloud-init seed.
 */
import type { VirtualBoxConfig } from './config.js';

export interface VmLayout {
  machineDir: string;
  /** Port 0 of the SATA controller: boot2docker.iso, or the cloud-init seed image. */
  dvdPath: string;
  /** Port 1: disk.vmdk (boot2docker) or disk.vdi (cloud image). */
  diskPath: string;
  /** CPUs after docker-machine's rule (< 1 → the host's count, at most 32). */
  cpus: number;
  /** The shared folder, when its directory exists and --virtualbox-no-share is not set. */
  share: { dir: string; name: string } | null;
  kind: 'boot2docker' | 'cloud-image';
}

/** docker-machine: a CPU count below 1 means all of the host's, capped at 32. */
export function vmCpus(requested: number, hostCpus: number): number {
  const cpus = requested < 1 ? hostCpus : requested;
  return Math.min(cpus, 32);
}

/** createvm … setextradata, in docker-machine's order (virtualbox.go CreateVM). */
export function createVmCommands(c: VirtualBoxConfig, l: VmLayout): string[][] {
  const name = c.MachineName;
  const onOff = (b: boolean) => (b ? 'on' : 'off');
  const commands: string[][] = [
    ['createvm', '--basefolder', l.machineDir, '--name', name, '--register'],
    [
      'modifyvm',
      name,
      '--firmware',
      'bios',
      '--bioslogofadein',
      'off',
      '--bioslogofadeout',
      'off',
      '--bioslogodisplaytime',
      '0',
      '--biosbootmenu',
      'disabled',
      '--ostype',
      l.kind === 'boot2docker' ? 'Linux26_64' : 'Debian_64',
      '--cpus',
      String(l.cpus),
      '--memory',
      String(c.Memory),
      '--acpi',
      'on',
      '--ioapic',
      'on',
      '--rtcuseutc',
      'on',
      '--natdnshostresolver1',
      onOff(c.HostDNSResolver),
      '--natdnsproxy1',
      onOff(c.DNSProxy),
      '--cpuhotplug',
      'off',
      '--pae',
      'on',
      '--hpet',
      'on',
      '--hwvirtex',
      'on',
      '--nestedpaging',
      'on',
      '--largepages',
      'on',
      '--vtxvpid',
      'on',
      '--accelerate3d',
      'off',
      // boot2docker boots from its ISO; a cloud image from its disk (the seed is data only).
      '--boot1',
      l.kind === 'boot2docker' ? 'dvd' : 'disk',
    ],
    ['modifyvm', name, '--nic1', 'nat', '--nictype1', c.NatNicType, '--cableconnected1', 'on'],
    ['storagectl', name, '--name', 'SATA', '--add', 'sata', '--hostiocache', 'on'],
    [
      'storageattach',
      name,
      '--storagectl',
      'SATA',
      '--port',
      '0',
      '--device',
      '0',
      '--type',
      'dvddrive',
      '--medium',
      l.dvdPath,
    ],
    [
      'storageattach',
      name,
      '--storagectl',
      'SATA',
      '--port',
      '1',
      '--device',
      '0',
      '--type',
      'hdd',
      '--medium',
      l.diskPath,
    ],
    ['guestproperty', 'set', name, '/VirtualBox/GuestAdd/SharedFolders/MountPrefix', '/'],
    ['guestproperty', 'set', name, '/VirtualBox/GuestAdd/SharedFolders/MountDir', '/'],
  ];
  if (l.share) {
    commands.push(
      ['sharedfolder', 'add', name, '--name', l.share.name, '--hostpath', l.share.dir, '--automount'],
      ['setextradata', name, `VBoxInternal2/SharedFoldersEnableSymlinksCreate/${l.share.name}`, '1'],
    );
  }
  return commands;
}

/**
 * cloud-init network config for a cloud-image VM: DHCP on every NIC. Cloud images configure only
 * their first NIC by default, and the host-only NIC (the second, where the engine is reached) needs
 * VirtualBox's DHCP server as much as the NAT one does.
 */
export const CLOUD_NETWORK_CONFIG = `version: 2
ethernets:
  all:
    match:
      name: "e*"
    dhcp4: true
`;

/** boot2docker's disk: a raw image of `sizeMb` streamed through stdin into a VMDK (disk.go). */
export function boot2dockerDiskCommand(diskPath: string, sizeMb: number): string[] {
  return ['convertfromraw', 'stdin', diskPath, String(sizeMb * 2 ** 20), '--format', 'VMDK'];
}

/** A cloud image (raw) → the machine's VDI, grown to the disk size (VDI can grow; VMDK cannot). */
export function cloudDiskCommands(rawImage: string, diskPath: string, sizeMb: number): string[][] {
  return [
    ['convertfromraw', rawImage, diskPath, '--format', 'VDI'],
    ['modifymedium', 'disk', diskPath, '--resize', String(sizeMb)],
  ];
}

/** The NAT rule for SSH on 127.0.0.1 only (setPortForwarding): delete the old one, then add. */
export function sshForwardCommands(name: string, hostPort: number): { remove: string[]; add: string[] } {
  return {
    remove: ['modifyvm', name, '--natpf1', 'delete', 'ssh'],
    add: ['modifyvm', name, '--natpf1', `ssh,tcp,127.0.0.1,${hostPort},,22`],
  };
}

/** The host-only NIC (setupHostOnlyNetwork's last step). */
export function hostOnlyNicCommand(c: VirtualBoxConfig, adapter: string): string[] {
  return [
    'modifyvm',
    c.MachineName,
    '--nic2',
    'hostonly',
    '--nictype2',
    c.HostOnlyNicType,
    '--nicpromisc2',
    c.HostOnlyPromiscMode,
    '--hostonlyadapter2',
    adapter,
    '--cableconnected2',
    'on',
  ];
}

/**
 * boot2docker's userdata tar, written at the start of its disk: the magic file that makes
 * boot2docker format the disk, and the machine's public key (mcnutils.MakeDiskImage).
 */
export function boot2dockerUserdataTar(publicKey: Buffer): Buffer {
  const magic = 'boot2docker, please format-me';
  return Buffer.concat([
    tarEntry(magic, Buffer.from(magic), 0o644),
    tarEntry('.ssh', null, 0o700),
    tarEntry('.ssh/authorized_keys', publicKey, 0o644),
    tarEntry('.ssh/authorized_keys2', publicKey, 0o644),
    Buffer.alloc(1024), // end of archive: two zero blocks
  ]);
}

/** One ustar entry (a file, or a directory when data is null), padded to 512-byte blocks. */
function tarEntry(name: string, data: Buffer | null, mode: number): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, 'ascii');
  const octal = (n: number, length: number) => `${n.toString(8).padStart(length - 1, '0')}\0`;
  field(0, 100, name);
  field(100, 8, octal(mode, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(data?.length ?? 0, 12));
  field(136, 12, octal(0, 12));
  header.fill(' ', 148, 156); // the checksum is computed with its own field as spaces
  field(156, 1, data ? '0' : '5');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  if (!data) return header;
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, padding]);
}
