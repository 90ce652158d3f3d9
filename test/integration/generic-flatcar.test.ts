import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHost } from '../hosts/index.js';
import {
  type GenericFixture,
  genericFixture,
  machineConfig,
  startRebootableHost,
} from './generic-support.js';

// The Flatcar provisioner against the test hosts' `flatcar` variant (Flatcar's os-release, login
// user `core` with sudo, Docker in the image, no package manager to install or upgrade it).
const ADDRESS = '127.0.7.20';

let fx: GenericFixture;
let host: TestHost;

beforeAll(async () => {
  fx = genericFixture('moor-generic-flatcar');
  host = await startRebootableHost(`prov-generic-flatcar-${process.pid}`, ADDRESS, 'flatcar', fx.publicKey);
});

afterAll(async () => {
  await host?.remove();
  fx?.cleanup();
});

describe('generic driver on Flatcar', () => {
  it('create as the core user configures the built-in Docker', async () => {
    const run = await fx.moor([
      'create',
      '-d',
      'generic',
      '--generic-ip-address',
      ADDRESS,
      '--generic-ssh-user',
      'core',
      '--generic-ssh-key',
      fx.keyPath,
      'fc',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Provisioning with flatcar \(Flatcar Container Linux/);
    expect(run.stdout).not.toContain('Installing Docker');
    expect(machineConfig(fx.storePath, 'fc').Driver.SSHUser).toBe('core');
    expect(fx.dockerThroughEnv('fc', 'docker version --format "{{.Server.Version}}"').code).toBe(0);
  });

  it('upgrade is refused: Docker comes with the OS image', async () => {
    const run = await fx.moor(['upgrade', 'fc']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Docker on flatcar is part of the OS image');
  });
});
