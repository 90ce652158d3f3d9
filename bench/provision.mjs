// Provisioning figures (issue 3), against real systemd + OpenSSH test hosts (test/hosts), through
// the real `moor` binary:
//  1. `create -d generic` on a host whose Docker is already installed (certs, config, one engine
//     restart, TLS check). Goal ≤ 5 s. Median of --runs creates (rm between them).
//  2. `create` including the Docker install from Debian's packages (--engine-install-url distro)
//     on a fresh host, beside the floor: the bare `apt-get update && apt-get install -y docker.io`
//     on another fresh host of the same image (docker exec, no SSH at all). Goal ≤ floor + 10 s.
//  3. SSH round trips of one create, counted on the server: sshd at LogLevel DEBUG1 logs every
//     channel and exec, sftp-server at -l INFO every file operation.
//  4. `moor ssh NAME -- true` on the same host, the system ssh and the built-in client
//     (--native-ssh). Goal ≤ 0.5 s. Median of 2 × --runs, after one warm-up each.
//
//   npm run build && node --import tsx bench/provision.mjs [--runs N] [--cli PATH]
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../test/harness/components.ts';
import { genericCreateArgs } from '../test/harness/moor-cli.ts';
import { startTestHost } from '../test/hosts/index.ts';
import { median, moorCli, runsOption, seconds, timed } from './lib.mjs';

const RUNS = runsOption(5);
const s = (ms) => seconds(ms, 2);

const work = tempDir('moor-bench-provision');
const keyPath = path.join(work.dir, 'id_bench');
await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
const publicKey = readFileSync(`${keyPath}.pub`, 'utf8');
const env = { ...process.env, MACHINE_STORAGE_PATH: path.join(work.dir, 'store') };
delete env.SSH_AUTH_SOCK;

function run(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, ...options }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

const moor = (...args) => run(process.execPath, [moorCli, ...args], { env });
const create = (name, address) => moor(...genericCreateArgs(name, address, keyPath));

/** Make the host's sshd log each channel/exec and sftp-server each file operation. */
async function verboseSshd(host) {
  const r = await host.exec(
    "sed -i 's#^Subsystem.*sftp.*#Subsystem sftp /usr/lib/openssh/sftp-server -l INFO#' /etc/ssh/sshd_config && " +
      "echo 'LogLevel DEBUG1' >> /etc/ssh/sshd_config && systemctl restart ssh",
  );
  if (r.exitCode !== 0) throw new Error(`sshd config: ${r.stderr}`);
  await host.waitForSsh();
}

/** Counts, from the host's journal since `since`, what one create cost in SSH terms. */
async function roundTrips(host, since) {
  const log = (await host.exec(`journalctl --since '${since}' -o cat --no-pager`)).stdout;
  const count = (re) => (log.match(re) ?? []).length;
  return {
    connections: count(/Accepted publickey/g),
    channels: count(/server_input_channel_open: ctype session/g),
    execs: count(/req exec/g),
    sftpOps:
      count(/sftp-server\[\d+\]: (open|close|set|rename|posix-rename|remove)/g) ||
      count(/^(open|close|set|rename|posix-rename|remove) /gm),
  };
}

const hostNow = async (host) => (await host.exec("date '+%Y-%m-%d %H:%M:%S'")).stdout.trim();

const hosts = [];
try {
  // 1 + 3: Docker already installed
  const ready = await startTestHost({
    name: `bench-prov-ready-${process.pid}`,
    address: '127.0.8.20',
    image: 'bookworm-docker',
    authorizedKey: publicKey,
  });
  hosts.push(ready);
  await verboseSshd(ready);
  const readyTimes = [];
  let trips;
  for (let i = 0; i < RUNS; i++) {
    const name = `ready${i}`;
    const since = await hostNow(ready);
    await new Promise((r) => setTimeout(r, 1100)); // journal --since has 1 s resolution
    readyTimes.push(await timed(() => create(name, ready.address)));
    if (i === 0) trips = await roundTrips(ready, since);
    await moor('rm', '-y', name);
  }

  // 4: `moor ssh NAME -- true` on the same host
  await create('sshbench', ready.address);
  const sshTimes = { system: [], native: [] };
  for (const [kind, flags] of [
    ['system', []],
    ['native', ['--native-ssh']],
  ]) {
    await moor(...flags, 'ssh', 'sshbench', '--', 'true'); // warm-up (page cache, first key load)
    for (let i = 0; i < RUNS * 2; i++) {
      sshTimes[kind].push(await timed(() => moor(...flags, 'ssh', 'sshbench', '--', 'true')));
    }
  }
  await moor('rm', '-y', 'sshbench');

  // 2: the install, against the floor on a twin host
  const fresh = await startTestHost({
    name: `bench-prov-fresh-${process.pid}`,
    address: '127.0.8.21',
    image: 'bookworm',
    authorizedKey: publicKey,
  });
  hosts.push(fresh);
  const floorHost = await startTestHost({
    name: `bench-prov-floor-${process.pid}`,
    address: '127.0.8.22',
    image: 'bookworm',
    authorizedKey: publicKey,
  });
  hosts.push(floorHost);
  // Moor first: if the mirror path caches anything, the floor (measured second) gains from it.
  const installTime = await timed(() => create('fresh', fresh.address));
  const floorTime = await timed(async () => {
    const r = await floorHost.exec(
      'export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q docker.io',
      { timeoutMs: 900_000 },
    );
    if (r.exitCode !== 0) throw new Error(`floor install failed: ${r.stderr}`);
  });

  const figures = {
    createWithDocker: {
      medianMs: Math.round(median(readyTimes)),
      runs: readyTimes.map(Math.round),
      goalMs: 5000,
    },
    createWithInstall: { ms: Math.round(installTime), floorMs: Math.round(floorTime), goal: 'floor + 10 s' },
    sshPerCreate: trips,
    sshTrue: {
      systemMedianMs: Math.round(median(sshTimes.system)),
      nativeMedianMs: Math.round(median(sshTimes.native)),
      goalMs: 500,
    },
  };
  console.log(
    `create, Docker installed:   median ${s(figures.createWithDocker.medianMs)} of ${RUNS} (goal ≤ 5 s)`,
  );
  console.log(
    `create, with Docker install: ${s(installTime)}; floor apt-get update && install docker.io: ${s(floorTime)}` +
      ` → overhead ${s(installTime - floorTime)} (goal ≤ 10 s)`,
  );
  console.log(
    `SSH per create (server side): ${trips.connections} connection(s), ${trips.channels} channels, ` +
      `${trips.execs} execs, ${trips.sftpOps} sftp file operations`,
  );
  console.log(
    `moor ssh NAME -- true:       median ${s(figures.sshTrue.systemMedianMs)} system ssh, ` +
      `${s(figures.sshTrue.nativeMedianMs)} built-in (goal ≤ 0.5 s)`,
  );
  console.log(JSON.stringify(figures));
} finally {
  await Promise.all(hosts.map((h) => h.remove()));
  work.cleanup();
}
