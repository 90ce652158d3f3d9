import os from 'node:os';
import path from 'node:path';
import type { HostConfig } from './config.js';

/** docker-machine's default: $MACHINE_STORAGE_PATH, else ~/.docker/machine. */
export function defaultStoragePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.MACHINE_STORAGE_PATH || path.join(os.homedir(), '.docker', 'machine');
}

/** The store root a config.json was written under (docker-machine derives it the same way). */
export function recordedStorePath(config: HostConfig): string {
  const machineStore = config.HostOptions?.AuthOptions?.StorePath;
  return machineStore ? path.dirname(path.dirname(machineStore)) : '';
}

/**
 * Maps a path recorded in config.json to where it is now: stores get moved (or copied from
 * another user's home), and the recorded absolute paths then point at the old location.
 * Paths outside the recorded store (e.g. a user's ~/.ssh key) are returned unchanged.
 */
export function relocate(recordedPath: string, config: HostConfig, storePath: string): string {
  const oldRoot = recordedStorePath(config);
  if (!recordedPath || !oldRoot || oldRoot === storePath) return recordedPath;
  if (recordedPath === oldRoot) return storePath;
  if (recordedPath.startsWith(`${oldRoot}/`)) return storePath + recordedPath.slice(oldRoot.length);
  return recordedPath;
}

/** The TLS file paths of a machine as they are on this disk. */
export function authPaths(config: HostConfig, storePath: string) {
  const a = config.HostOptions.AuthOptions;
  const at = (p: string) => relocate(p, config, storePath);
  return {
    certDir: at(a.CertDir),
    caCert: at(a.CaCertPath),
    caKey: at(a.CaPrivateKeyPath),
    clientCert: at(a.ClientCertPath),
    clientKey: at(a.ClientKeyPath),
    serverCert: at(a.ServerCertPath),
    serverKey: at(a.ServerKeyPath),
    machineDir: path.join(storePath, 'machines', config.Name),
  };
}
export type AuthPaths = ReturnType<typeof authPaths>;
