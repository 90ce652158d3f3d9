import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshTarget } from '../../main/drivers/types.js';
import {
  connect,
  fingerprint,
  generateSshKey,
  HostKeyChangedError,
  HostKeyUnknownError,
  pinnedHostKeys,
  publicKeyFingerprint,
  retrustHostKey,
  SshAuthError,
  SshConnectError,
  SshConnectionLostError,
  SshKeyError,
  type SshSession,
} from '../../main/ssh/index.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { type Sshd, startSshd } from '../harness/sshd.js';

let sshd: Sshd;
let work: { dir: string; cleanup: () => void };
let session: SshSession;

function machineTarget(name: string, overrides: Partial<SshTarget> = {}): SshTarget {
  const machineDir = path.join(work.dir, 'machines', name);
  mkdirSync(machineDir, { recursive: true });
  return {
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    keyPath: sshd.clientKeyPath,
    knownHostsPath: path.join(machineDir, 'known_hosts'),
    ...overrides,
  };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  work = tempDir('moor-ssh-test');
  sshd = await startSshd();
  session = await connect(machineTarget('main'), { agent: false });
});

afterAll(async () => {
  session?.close();
  await sshd?.stop();
  work?.cleanup();
});

describe('exec', () => {
  it('streams stdout and stderr and returns the exit code', async () => {
    const chunks: string[] = [];
    const result = await session.exec('echo out; echo err >&2; exit 3', {
      onStdout: (c) => chunks.push(c.toString()),
    });
    expect(result).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(chunks.join('')).toBe('out\n');
  });

  it('runs a script sent on stdin over one exec', async () => {
    const script = 'set -e\nx=$((20 + 22))\necho "answer $x"\ncat /etc/hostname >/dev/null\nexit 7\n';
    const result = await session.exec('sh -s', { stdin: script });
    expect(result.code).toBe(7);
    expect(result.stdout).toBe('answer 42\n');
  });

  it('closes stdin when none is given (a command reading stdin does not hang)', async () => {
    expect((await session.exec('cat; echo done')).stdout).toBe('done\n');
  });

  it('gives a pty on request and aborts a command on signal', async () => {
    expect((await session.exec('tty', { pty: true })).stdout).toMatch(/^\/dev\/pts\/\d+/);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    await expect(session.exec('sleep 5', { signal: abort.signal })).rejects.toThrow('ssh: operation aborted');
  });

  it('runs 20 concurrent execs on one connection although sshd allows 10 sessions', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => session.exec(`sleep 0.1; echo ${i}`)),
    );
    expect(results.map((r) => r.code)).toEqual(Array(20).fill(0));
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });
});

describe('sftp', () => {
  it('uploads and downloads a few MB intact, reusing one channel', async () => {
    const data = randomBytes(4 * 1024 * 1024 + 123);
    const local = path.join(work.dir, 'blob');
    writeFileSync(local, data);
    await session.upload(local, '/tmp/moor-ssh-test-blob', 0o640);
    const remote = await session.exec(
      'sha256sum /tmp/moor-ssh-test-blob; stat -c %a /tmp/moor-ssh-test-blob',
    );
    expect(remote.stdout).toBe(`${sha256(data)}  /tmp/moor-ssh-test-blob\n640\n`);
    const back = path.join(work.dir, 'blob.back');
    await session.download('/tmp/moor-ssh-test-blob', back);
    expect(sha256(readFileSync(back))).toBe(sha256(data));
    await session.exec('rm -f /tmp/moor-ssh-test-blob');
  });

  it('writes a file with a mode, replacing an existing one', async () => {
    await session.writeFile('/tmp/moor-ssh-test.conf', 'old\n');
    await session.writeFile('/tmp/moor-ssh-test.conf', '{"a": "it\'s $HOME"}\n', 0o600);
    const result = await session.exec('cat /tmp/moor-ssh-test.conf; stat -c %a /tmp/moor-ssh-test.conf');
    expect(result.stdout).toBe('{"a": "it\'s $HOME"}\n600\n');
    await session.exec('rm -f /tmp/moor-ssh-test.conf');
  });

  it('names the remote path when a transfer fails', async () => {
    await expect(session.download('/nonexistent/file', path.join(work.dir, 'x'))).rejects.toThrow(
      /\/nonexistent\/file/,
    );
  });
});

