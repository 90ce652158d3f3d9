import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyFingerprint } from '../../main/ssh/index.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { moorCommand, runMoor, runProcess } from '../harness/moor-cli.js';
import { type Sshd, startSshd } from '../harness/sshd.js';
import { writeGenericMachine } from '../harness/store-fixtures.js';

let sshd: Sshd;
let store: { dir: string; cleanup: () => void };

function moor(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  return runMoor(args, {
    env: { ...process.env, MACHINE_STORAGE_PATH: store.dir, SSH_AUTH_SOCK: '', ...options.env },
    input: options.input,
    timeoutMs: 30_000,
  });
}

/** A generic-driver machine on the test sshd, logging in as root. */
function addGenericMachine(name: string, port: number): void {
  writeGenericMachine(store.dir, name, {
    host: sshd.host,
    port,
    user: 'root',
    clientKeyPath: sshd.clientKeyPath,
  });
}

const knownHosts = (name: string) => path.join(store.dir, 'machines', name, 'known_hosts');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  store = tempDir('moor-ssh-cli');
  sshd = await startSshd();
  addGenericMachine('gen', sshd.port);
  addGenericMachine('gen2', sshd.port);
  addGenericMachine('down', 1);
});

afterAll(async () => {
  await sshd?.stop();
  store?.cleanup();
});

describe('moor ssh', () => {
  it('runs a command through the system ssh and pins the host key first', async () => {
    expect(await moor(['ssh', 'gen', '--', 'echo', 'hi'])).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
    const pinned = readFileSync(knownHosts('gen'), 'utf8');
    expect(pinned).toContain(`[127.0.0.1]:${sshd.port} ssh-ed25519 `);
    expect((await moor(['ssh', 'gen', '--', 'exit', '3'])).code).toBe(3);
  });

  it('runs a command with the built-in client (--native-ssh, MACHINE_NATIVE_SSH)', async () => {
    expect(await moor(['--native-ssh', 'ssh', 'gen', '--', 'echo', 'native'])).toEqual({
      code: 0,
      stdout: 'native\n',
      stderr: '',
    });
    expect((await moor(['ssh', '--native-ssh', 'gen', '--', 'echo', 'x'])).stdout).toBe('x\n');
    const viaEnv = await moor(['ssh', 'gen', '--', 'echo out; echo err >&2; exit 4'], {
      env: { MACHINE_NATIVE_SSH: '1' },
    });
    expect(viaEnv).toEqual({ code: 4, stdout: 'out\n', stderr: 'err\n' });
    // "false" means false (commander took any value of a flag's variable as true): an ssh option
    // such as -q works, which only the system ssh accepts.
    const native = await moor(['ssh', 'gen', '-q', 'echo', 'sys'], { env: { MACHINE_NATIVE_SSH: '1' } });
    expect(native.stderr).toContain('ssh options such as "-q" need the system ssh client');
    expect(await moor(['ssh', 'gen', '-q', 'echo', 'sys'], { env: { MACHINE_NATIVE_SSH: 'false' } })).toEqual(
      {
        code: 0,
        stdout: 'sys\n',
        stderr: '',
      },
    );
    expect((await moor(['--native-ssh', 'ssh', 'gen', '--', 'cat'], { input: 'piped\n' })).stdout).toBe(
      'piped\n',
    );
  });

  it('opens an interactive shell sized like the local terminal (both clients)', async () => {
    const script = requireCommand('script', 'bsdutils');
    for (const flags of [[], ['--native-ssh']]) {
      // `script` gives moor a real terminal of 31x97; the remote pty must match it.
      const command = `stty rows 31 cols 97; ${moorCommand} ${flags.join(' ')} ssh gen`;
      const result = await runProcess(script, ['-qec', command, '/dev/null'], {
        env: { ...process.env, MACHINE_STORAGE_PATH: store.dir, SSH_AUTH_SOCK: '', TERM: 'xterm-256color' },
        input: 'stty size; echo "T=$TERM"; exit 3\n',
        timeoutMs: 30_000,
      });
      expect(result.code).toBe(3);
      expect(result.stdout).toMatch(/\b31 97\r*\n/);
      expect(result.stdout).toContain('T=xterm-256color');
    }
  });

  it("refuses a machine that is not running, with docker-machine's message", async () => {
    const result = await moor(['ssh', 'down', '--', 'true']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('Error: Cannot run SSH command: Host "down" is not running\n');
  });
});

describe('moor scp', () => {
  it('copies files both ways, localhost: included, and between machines', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const local = path.join(store.dir, 'up.bin');
    writeFileSync(local, data);
    expect((await moor(['scp', local, 'gen:/tmp/moor-scp-up.bin'])).code).toBe(0);
    expect((await moor(['ssh', 'gen', '--', 'sha256sum /tmp/moor-scp-up.bin'])).stdout).toContain(
      sha256(data),
    );

    const back = path.join(store.dir, 'down.bin');
    expect((await moor(['scp', '-q', 'gen:/tmp/moor-scp-up.bin', `localhost:${back}`])).code).toBe(0);
    expect(sha256(readFileSync(back))).toBe(sha256(data));

    expect((await moor(['scp', 'gen:/tmp/moor-scp-up.bin', 'gen2:/tmp/moor-scp-m2m.bin'])).code).toBe(0);
    expect((await moor(['ssh', 'gen2', '--', 'sha256sum /tmp/moor-scp-m2m.bin'])).stdout).toContain(
      sha256(data),
    );
    await moor(['ssh', 'gen', '--', 'rm -f /tmp/moor-scp-up.bin /tmp/moor-scp-m2m.bin']);
  });

  it('copies directories with -r, and refuses them without', async () => {
    const dir = path.join(store.dir, 'tree');
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'a.txt'), 'a\n');
    writeFileSync(path.join(dir, 'sub', 'b.txt'), 'b\n', { mode: 0o600 });
    await moor(['ssh', 'gen', '--', 'rm -rf /tmp/moor-scp-tree']);
    const refused = await moor(['scp', dir, 'gen:/tmp/moor-scp-tree']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is a directory (use -r to copy it)');

    expect((await moor(['scp', '-r', dir, 'gen:/tmp/moor-scp-tree'])).code).toBe(0);
    const listing = await moor([
      'ssh',
      'gen',
      '--',
      'cd /tmp/moor-scp-tree && cat a.txt sub/b.txt && stat -c %a sub/b.txt',
    ]);
    expect(listing.stdout).toBe('a\nb\n600\n');

    const into = path.join(store.dir, 'back');
    mkdirSync(into);
    expect((await moor(['scp', '-r', 'gen:/tmp/moor-scp-tree', into])).code).toBe(0);
    expect(readFileSync(path.join(into, 'moor-scp-tree', 'sub', 'b.txt'), 'utf8')).toBe('b\n');
    await moor(['ssh', 'gen', '--', 'rm -rf /tmp/moor-scp-tree']);
  });

  it('copies with rsync over the system ssh with --delta', async () => {
    requireCommand('rsync', 'rsync');
    const dir = path.join(store.dir, 'delta');
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'sub', 'c.txt'), 'c\n');
    await moor(['ssh', 'gen', '--', 'rm -rf /tmp/moor-delta']);
    expect((await moor(['scp', '-d', '-r', '-q', dir, 'gen:/tmp/moor-delta'])).code).toBe(0);
    expect((await moor(['ssh', 'gen', '--', 'cat /tmp/moor-delta/delta/sub/c.txt'])).stdout).toBe('c\n');
    const back = path.join(store.dir, 'delta-back.txt');
    expect((await moor(['scp', '-d', '-q', 'gen:/tmp/moor-delta/delta/sub/c.txt', back])).code).toBe(0);
    expect(readFileSync(back, 'utf8')).toBe('c\n');
    const m2m = await moor(['scp', '-d', 'gen:/tmp/x', 'gen2:/tmp/y']);
    expect(m2m.stderr).toContain('--delta copies between this computer and one machine');
    await moor(['ssh', 'gen', '--', 'rm -rf /tmp/moor-delta']);
  });

  it('names the missing path', async () => {
    const result = await moor(['scp', 'gen:/nonexistent/x', store.dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('scp: gen:/nonexistent/x: No such file or directory\n');
  });
});

