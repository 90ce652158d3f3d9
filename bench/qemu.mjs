// qemu driver figures (issue 10), with the test VM image of test/vm-image (Docker preinstalled):
//  1. Baseline: bare boot-to-SSH of the same image — QEMU started by hand with the same command line
//     and an equivalent NoCloud seed, until sshd's banner answers.
//  2. `moor create -d qemu` (local image, checksum given: no download) until `docker info` answers
//     through `moor env`. Goal: ≤ 1.3× the baseline.
//  3. `moor stop` (ACPI power button until QEMU exits). Goal ≤ 10 s.
//  4. `moor ls` with the running qemu machine (QMP, not SSH, for its state).
// Boots are TCG wherever KVM cannot run a guest; run nothing else heavy meanwhile.
//
//   npm run build && node --import tsx bench/qemu.mjs [--address 127.0.44.20]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedImage } from '../main/drivers/cloud-init/seed.ts';
import { buildQemuArgs } from '../main/drivers/qemu/argv.ts';
import { freePorts, readSshBanner } from '../main/drivers/qemu/net.ts';
import { generateSshKey } from '../main/ssh/keys.ts';
import { tempDir } from '../test/harness/components.ts';
import { ensureVmImage } from '../test/vm-image/index.ts';
import { moorCli, option } from './lib.mjs';

const address = option('--address', '127.0.44.20');
const image = await ensureVmImage((l) => console.log(l));
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
const load = () => os.loadavg()[0].toFixed(1);

async function waitBanner(port, deadlineMs) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (await readSshBanner(address, port, 3000)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no SSH banner on ${address}:${port}`);
}

// 1. Baseline.
const bare = tempDir('moor-bench-qemu-bare');
let baselineMs;
try {
  const { publicKey } = await generateSshKey(path.join(bare.dir, 'id'));
  writeFileSync(
    path.join(bare.dir, 'seed.iso'),
    seedImage({ hostname: 'bare', user: 'docker', authorizedKey: publicKey }),
  );
  const disk = path.join(bare.dir, 'disk.qcow2');
  spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image.path, disk, '20000M'], {
    stdio: 'inherit',
  });
  const [sshPort, enginePort] = await freePorts(address, 2);
  const args = buildQemuArgs({
    name: 'bare',
    arch: 'x86_64',
    accel: 'tcg',
    cpus: 2,
    memoryMb: 2048,
    disk,
    seed: path.join(bare.dir, 'seed.iso'),
    qmpSocket: path.join(bare.dir, 'qmp.sock'),
    pidFile: path.join(bare.dir, 'qemu.pid'),
    serialLog: path.join(bare.dir, 'serial.log'),
    forwardAddress: address,
    sshPort,
    enginePort,
    restrictNetwork: true,
  });
  const t0 = Date.now();
  const r = spawnSync('qemu-system-x86_64', args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('qemu did not start');
  await waitBanner(sshPort, 900_000);
  baselineMs = Date.now() - t0;
  console.log(`baseline boot-to-SSH: ${s(baselineMs)} (load ${load()})`);
} finally {
  spawnSync('sh', ['-c', `kill -9 $(cat ${bare.dir}/qemu.pid) 2>/dev/null`]);
  bare.cleanup();
}

// 2–4. Moor.
const store = tempDir('moor-bench-qemu-store');
const env = {
  ...process.env,
  MACHINE_STORAGE_PATH: store.dir,
  DOCKER_CONFIG: path.join(store.dir, 'docker-config'),
  MOOR_QEMU_RESTRICT_NETWORK: '1',
  MOOR_QEMU_BOOT_TIMEOUT_SECONDS: '900',
  SSH_AUTH_SOCK: '',
};
const moor = (...args) => spawnSync(process.execPath, [moorCli, ...args], { env, encoding: 'utf8' });
try {
  const t0 = Date.now();
  const c = moor(
    'create',
    '-d',
    'qemu',
    '--qemu-image',
    image.path,
    '--qemu-image-checksum',
    `sha256:${image.sha256}`,
    '--qemu-accel',
    'tcg',
    '--qemu-forward-address',
    address,
    'bench',
  );
  if (c.status !== 0) throw new Error(`create failed: ${c.stderr}`);
  const info = spawnSync(
    'bash',
    [
      '-c',
      `eval "$("${process.execPath}" "${moorCli}" env bench)"; docker info --format '{{.ServerVersion}}'`,
    ],
    { env, encoding: 'utf8' },
  );
  if (info.status !== 0) throw new Error(`docker info failed: ${info.stderr}`);
  const createMs = Date.now() - t0;
  console.log(
    `create → docker info: ${s(createMs)} (load ${load()}); ratio ${(createMs / baselineMs).toFixed(2)}× (goal ≤ 1.3×)`,
  );
  const l0 = Date.now();
  const ls = moor('ls');
  console.log(`ls with the qemu machine: ${Date.now() - l0} ms\n${ls.stdout.trim()}`);
  const s0 = Date.now();
  const st = moor('stop', 'bench');
  if (st.status !== 0) throw new Error(`stop failed: ${st.stderr}`);
  console.log(
    `graceful stop: ${s(Date.now() - s0)} (goal ≤ 10 s)${/killing it/.test(st.stderr) ? ' — KILLED after the timeout' : ''}`,
  );
} finally {
  moor('rm', '-y', '-f', 'bench');
  store.cleanup();
}