describe('shell', () => {
  it('opens an xterm-256color pty with the requested size and resizes it', async () => {
    const shell = await session.shell({ rows: 33, cols: 101 });
    let output = '';
    shell.onData((chunk) => {
      output += chunk.toString();
    });
    const waitFor = async (pattern: RegExp) => {
      for (let i = 0; i < 200 && !pattern.test(output); i++) await new Promise((r) => setTimeout(r, 25));
      expect(output).toMatch(pattern);
    };
    const closed = new Promise<number | null>((resolve) => shell.onClose(resolve));
    shell.write('stty size; echo "term=$TERM"\n');
    await waitFor(/33 101\r?\n/);
    await waitFor(/term=xterm-256color/);
    shell.resize(40, 120);
    shell.write('stty size\n');
    await waitFor(/40 120\r?\n/);
    shell.write('exit 5\n');
    expect(await closed).toBe(5);
  });
});

describe('host key pinning', () => {
  it('pins the key on first contact in OpenSSH known_hosts format', async () => {
    const target = machineTarget('pin');
    const s = await connect(target, { agent: false });
    s.close();
    const line = readFileSync(target.knownHostsPath, 'utf8');
    expect(line).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 AAAA\\S+\\n$`));
    const hostPub = readFileSync(`${sshd.hostKeys.ed25519}.pub`, 'utf8');
    expect((await pinnedHostKeys(target.knownHostsPath, target.host, target.port))[0]?.fingerprint).toBe(
      publicKeyFingerprint(hostPub),
    );
    // The system ssh accepts the file as it is, strictly.
    const out = execFileSync(requireCommand('ssh', 'openssh-client'), [
      ...[
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${target.knownHostsPath}`,
      ],
      ...[
        '-o',
        'IdentitiesOnly=yes',
        '-i',
        sshd.clientKeyPath,
        '-p',
        String(sshd.port),
        `root@${sshd.host}`,
        'echo ok',
      ],
    ]);
    expect(out.toString()).toBe('ok\n');
  });

  it('negotiates the pinned key type, and treats a missing type as a changed key', async () => {
    const rsa = machineTarget('pinned-rsa');
    const rsaPub = readFileSync(`${sshd.hostKeys.rsa}.pub`, 'utf8').split(' ');
    writeFileSync(rsa.knownHostsPath, `[127.0.0.1]:${sshd.port} ${rsaPub[0]} ${rsaPub[1]}\n`);
    const s = await connect(rsa, { agent: false });
    s.close();

    const ecdsa = machineTarget('pinned-ecdsa');
    const fakeEcdsa = execFileSync('ssh-keygen', ['-y', '-f', sshd.clientKeyPath]).toString(); // any blob
    writeFileSync(
      ecdsa.knownHostsPath,
      `[127.0.0.1]:${sshd.port} ecdsa-sha2-nistp256 ${fakeEcdsa.split(' ')[1]}\n`,
    );
    const err = await connect(ecdsa, { agent: false }).catch((e: unknown) => e);
    expect(String(err)).toContain('has changed');
    expect(err).toBeInstanceOf(HostKeyChangedError);
    expect((err as Error).message).toContain('moor ssh-trust pinned-ecdsa --fingerprint SHA256:');
  });

  it('refuses unknown keys with the strict policy', async () => {
    await expect(connect(machineTarget('strict'), { agent: false, hostKeyPolicy: 'strict' })).rejects.toThrow(
      HostKeyUnknownError,
    );
  });

  it('refuses a changed host key with a clear error, and accepts it after re-trust', async () => {
    const target = machineTarget('changed');
    (await connect(target, { agent: false })).close();
    const oldFp = publicKeyFingerprint(readFileSync(`${sshd.hostKeys.ed25519}.pub`, 'utf8'));
    session.close();
    await sshd.restart({ newHostKeys: true });
    try {
      const newFp = publicKeyFingerprint(readFileSync(`${sshd.hostKeys.ed25519}.pub`, 'utf8'));
      const err = await connect(target, { agent: false, retryForMs: 5000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostKeyChangedError);
      const message = (err as Error).message;
      expect(message).toContain('machine "changed"');
      expect(message).toContain(oldFp);
      expect(message).toContain(newFp);
      expect(message).toContain(`moor ssh-trust changed --fingerprint ${newFp}`);

      // A fingerprint that is not the presented one changes nothing.
      await expect(retrustHostKey(target, 'changed', 'SHA256:not-it')).rejects.toThrow(/nothing was changed/);
      await expect(connect(target, { agent: false })).rejects.toThrow(HostKeyChangedError);

      const result = await retrustHostKey(target, 'changed', newFp);
      expect(result).toMatchObject({ current: newFp, changed: true });
      const s = await connect(target, { agent: false });
      expect((await s.exec('echo back')).stdout).toBe('back\n');
      s.close();
    } finally {
      session = await connect(machineTarget('main2'), { agent: false });
    }
  });
});

