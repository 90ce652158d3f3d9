/**
 * The create form's checks (main/ssh/check.ts) against real files and a real OpenSSH sshd: what a
 * key file is (private, passphrase-protected, public, missing, a directory, not a key), and Test
 * connection step by step (success, a refused port, a port that is not SSH, a key the host refuses).
 * Loopback range 127.0.42.0/24 (.10–.19 here).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkKeyFile, testConnection } from '../../main/ssh/check.js';
import { publicKeyFingerprint } from '../../main/ssh/index.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { type Sshd, startSshd } from '../harness/sshd.js';
import { type HangingServer, refusedAddress, startHangingServer } from '../harness/tls-engine.js';

const SSHD_HOST = '127.0.42.10';
const REFUSED_HOST = '127.0.42.11';
const SILENT_HOST = '127.0.42.12';

let sshd: Sshd;
let silent: HangingServer;
let work: { dir: string; cleanup: () => void };

function keygen(file: string, passphrase = ''): void {
  execFileSync(requireCommand('ssh-keygen', 'openssh-client'), [
    '-q',
    '-t',
    'ed25519',
    '-N',
    passphrase,
    '-f',
    file,
  ]);
}

beforeAll(async () => {
  work = tempDir('moor-ssh-check');
  [sshd, silent] = await Promise.all([startSshd({ host: SSHD_HOST }), startHangingServer(SILENT_HOST)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([sshd?.stop(), silent?.close()]);
  work?.cleanup();
});

describe('checkKeyFile', () => {
  it('accepts an unencrypted private key, naming its type and fingerprint', async () => {
    const key = path.join(work.dir, 'plain');
    keygen(key);
    const check = await checkKeyFile(key);
    const fp = publicKeyFingerprint(readFileSync(`${key}.pub`, 'utf8'));
    expect(check).toEqual({
      ok: true,
      kind: 'private-key',
      message: `ssh-ed25519 private key ${fp}`,
      keyType: 'ssh-ed25519',
      fingerprint: fp,
    });
  });

  it('reports a passphrase-protected key as such', async () => {
    const key = path.join(work.dir, 'locked');
    keygen(key, 'secret words');
    const check = await checkKeyFile(key);
    expect(check.ok).toBe(false);
    expect(check.kind).toBe('encrypted');
    expect(check.message).toMatch(/passphrase-protected.*ssh-add/);
  });

  it('refuses a public key and names the private one beside it', async () => {
    const key = path.join(work.dir, 'plain');
    const check = await checkKeyFile(`${key}.pub`);
    expect(check).toMatchObject({ ok: false, kind: 'public-key', keyType: 'ssh-ed25519' });
    expect(check.message).toContain(`the private key is probably ${key}`);
  });

  it('refuses a missing file, a directory, a relative path and a file that is no key', async () => {
    const notKey = path.join(work.dir, 'notes.txt');
    writeFileSync(notKey, 'hello\n');
    const missing = await checkKeyFile(path.join(work.dir, 'nope'));
    expect(missing).toMatchObject({ ok: false, kind: 'missing', message: 'The file does not exist' });
    expect(await checkKeyFile(work.dir)).toMatchObject({ ok: false, kind: 'not-a-file' });
    expect((await checkKeyFile(work.dir)).message).toMatch(/directory/);
    expect(await checkKeyFile('id_ed25519')).toMatchObject({ ok: false, kind: 'missing' });
    expect(await checkKeyFile(notKey)).toMatchObject({ ok: false, kind: 'not-a-key' });
  });
});

describe('testConnection', () => {
  it('passes every step against a real sshd, showing the host key it presents', async () => {
    const before = readdirSync(os.tmpdir()).filter((f) => f.startsWith('moor-test-connection-'));
    const result = await testConnection({
      ip: sshd.host,
      port: sshd.port,
      user: sshd.user,
      keyPath: sshd.clientKeyPath,
    });
    expect(result.error).toBe('');
    expect(result.ok).toBe(true);
    expect(result.steps.map((s) => [s.step, s.ok])).toEqual([
      ['tcp', true],
      ['banner', true],
      ['host-key', true],
      ['auth', true],
      ['remote', true],
    ]);
    expect(result.steps[1]!.detail).toMatch(/^SSH-2\.0-OpenSSH/);
    const hostFp = publicKeyFingerprint(readFileSync(`${sshd.hostKeys.ed25519}.pub`, 'utf8'));
    const rsaFp = publicKeyFingerprint(readFileSync(`${sshd.hostKeys.rsa}.pub`, 'utf8'));
    expect([hostFp, rsaFp]).toContain(result.hostKey?.fingerprint);
    expect(result.steps[2]!.detail).toContain(result.hostKey!.fingerprint);
    expect(result.steps[4]!.detail).toMatch(/; (Docker version|no Docker yet)/);
    // Nothing is left behind: the temporary known_hosts is gone.
    const after = readdirSync(os.tmpdir()).filter((f) => f.startsWith('moor-test-connection-'));
    expect(after).toEqual(before);
  });

  it('names the TCP step when the port is refused', async () => {
    const refused = await refusedAddress(REFUSED_HOST);
    const result = await testConnection({ ip: refused.host, port: refused.port, user: 'root', keyPath: '' });
    expect(result.ok).toBe(false);
    expect(result.steps).toEqual([
      {
        step: 'tcp',
        label: `TCP connection to ${refused.host}:${refused.port}`,
        ok: false,
        detail: 'connection refused (the host is up, nothing listens there)',
      },
    ]);
    expect(result.error).toBe(
      `TCP connection to ${refused.host}:${refused.port} failed: connection refused (the host is up, nothing listens there)`,
    );
  });

  it('names the banner step when the port answers but not with SSH', async () => {
    const result = await testConnection(
      { ip: silent.host, port: silent.port, user: 'root', keyPath: '' },
      { timeoutMs: 1_000 },
    );
    expect(result.steps.map((s) => [s.step, s.ok])).toEqual([
      ['tcp', true],
      ['banner', false],
    ]);
    expect(result.error).toMatch(/^SSH banner from 127\.0\.42\.12:\d+ failed: no SSH banner within 1 s/);
  });

  it('names the login step when the host refuses the key', async () => {
    const stranger = path.join(work.dir, 'stranger');
    keygen(stranger);
    const result = await testConnection({
      ip: sshd.host,
      port: sshd.port,
      user: sshd.user,
      keyPath: stranger,
    });
    expect(result.steps.map((s) => [s.step, s.ok])).toEqual([
      ['tcp', true],
      ['banner', true],
      ['host-key', true],
      ['auth', false],
    ]);
    expect(result.hostKey).not.toBeNull();
    expect(result.error).toContain(
      `SSH login as ${sshd.user}@${sshd.host}:${sshd.port} failed: ssh: permission denied`,
    );
    expect(result.error).toContain(`key ${stranger}`);
  });

  it('names the login step when the key file is missing', async () => {
    const missing = path.join(work.dir, 'gone');
    expect(existsSync(missing)).toBe(false);
    const result = await testConnection({
      ip: sshd.host,
      port: sshd.port,
      user: sshd.user,
      keyPath: missing,
    });
    expect(result.steps.at(-1)).toMatchObject({ step: 'auth', ok: false });
    expect(result.error).toContain('the file does not exist');
  });
});