describe('changed host key', () => {
  it('is refused by both clients with the clear error, and accepted after moor ssh-trust', async () => {
    expect((await moor(['ssh', 'gen', '--', 'true'])).code).toBe(0); // pinned
    const oldFp = publicKeyFingerprint(readFileSync(`${sshd.hostKeys.ed25519}.pub`, 'utf8'));
    await sshd.restart({ newHostKeys: true });
    const newFp = publicKeyFingerprint(readFileSync(`${sshd.hostKeys.ed25519}.pub`, 'utf8'));

    for (const args of [
      ['ssh', 'gen', '--', 'true'],
      ['--native-ssh', 'ssh', 'gen', '--', 'true'],
    ]) {
      const refused = await moor(args);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`the host key of machine "gen" (127.0.0.1:${sshd.port}) has changed`);
      expect(refused.stderr).toContain(oldFp);
      expect(refused.stderr).toContain(`moor ssh-trust gen --fingerprint ${newFp}`);
    }
    const scp = await moor(['scp', 'gen:/etc/hostname', store.dir]);
    expect(scp.code).toBe(1);
    expect(scp.stderr).toContain('has changed');

    // Without a TTY and without --fingerprint nothing is trusted blindly.
    const asked = await moor(['ssh-trust', 'gen']);
    expect(asked.code).toBe(1);
    expect(asked.stderr).toContain(`moor ssh-trust gen --fingerprint ${newFp}`);

    const trusted = await moor(['ssh-trust', 'gen', '--fingerprint', newFp]);
    expect(trusted).toMatchObject({ code: 0, stderr: '' });
    expect(trusted.stdout).toContain(
      `Trusted the new host key of machine "gen" (127.0.0.1:${sshd.port}): ssh-ed25519 ${newFp}`,
    );
    expect(await moor(['ssh', 'gen', '--', 'echo', 'again'])).toEqual({
      code: 0,
      stdout: 'again\n',
      stderr: '',
    });
    expect((await moor(['--native-ssh', 'ssh', 'gen', '--', 'echo', 'again'])).stdout).toBe('again\n');
  });
});
