/** Store contents for tests and benches, written the way Moor or docker-machine writes them. */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bootstrapCertificates } from '../../main/certs/index.js';
import type { SshTarget } from '../../main/drivers/types.js';
import { baseDriverConfig, newHostConfig } from '../../main/store/config.js';
import { goMarshalIndent } from '../../main/store/go-json.js';

/** The store's CA and client certificate paths, as docker-machine lays them out. */
export function storeCertPaths(storePath: string) {
  const certs = path.join(storePath, 'certs');
  return {
    caCert: path.join(certs, 'ca.pem'),
    caKey: path.join(certs, 'ca-key.pem'),
    clientCert: path.join(certs, 'cert.pem'),
    clientKey: path.join(certs, 'key.pem'),
  };
}

/** Creates the store's CA and client certificate, as Moor's first `create` would. */
export async function bootstrapStoreCerts(storePath: string): Promise<ReturnType<typeof storeCertPaths>> {
  const paths = storeCertPaths(storePath);
  await bootstrapCertificates(paths);
  return paths;
}

/**
 * A generic-driver machine as docker-machine writes it (docker-machine.md §2.2), reached over SSH
 * at host:port as user with a copy of clientKeyPath in its machine directory; `target` is how
 * Moor's SSH layer reaches it.
 */
export function writeGenericMachine(
  storePath: string,
  name: string,
  ssh: { host: string; port: number; user: string; clientKeyPath: string },
): { machineDir: string; keyPath: string; target: SshTarget } {
  const machineDir = path.join(storePath, 'machines', name);
  mkdirSync(machineDir, { recursive: true, mode: 0o700 });
  const keyPath = path.join(machineDir, 'id_ed25519');
  copyFileSync(ssh.clientKeyPath, keyPath);
  const host = newHostConfig({
    name,
    storePath,
    driverName: 'generic',
    driver: {
      ...baseDriverConfig(name, storePath),
      IPAddress: ssh.host,
      SSHUser: ssh.user,
      SSHPort: ssh.port,
      SSHKeyPath: keyPath,
      EnginePort: 2376,
      SSHKey: ssh.clientKeyPath,
    },
  });
  writeFileSync(path.join(machineDir, 'config.json'), goMarshalIndent(host), { mode: 0o600 });
  const knownHostsPath = path.join(machineDir, 'known_hosts');
  return {
    machineDir,
    keyPath,
    target: { host: ssh.host, port: ssh.port, user: ssh.user, keyPath, knownHostsPath },
  };
}
