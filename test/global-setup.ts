import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * Vitest runs this once for the root project and once more for each project (unit, integration, e2e)
 * that has tests in the run, so each step checks which project it serves.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (project.isRootProject()) {
    // Tests run the real `moor` binary, so dist/ must match the sources under test.
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
    // Every machine a test creates gets a Docker context: keep them (and any `moor use`) out of
    // the real ~/.docker (each test file then gets its own: test/harness/file-docker-config.ts).
    const dockerConfig = mkdtempSync(path.join(os.tmpdir(), 'moor-test-docker-config-'));
    process.env.DOCKER_CONFIG = dockerConfig;
    return async () => rmSync(dockerConfig, { recursive: true, force: true });
  }
  if (project.name !== 'integration' && project.name !== 'e2e') return undefined;
  // Systemd test hosts: the test dockerd and the images (built by .ci/run beforehand; quick when cached).
  const hosts = await import('./hosts/index.js');
  // Test hosts created by this run's workers carry this PID; the teardown removes only those (and ones
  // of crashed runs), never the hosts of another test run on the same machine.
  process.env.MOOR_TESTHOSTS_OWNER_PID = String(process.pid);
  await hosts.ensureTestDocker();
  // Hosts left by a run that was killed (its owner PID is gone) would still hold their loopback
  // addresses (they restart with the test dockerd): clear them before this run starts its own.
  // Once per run: the setup of the next project must not touch hosts this run already started.
  if (process.env.MOOR_TESTHOSTS_STALE_CLEARED !== '1') {
    process.env.MOOR_TESTHOSTS_STALE_CLEARED = '1';
    const stale = await hosts.removeLeftovers();
    if (stale.length > 0) console.log(`[test hosts] removed hosts of a dead test run: ${stale.join(', ')}`);
  }
  await hosts.ensureImages({ log: (line) => console.log(`[test hosts] ${line}`) });
  await hosts.testImageTar();
  return async () => {
    // Leftovers of crashed tests; the test dockerd and its image cache stay for the next run.
    if (process.env.MOOR_TESTHOSTS_KEEP !== '1') {
      const removed = await hosts.removeLeftovers();
      if (removed.length > 0) console.log(`[test hosts] removed leftover test hosts: ${removed.join(', ')}`);
    }
  };
}
