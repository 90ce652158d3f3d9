import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from '../../harness/components.js';
import { ipv4ToNumber, numberToIpv4 } from '../../harness/ipv4.js';

/**
 * Loopback addresses for emulated droplets (127.0.20.1–127.0.29.254), leased with O_EXCL files so
 * emulators in parallel test workers never hand out the same address. A lease whose owner pid is
 * dead is taken over.
 */
const FIRST = ipv4ToNumber('127.0.20.1');
const LAST = ipv4ToNumber('127.0.29.254');
const LEASE_DIR = path.join(os.tmpdir(), 'moor-do-emulator-leases');

/** Another emulator's range (the EC2 front's and the google emulator's instances); the lease files are shared. */
export interface AddressRange {
  first: string;
  last: string;
}

export async function leaseAddress(
  skip: ReadonlySet<string> = new Set(),
  range?: AddressRange,
): Promise<string> {
  await fs.mkdir(LEASE_DIR, { recursive: true });
  const first = range ? ipv4ToNumber(range.first) : FIRST;
  const last = range ? ipv4ToNumber(range.last) : LAST;
  for (let n = first; n <= last; n++) {
    const address = numberToIpv4(n);
    if (address.endsWith('.0') || address.endsWith('.255') || skip.has(address)) continue;
    const file = path.join(LEASE_DIR, address);
    try {
      await fs.writeFile(file, String(process.pid), { flag: 'wx' });
      return address;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await fs.readFile(file, 'utf8').catch(() => '0'));
      if (owner && !processAlive(owner)) {
        await fs.rm(file, { force: true });
        n--; // try this address again
      }
    }
  }
  throw new Error(
    `no free emulated address in ${range ? `${range.first}–${range.last}` : '127.0.20.1–127.0.29.254'}`,
  );
}

export async function releaseAddress(address: string): Promise<void> {
  const file = path.join(LEASE_DIR, address);
  const owner = Number(await fs.readFile(file, 'utf8').catch(() => '0'));
  if (owner === process.pid) await fs.rm(file, { force: true });
}

/** TCP relays from a droplet's new address to the address its host is published on. */
export interface AddressRelay {
  address: string;
  target: string;
  close(): Promise<void>;
}

export async function startAddressRelay(
  address: string,
  target: string,
  ports: number[],
): Promise<AddressRelay> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const servers = await Promise.all(
    ports.map(
      (port) =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer((inbound) => {
            const outbound = net.connect({ host: target, port });
            track(inbound);
            track(outbound);
            inbound.setNoDelay(true);
            outbound.setNoDelay(true);
            inbound.pipe(outbound).pipe(inbound);
            inbound.on('error', () => outbound.destroy());
            outbound.on('error', () => inbound.destroy());
          });
          server.once('error', reject);
          server.listen(port, address, () => resolve(server));
        }),
    ),
  );
  return {
    address,
    target,
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}
