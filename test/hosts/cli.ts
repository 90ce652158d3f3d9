/**
 * Test-host infrastructure for CI and humans:
 *   node --import tsx test/hosts/cli.ts build         start the test dockerd, build missing/stale images
 *   node --import tsx test/hosts/cli.ts start-docker  start the test dockerd (idempotent)
 *   node --import tsx test/hosts/cli.ts stop-docker   stop it (by PID; the image cache stays)
 *   node --import tsx test/hosts/cli.ts status        daemons, images, running test hosts
 *   node --import tsx test/hosts/cli.ts clean [PREFIX] remove leftover test hosts
 */
import {
  docker,
  ensureImages,
  ensureTestDocker,
  imageTag,
  listTestHosts,
  recipeHash,
  stopAll,
  stopTestDocker,
  TEST_HOST_IMAGES,
  testDockerStatus,
  testImageTar,
} from './index.js';

async function main(): Promise<number> {
  const [command, arg] = process.argv.slice(2);
  switch (command) {
    case 'build': {
      const t0 = Date.now();
      const d = await ensureTestDocker();
      console.log(`test dockerd ${d.started ? 'started' : 'running'} (pid ${d.dockerdPid}) at ${d.host}`);
      const result = await ensureImages({ log: (line) => console.log(`  ${line}`) });
      console.log(result.built.length ? `built: ${result.built.join(', ')}` : 'images up to date');
      console.log(`test image tar: ${await testImageTar()}`);
      console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'start-docker': {
      const d = await ensureTestDocker();
      console.log(`test dockerd ${d.started ? 'started' : 'running'} (pid ${d.dockerdPid}) at ${d.host}`);
      return 0;
    }
    case 'stop-docker':
      await stopTestDocker();
      console.log('test dockerd stopped');
      return 0;
    case 'clean': {
      const n = await stopAll(arg ?? '');
      console.log(`removed ${n} test host(s)`);
      return 0;
    }
    case 'status': {
      const s = await testDockerStatus();
      console.log(
        `test dockerd: ${s.running ? `running (dockerd ${s.dockerdPid}, containerd ${s.containerdPid})` : 'stopped'}`,
      );
      console.log(`  host ${s.host}, state ${s.stateDir}`);
      if (!s.running) return 0;
      console.log(`recipe ${recipeHash()}`);
      for (const v of TEST_HOST_IMAGES) {
        const r = await docker([
          'image',
          'inspect',
          '--format',
          '{{ index .Config.Labels "org.moor.testhost.recipe" }} {{.Size}}',
          imageTag(v),
        ]);
        const [hash, size] = r.stdout.trim().split(' ');
        const label = r.exitCode !== 0 ? 'missing' : hash === recipeHash() ? 'current' : `stale (${hash})`;
        console.log(`  ${imageTag(v)}: ${label}${size ? `, ${(Number(size) / 1e6).toFixed(0)} MB` : ''}`);
      }
      for (const h of await listTestHosts()) {
        console.log(`  host ${h.name} ${h.address} ${h.image} ${await h.state()}`);
      }
      return 0;
    }
    default:
      console.error('usage: cli.ts build | start-docker | stop-docker | status | clean [PREFIX]');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
