import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseScpArg, splitSshArgs, sshTargetProblem, systemSshArgs } from '../../main/ssh/external.js';
import { fingerprint, keyBlobType } from '../../main/ssh/fingerprint.js';
import {
  addHostKey,
  hostKeyAlgorithmsFor,
  knownHostsName,
  movePinnedHostKeys,
  pinnedHostKeys,
  replaceHostKeys,
} from '../../main/ssh/known-hosts.js';
import { ChannelLimiter } from '../../main/ssh/limiter.js';
import { remotePath } from '../../main/ssh/scp.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmpFile(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'moor-ssh-unit-'));
  dirs.push(dir);
  return path.join(dir, name);
}

/** A fake key blob: string type, then random bytes (only the framing matters here). */
function blob(type: string): Buffer {
  const name = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(name.length);
  return Buffer.concat([len, name, randomBytes(32)]);
}

describe('known_hosts', () => {
  it('names hosts like OpenSSH: bare on port 22, [host]:port otherwise', () => {
    expect(knownHostsName('10.0.0.1', 22)).toBe('10.0.0.1');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('pins, finds, and replaces keys per host:port, keeping other lines', async () => {
    const file = tmpFile('known_hosts');
    writeFileSync(file, '# comment\nother.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFake\n');
    const a = blob('ssh-ed25519');
    await addHostKey(file, '127.0.0.1', 2222, a);
    expect(await pinnedHostKeys(file, '127.0.0.1', 22)).toEqual([]);
    const [found] = await pinnedHostKeys(file, '127.0.0.1', 2222);
    expect(found).toEqual({ type: 'ssh-ed25519', blob: a, fingerprint: fingerprint(a) });
    const b = blob('ssh-rsa');
    await replaceHostKeys(file, '127.0.0.1', 2222, b);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# comment\nother.example ssh-ed25519');
    expect(text).toContain(`[127.0.0.1]:2222 ssh-rsa ${b.toString('base64')}\n`);
    expect(text).not.toContain(a.toString('base64'));
  });

  it('starts a new line when a hand-edited file lacks its final newline', async () => {
    const file = tmpFile('known_hosts');
    const existing = 'other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFake';
    writeFileSync(file, existing);
    const a = blob('ssh-ed25519');
    await addHostKey(file, '127.0.0.1', 2222, a);
    expect(readFileSync(file, 'utf8')).toBe(
      `${existing}\n[127.0.0.1]:2222 ssh-ed25519 ${a.toString('base64')}\n`,
    );
    expect((await pinnedHostKeys(file, '127.0.0.1', 2222)).map((k) => k.blob)).toEqual([a]);
    const fresh = tmpFile('new_known_hosts');
    await addHostKey(fresh, '127.0.0.1', 22, a);
    expect(readFileSync(fresh, 'utf8')).toBe(`127.0.0.1 ssh-ed25519 ${a.toString('base64')}\n`);
  });

  it('understands hashed entries, patterns and negations written by OpenSSH', async () => {
    const file = tmpFile('known_hosts');
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[10.1.2.3]:2200').digest('base64');
    const hashed = blob('ssh-ed25519');
    const wildcard = blob('ecdsa-sha2-nistp256');
    writeFileSync(
      file,
      `|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${hashed.toString('base64')}\n` +
        `10.9.*,!10.9.9.9 ecdsa-sha2-nistp256 ${wildcard.toString('base64')}\n` +
        '@cert-authority *.example ssh-ed25519 AAAA\n',
    );
    expect((await pinnedHostKeys(file, '10.1.2.3', 2200)).map((k) => k.blob)).toEqual([hashed]);
    expect((await pinnedHostKeys(file, '10.9.1.1', 22)).map((k) => k.blob)).toEqual([wildcard]);
    expect(await pinnedHostKeys(file, '10.9.9.9', 22)).toEqual([]);
    expect(await pinnedHostKeys(tmpFile('missing'), 'x', 22)).toEqual([]);
  });

  it('moves the pinned keys of a machine to its new address, other lines untouched', async () => {
    const file = tmpFile('known_hosts');
    const key = blob('ssh-ed25519');
    const stale = blob('ssh-ed25519');
    const b64 = (b: Buffer) => b.toString('base64');
    writeFileSync(
      file,
      `# kept\n10.0.0.1 ssh-ed25519 ${b64(key)}\n10.0.0.2 ssh-ed25519 ${b64(stale)}\n[10.0.0.1]:2222 ssh-rsa AAAA\n`,
    );
    const from = { host: '10.0.0.1', port: 22 };
    const to = { host: '10.0.0.2', port: 22 };
    expect(await movePinnedHostKeys(file, from, to)).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(
      `# kept\n[10.0.0.1]:2222 ssh-rsa AAAA\n10.0.0.2 ssh-ed25519 ${b64(key)}\n`,
    );
    // The new address must present the machine's key: the other one is no longer pinned there.
    expect((await pinnedHostKeys(file, '10.0.0.2', 22)).map((k) => k.blob)).toEqual([key]);
    expect(await pinnedHostKeys(file, '10.0.0.1', 22)).toEqual([]);
    // Nothing pinned for the old address: nothing changes.
    const text = readFileSync(file, 'utf8');
    expect(await movePinnedHostKeys(file, from, to)).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('asks ssh2 only for the pinned key types (RSA through its SHA-2 signatures)', () => {
    expect(hostKeyAlgorithmsFor(['ssh-rsa', 'ssh-ed25519'])).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
    ]);
    expect(keyBlobType(blob('ssh-ed25519'))).toBe('ssh-ed25519');
  });
});

describe('system ssh and scp arguments', () => {
  const target = {
    host: '203.0.113.5',
    port: 2222,
    user: 'ubuntu',
    keyPath: '/s/machines/m/id_rsa',
    knownHostsPath: '/s/machines/m/known_hosts',
  };

  it("uses the machine's key, port and pinned known_hosts strictly", () => {
    const args = systemSshArgs(target, ['--', 'echo', 'hi']);
    expect(args.join(' ')).toContain(
      '-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/s/machines/m/known_hosts',
    );
    expect(args.slice(-12)).toEqual([
      ...['-o', 'IdentitiesOnly=yes', '-i', '/s/machines/m/id_rsa'],
      ...['-p', '2222', '-l', 'ubuntu', '--', '203.0.113.5', 'echo', 'hi'],
    ]);
    expect(args).not.toContain('-F');
  });

  it('passes what follows the machine name to ssh as is, like docker-machine (e.g. -L forwards)', () => {
    expect(systemSshArgs(target, ['-L', '8080:localhost:80']).slice(-4)).toEqual([
      ...['-L', '8080:localhost:80', '--', '203.0.113.5'],
    ]);
    expect(systemSshArgs(target, ['-qL8080:x:80', '-v', 'ls', '-l']).slice(-6)).toEqual([
      ...['-qL8080:x:80', '-v', '--', '203.0.113.5', 'ls', '-l'],
    ]);
  });

  it('splits ssh options from the command like ssh getopt does', () => {
    expect(splitSshArgs(['-L', '1:h:2', '-q', 'cmd', '-x'])).toEqual({
      options: ['-L', '1:h:2', '-q'],
      command: ['cmd', '-x'],
    });
    expect(splitSshArgs(['-t', '--', '-not-an-option'])).toEqual({
      options: ['-t'],
      command: ['-not-an-option'],
    });
    expect(splitSshArgs(['-o'])).toEqual({ options: ['-o'], command: [] });
  });

  it('refuses store values that ssh would take as options (config.json SSHUser "-oProxyCommand=...")', () => {
    expect(sshTargetProblem({ ...target, user: '-oProxyCommand=touch /tmp/x' })).toContain(
      'is not a user name',
    );
    expect(sshTargetProblem({ ...target, user: 'root -oX' })).toContain('is not a user name');
    expect(sshTargetProblem({ ...target, host: '-oProxyCommand=x' })).toContain('the SSH host');
    expect(sshTargetProblem({ ...target, port: '22 -oX' as unknown as number })).toContain('the SSH port');
    expect(() => systemSshArgs({ ...target, user: '-oProxyCommand=x' }, [])).toThrow(
      'Error: machine "m": the SSH user "-oProxyCommand=x" is not a user name',
    );
    for (const user of ['root', 'core', 'ubuntu', 'docker_user', 'a.b-c', 'HOST$']) {
      expect(sshTargetProblem({ ...target, user })).toBeNull();
    }
    expect(sshTargetProblem({ ...target, host: 'my-host.example.com' })).toBeNull();
    expect(sshTargetProblem({ ...target, host: '::1' })).toBeNull();
  });

  it('leaves identities to the agent and ~/.ssh/config when the machine has no key', () => {
    const args = systemSshArgs({ ...target, keyPath: '' }, []);
    expect(args).not.toContain('-i');
    expect(args.slice(-6)).toEqual(['-p', '2222', '-l', 'ubuntu', '--', '203.0.113.5']);
  });

  it('parses NAME:path, localhost:path and local paths', () => {
    expect(parseScpArg('dev:/etc/hosts')).toEqual({ machine: 'dev', path: '/etc/hosts' });
    expect(parseScpArg('dev:')).toEqual({ machine: 'dev', path: '' });
    expect(parseScpArg('localhost:/tmp/x')).toEqual({ machine: null, path: '/tmp/x' });
    expect(parseScpArg('./a:b')).toEqual({ machine: null, path: './a:b' });
    expect(parseScpArg('file.txt')).toEqual({ machine: null, path: 'file.txt' });
    expect(remotePath('~/x')).toBe('x');
    expect(remotePath('')).toBe('.');
  });
});

describe('ChannelLimiter', () => {
  it('never runs more than its limit at once and runs everything', async () => {
    const limiter = new ChannelLimiter(3);
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        limiter.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
          return i;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(limiter.inUse).toBe(0);
  });
});

describe('generateSshKey', () => {
  it('only writes pairs that read back (ssh2 drops a leading zero of ~1 in 370 ed25519 keys)', async () => {
    const { generateSshKey, readPrivateKey } = await import('../../main/ssh/keys.js');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'moor-keygen-'));
    // 1500 pairs: without the check, one unreadable pair is all but certain (1 − (369/370)^1500 > 98 %).
    for (let i = 0; i < 1500; i++) {
      const file = join(dir, `k${i % 4}`);
      await generateSshKey(file);
      await readPrivateKey(file);
    }
  }, 60_000);
});
