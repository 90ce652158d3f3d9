import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, generateSshKey, sftpOf } from '../../main/ssh/index.js';
import { copy, localEndpoint, sftpEndpoint } from '../../main/ssh/scp.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { type LyingSftp, startLyingSftp } from '../harness/lying-sftp.js';
import { runMoor } from '../harness/moor-cli.js';
import { type Sshd, startSshd } from '../harness/sshd.js';
import { writeGenericMachine } from '../harness/store-fixtures.js';

// Issue 9's security items against real protocol peers (ssh2's SSH server, OpenSSH's ssh and sshd).
let work: { dir: string; cleanup: () => void };

beforeAll(() => {
  work = tempDir('moor-security');
});
afterAll(() => work?.cleanup());

describe('scp -r from a lying SFTP server (CVE-2019-6111 class)', () => {
  let server: LyingSftp;
  beforeAll(async () => {
    server = await startLyingSftp({
      host: '127.0.40.1',
      dir: 'tree',
      entries: ['ok.txt', '../../escaped.txt', 'sub/../../../escaped2.txt', '..', '.'],
      content: 'pwned\n',
    });
  });
  afterAll(() => server?.stop());

  it('refuses listing entries that are not a single file name and writes nothing outside the target', async () => {
    const keyPath = path.join(work.dir, 'id_ed25519');
    await generateSshKey(keyPath);
    const machineDir = path.join(work.dir, 'machines', 'liar');
    mkdirSync(machineDir, { recursive: true });
    const session = await connect({
      host: server.host,
      port: server.port,
      user: 'root',
      keyPath,
      knownHostsPath: path.join(machineDir, 'known_hosts'),
    });
    const dest = path.join(work.dir, 'a', 'b', 'dest');
    mkdirSync(dest, { recursive: true });
    try {
      const sftp = sftpEndpoint('liar', await sftpOf(session));
      await expect(copy(sftp, 'tree', localEndpoint, dest, { recursive: true })).rejects.toThrow(
        'scp: liar:tree: the remote listing names "../../escaped.txt", which is not a file name inside the directory',
      );
    } finally {
      session.close();
    }
    expect(existsSync(path.join(work.dir, 'a', 'escaped.txt'))).toBe(false);
    expect(existsSync(path.join(work.dir, 'a', 'b', 'escaped.txt'))).toBe(false);
    expect(readdirSync(path.join(work.dir, 'a'))).toEqual(['b']);
    expect(readdirSync(path.join(work.dir, 'a', 'b'))).toEqual(['dest']);
  });
});

describe('config.json values never reach the system ssh/rsync as options', () => {
  let sshd: Sshd;
  let store: string;
  let marks: string;
  const moor = (args: string[]) =>
    runMoor(args, {
      env: { ...process.env, MACHINE_STORAGE_PATH: store, SSH_AUTH_SOCK: '' },
      timeoutMs: 30_000,
    });

  /** A generic machine on the real sshd whose config.json field was hand-edited to `value`. */
  function editedMachine(name: string, field: 'SSHUser' | 'IPAddress', value: string): void {
    const { machineDir } = writeGenericMachine(store, name, {
      host: sshd.host,
      port: sshd.port,
      user: 'root',
      clientKeyPath: sshd.clientKeyPath,
    });
    const file = path.join(machineDir, 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    config.Driver[field] = value;
    writeFileSync(file, JSON.stringify(config, null, 2));
  }

  beforeAll(async () => {
    requireCommand('ssh', 'openssh-client');
    requireCommand('rsync', 'rsync');
    sshd = await startSshd({ host: '127.0.40.2' });
    store = path.join(work.dir, 'store');
    marks = path.join(work.dir, 'marks');
    mkdirSync(marks, { recursive: true });
    editedMachine('baduser', 'SSHUser', `-oProxyCommand=touch ${marks}/user`);
    editedMachine('badhost', 'IPAddress', `-oProxyCommand=touch ${marks}/host`);
    // The good twin proves the harness works: the same machine with an honest user connects.
    editedMachine('good', 'SSHUser', 'root');
  });
  afterAll(() => sshd?.stop());

  it('moor ssh refuses a user or host that is an ssh option, and runs nothing', async () => {
    expect(await moor(['ssh', 'good', '--', 'echo', 'ok'])).toMatchObject({ code: 0, stdout: 'ok\n' });
    const user = await moor(['ssh', 'baduser', '--', 'true']);
    expect(user.code).not.toBe(0);
    expect(user.stderr).toContain(
      `Error: machine "baduser": the SSH user "-oProxyCommand=touch ${marks}/user" is not a user name`,
    );
    // The state probe already finds no such host; what matters is that ssh never ran with it.
    expect((await moor(['ssh', 'badhost', '--', 'true'])).code).not.toBe(0);
    expect(readdirSync(marks)).toEqual([]);
  });

  it('moor scp --delta (rsync -e ssh) refuses them too', async () => {
    const src = path.join(work.dir, 'delta.txt');
    writeFileSync(src, 'x');
    const run = await moor(['scp', '-d', '-q', src, 'baduser:/tmp/moor-sec-delta.txt']);
    expect(run.stderr).toContain('Error: machine "baduser": the SSH user');
    const host = await moor(['scp', '-d', '-q', src, 'badhost:/tmp/moor-sec-delta.txt']);
    expect(host.stderr).toContain('Error: machine "badhost": the SSH host');
    expect((await moor(['scp', '-d', '-q', src, 'good:/tmp/moor-sec-delta.txt'])).code).toBe(0);
    expect(
      (await moor(['ssh', 'good', '--', 'cat /tmp/moor-sec-delta.txt; rm /tmp/moor-sec-delta.txt'])).stdout,
    ).toBe('x');
    expect(readdirSync(marks)).toEqual([]);
  });
});
