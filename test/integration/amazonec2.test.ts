import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_PREFIX, USER_DATA_PATH } from '../emulators/digitalocean/backends.js';
import { type Ec2Front, startEc2Emulator } from '../emulators/ec2/front.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { startTestKeyring, type TestKeyring } from '../harness/keyring.js';
import { moorCommand, type Run, runMoor, runProcess, spawnMoor } from '../harness/moor-cli.js';
import { listTestHosts } from '../hosts/index.js';

// `moor create -d amazonec2` end to end: the real CLI against moto_server (a third-party EC2
// emulator) behind the test-only front, whose instances are systemd + sshd + Docker test hosts on
// 127.0.50.10–127.0.54.254; the real docker CLI through `moor env` and `moor use`'s context.
let front: Ec2Front;
let keyring: TestKeyring;
let store: { dir: string; cleanup: () => void };
let dockerConfig: { dir: string; cleanup: () => void };
let ec2: EC2Client;

const AMI = 'ami-785db401'; // a moto image (the host behind it is the test host)
const ACCESS_KEY = 'AKIAMOORTEST000001';
const SECRET_KEY = 'moor/secret+key/that-must-never-be-in-config.json';

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const {
    AWS_ACCESS_KEY_ID: _a,
    AWS_SECRET_ACCESS_KEY: _s,
    AWS_PROFILE: _p,
    ...base
  } = {
    ...process.env,
    ...keyring.env,
  };
  return {
    ...base,
    MACHINE_STORAGE_PATH: store.dir,
    AWS_ENDPOINT: front.url,
    MOOR_AMAZONEC2_POLL_MS: '250',
    DOCKER_CONFIG: dockerConfig.dir,
    SSH_AUTH_SOCK: '',
    ...extra,
  };
}

const createArgs = (name: string, extra: string[] = []) => [
  'create',
  '-d',
  'amazonec2',
  '--amazonec2-ami',
  AMI,
  '--amazonec2-ssh-user',
  'root', // the test hosts authorize the key pair for root
  '--engine-install-url',
  'distro',
  ...extra,
  name,
];
const credentials = { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY };

function moor(args: string[], extra: Record<string, string> = {}): Promise<Run> {
  return runMoor(args, { env: env(extra), timeoutMs: 240_000 });
}

function dockerThroughEnv(name: string): Promise<Run> {
  const script = `set -e; eval "$(${moorCommand} env ${name})"; docker version --format '{{.Server.Version}}'`;
  return runProcess('bash', ['-c', script], { env: env({ SHELL: '/bin/bash' }), timeoutMs: 60_000 });
}

function configOf(name: string): { Driver: Record<string, unknown> } & Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(store.dir, 'machines', name, 'config.json'), 'utf8'));
}

async function liveInstances(): Promise<Instance[]> {
  const res = await ec2.send(new DescribeInstancesCommand({}));
  return (res.Reservations ?? [])
    .flatMap((r) => r.Instances ?? [])
    .filter((i) => !['terminated', 'shutting-down'].includes(i.State?.Name ?? ''));
}

