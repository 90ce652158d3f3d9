import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireCommand, tempDir } from '../harness/components.js';
import { runProcess } from '../harness/moor-cli.js';
import { getTestHost, removeTestHost, startTestHost, type TestHost } from '../hosts/index.js';

// test/hosts/cli.ts for people: `start` a host with their key, `clean` only this checkout's hosts.
// Real processes against the test dockerd; addresses 127.0.47.31-33 (this helper's range).
const cli = (args: string[]) =>
  runProcess(process.execPath, ['--import', 'tsx', 'test/hosts/cli.ts', ...args], { timeoutMs: 300_000 });

let keys: { dir: string; cleanup: () => void };
let live: TestHost;
let elsewhere: TestHost;

beforeAll(async () => {
  keys = tempDir('moor-testhosts-cli');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keys.dir, 'me')]);
  // A host of a live test run of this checkout (this process owns it) and one of another checkout.
  live = await startTestHost({ name: 'newcomer-cli-live', address: '127.0.47.32', authorizedKey: '' });
  elsewhere = await startTestHost({
    name: 'newcomer-cli-elsewhere',
    address: '127.0.47.33',
    authorizedKey: '',
    labels: { 'org.moor.testhost.checkout': '/somewhere/else' },
  });
});

afterAll(async () => {
  await Promise.all(['newcomer-cli-me', 'newcomer-cli-live', 'newcomer-cli-elsewhere'].map(removeTestHost));
  keys?.cleanup();
});

describe('test/hosts/cli.ts', () => {
  it('start gives a person a host they can ssh into with their key', async () => {
    const ssh = requireCommand('ssh', 'openssh-client');
    const key = path.join(keys.dir, 'me');
    const started = await cli([
      'start',
      'newcomer-cli-me',
      '--address',
      '127.0.47.31',
      '--key',
      `${key}.pub`,
    ]);
    expect(started.stderr).toBe('');
    expect(started.stdout).toContain(`ssh -i ${key} root@127.0.47.31`);
    expect(started.stdout).toContain('moor create -d generic --generic-ip-address 127.0.47.31');
    const options = [
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
    ];
    const login = await runProcess(ssh, [...options, '-i', key, 'root@127.0.47.31', 'hostname'], {
      timeoutMs: 30_000,
    });
    expect(login).toMatchObject({ code: 0, stdout: 'newcomer-cli-me\n' });
    const refused = await cli(['start', 'x', '--address', '127.0.47.34', '--key', key]);
    expect(refused.stderr).toContain(`--key ${key} is a private key: give the public one (${key}.pub)`);
  });

  it("clean without a prefix removes this checkout's kept and ended hosts only", async () => {
    const cleaned = await cli(['clean']);
    expect(cleaned.code).toBe(0);
    expect(cleaned.stdout).toContain('newcomer-cli-me');
    expect(await getTestHost('newcomer-cli-me')).toBeUndefined();
    // A live run's host (owner alive) and another checkout's host stay, whatever their owner.
    expect(await live.state()).toBe('running');
    expect(await elsewhere.state()).toBe('running');
    expect(cleaned.stdout).toMatch(/left \d+ of other checkouts or live test runs: .*newcomer-cli-live/);
    expect(readFileSync(path.join(keys.dir, 'me.pub'), 'utf8')).toContain('ssh-ed25519');
  });
});
