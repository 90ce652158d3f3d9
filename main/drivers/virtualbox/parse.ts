/**
 * Pure readers of VBoxManage output and of the virtualbox driver's settings, after docker-machine's
 * drivers/virtualbox (virtualbox.go, network.go, vbm.go, vm.go, disk.go). Messages are its own.
 */
import { MoorError } from '../../base/errors.js';
import type { MachineState } from '../../base/state.js';

/** `showvminfo --machinereadable` as ordered key/value pairs (keys repeat: `Forwarding(0)` per NIC). */
export function machineReadable(out: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const line of out.split(/\r?\n/)) {
    const m = /^("(?:[^"]*)"|[^=]+)=(.*)$/.exec(line);
    if (!m) continue;
    pairs.push([unquote(m[1] ?? ''), unquote(m[2] ?? '')]);
  }
  return pairs;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

function firstValue(out: string, key: string): string | undefined {
  return machineReadable(out).find(([k]) => k === key)?.[1];
}

/**
 * docker-machine's GetState: running, paused, saved, poweroff/aborted; anything else is None ('').
 * VirtualBox's transient states a user sees while waiting are kept as Starting/Stopping.
 */
export function vmState(out: string): MachineState {
  const m = /^VMState="(\w+)"/m.exec(out);
  switch (m?.[1]) {
    case 'running':
      return 'Running';
    case 'paused':
      return 'Paused';
    case 'saved':
      return 'Saved';
    case 'poweroff':
    case 'aborted':
      return 'Stopped';
    case 'starting':
    case 'restoring':
      return 'Starting';
    case 'stopping':
      return 'Stopping';
    default:
      return '';
  }
}

/** The host-only adapter's MAC, lower case without colons (docker-machine's getHostOnlyMACAddress). */
export function hostOnlyMac(out: string): string {
  const adapter = /^hostonlyadapter(\d+)/m.exec(out);
  if (!adapter) throw new MoorError('Machine does not have a host-only adapter');
  const mac = firstValue(out, `macaddress${adapter[1]}`);
  if (mac === undefined) throw new MoorError(`Could not find MAC address for adapter ${adapter[1]}`);
  return mac.toLowerCase();
}

/** The IPv4 address of the interface with this MAC in the guest's `ip addr show` (parseIPForMACFromIPAddr). */
export function ipForMac(ipAddrOutput: string, mac: string): string {
  let inDevice = false;
  for (const raw of ipAddrOutput.split('\n')) {
    const line = raw.trim();
    const second = line.split(' ')[1];
    if (line.startsWith('link')) {
      // A new device's link line: only the one with our MAC counts.
      inDevice = second !== undefined && second.replaceAll(':', '') === mac;
    } else if (inDevice && line.startsWith('inet') && !line.startsWith('inet6') && second !== undefined) {
      const slash = second.indexOf('/');
      return slash === -1 ? second : second.slice(0, slash);
    }
  }
  throw new MoorError(`Could not find matching IP for MAC address ${mac}`);
}

/** The host port of the NAT rule named `ssh` (`Forwarding(0)="ssh,tcp,127.0.0.1,PORT,,22"`). */
export function natSshPort(out: string): number | undefined {
  for (const [key, value] of machineReadable(out)) {
    if (!/^Forwarding\(\d+\)$/.test(key)) continue;
    const [name, , , port] = value.split(',');
    if (name === 'ssh' && /^\d+$/.test(port ?? '')) return Number(port);
  }
  return undefined;
}

/** `ip` = the host's address on the host-only network, `network` its network address. */
export interface HostOnlyCidr {
  ip: string;
  network: string;
  prefix: number;
  netmask: string;
}

/** docker-machine's parseAndValidateCIDR (Go's net.ParseCIDR messages). */
export function parseHostOnlyCidr(cidr: string): HostOnlyCidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix > 32) {
    throw new MoorError(`invalid CIDR address: ${cidr}`);
  }
  const ipInt = toInt(octets);
  const maskInt = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const networkInt = (ipInt & maskInt) >>> 0;
  if (networkInt === ipInt) {
    throw new MoorError('host-only cidr must be specified with a host address, not a network address');
  }
  return { ip: octets.join('.'), network: fromInt(networkInt), prefix, netmask: fromInt(maskInt) };
}

