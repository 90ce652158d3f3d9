/**
 * Test-host infrastructure for CI and humans:
 *   node --import tsx test/hosts/cli.ts build         start the test dockerd, build missing/stale images
 *                                                     (test hosts and the qemu e2e's VM image)
 *   node --import tsx test/hosts/cli.ts start-docker  start the test dockerd (idempotent)
 *   node --import tsx test/hosts/cli.ts stop-docker   stop it (by PID; the image cache stays)
 *   node --import tsx test/hosts/cli.ts status        daemons, images, running test hosts
 *   node --import tsx test/hosts/cli.ts start NAME --address A [--image I] [--key PUB]
 *                                                     a host to try Moor on by hand (kept until clean)
 *   node --import tsx test/hosts/cli.ts clean [PREFIX] remove this checkout's test hosts (never a live
 *                                                     run's or another checkout's), or all named PREFIX*
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureVmImage } from '../vm-image/index.js';
import {
  cleanCheckout,
  docker,
  ensureImages,
  ensureTestDocker,
  imageTag,
  listTestHosts,
  recipeHash,
  startTestHost,
  stopAll,
  stopTestDocker,
  TEST_HOST_IMAGES,
  type TestHostImage,
  testDockerStatus,
  testImageTar,
} from './index.js';

const USAGE = [
  'usage: cli.ts build | start-docker | stop-docker | status | clean [PREFIX]',
  '       cli.ts start NAME --address 127.X.Y.Z [--image bookworm|bookworm-docker|flatcar] [--key PUB]',
].join('\n');

/** The public key a person logs in with: --key, else the first of ~/.ssh/id_{ed25519,ecdsa,rsa}.pub. */
function publicKeyFor(keyFile: string | undefined): { file: string; line: string } {
  const candidates = keyFile
    ? [keyFile]
    : ['id_ed25519.pub', 'id_ecdsa.pub', 'id_rsa.pub'].map((f) => path.join(os.homedir(), '.ssh', f));
  for (const file of candidates) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (keyFile) throw new Error(`--key ${keyFile}: ${(err as Error).message}`);
      continue;
    }
    if (/-----BEGIN .*PRIVATE KEY-----/.test(text)) {
      throw new Error(`--key ${file} is a private key: give the public one (${file}.pub)`);
    }
    return { file, line: text.trim() };
  }
  throw new Error(
    `no public key in ~/.ssh (${candidates.join(', ')}): pass --key PUB (ssh-keygen -t ed25519 makes one)`,
  );
}

async function start(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { address: { type: 'string' }, image: { type: 'string' }, key: { type: 'string' } },
  });
  const [name, extra] = positionals;
  if (!name || extra !== undefined || !values.address) {
    console.error(USAGE);
    return 2;
  }
  const image = (values.image ?? 'bookworm') as TestHostImage;
  if (!TEST_HOST_IMAGES.includes(image)) {
    throw new Error(`--image ${image}: use one of ${TEST_HOST_IMAGES.join(', ')}`);
  }
  const key = publicKeyFor(values.key);
  const host = await startTestHost({
    name,
    address: values.address,
    image,
    authorizedKey: key.line,
    keep: true,
  });
  const privateKey = key.file.replace(/\.pub$/, '');
  console.log(
    `test host ${host.name} (${image}) is up at ${host.address}, ${key.file} authorized for ${host.sshUser}`,
  );
  console.log(`  ssh -i ${privateKey} ${host.sshUser}@${host.address}`);
  console.log(
    `  moor create -d generic --generic-ip-address ${host.address} --generic-ssh-user ${host.sshUser} --generic-ssh-key ${privateKey} ${host.name}`,
  );
  console.log(`  remove it with: node --import tsx test/hosts/cli.ts clean ${host.name}`);
  return 0;
}

async function main(): Promise<number> {
  const [command, arg, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'start':
      return start(process.argv.slice(3));
    case 'build': {
      const t0 = Date.now();
      const d = await ensureTestDocker();
      console.log(`test dockerd ${d.started ? 'started' : 'running'} (pid ${d.dockerdPid}) at ${d.host}`);
      const result = await ensureImages({ log: (line) => console.log(`  ${line}`) });
      console.log(result.built.length ? `built: ${result.built.join(', ')}` : 'images up to date');
      console.log(`test image tar: ${await testImageTar()}`);
      // The qemu e2e's bootable image: built here so its minutes stay out of the test's hook timeout.
      const vm = await ensureVmImage((line) => console.log(`  ${line}`));
      console.log(`vm image: ${vm.path}`);
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
      if (rest.length > 0) {
        console.error(USAGE);
        return 2;
      }
      if (arg !== undefined) {
        const n = await stopAll(arg);
        console.log(`removed ${n} test host(s) named ${arg}*`);
        return 0;
      }
      const { removed, kept } = await cleanCheckout();
      console.log(
        `removed ${removed.length} test host(s) of this checkout${removed.length ? `: ${removed.join(', ')}` : ''}`,
      );
      if (kept.length) {
        console.log(
          `left ${kept.length} of other checkouts or live test runs: ${kept.join(', ')} (clean PREFIX removes them)`,
        );
      }
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
      console.error(USAGE);
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
