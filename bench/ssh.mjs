// SSH figures, against a real OpenSSH sshd on loopback started here (test/harness/sshd.ts):
//  1. `moor ssh NAME -- true` as a whole process (node start, store, driver state, ssh), through
//     the system ssh and with --native-ssh; baseline in the same run: the bare `ssh` binary with
//     the same options (what any tool pays). Goal: median ≤ 0.5 s.
//  2. One connection's exec round trip and an SFTP upload, with and without setNoDelay(true).
// The login user has /bin/sh and no rc files, so the figures are Moor's and sshd's, not a
// profile's (root's ~/.bashrc on a dev box can add 100 ms to every command).
//
//   npm run build && node --import tsx bench/ssh.mjs [--runs N] [--cli PATH]
import { execFileSync } from 'node:child_process';
import { systemSshArgs } from '../main/ssh/external.ts';
import { connect } from '../main/ssh/index.ts';
import { tempDir } from '../test/harness/components.ts';
import { startSshd } from '../test/harness/sshd.ts';
import { writeGenericMachine } from '../test/harness/store-fixtures.ts';
import { moorCli as cli, median, ms, runsOption, timeProcessSync } from './lib.mjs';

const RUNS = runsOption(15);
const EXECS = 60;
const SFTP_BYTES = 16 * 1024 * 1024;

const sshd = await startSshd({ user: 'moorbench' });
const store = tempDir('moor-bench-ssh');
try {
  const { target } = writeGenericMachine(store.dir, 'bench', sshd);
  const env = { ...process.env, MACHINE_STORAGE_PATH: store.dir, SSH_AUTH_SOCK: '' };

  // Warm up: pins the host key, fills the page cache.
  execFileSync(process.execPath, [cli, 'ssh', 'bench', '--', 'true'], { env });
  const sshBin = execFileSync('sh', ['-c', 'command -v ssh']).toString().trim();

  const bare = [];
  const system = [];
  const native = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(timeProcessSync(sshBin, systemSshArgs(target, ['true']), env));
    system.push(timeProcessSync(process.execPath, [cli, 'ssh', 'bench', '--', 'true'], env));
    native.push(timeProcessSync(process.execPath, [cli, '--native-ssh', 'ssh', 'bench', '--', 'true'], env));
  }
  console.log(`moor ssh NAME -- true, ${RUNS} runs (median / min):`);
  console.log(`  bare ssh binary (baseline)   ${ms(median(bare))} / ${ms(Math.min(...bare))}`);
  console.log(
    `  moor ssh (system ssh)        ${ms(median(system))} / ${ms(Math.min(...system))}   ${(median(system) / median(bare)).toFixed(2)}x baseline`,
  );
  console.log(
    `  moor ssh --native-ssh        ${ms(median(native))} / ${ms(Math.min(...native))}   ${(median(native) / median(bare)).toFixed(2)}x baseline`,
  );

  const payload = Buffer.alloc(SFTP_BYTES, 7);
  async function roundTrips(noDelay) {
    const t0 = performance.now();
    const session = await connect(target, { agent: false, noDelay });
    const connectMs = performance.now() - t0;
    const each = [];
    for (let i = 0; i < EXECS; i++) {
      const t = performance.now();
      await session.exec('true');
      each.push(performance.now() - t);
    }
    const t1 = performance.now();
    await session.writeFile('/tmp/moor-bench-sftp', payload);
    const sftpMs = performance.now() - t1;
    await session.exec('rm -f /tmp/moor-bench-sftp');
    session.close();
    return { connectMs, exec: median(each), sftpMBs: SFTP_BYTES / 1024 / 1024 / (sftpMs / 1000) };
  }
  const off = await roundTrips(false);
  const on = await roundTrips(true);
  console.log(
    `one connection, ${EXECS} sequential execs of \`true\` (median), ${SFTP_BYTES >> 20} MB SFTP write:`,
  );
  console.log(
    `  without setNoDelay  connect ${ms(off.connectMs)}, exec ${ms(off.exec)}, sftp ${off.sftpMBs.toFixed(1)} MB/s`,
  );
  console.log(
    `  with setNoDelay     connect ${ms(on.connectMs)}, exec ${ms(on.exec)}, sftp ${on.sftpMBs.toFixed(1)} MB/s`,
  );
  console.log(
    `  ratio               exec ${(off.exec / on.exec).toFixed(1)}x faster, sftp ${(on.sftpMBs / off.sftpMBs).toFixed(1)}x faster`,
  );
} finally {
  await sshd.stop();
  store.cleanup();
}
