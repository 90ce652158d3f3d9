import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { baseDriverConfig, type HostConfig, newHostConfig } from '../../../main/store/config.js';
import { goMarshalIndent } from '../../../main/store/go-json.js';

/** Placeholder PEM files: the contexts code copies bytes, it never parses them. */
export function writeStoreCerts(storePath: string, tag = 'x'): void {
  const certs = path.join(storePath, 'certs');
  mkdirSync(certs, { recursive: true, mode: 0o700 });
  for (const [file, kind] of [
    ['ca.pem', 'CERTIFICATE'],
    ['cert.pem', 'CERTIFICATE'],
    ['key.pem', 'RSA PRIVATE KEY'],
  ] as const) {
    writeFileSync(path.join(certs, file), `-----BEGIN ${kind}-----\n${tag}-${file}\n-----END ${kind}-----\n`);
  }
}

/** A none-driver machine in a store, saved as docker-machine would. */
export function writeNoneMachine(storePath: string, name: string, url: string): HostConfig {
  const config = newHostConfig({
    name,
    storePath,
    driverName: 'none',
    driver: { ...baseDriverConfig(name, storePath), URL: url, IPAddress: new URL(url).host },
  });
  const dir = path.join(storePath, 'machines', name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, 'config.json'), goMarshalIndent(config), { mode: 0o600 });
  return config;
}
