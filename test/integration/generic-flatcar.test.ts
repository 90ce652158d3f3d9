import { describe, expect, it } from 'vitest';
import { DOCKER_VERSION, genericSuite, machineConfig } from './generic-support.js';

// The Flatcar provisioner against the test hosts' `flatcar` variant (Flatcar's os-release, login
// user `core` with sudo, Docker in the image, no package manager to install or upgrade it).
const fx = genericSuite({
  prefix: 'moor-generic-flatcar',
  hostName: `prov-generic-flatcar-${process.pid}`,
  address: '127.0.7.20',
  image: 'flatcar',
});

describe('generic driver on Flatcar', () => {
  it('create as the core user configures the built-in Docker', async () => {
    const run = await fx.create('fc', { user: 'core', installUrl: null });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Provisioning with flatcar \(Flatcar Container Linux/);
    expect(run.stdout).not.toContain('Installing Docker');
    expect(machineConfig(fx.storePath, 'fc').Driver.SSHUser).toBe('core');
    expect(fx.dockerThroughEnv('fc', DOCKER_VERSION).code).toBe(0);
  });

  it('upgrade is refused: Docker comes with the OS image', async () => {
    const run = await fx.moor(['upgrade', 'fc']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Docker on flatcar is part of the OS image');
  });
});
