import { lookup } from 'node:dns/promises';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireCommand } from '../harness/components.js';
import { run, runOk } from './proc.js';

/**
 * Network of the test dockerd: a bridge of its own, NAT for the containers, and an egress filter so a
 * test host can reach Debian's apt mirror (and DNS) but nothing else on the internet — a test that
 * tried `curl https://get.docker.com` inside a host is refused at once, not silently allowed.
 * Set MOOR_TESTHOSTS_EGRESS=open to drop the filter (NAT stays).
 */
export const NETWORK = {
  bridge: 'moortest0',
  /** Gateway address/prefix of the bridge; containers get addresses from this /24. */
  gatewayCidr: process.env.MOOR_TESTHOSTS_SUBNET ?? '10.213.77.1/24',
  chain: 'MOOR-TESTHOSTS',
  /** Hosts the containers may reach on 80/443 (apt). */
  mirrorHosts: ['deb.debian.org', 'security.debian.org'],
};

export interface NetworkState {
  subnet: string;
  /** DNS servers given to the containers (--dns); reachable on port 53. */
  nameservers: string[];
  /** deb.debian.org etc. → the IPv4 addresses allowed on 80/443 (and pinned in each host's /etc/hosts). */
  mirrors: Record<string, string[]>;
}

const RUN_DIR = '/run/moor-testhosts';
const STATE_FILE = path.join(RUN_DIR, 'network.json');

function subnetOf(cidr: string): string {
  const [addr, bits] = cidr.split('/');
  const mask = bits === undefined ? 32 : Number(bits);
  const n = addr!.split('.').reduce((acc, part) => (acc << 8) | Number(part), 0) >>> 0;
  const net = mask === 0 ? 0 : (n & (~0 << (32 - mask))) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${mask}`;
}

function nonLoopbackNameservers(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line)?.[1])
    .filter((ns): ns is string => ns !== undefined && !ns.startsWith('127.'));
}

async function iptables(args: string[]): Promise<void> {
  await runOk(requireCommand('iptables', 'iptables'), ['-w', ...args]);
}

async function iptablesHas(args: string[]): Promise<boolean> {
  return (await run(requireCommand('iptables', 'iptables'), ['-w', ...args])).exitCode === 0;
}

async function ensureChain(table: string, chain: string, parent: string): Promise<void> {
  if (!(await iptablesHas(['-t', table, '-n', '-L', chain]))) await iptables(['-t', table, '-N', chain]);
  await iptables(['-t', table, '-F', chain]);
  if (!(await iptablesHas(['-t', table, '-C', parent, '-j', chain]))) {
    await iptables(['-t', table, '-I', parent, '1', '-j', chain]);
  }
}

/** Creates the bridge and (re)writes the NAT and egress rules. Idempotent. */
export async function ensureNetwork(): Promise<NetworkState> {
  const ip = requireCommand('ip', 'iproute2');
  const { bridge, gatewayCidr, chain } = NETWORK;
  const subnet = subnetOf(gatewayCidr);
  if ((await run(ip, ['link', 'show', bridge])).exitCode !== 0) {
    await runOk(ip, ['link', 'add', bridge, 'type', 'bridge']);
  }
  const addrs = await runOk(ip, ['-4', '-o', 'addr', 'show', 'dev', bridge]);
  if (!addrs.includes(` ${gatewayCidr} `)) await runOk(ip, ['addr', 'add', gatewayCidr, 'dev', bridge]);
  await runOk(ip, ['link', 'set', bridge, 'up']);
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1\n');

  let nameservers = nonLoopbackNameservers('/etc/resolv.conf');
  if (nameservers.length === 0) nameservers = nonLoopbackNameservers('/run/systemd/resolve/resolv.conf');
  const mirrors: Record<string, string[]> = {};
  for (const host of NETWORK.mirrorHosts) {
    try {
      mirrors[host] = [...new Set((await lookup(host, { all: true, family: 4 })).map((a) => a.address))];
    } catch {
      mirrors[host] = [];
    }
  }

  await ensureChain('nat', chain, 'POSTROUTING');
  await iptables(['-t', 'nat', '-A', chain, '-s', subnet, '!', '-o', bridge, '-j', 'MASQUERADE']);

  await ensureChain('filter', chain, 'FORWARD');
  const add = (rule: string[]) => iptables(['-A', chain, ...rule]);
  await add(['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT']);
  await add(['-i', bridge, '-o', bridge, '-j', 'ACCEPT']);
  if (process.env.MOOR_TESTHOSTS_EGRESS === 'open') {
    await add(['-i', bridge, '-j', 'ACCEPT']);
  } else {
    for (const ns of nameservers) {
      for (const proto of ['udp', 'tcp']) {
        await add(['-i', bridge, '-d', ns, '-p', proto, '--dport', '53', '-j', 'ACCEPT']);
      }
    }
    for (const addr of new Set(Object.values(mirrors).flat())) {
      await add([
        '-i',
        bridge,
        '-d',
        addr,
        '-p',
        'tcp',
        '-m',
        'multiport',
        '--dports',
        '80,443',
        '-j',
        'ACCEPT',
      ]);
    }
    await add(['-i', bridge, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset']);
    await add(['-i', bridge, '-j', 'REJECT', '--reject-with', 'icmp-admin-prohibited']);
  }
  const state: NetworkState = { subnet, nameservers, mirrors };
  mkdirSync(RUN_DIR, { recursive: true });
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  return state;
}

/** True when the bridge and both jumps into our chains are in place (a cheap check, ~10 ms). */
export async function networkIntact(): Promise<boolean> {
  const ip = requireCommand('ip', 'iproute2');
  if ((await run(ip, ['link', 'show', NETWORK.bridge])).exitCode !== 0) return false;
  return (
    (await iptablesHas(['-C', 'FORWARD', '-j', NETWORK.chain])) &&
    (await iptablesHas(['-t', 'nat', '-C', 'POSTROUTING', '-j', NETWORK.chain]))
  );
}

/** The network state written by the last ensureNetwork() (undefined before the first). */
export function networkState(): NetworkState | undefined {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as NetworkState;
  } catch {
    return undefined;
  }
}