async function expectNoLeaks(name: string): Promise<void> {
  await front.idle();
  expect(await liveInstances()).toEqual([]);
  expect((await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []).toEqual([]);
  expect(front.backgroundErrors).toEqual([]);
  expect(existsSync(path.join(store.dir, 'machines', name))).toBe(false);
  expect(await listTestHosts(`${CONTAINER_PREFIX}${front.id}-`)).toEqual([]);
}

beforeAll(async () => {
  requireCommand('docker', 'docker.io');
  requireCommand('bash', 'bash');
  store = tempDir('moor-ec2-it-store');
  dockerConfig = tempDir('moor-ec2-it-docker');
  keyring = await startTestKeyring();
  front = await startEc2Emulator('test-hosts');
  ec2 = new EC2Client({
    region: 'us-east-1',
    endpoint: front.moto.url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
});

afterAll(async () => {
  await front?.close(); // removes any instance's test host left by a failed test
  await front?.moto.stop();
  await keyring?.stop();
  store?.cleanup();
  dockerConfig?.cleanup();
});

describe('amazonec2 driver end to end (moto + test hosts)', () => {
  it('create (user-data, tags, root size) → env → docker → use → stop/start/restart/kill → rm, the secret key in the keychain', async () => {
    const name = 'ec2-it-1';
    const userData = path.join(store.dir, 'user-data.sh');
    writeFileSync(userData, '#!/bin/sh\necho hello > /etc/moor-ec2-it\n');
    const created = await moor(
      createArgs(name, [
        '--amazonec2-open-port',
        '8080',
        '--amazonec2-userdata',
        userData,
        '--amazonec2-tags',
        'team,infra,env,it',
        '--amazonec2-root-size',
        '20',
      ]),
      credentials,
    );
    // A host that boots slowly (a loaded machine) is waited for with progress lines; nothing else.
    expect(created.stderr.replace(/^Waiting for SSH on .*\n/gm, '')).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Launching instance...');
    expect(created.stdout).toContain('Docker is up and running!');

    const [instance] = await liveInstances();
    const config = configOf(name);
    expect(config.Driver).toMatchObject({
      InstanceId: instance?.InstanceId,
      IPAddress: front.addressOf(instance!.InstanceId!),
      AccessKey: ACCESS_KEY,
      SecretKey: '',
      SSHUser: 'root',
    });
    expect(String(config.Driver.SecretKeyRef)).toMatch(/^moor-keychain:amazonec2-ec2-it-1-[0-9a-f]{8}$/);
    const configText = readFileSync(path.join(store.dir, 'machines', name, 'config.json'), 'utf8');
    expect(configText).not.toContain(SECRET_KEY);
    expect(instance?.MetadataOptions).toMatchObject({ HttpTokens: 'required' });
    // The shared cloud flags, as EC2 shows them, and the user-data on the host.
    const attribute = await ec2.send(
      new DescribeInstanceAttributeCommand({ InstanceId: instance!.InstanceId!, Attribute: 'userData' }),
    );
    expect(Buffer.from(attribute.UserData?.Value ?? '', 'base64').toString('utf8')).toBe(
      readFileSync(userData, 'utf8'),
    );
    expect(instance?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'team', Value: 'infra' },
        { Key: 'env', Value: 'it' },
      ]),
    );
    const volumes = await ec2.send(
      new DescribeVolumesCommand({
        Filters: [{ Name: 'attachment.instance-id', Values: [instance!.InstanceId!] }],
      }),
    );
    expect(volumes.Volumes?.map((v) => v.Size)).toEqual([20]);
    const onHost = await moor(['ssh', name, 'cat', USER_DATA_PATH]);
    expect(onHost.code, onHost.stderr).toBe(0);
    expect(onHost.stdout).toBe(readFileSync(userData, 'utf8'));
    const groups = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
    const group = groups.find((g) => g.GroupName === 'docker-machine');
    expect((group?.IpPermissions ?? []).map((p) => p.FromPort).sort()).toEqual([22, 2376, 8080]);

    const first = await dockerThroughEnv(name);
    expect(first.stderr).toBe('');
    expect(first.stdout.trim()).toMatch(/^\d+\.\d+/);
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

    // From here the credentials come from config.json and the keychain only.
    const stopped = await moor(['stop', name]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect((await moor(['status', name])).stdout.trim()).toBe('Stopped');
    const started = await moor(['start', name]);
    expect(started.code, started.stderr).toBe(0);
    expect((await moor(['status', name])).stdout.trim()).toBe('Running');
    const restarted = await moor(['restart', name]);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect((await dockerThroughEnv(name)).code).toBe(0);
    const killed = await moor(['kill', name]);
    expect(killed.code, killed.stderr).toBe(0);
    expect((await moor(['status', name])).stdout.trim()).toBe('Stopped');

    const removed = await moor(['rm', '-y', name]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`Successfully removed ${name}`);
    await expectNoLeaks(name);
  });

  it('kill -9 of the CLI once the instance exists: the next `moor ls` terminates it and deletes key pair and group', async () => {
    const name = 'ec2-it-killed';
    front.requests.length = 0;
    const child = spawnMoor(createArgs(name, ['--amazonec2-security-group', 'moor-killed-group']), {
      env: env(credentials),
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 60_000;
    try {
      while (!front.requests.some((r) => r.action === 'RunInstances' && r.status === 200)) {
        if (Date.now() > deadline) throw new Error('create never launched the instance');
        if (child.exitCode !== null) throw new Error(`create exited (${child.exitCode}) before launching`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    expect(await liveInstances()).toHaveLength(1);
    const ls = await moor(['ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout, ls.stderr).not.toContain(name);
    expect(ls.stderr).toMatch(
      new RegExp(`Removed "${name}": its create was interrupted; deleted instance i-[0-9a-f]+`),
    );
    expect(ls.stderr).toContain(`deleted key-pair ${name}-`);
    expect(ls.stderr).toMatch(/deleted security-group sg-/);
    const groups = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
    expect(groups.map((g) => g.GroupName)).not.toContain('moor-killed-group');
    await expectNoLeaks(name);
  });
});