export function toInt(octets: number[]): number {
  const [a = 0, b = 0, c = 0, d = 0] = octets;
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function fromInt(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** docker-machine's getDHCPAddressRange: .100–.254 up to /24, else from the DHCP address up. */
export function dhcpRange(dhcpAddr: string, cidr: HostOnlyCidr): { lower: string; upper: string } {
  const net = cidr.network.split('.').map(Number);
  const base = `${net[0]}.${net[1]}.${net[2]}`;
  if (cidr.prefix <= 24) return { lower: `${base}.100`, upper: `${base}.254` };
  const last = Number(dhcpAddr.split('.')[3]);
  return { lower: `${base}.${last + 1}`, upper: `${base}.${(1 << (32 - cidr.prefix)) - 2}` };
}

/** docker-machine's getRandomIPinSubnet: .1–.24, not the host's own address. */
export function dhcpServerAddress(cidr: HostOnlyCidr, random: (n: number) => number): string {
  const o = cidr.ip.split('.').map(Number);
  for (let i = 0; i < 5; i++) {
    const n = random(24) + 1;
    if (n !== o[3]) return `${o[0]}.${o[1]}.${o[2]}.${n}`;
  }
  throw new MoorError('unable to generate random IP');
}

export interface HostOnlyInterface {
  name: string;
  dhcp: boolean;
  ip: string;
  netmask: string;
  networkName: string;
}

/** `list hostonlyifs` (docker-machine's listHostOnlyAdapters, with its duplicate checks). */
export function parseHostOnlyIfs(out: string): HostOnlyInterface[] {
  const list: HostOnlyInterface[] = [];
  let n: HostOnlyInterface = { name: '', dhcp: false, ip: '', netmask: '', networkName: '' };
  for (const [key, value] of colonLines(out)) {
    if (key === 'Name') n.name = value;
    else if (key === 'DHCP') n.dhcp = value !== 'Disabled';
    else if (key === 'IPAddress') n.ip = value;
    else if (key === 'NetworkMask') n.netmask = value;
    else if (key === 'VBoxNetworkName') {
      n.networkName = value;
      if (list.some((o) => o.networkName === value)) {
        throw new MoorError(
          `VirtualBox is configured with multiple host-only adapters with the same name "${value}". Please remove one`,
        );
      }
      if (n.ip && list.some((o) => o.ip === n.ip)) {
        throw new MoorError(
          `VirtualBox is configured with multiple host-only adapters with the same IP "${n.ip}". Please remove one`,
        );
      }
      list.push(n);
      n = { name: '', dhcp: false, ip: '', netmask: '', networkName: '' };
    }
  }
  return list;
}

export interface DhcpServer {
  networkName: string;
  ip: string;
  netmask: string;
  lower: string;
  upper: string;
  enabled: boolean;
}

/** `list dhcpservers` keyed by NetworkName (docker-machine's listDHCPServers). */
export function parseDhcpServers(out: string): Map<string, DhcpServer> {
  const servers = new Map<string, DhcpServer>();
  let d: DhcpServer | undefined;
  for (const [key, value] of colonLines(out)) {
    if (key === 'NetworkName') {
      d = { networkName: value, ip: '', netmask: '', lower: '', upper: '', enabled: false };
      servers.set(value, d);
    } else if (!d) {
    } else if (key === 'IP') d.ip = value;
    else if (key === 'NetworkMask') d.netmask = value;
    else if (key === 'lowerIPAddress') d.lower = value;
    else if (key === 'upperIPAddress') d.upper = value;
    else if (key === 'Enabled') d.enabled = value === 'Yes';
  }
  return servers;
}

/** docker-machine's reColonLine `(.+):\s+(.*)`, greedy like Go's (so `IPV6NetworkMaskPrefixLength: 0` works). */
function colonLines(out: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const line of out.split(/\r?\n/)) {
    const m = /^(.+):\s+(.*)$/.exec(line);
    if (m) pairs.push([m[1] ?? '', m[2] ?? '']);
  }
  return pairs;
}

/** The version check of docker-machine's PreCreateCheck (VirtualBox 4.3 or later; 5+ recommended). */
export function checkVBoxManageVersion(version: string): { warning?: string } {
  const parts = version.split('.');
  const major = Number.parseInt(parts[0] ?? '', 10);
  const minor = Number.parseInt(parts[1] ?? '', 10);
  const valid = /^\d+$/.test(parts[0] ?? '') && /^\d+/.test(parts[1] ?? '');
  if (!valid || major < 4 || (major === 4 && minor <= 2)) {
    throw new MoorError(
      `We support Virtualbox starting with version 5. Your VirtualBox install is ${JSON.stringify(version)}. Please upgrade at https://www.virtualbox.org`,
    );
  }
  if (major < 5) {
    return {
      warning: `You are using version ${version} of VirtualBox. If you encounter issues, you might want to upgrade to version 5 at https://www.virtualbox.org`,
    };
  }
  return {};
}

/** `--virtualbox-share-folder dir:name` (the directory may hold colons: `C:\dir:name`). */
export function parseShareFolder(value: string): { dir: string; name: string } {
  const split = value.split(':');
  return { dir: split.slice(0, -1).join(':'), name: split[split.length - 1] ?? '' };
}

/** The default share: the user's home directories, named as docker-machine does per OS. */
export function defaultShare(platform: string): { dir: string; name: string } {
  if (platform === 'darwin') return { dir: '/Users', name: 'Users' };
  if (platform === 'win32') return { dir: '\\\\?\\c:\\Users', name: 'c/Users' };
  return { dir: '/home', name: 'hosthome' };
}

/** docker-machine's IsVTXDisabledInTheVM: VBox.log lines that mean hardware virtualization is off. */
export function vtxDisabledInLog(lines: string[]): boolean {
  return lines.some(
    (line) =>
      (line.includes('VT-x is disabled') &&
        !line.includes('Falling back to raw-mode: VT-x is disabled in the BIOS for all CPU modes')) ||
      line.includes('the host CPU does NOT support HW virtualization') ||
      line.includes('VERR_VMX_UNABLE_TO_START_VM') ||
      (line.includes('Power up failed') && line.includes('VERR_VMX_NO_VMX')),
  );
}
