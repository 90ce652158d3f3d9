import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { describe, expect, it } from 'vitest';
import { progressReporter } from '../../main/base/progress.js';
import { createMachine } from '../../main/core/create.js';
import { Store } from '../../main/store/store.js';
import { runMoor, spawnMoor } from '../harness/moor-cli.js';
import { DOCKER_VERSION, genericSuite, machineConfig } from './generic-support.js';

// Crash windows of issue 9 against a real systemd host with Docker installed (items 7, 8, 10, 11):
// a kill -9 at a named moment (MOOR_FAULT), an `rm` during a create, a create that fails while its
// certificate writes are still going, and what provisioning leaves in the login user's home.
const ADDRESS = '127.0.41.10';

const fx = genericSuite({
  prefix: 'moor-crash-windows',
  hostName: `crash-windows-${process.pid}`,
  address: ADDRESS,
  image: 'bookworm-docker',
});

const moorWithFault = (args: string[], fault: string) =>
  runMoor(args, { env: fx.env({ MOOR_FAULT: fault }), timeoutMs: 280_000 });
const machineDir = (name: string) => path.join(fx.storePath, 'machines', name);
const swapLeftovers = (name: string) =>
  readdirSync(machineDir(name)).filter((e) => e.startsWith('.certs-next-') || e.startsWith('certs.old-'));

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('rm while create is still running (item 8)', () => {
  it('is refused, also with -f; the create then finishes a working machine', async () => {
    const creating = moorWithFault(
      ['create', '-d', 'generic', '--generic-ip-address', ADDRESS, '--generic-ssh-key', fx.keyPath, 'busy'],
      'certs:server-write=delay:8000',
    );
    await until('config.json of "busy"', () => existsSync(path.join(machineDir('busy'), 'config.json')));
    for (const flags of [['-y'], ['-f']]) {
      const rm = await fx.moor(['rm', ...flags, 'busy']);
      expect(rm.code, rm.stderr).toBe(1);
      expect(rm.stdout).not.toContain('Successfully removed');
      expect(rm.stderr).toMatch(
        /Error removing host "busy": it is still being created \(by process \d+\); wait for the create to end, or cancel it \(Ctrl-C\), which removes what it made/,
      );
    }
    const run = await creating;
    expect(run.code, run.stderr).toBe(0);
    expect((await fx.moor(['ls', '-q'])).stdout.split('\n')).toContain('busy');
    expect(fx.dockerThroughEnv('busy', DOCKER_VERSION).code).toBe(0);
    const rm = await fx.moor(['rm', '-y', 'busy']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain('Successfully removed busy');
    expect(existsSync(machineDir('busy'))).toBe(false);
  });
});

describe('a create stopped (Ctrl-Z) for longer than its lock stays fresh', () => {
  it('carries on when continued instead of dying on a "compromised" lock', async () => {
    const first = await fx.moor(['create', '-d', 'none', '--url', `tcp://${ADDRESS}:2376`, 'none1']);
    expect(first.code, first.stderr).toBe(0); // the store's CA exists: the next create copies it
    const child = spawnMoor(['create', '-d', 'none', '--url', `tcp://${ADDRESS}:2376`, 'paused'], {
      env: fx.env({ MOOR_FAULT: 'write:ca.pem=stop' }),
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await until('the create to stop', () => processState(child.pid ?? 0) === 'T');
    // Past proper-lockfile's 10 s stale threshold: the lock is "compromised" on resume.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    const rm = await fx.moor(['rm', '-y', 'paused']); // a stopped create is still a running one
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain('it is still being created');
    // Another process takes the stale lock over for a moment (as an update of the machine would).
    const release = await lockfile.lock(path.join(machineDir('paused'), 'config.json'), {
      lockfilePath: path.join(fx.storePath, 'machines', '.paused.lock'),
      realpath: false,
      stale: 10_000,
    });
    await release();
    // Continued; the point is reached again by the Docker context's ca.pem: continue that one too.
    const continuing = setInterval(() => child.kill('SIGCONT'), 200);
    const code = await exited.finally(() => clearInterval(continuing));
    expect(code, stderr).toBe(0);
    expect(existsSync(path.join(machineDir('paused'), 'ca.pem'))).toBe(true);
    expect((await fx.moor(['rm', '-y', 'paused', 'none1'])).code).toBe(0);
  });
});

/** The state letter of /proc/PID/stat (R, S, T for stopped, Z, …). */
function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}

describe('a create that fails while its certificate writes are still going (item 10)', () => {
  it('rolls back only once they have settled, and reports the real error', async () => {
    // The server certificate is made while SSH connects; a wrong key fails (after 10 s of retries,
    // as cloud-init may still be installing the key) before the delayed certificate is written.
    const filesAtRemove: string[][] = [];
    class WatchedStore extends Store {
      override async remove(name: string): Promise<void> {
        filesAtRemove.push(
          existsSync(this.machineDir(name)) ? readdirSync(this.machineDir(name)).sort() : [],
        );
        return super.remove(name);
      }
    }
    const store = new WatchedStore(fx.storePath);
    const wrongKey = fx.newKey('id_wrong');
    process.env.MOOR_FAULT = 'certs:server-write=delay:16000';
    try {
      await expect(
        createMachine({
          store,
          name: 'unsettled',
          driverName: 'generic',
          flagValues: { 'generic-ip-address': ADDRESS, 'generic-ssh-key': wrongKey.keyPath },
          engine: { InstallURL: 'distro' },
          progress: progressReporter('unsettled', () => {}),
          env: fx.env(),
        }),
      ).rejects.toThrow(/permission denied for root@127\.0\.41\.10:22/);
    } finally {
      delete process.env.MOOR_FAULT;
    }
    // When the rollback removed the directory, the server certificate had been written already.
    expect(filesAtRemove).toHaveLength(1);
    expect(filesAtRemove[0]).toEqual(expect.arrayContaining(['server-key.pem', 'server.pem']));
    await new Promise((resolve) => setTimeout(resolve, 500)); // nothing is left to land afterwards
    expect(existsSync(machineDir('unsettled'))).toBe(false);
  });
});

describe('regenerate-certs --client-certs killed at each step of its certs/ swap (item 7)', () => {
  it('leaves a machine whose certs/ comes back and whose leftovers are swept; docker keeps working', async () => {
    const create = await fx.create('rot');
    expect(create.code, create.stderr).toBe(0);
    const first = await fx.moor(['regenerate-certs', '-f', '--client-certs', 'rot']);
    expect(first.code, first.stderr).toBe(0);
    expect(machineConfig(fx.storePath, 'rot').HostOptions.AuthOptions.CertDir).toBe(
      path.join(machineDir('rot'), 'certs'),
    );
    for (const point of ['certs-swap:staged', 'certs-swap:old-moved', 'certs-swap:swapped']) {
      const killed = await moorWithFault(
        ['regenerate-certs', '-f', '--client-certs', 'rot'],
        `${point}=kill`,
      );
      expect(killed.code, `${point}: ${killed.stderr}`).toBe(137);
      if (point === 'certs-swap:old-moved') {
        expect(existsSync(path.join(machineDir('rot'), 'certs'))).toBe(false); // the window itself
      }
      // The next command that reads the machine puts certs/ back (the old one: the engine trusts it).
      const url = await fx.moor(['url', 'rot']);
      expect(url.code, url.stderr).toBe(0);
      expect(readdirSync(path.join(machineDir('rot'), 'certs')).sort()).toEqual([
        'ca-key.pem',
        'ca.pem',
        'cert.pem',
        'key.pem',
      ]);
      const regenerate = await fx.moor(['regenerate-certs', '-f', 'rot']);
      expect(regenerate.code, `${point}: ${regenerate.stderr}`).toBe(0);
      expect(swapLeftovers('rot')).toEqual([]);
      expect(fx.dockerThroughEnv('rot', DOCKER_VERSION).code).toBe(0);
    }
    const last = await fx.moor(['regenerate-certs', '-f', '--client-certs', 'rot']);
    expect(last.code, last.stderr).toBe(0);
    expect(swapLeftovers('rot')).toEqual([]);
    expect(fx.dockerThroughEnv('rot', DOCKER_VERSION).code).toBe(0);
  });
});

describe('staging of the server key on the host (item 11)', () => {
  it('stages in a private directory and sweeps the leftovers of dropped or killed provisions', async () => {
    const tag = createHash('sha256').update('staged').digest('hex').slice(0, 12);
    // What earlier provisions left: this machine's stage directory, a loose file of an older Moor
    // (an hour old) and another machine's directory of right now (its provision may be running).
    const setup = await fx.host.exec(
      `mkdir -m 700 /root/.moor-stage-${tag}.leftover && echo k > /root/.moor-stage-${tag}.leftover/server-key.pem && ` +
        'echo k > /root/.moor-stage-0123456789ab-server-key.pem && touch -d "2 hours ago" /root/.moor-stage-0123456789ab-server-key.pem && ' +
        'mkdir -m 700 /root/.moor-stage-ffffffffffff.other && ' +
        // Pause provisioning inside the configure script (it calls hostnamectl), to look at the stage.
        "printf '#!/bin/sh\\ntouch /tmp/moor-paused\\nexec sleep 300\\n' > /usr/local/sbin/hostnamectl && chmod +x /usr/local/sbin/hostnamectl && rm -f /tmp/moor-paused",
    );
    expect(setup.exitCode, setup.stderr).toBe(0);
    const creating = fx.create('staged');
    try {
      await until(
        'the configure script',
        async () => (await fx.host.exec('test -e /tmp/moor-paused')).exitCode === 0,
      );
      const stage = await fx.host.exec(`stat -c '%n %a %U' /root/.moor-stage*`);
      const lines = stage.stdout.trim().split('\n').sort();
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^/root/\\.moor-stage-${tag}\\.\\w{10} 700 root$`));
      expect(lines[1]).toBe('/root/.moor-stage-ffffffffffff.other 700 root');
      const staged = await fx.host.exec(`ls /root/.moor-stage-${tag}.*`);
      expect(staged.stdout.split('\n')).toEqual(
        expect.arrayContaining(['ca.pem', 'server-key.pem', 'server.pem']),
      );
    } finally {
      await fx.host.exec("rm -f /usr/local/sbin/hostnamectl; pkill -KILL -f '[s]leep 300'");
    }
    const run = await creating;
    expect(run.code, run.stderr).toBe(0);
    expect(
      (await fx.host.exec('ls -A /root')).stdout.split('\n').filter((e) => e.startsWith('.moor-stage')),
    ).toEqual(['.moor-stage-ffffffffffff.other']);
  });
});
