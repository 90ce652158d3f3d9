import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_DATA_PATH } from '../emulators/digitalocean/backends.js';
import { CONTAINER_PREFIX } from '../emulators/google/backends.js';
import { type GoogleComputeEmulator, startGoogleEmulator } from '../emulators/google/server.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { moorCommand, type Run, runMoor, runProcess, spawnMoor } from '../harness/moor-cli.js';
import { listTestHosts } from '../hosts/index.js';

// `moor create -d google` end to end: the real CLI against the Compute Engine emulator (its OAuth
// token endpoint named by the service-account key's token_uri), whose instances are systemd + sshd
// test hosts on 127.0.55.x–127.0.56.x; the real docker CLI through `moor env` and `moor use`.
let emulator: GoogleComputeEmulator;
let store: { dir: string; cleanup: () => void };
let dockerConfig: { dir: string; cleanup: () => void };
let keyFile: string;
const PROJECT = 'moor-test-project';

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { GOOGLE_APPLICATION_CREDENTIALS: _unset, ...base } = process.env;
  return {
    ...base,
    MACHINE_STORAGE_PATH: store.dir,
    GOOGLE_APPLICATION_CREDENTIALS: keyFile,
    MOOR_GOOGLE_COMPUTE_URL: emulator.computeUrl,
    MOOR_GOOGLE_POLL_MS: '200',
    DOCKER_CONFIG: dockerConfig.dir,
    SSH_AUTH_SOCK: '',
    ...extra,
  };
}

function moor(args: string[], extra: Record<string, string> = {}): Promise<Run> {
  return runMoor(args, { env: env(extra), timeoutMs: 240_000 });
}

/** The real docker CLI through `moor env` (asynchronous: this process runs the emulator and its relays). */
function dockerThroughEnv(name: string): Promise<Run> {
  const script = `set -e; eval "$(${moorCommand} env ${name})"; docker version --format '{{.Server.Version}}'`;
  return runProcess('bash', ['-c', script], { env: env({ SHELL: '/bin/bash' }), timeoutMs: 60_000 });
}

function configOf(name: string): { Driver: Record<string, unknown> } & Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(store.dir, 'machines', name, 'config.json'), 'utf8'));
}

async function expectNoLeaks(name: string): Promise<void> {
  await emulator.idle();
  expect(emulator.state().instances).toEqual([]);
  expect(emulator.state().firewalls).toEqual([]);
  expect(emulator.state().disks).toEqual([]); // boot disks go with their instances
  expect(emulator.backgroundErrors).toEqual([]);
  expect(existsSync(path.join(store.dir, 'machines', name))).toBe(false);
  expect(await listTestHosts(`${CONTAINER_PREFIX}${emulator.id}-`)).toEqual([]);
}

beforeAll(async () => {
  requireCommand('docker', 'docker.io');
  requireCommand('bash', 'bash');
  store = tempDir('moor-gce-it-store');
  dockerConfig = tempDir('moor-gce-it-docker');
  emulator = await startGoogleEmulator({ backend: 'test-hosts' });
  keyFile = await emulator.writeServiceAccountKey(store.dir);
});

afterAll(async () => {
  await emulator?.close(); // removes any instance's test host left by a failed test
  store?.cleanup();
  dockerConfig?.cleanup();
});

