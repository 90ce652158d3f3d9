/**
 * Test-host figures (docs/benchmarks.md): image build, boot to sshd, power cycle, and the in-host
 * `apt-get update && apt-get install -y docker.io` floor that provisioning's Docker install is compared to.
 *   node --import tsx bench/testhosts.ts            (uses the cached images)
 *   node --import tsx bench/testhosts.ts --rebuild  (also times a full build, debootstrap included)
 */
import { performance } from 'node:perf_hooks';
import ssh2 from 'ssh2';
import { ensureImages, ensureTestDocker, startTestHost, type TestHost } from '../test/hosts/index.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await fn();
  console.log(`${label.padEnd(58)} ${seconds(performance.now() - t0)}`);
  return result;
}

async function main(): Promise<void> {
  await timed('test dockerd ensure', () => ensureTestDocker());
  if (process.argv.includes('--rebuild')) {
    const result = await timed('full image build (debootstrap + 3 variants)', () =>
      ensureImages({ rebuild: 'all' }),
    );
    for (const [step, s] of Object.entries(result.timings))
      console.log(`  ${step.padEnd(56)} ${s.toFixed(2)} s`);
  }
  await timed('image check when cached', () => ensureImages());
  const key = ssh2.utils.generateKeyPairSync('ed25519').public;
  const hosts: TestHost[] = [];
  try {
    const plain = await timed('bookworm host: create → sshd banner', () =>
      startTestHost({ name: 'bench-testhost-plain', address: '127.0.9.231', authorizedKey: key }),
    );
    hosts.push(plain);
    const docker = await timed('bookworm-docker host: create → sshd banner', () =>
      startTestHost({
        name: 'bench-testhost-docker',
        address: '127.0.9.232',
        image: 'bookworm-docker',
        authorizedKey: key,
      }),
    );
    hosts.push(docker);
    await timed('bookworm host: stop', () => plain.stop());
    await timed('bookworm host: start → sshd banner', () => plain.start());
    const install = await timed('in-host apt-get update && apt-get install -y docker.io', () =>
      plain.exec('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io'),
    );
    if (install.exitCode !== 0) throw new Error(`apt-get failed: ${install.stderr}`);
  } finally {
    await Promise.all(hosts.map((h) => h.remove()));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
