/**
 * A droplet made outside Moor (another client, or the first half of a machine a test writes by
 * hand), through the real API client, waited for until it has its public IPv4.
 */
import { DigitalOceanApi } from '../../../main/drivers/digitalocean/api.js';
import type { DigitalOceanEmulator } from './server.js';

export async function dropletMadeElsewhere(
  emulator: DigitalOceanEmulator,
  options: { name: string; region: string; tags?: string[] },
): Promise<{ id: number; ip: string }> {
  const api = new DigitalOceanApi({ token: emulator.token, baseUrl: emulator.url });
  const { id } = await api.createDroplet({
    name: options.name,
    region: options.region,
    size: 's-1vcpu-1gb',
    image: 'ubuntu-24-04-x64',
    ssh_keys: [],
    backups: false,
    ipv6: false,
    private_networking: false,
    monitoring: false,
    tags: options.tags ?? [],
  });
  for (let i = 0; i < 400; i++) {
    const d = await api.getDroplet(id);
    const ip = d.status === 'active' ? d.networks.v4.find((n) => n.type === 'public')?.ip_address : undefined;
    if (ip) return { id, ip };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`droplet ${options.name} (${id}) got no public IPv4 from the emulator`);
}
