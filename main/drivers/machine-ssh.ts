import path from 'node:path';
import { MoorError } from '../base/errors.js';
import type { BaseDriverConfig } from '../store/config.js';
import type { SshTarget } from './types.js';

/** The address a cloud driver recorded in config.json when the machine last came up. */
export function recordedAddress(config: BaseDriverConfig): string {
  if (!config.IPAddress) throw new MoorError('IP address is not set');
  return config.IPAddress;
}

/**
 * SSH to a machine whose key the driver keeps in its machine directory (docker-machine's layout:
 * config.json names the key by its path at creation, which may have moved with the store).
 */
export function machineSshTarget(
  config: BaseDriverConfig,
  machineDir: string,
  defaultUser: string,
): SshTarget {
  return {
    host: recordedAddress(config),
    port: config.SSHPort || 22,
    user: config.SSHUser || defaultUser,
    keyPath: config.SSHKeyPath ? path.join(machineDir, path.basename(config.SSHKeyPath)) : '',
    knownHostsPath: path.join(machineDir, 'known_hosts'),
  };
}
