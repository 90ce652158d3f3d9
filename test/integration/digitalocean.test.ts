import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_PREFIX, USER_DATA_PATH } from '../emulators/digitalocean/backends.js';
import { type DigitalOceanEmulator, startDigitalOceanEmulator } from '../emulators/digitalocean/server.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { startTestKeyring, type TestKeyring } from '../harness/keyring.js';
import { moorCommand, type Run, runMoor, runProcess, spawnMoor } from '../harness/moor-cli.js';
import { listTestHosts } from '../hosts/index.js';

// `moor create -d digitalocean` end to end: the real CLI against the DigitalOcean emulator, whose
// droplets are systemd + sshd test hosts on 127.0.20.x; the real docker CLI; a real gnome-keyring.
let emulator: DigitalOceanEmulator;
let keyring: TestKeyring;
let store: { dir: string; cleanup: () => void };
let dockerConfig: { dir: string; cleanup: () => void };

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { DIGITALOCEAN_ACCESS_TOKEN: _unset, ...base } = { ...process.env, ...keyring.env };
  return {
    ...base,
    MACHINE_STORAGE_PATH: store.dir,
    DIGITALOCEAN_API_URL: emulator.url,
    MOOR_DIGITALOCEAN_POLL_MS: '250',
    DOCKER_CONFIG: dockerConfig.dir,
    SSH_AUTH_SOCK: '',
    ...extra,
  };
}

function moor(args: string[], extra: Record<string, string> = {}): Promise<Run> {
  return runMoor(args, { env: env(extra), timeoutMs: 240_000 });
}

/**
 * `eval "$(moor env NAME)"; docker version`: the real docker CLI through Moor's env output.
 * Asynchronous: the emulator answers `moor env`'s API calls from this very process.
 */
function dockerThroughEnv(name: string): Promise<Run> {
  const script = `set -e; eval "$(${moorCommand} env ${name})"; docker version --format '{{.Server.Version}}'`;
  return runProcess('bash', ['-c', script], { env: env({ SHELL: '/bin/bash' }), timeoutMs: 60_000 });
}

function configOf(name: string): { Driver: Record<string, unknown> } & Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(store.dir, 'machines', name, 'config.json'), 'utf8'));
}

async function expectNoLeaks(name: string): Promise<void> {
  await emulator.idle();
  expect(emulator.state().droplets).toEqual([]);
  expect(emulator.state().keys).toEqual([]);
  expect(emulator.backgroundErrors).toEqual([]);
  expect(existsSync(path.join(store.dir, 'machines', name))).toBe(false);
  expect(await listTestHosts(`${CONTAINER_PREFIX}${emulator.id}-`)).toEqual([]);
}

const token = 'dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

beforeAll(async () => {
  requireCommand('docker', 'docker.io');
  requireCommand('bash', 'bash');
  store = tempDir('moor-do-it-store');
  dockerConfig = tempDir('moor-do-it-docker');
  keyring = await startTestKeyring();
  emulator = await startDigitalOceanEmulator({ backend: 'test-hosts', tokens: [token] });
});

afterAll(async () => {
  await emulator?.close(); // removes any droplet's test host left by a failed test
  await keyring?.stop();
  store?.cleanup();
  dockerConfig?.cleanup();
});

