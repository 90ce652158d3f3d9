/**
 * Which address a swarm node advertises to the others. Moor reaches a machine on one address (a
 * public IP, a forwarded loopback port); its peers may have to use another (a private network, a
 * cloud's private IP, a bridge). Order: the user's --advertise-addr, the driver's private address,
 * then the address of the interface that holds the host's default route (what `docker swarm init`
 * itself picks when the host has one address).
 */
import { MoorError } from '../../base/errors.js';
import type { SshSession } from '../../ssh/types.js';
import type { HostConfig } from '../../store/config.js';

export type AddressSource = 'flag' | 'private address' | 'default route';

export interface AdvertiseAddress {
  /** An IP, or an interface name given with --advertise-addr (the engine resolves those). */
  address: string;
  source: AddressSource;
}

/** Drivers that know a machine's private address keep it here (docker-machine's amazonec2 field). */
export function privateAddressOf(host: HostConfig): string {
  const value = host.Driver.PrivateIPAddress;
  return typeof value === 'string' ? value : '';
}

/** One SSH command lists both the default route and the global IPv4 addresses. */
export const ROUTE_PROBE = 'ip -4 -o route show default; echo ---; ip -4 -o addr show scope global';

/**
 * The IPv4 address of the default route's interface, from ROUTE_PROBE's output:
 *   default via 10.0.0.1 dev eth0 ...
 *   ---
 *   2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0 ...
 * A route with `src` names the address directly.
 */
export function defaultRouteAddress(probeOutput: string): string | undefined {
  const [routes = '', addrs = ''] = probeOutput.split(/^---$/m);
  const route = routes.split('\n').find((l) => l.startsWith('default'));
  if (!route) return undefined;
  const src = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(route);
  if (src) return src[1];
  const dev = /\bdev (\S+)/.exec(route)?.[1];
  if (!dev) return undefined;
  for (const line of addrs.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet (\d+\.\d+\.\d+\.\d+)\//.exec(line.trim());
    if (m && m[1] === dev) return m[2];
  }
  return undefined;
}

export async function advertiseAddress(
  host: HostConfig,
  explicit: string | undefined,
  ssh: () => Promise<SshSession>,
): Promise<AdvertiseAddress> {
  if (explicit) return { address: explicit, source: 'flag' };
  const privateAddress = privateAddressOf(host);
  if (privateAddress) return { address: privateAddress, source: 'private address' };
  const session = await ssh();
  const probe = await session.exec(ROUTE_PROBE);
  const address = probe.code === 0 ? defaultRouteAddress(probe.stdout) : undefined;
  if (!address) {
    throw new MoorError(
      `Could not tell which address "${host.Name}" should advertise to other swarm nodes (no default route found): give one with --advertise-addr ADDR|INTERFACE`,
    );
  }
  return { address, source: 'default route' };
}

/** The ports swarm nodes use between each other, for explanations of a failed join. */
export const SWARM_PORTS_HELP =
  'Swarm nodes must reach each other on TCP 2377 (cluster management, to managers), TCP and UDP 7946 (node gossip) and UDP 4789 (overlay network traffic)';

/**
 * Checks from `node` that the manager's swarm port answers, so an unreachable manager is explained
 * (which address, which port, what happened) instead of a join that times out after a minute.
 */
export async function checkManagerReachable(
  session: SshSession,
  nodeName: string,
  managerName: string,
  managerAddr: string,
): Promise<void> {
  const [host, port = '2377'] = splitHostPort(managerAddr);
  // The address comes from the manager's engine and goes into a shell line: an IP and a port only.
  if (!/^[0-9A-Fa-f.:]+$/.test(host) || !/^\d+$/.test(port)) {
    throw new MoorError(
      `The swarm manager "${managerName}" advertises an unexpected address: ${managerAddr}`,
    );
  }
  // bash's /dev/tcp opens a real TCP connection; `timeout` bounds a silent drop.
  const probe = await session.exec(
    `timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>&1; echo "exit=$?"`,
  );
  const exit = /exit=(\d+)/.exec(probe.stdout)?.[1];
  if (exit === '0') return;
  const why =
    exit === '124'
      ? 'no answer within 5 s (a firewall dropping packets, or no route)'
      : /refused/i.test(probe.stdout)
        ? 'connection refused (nothing listens there: is it the manager address?)'
        : /unreachable|no route/i.test(probe.stdout)
          ? 'no route to that address'
          : probe.stdout.replace(/exit=\d+/, '').trim() || `probe exited ${exit ?? probe.code}`;
  throw new MoorError(
    `"${nodeName}" cannot reach the swarm manager "${managerName}" at ${host}:${port} (TCP): ${why}.\n` +
      `${SWARM_PORTS_HELP}. Open them between the machines, or choose the manager's address with ` +
      `"moor swarm init ${managerName} --advertise-addr ADDR".`,
  );
}

function splitHostPort(addr: string): [string, string | undefined] {
  const i = addr.lastIndexOf(':');
  if (i <= 0 || addr.includes(']')) return [addr.replace(/^\[|\]$/g, ''), undefined];
  return [addr.slice(0, i), addr.slice(i + 1)];
}