describe('google driver end to end (emulator + test hosts)', () => {
  it('create (user-data, labels, disk size/type) → env/use → docker → stop/start (new ephemeral IP)/restart → rm', async () => {
    const name = 'gce-it-1';
    // Inline user-data (a text with line breaks is the user-data itself, not a path).
    const userData = '#cloud-config\nruncmd:\n  - [touch, /etc/moor-gce-it]\n';
    const created = await moor([
      'create',
      '-d',
      'google',
      '--google-project',
      PROJECT,
      '--google-zone',
      'europe-west1-b',
      '--google-machine-type',
      'e2-medium',
      '--google-open-port',
      '8080/tcp',
      '--google-userdata',
      userData,
      '--google-labels',
      'env=it,team=infra',
      '--google-disk-size',
      '30',
      '--google-disk-type',
      'pd-balanced',
      '--engine-install-url',
      'distro',
      name,
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Opening firewall ports');
    expect(created.stdout).toContain('Docker is up and running!');

    const instance = emulator.state().instances[0]!;
    expect(instance).toMatchObject({
      name,
      zone: 'europe-west1-b',
      machineType: 'e2-medium',
      status: 'RUNNING',
    });
    const config = configOf(name);
    expect(config.Driver).toMatchObject({
      Project: PROJECT,
      Zone: 'europe-west1-b',
      SSHUser: 'docker-user',
      IPAddress: instance.natIP,
      InstanceID: instance.id,
      OpenPorts: ['8080/tcp'],
    });
    expect(instance.labels).toEqual({ env: 'it', team: 'infra', 'moor-create-id': config.Driver.CreateID });
    expect(instance.metadata.find((m) => m.key === 'user-data')?.value).toBe(userData);
    expect(emulator.state().disks).toEqual([
      { name: `${name}-disk`, zone: 'europe-west1-b', sizeGb: '30', type: 'pd-balanced', users: [name] },
    ]);
    expect(config.Driver).toMatchObject({ DiskSize: 30, DiskType: 'pd-balanced', UserData: userData });
    const onHost = await moor(['ssh', name, 'cat', USER_DATA_PATH]);
    expect(onHost.code, onHost.stderr).toBe(0);
    expect(onHost.stdout).toBe(userData);
    // The credentials stay in the key file: config.json names neither the key nor a token.
    const configText = readFileSync(path.join(store.dir, 'machines', name, 'config.json'), 'utf8');
    expect(configText).not.toContain('PRIVATE KEY');
    expect(configText).not.toContain('ya29.');

    const first = await dockerThroughEnv(name);
    expect(first.stderr).toBe('');
    expect(first.stdout.trim()).toMatch(/^\d+\.\d+/);
    const use = await moor(['use', name]);
    expect(use.code, use.stderr).toBe(0);
    const context = await runProcess('docker', ['version', '--format', '{{.Server.Version}}'], {
      env: env(),
      timeoutMs: 60_000,
    });
    expect(context.stderr).toBe('');
    expect(context.code).toBe(0);

    const stopped = await moor(['stop', name]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(emulator.state().instances[0]?.status).toBe('TERMINATED');
    expect((await moor(['status', name])).stdout.trim()).toBe('Stopped');
    const before = String(configOf(name).Driver.IPAddress);
    const started = await moor(['start', name]);
    expect(started.code, started.stderr).toBe(0);
    // Compute Engine gives a stopped instance's ephemeral external IP away: it comes back on another.
    const after = emulator.state().instances[0]!.natIP;
    expect(after).not.toBe(before);
    expect(started.stdout).toContain(`came back with a new IP address (${before}, now ${after})`);
    expect(configOf(name).Driver.IPAddress).toBe(after);
    expect((await moor(['url', name])).stdout.trim()).toBe(`tcp://${after}:2376`);
    expect((await dockerThroughEnv(name)).code).toBe(0);

    const restarted = await moor(['restart', name]);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(emulator.state().operations.map((op) => `${op.operationType}:${op.status}`)).toEqual([
      'insert:DONE', // firewall rule
      'insert:DONE', // instance
      'stop:DONE',
      'start:DONE',
      'stop:DONE',
      'start:DONE',
    ]);
    const docker = await dockerThroughEnv(name);
    expect(docker.stderr).toBe('');
    expect(docker.code).toBe(0);

    const removed = await moor(['rm', '-y', name]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`Successfully removed ${name}`);
    await expectNoLeaks(name);
  });

  it('a failed create (no capacity in the zone) leaves nothing: no instance, no rule, no record', async () => {
    const name = 'gce-it-fail';
    emulator.injectInstanceFault('host-fails');
    const created = await moor(['-D', 'create', '-d', 'google', '--google-project', PROJECT, name]);
    expect(created.code).not.toBe(0);
    // Debug output names the calls, never a credential.
    expect(created.stderr).toMatch(
      /google.*POST \/projects\/moor-test-project\/zones\/us-central1-a\/instances → 200/,
    );
    expect(created.stderr).not.toMatch(/ya29\.|PRIVATE KEY|assertion=|Bearer/);
    expect(created.stderr).toContain('ZONE_RESOURCE_POOL_EXHAUSTED');
    expect(created.stderr).toContain(`Removing the partially created machine "${name}"`);
    await expectNoLeaks(name);
  });

  it('bad credentials fail the pre-create check with the file named', async () => {
    const created = await moor(['create', '-d', 'google', '--google-project', PROJECT, 'gce-it-nocred'], {
      GOOGLE_APPLICATION_CREDENTIALS: path.join(store.dir, 'missing.json'),
    });
    expect(created.code).toBe(3);
    expect(created.stderr).toContain(
      `cannot read the Google credentials file $GOOGLE_APPLICATION_CREDENTIALS (${path.join(store.dir, 'missing.json')})`,
    );
    await expectNoLeaks('gce-it-nocred');
  });

  it('kill -9 of the CLI while the instance insert is in flight: the next `moor ls` finds it by create id and deletes it', async () => {
    const name = 'gce-it-killed';
    // The insert is held 1.5 s before it is handled: the CLI dies first, the instance is made after.
    emulator.injectFault({ method: 'POST', path: /\/instances$/, delayMs: 1500 });
    const seen = emulator.requests.length;
    const child = spawnMoor(
      ['create', '-d', 'google', '--google-project', PROJECT, '--engine-install-url', 'distro', name],
      { env: env(), stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const inFlight = () =>
      emulator.requests.slice(seen).some((r) => r.method === 'POST' && /\/instances$/.test(r.path));
    const deadline = Date.now() + 60_000;
    try {
      while (!inFlight()) {
        if (Date.now() > deadline) throw new Error('create never sent the instance insert');
        if (child.exitCode !== null) throw new Error(`create exited (${child.exitCode}) before the insert`);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // What docker-machine would orphan: an instance made after its creator died, with no ID recorded.
    while (!emulator.state().instances.some((i) => i.name === name)) {
      if (Date.now() > deadline) throw new Error('the held insert never ran');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(configOf(name).Driver.InstanceID).toBeUndefined();
    expect(emulator.state().instances[0]?.labels['moor-create-id']).toBe(configOf(name).Driver.CreateID);
    const ls = await moor(['ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).not.toContain(name);
    expect(ls.stderr).toContain(`Removed "${name}": its create was interrupted`);
    await expectNoLeaks(name);
  });
});