describe('digitalocean driver end to end (emulator + test hosts)', () => {
  it('create (size, region, user-data, tags) → env → docker → stop/start/restart → rm, with the token in the keychain', async () => {
    const name = 'do-it-1';
    const userData = path.join(store.dir, 'user-data.yaml');
    writeFileSync(userData, '#cloud-config\nwrite_files:\n  - path: /etc/moor-it\n    content: hello\n');
    const created = await moor(
      [
        'create',
        '-d',
        'digitalocean',
        '--digitalocean-size',
        's-2vcpu-4gb',
        '--digitalocean-region',
        'ams3',
        '--digitalocean-userdata',
        userData,
        '--digitalocean-tags',
        'env:it,team_infra',
        '--engine-install-url',
        'distro',
        name,
      ],
      { DIGITALOCEAN_ACCESS_TOKEN: token },
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Creating Digital Ocean droplet...');
    expect(created.stdout).toContain('Docker is up and running!');

    const droplet = emulator.state().droplets[0]!;
    expect(droplet).toMatchObject({ name, size: 's-2vcpu-4gb', region: 'ams3', status: 'active' });
    expect(droplet.tags.slice(0, 2)).toEqual(['env:it', 'team_infra']);
    expect(droplet.userData).toBe(readFileSync(userData, 'utf8'));
    // The user-data reached the droplet: on the host where cloud-init keeps what it was given.
    const onHost = await moor(['ssh', name, 'cat', USER_DATA_PATH]);
    expect(onHost.code, onHost.stderr).toBe(0);
    expect(onHost.stdout).toBe(readFileSync(userData, 'utf8'));
    const config = configOf(name);
    expect(config.Driver).toMatchObject({
      DropletID: droplet.id,
      IPAddress: droplet.address,
      AccessToken: '',
    });
    const ref = String(config.Driver.AccessTokenRef);
    expect(ref).toMatch(/^moor-keychain:digitalocean-do-it-1-[0-9a-f]{8}$/);
    const configText = readFileSync(path.join(store.dir, 'machines', name, 'config.json'), 'utf8');
    expect(configText).not.toContain(token);
    const lookup = (id: string) =>
      spawnSync('secret-tool', ['lookup', 'service', 'moor', 'account', id], {
        env: keyring.env,
        encoding: 'utf8',
      });
    const itemId = ref.slice('moor-keychain:'.length);
    expect(lookup(itemId).stdout).toBe(token);

    const first = await dockerThroughEnv(name);
    expect(first.stderr).toBe('');
    expect(first.stdout.trim()).toMatch(/^\d+\.\d+/);

    // From here the token comes from the keychain only (DIGITALOCEAN_ACCESS_TOKEN is not set).
    const stopped = await moor(['stop', name]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(emulator.state().droplets[0]?.status).toBe('off');
    expect((await moor(['status', name])).stdout.trim()).toBe('Stopped');
    const started = await moor(['start', name]);
    expect(started.code, started.stderr).toBe(0);
    expect(emulator.state().droplets[0]?.status).toBe('active');
    const restarted = await moor(['restart', name]);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(emulator.state().actions.map((a) => `${a.type}:${a.status}`)).toEqual([
      'create:completed',
      'shutdown:completed',
      'power_on:completed',
      'reboot:completed',
    ]);
    expect((await dockerThroughEnv(name)).code).toBe(0);

    const removed = await moor(['rm', '-y', name]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`Successfully removed ${name}`);
    await expectNoLeaks(name);
    expect(lookup(itemId).status).toBe(1); // the keychain item went with the machine
  });

  it('a droplet back on a new IP: same pinned host key, a server certificate for the new address, env and context follow', async () => {
    const name = 'do-it-newip';
    const created = await moor(['create', '-d', 'digitalocean', '--engine-install-url', 'distro', name], {
      DIGITALOCEAN_ACCESS_TOKEN: token,
      MOOR_SECRET_STORE: 'plain',
    });
    expect(created.code, created.stderr).toBe(0);
    const before = String(configOf(name).Driver.IPAddress);
    const knownHosts = path.join(store.dir, 'machines', name, 'known_hosts');
    const pinned = readFileSync(knownHosts, 'utf8');
    expect(pinned.startsWith(`${before} `)).toBe(true);

    expect((await moor(['stop', name])).code).toBe(0);
    emulator.readdressOnNextPowerOn(name);
    const started = await moor(['start', name]);
    expect(started.code, started.stderr).toBe(0);
    const after = emulator.state().droplets.find((d) => d.name === name)?.address ?? '';
    expect(after).not.toBe(before);
    expect(started.stdout).toContain(`came back with a new IP address (${before}, now ${after})`);
    expect(configOf(name).Driver.IPAddress).toBe(after);
    // The same key, now pinned for the new address: no second first contact.
    expect(readFileSync(knownHosts, 'utf8')).toBe(pinned.replaceAll(`${before} `, `${after} `));
    expect((await moor(['url', name])).stdout.trim()).toBe(`tcp://${after}:2376`);
    const docker = await dockerThroughEnv(name);
    expect(docker.stderr).toBe('');
    expect(docker.code).toBe(0);
    // Asynchronous: this process relays the droplet's new address.
    const context = await runProcess(
      'docker',
      ['--context', name, 'version', '--format', '{{.Server.Version}}'],
      {
        env: env(),
        timeoutMs: 60_000,
      },
    );
    expect(context.stderr).toBe('');
    expect(context.code).toBe(0);

    expect((await moor(['rm', '-y', name])).code).toBe(0);
    await expectNoLeaks(name);
  });

  it('a Flatcar image is provisioned as Flatcar (Docker preinstalled) and `moor ssh` shows it', async () => {
    const name = 'do-it-flatcar';
    const created = await moor(
      [
        'create',
        '-d',
        'digitalocean',
        '--digitalocean-image',
        'flatcar-stable',
        '--engine-install-url',
        'distro',
        name,
      ],
      { DIGITALOCEAN_ACCESS_TOKEN: token, MOOR_SECRET_STORE: 'plain' },
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/Provisioning with .*Flatcar/i);
    expect(configOf(name).Driver).toMatchObject({
      SSHUser: 'core',
      Image: 'flatcar-stable',
      AccessToken: token,
    });
    const osRelease = await moor(['ssh', name, 'cat', '/etc/os-release']);
    expect(osRelease.code, osRelease.stderr).toBe(0);
    expect(osRelease.stdout).toContain('ID=flatcar');
    expect((await dockerThroughEnv(name)).code).toBe(0);
    expect((await moor(['rm', '-y', name])).code).toBe(0);
    await expectNoLeaks(name);
  });

  /** Starts `moor create`, SIGKILLs it once `until` holds, and waits for it to be gone. */
  async function killCreateWhen(name: string, until: () => boolean): Promise<void> {
    const child = spawnMoor(['create', '-d', 'digitalocean', '--engine-install-url', 'distro', name], {
      env: env({ DIGITALOCEAN_ACCESS_TOKEN: token, MOOR_SECRET_STORE: 'plain' }),
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 60_000;
    try {
      while (!until()) {
        if (Date.now() > deadline) throw new Error(`create of ${name} never reached the kill point`);
        if (child.exitCode !== null)
          throw new Error(`create of ${name} exited (${child.exitCode}) before the kill point`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  }

  const recorded = (name: string) => () => {
    try {
      return Number(configOf(name).Driver.DropletID) > 0;
    } catch {
      return false;
    }
  };

  it('kill -9 of the CLI right after the droplet exists: the next `moor ls` cleans up', async () => {
    const name = 'do-it-killed';
    await killCreateWhen(name, recorded(name));
    expect(emulator.state().droplets.filter((d) => d.name === name)).toHaveLength(1); // what docker-machine orphaned
    const ls = await moor(['ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).not.toContain(name);
    expect(ls.stderr).toContain(`Removed "${name}": its create was interrupted`);
    await expectNoLeaks(name);
  });

  it('kill -9 of the CLI during provisioning: `moor rm` cleans up', async () => {
    const name = 'do-it-killed2';
    await killCreateWhen(name, () => recorded(name)() && emulator.state().droplets[0]?.status === 'active');
    const rm = await moor(['rm', '-y', name]);
    expect(rm.code, rm.stderr).toBe(0);
    await expectNoLeaks(name);
  });
});