describe('authentication and errors', () => {
  it('generates ed25519 and RSA keys that OpenSSH and ssh2 both accept', async () => {
    for (const type of ['ed25519', 'rsa'] as const) {
      const keyPath = path.join(work.dir, `gen_${type}`);
      const { publicKey, fingerprint: fp } = await generateSshKey(keyPath, type);
      expect(readFileSync(keyPath, 'utf8')).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
      expect(execFileSync('stat', ['-c', '%a', keyPath]).toString().trim()).toBe('600');
      // OpenSSH reads the private key and derives the same public key.
      const derived = execFileSync('ssh-keygen', ['-y', '-f', keyPath]).toString().trim();
      expect(derived.split(' ').slice(0, 2)).toEqual(publicKey.trim().split(' ').slice(0, 2));
      expect(fp).toBe(fingerprint(Buffer.from(publicKey.split(' ')[1] ?? '', 'base64')));
      appendFileSync(path.join(sshd.dir, 'authorized_keys'), publicKey);
      const s = await connect(machineTarget(`gen-${type}`, { keyPath }), { agent: false });
      expect((await s.exec('echo in')).stdout).toBe('in\n');
      s.close();
    }
  });

  it('names user, host and key when the server refuses the key', async () => {
    const keyPath = path.join(work.dir, 'stranger');
    await generateSshKey(keyPath);
    const err = await connect(machineTarget('wrongkey', { keyPath }), { agent: false }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SshAuthError);
    expect((err as Error).message).toBe(
      `ssh: permission denied for root@127.0.0.1:${sshd.port} with key ${keyPath}: the server refused it (is the public key in ~/.ssh/authorized_keys of that user?)`,
    );
  });

  it('retries a refused login with every credential again (a key authorized only later)', async () => {
    // The generic driver's restart retries while the host reboots; a refused attempt used to use up
    // the keys, so every retry offered nothing and failed with "permission denied".
    const keyPath = path.join(work.dir, 'late');
    const { publicKey } = await generateSshKey(keyPath);
    // sshd's INFO line for a client that gave up after its key was refused (worded two ways).
    const refusals = () =>
      sshd.log().match(/(Disconnected from|Connection closed by) authenticating user/g)?.length ?? 0;
    const before = refusals();
    const connecting = connect(machineTarget('late', { keyPath }), { agent: false, retryForMs: 15_000 });
    const outcome = connecting.then(
      () => null,
      (err: unknown) => err,
    );
    for (let i = 0; i < 500 && refusals() === before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(refusals(), 'sshd never refused the first attempt').toBeGreaterThan(before);
    appendFileSync(path.join(sshd.dir, 'authorized_keys'), publicKey);
    expect(await outcome).toBeNull();
    const s = await connecting;
    expect((await s.exec('echo late')).stdout).toBe('late\n');
    s.close();
  });

  it('explains unusable key files before connecting', async () => {
    await expect(
      connect(machineTarget('nokey', { keyPath: path.join(work.dir, 'missing') }), { agent: false }),
    ).rejects.toThrow(`ssh: cannot use key ${path.join(work.dir, 'missing')}: the file does not exist`);
    const pkcs8 = path.join(work.dir, 'pkcs8');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', pkcs8]);
    await expect(connect(machineTarget('pkcs8', { keyPath: pkcs8 }), { agent: false })).rejects.toThrow(
      SshKeyError,
    );
  });

  it('names the address when the connection is refused, and retries until the deadline', async () => {
    const target = machineTarget('refused', { port: 1 });
    const started = Date.now();
    const err = await connect(target, { agent: false, retryForMs: 1200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectError);
    expect((err as Error).message).toBe(
      'ssh: cannot connect to root@127.0.0.1:1: connection refused (is sshd running on that port?)',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('waits for a booting host until it accepts connections', async () => {
    const target = machineTarget('booting');
    session.close();
    await sshd.halt();
    try {
      const connecting = connect(target, { agent: false, retryForMs: 15_000 });
      await new Promise((r) => setTimeout(r, 700));
      await sshd.restart();
      const s = await connecting;
      expect((await s.exec('echo up')).stdout).toBe('up\n');
      s.close();
    } finally {
      if (!sshd.pid) await sshd.restart(); // running again whatever happened
      session = await connect(machineTarget('main3'), { agent: false });
    }
  });

  it('authenticates through ssh-agent when no key file is given', async () => {
    const agentDir = tempDir('moor-agent');
    const sock = path.join(agentDir.dir, 'agent.sock');
    let agent: ChildProcess | undefined;
    const saved = process.env.SSH_AUTH_SOCK;
    try {
      agent = spawn(requireCommand('ssh-agent', 'openssh-client'), ['-D', '-a', sock], { stdio: 'ignore' });
      for (let i = 0; i < 100; i++) {
        try {
          execFileSync('ssh-add', [sshd.clientKeyPath], {
            env: { ...process.env, SSH_AUTH_SOCK: sock },
            stdio: 'ignore',
          });
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      process.env.SSH_AUTH_SOCK = sock;
      const s = await connect(machineTarget('agent', { keyPath: '' }));
      expect((await s.exec('echo agent')).stdout).toBe('agent\n');
      s.close();
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      if (agent?.pid) process.kill(agent.pid);
      agentDir.cleanup();
    }
  });

  it('logs in with a password where the driver allows it', async () => {
    const pwSshd = await startSshd({ user: 'moorpw', password: 'correct horse' });
    try {
      const target = { ...machineTarget('pw'), port: pwSshd.port, user: 'moorpw', keyPath: '' };
      const s = await connect(target, { agent: false, password: 'correct horse' });
      expect((await s.exec('id -un')).stdout).toBe('moorpw\n');
      s.close();
      await expect(
        connect(
          { ...target, knownHostsPath: machineTarget('pw2').knownHostsPath },
          { agent: false, password: 'wrong' },
        ),
      ).rejects.toThrow(`permission denied for moorpw@127.0.0.1:${pwSshd.port} with password`);
    } finally {
      await pwSshd.stop();
    }
  });

  it('rejects a running command when the connection drops, and resolves `closed`', async () => {
    const s = await connect(machineTarget('drop'), { agent: false });
    let pid = '';
    const running = s.exec('echo $PPID; sleep 30', {
      onStdout: (c) => {
        pid += c.toString();
      },
    });
    const outcome = running.then(
      () => null,
      (err: unknown) => err,
    );
    for (let i = 0; i < 200 && !pid.includes('\n'); i++) await new Promise((r) => setTimeout(r, 10));
    // The shell's parent is sshd's process for that connection: killing it drops the connection.
    await session.exec(`kill -9 ${pid.trim()}`);
    expect(await outcome).toBeInstanceOf(SshConnectionLostError);
    expect(String(await outcome)).toContain(`ssh: the connection to root@127.0.0.1:${sshd.port} was lost`);
    await s.closed;
    await expect(s.exec('true')).rejects.toThrow(/was lost/);
  });
});
