import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireCommand, tempDir } from '../harness/components.js';
import { runMoor } from '../harness/moor-cli.js';
import { type Sshd, startSshd } from '../harness/sshd.js';
import { writeGenericMachine } from '../harness/store-fixtures.js';

// `moor mount` with the real sshfs and FUSE (/dev/fuse) against the real sshd harness, which runs on
// this computer: the "remote" directory is a local folder that sshfs reaches over SSH+SFTP.
let sshd: Sshd;
let work: { dir: string; cleanup: () => void };
let store: string;
let marks: string;
const mounted: string[] = [];

function moor(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return runMoor(args, {
    env: { ...process.env, MACHINE_STORAGE_PATH: store, SSH_AUTH_SOCK: '', ...options.env },
    timeoutMs: 30_000,
    cwd: options.cwd,
  });
}

/** Mount points of fuse.sshfs file systems right now, from the kernel's table. */
function sshfsMounts(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[2] === 'fuse.sshfs')
    .map((fields) => fields[1]!.replace(/\\054/g, ','));
}

function machine(name: string, user = 'root') {
  const made = writeGenericMachine(store, name, {
    host: sshd.host,
    port: sshd.port,
    user: 'root',
    clientKeyPath: sshd.clientKeyPath,
  });
  if (user !== 'root') {
    const file = path.join(made.machineDir, 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    config.Driver.SSHUser = user;
    writeFileSync(file, JSON.stringify(config, null, 2));
  }
  return made;
}

beforeAll(async () => {
  requireCommand('sshfs', 'sshfs');
  requireCommand('fusermount', 'fuse3');
  requireCommand('ssh', 'openssh-client');
  work = tempDir('moor-mount');
  // A comma in the storage path (so in the key and known_hosts paths): fuse splits -o values on
  // commas unless escaped.
  store = path.join(work.dir, 'store,1');
  marks = path.join(work.dir, 'marks');
  mkdirSync(marks);
  sshd = await startSshd({ host: '127.0.47.1' });
  machine('gen');
  machine('baduser', `-oProxyCommand=touch ${marks}/user`);
});

afterEach(() => {
  // A failed assertion must not leave a mount behind (it would outlive the temp dir).
  for (const point of mounted.splice(0)) {
    if (sshfsMounts().includes(point)) execFileSync('fusermount', ['-u', point]);
  }
});

afterAll(async () => {
  await sshd?.stop();
  work?.cleanup();
});

describe('moor mount', () => {
  it('mounts a machine directory with sshfs, pinning the host key, and -u unmounts it', async () => {
    const remote = path.join(work.dir, 'remote');
    mkdirSync(remote);
    writeFileSync(path.join(remote, 'from-machine.txt'), 'remote data\n');
    const local = path.join(work.dir, 'local');
    mkdirSync(local);
    mounted.push(local);

    expect(await moor(['mount', `gen:${remote}`, local])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(sshfsMounts()).toContain(local);
    expect(readFileSync(path.join(local, 'from-machine.txt'), 'utf8')).toBe('remote data\n');
    writeFileSync(path.join(local, 'from-here.txt'), 'local data\n');
    expect(readFileSync(path.join(remote, 'from-here.txt'), 'utf8')).toBe('local data\n');
    // The host key came from the machine's own known_hosts (pinned on first contact), not ~/.ssh.
    const pinned = readFileSync(path.join(store, 'machines', 'gen', 'known_hosts'), 'utf8');
    expect(pinned).toContain(`[${sshd.host}]:${sshd.port} ssh-ed25519 `);

    expect(await moor(['mount', '-u', `gen:${remote}`, local])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(sshfsMounts()).not.toContain(local);
    expect(readdirSync(local)).toEqual([]);
  });

  it('mounts at the remote path as typed when LOCAL is left out (docker-machine), relative to the cwd', async () => {
    // A relative remote path starts in the login user's home; the same relative name is the local point.
    const name = `moor-mount-test-${process.pid}`;
    const home = execFileSync('sh', ['-c', 'echo ~root']).toString().trim();
    const remote = path.join(home, name);
    mkdirSync(remote, { recursive: true });
    try {
      writeFileSync(path.join(remote, 'in-home.txt'), 'home\n');
      const cwd = path.join(work.dir, 'cwd');
      mkdirSync(path.join(cwd, name), { recursive: true });
      const local = path.join(cwd, name);
      mounted.push(local);
      expect((await moor(['mount', `gen:${name}`], { cwd })).code).toBe(0);
      expect(readFileSync(path.join(local, 'in-home.txt'), 'utf8')).toBe('home\n');
      expect((await moor(['mount', '-u', `gen:${name}`], { cwd })).code).toBe(0);
      expect(sshfsMounts()).not.toContain(local);
    } finally {
      execFileSync('rm', ['-rf', remote]);
    }
  });

  it('refuses a changed host key, with the ssh-trust hint, and mounts nothing', async () => {
    const { machineDir } = machine('changed');
    const keyFile = path.join(work.dir, 'other_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    const otherKey = readFileSync(`${keyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(path.join(machineDir, 'known_hosts'), `[${sshd.host}]:${sshd.port} ${otherKey}\n`);
    const local = path.join(work.dir, 'changed-local');
    mkdirSync(local);
    mounted.push(local);
    const run = await moor(['mount', `changed:${work.dir}`, local]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('the host key of machine "changed"');
    expect(run.stderr).toContain('moor ssh-trust changed --fingerprint SHA256:');
    expect(sshfsMounts()).not.toContain(local);
  });

  it('never hands a store or command-line user that is an option to sshfs/ssh', async () => {
    const local = path.join(work.dir, 'bad-local');
    mkdirSync(local);
    mounted.push(local);
    const stored = await moor(['mount', `baduser:${work.dir}`, local]);
    expect(stored.code).toBe(1);
    expect(stored.stderr).toContain(
      `Error: machine "baduser": the SSH user "-oProxyCommand=touch ${marks}/user" is not a user name`,
    );
    const typed = await moor(['mount', '--', `-oProxyCommand=touch ${marks}/typed@gen:${work.dir}`, local]);
    expect(typed.code).toBe(1);
    expect(typed.stderr).toContain('is not a user name');
    expect(readdirSync(marks)).toEqual([]);
    expect(sshfsMounts()).not.toContain(local);
  });

  it('says what is wrong with the arguments, the mount point or the tools', async () => {
    const none = await moor(['mount']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Improper number of arguments');
    expect(none.stderr).toContain('Usage: moor mount [-u] [USER@][NAME:][PATH] [LOCAL]');
    expect((await moor(['mount', 'a', 'b', 'c'])).stderr).toContain('Improper number of arguments');

    const missing = await moor(['mount', `gen:${work.dir}`, path.join(work.dir, 'nope')]);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe(
      `Error: mount point "${path.join(work.dir, 'nope')}" does not exist (create the directory first)\n`,
    );
    expect((await moor(['mount', 'gen:'])).stderr).toContain('Error: no mount point');
    expect((await moor(['mount', 'ghost:/tmp', work.dir])).stderr).toContain('"ghost" does not exist');

    const noTools = await moor(['mount', `gen:${work.dir}`, work.dir], { env: { PATH: marks } });
    expect(noTools.stderr).toContain(
      'You must have a copy of the sshfs binary locally to use the mount feature',
    );
    const noFusermount = await moor(['mount', '-u', `gen:${work.dir}`, work.dir], { env: { PATH: marks } });
    expect(noFusermount.stderr).toContain(
      'You must have a copy of the fusermount binary locally to use the unmount option',
    );
  });
});
