import type { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  ImportKeyPairCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../main/drivers/digitalocean/keys.js';
import { type Ec2Fault, type Ec2Front, startEc2Emulator } from '../emulators/ec2/front.js';
import { runMoor, spawnMoor } from '../harness/moor-cli.js';
import { prng } from '../harness/prng.js';

// The create journal's fault suite for amazonec2: the real `moor create -d amazonec2` against
// moto_server through the front (no hosts: SSH never answers, so a create that is not killed
// rolls back), SIGKILLed at every EC2 call before and after moto handled it, then under seeded
// random fault schedules. After each run the next `moor ls` / `moor rm` must leave no instance,
// key pair or security group of Moor's, touch none of another client's (an instance named
// like the machine, a key pair named exactly like it, a group), and report only what it did.

const NAME = 'web';
const AMI = 'ami-785db401';
let front: Ec2Front;
let ec2: EC2Client;
let work: string;
let certs: string;
let foreign: { instanceId: string; keyName: string; groupId: string };
let killAt: { index: number; phase: 'before' | 'after' } | null = null;
let child: ChildProcess | null = null;
let stepIndex = 0;

function env(root: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: root,
    DOCKER_CONFIG: process.env.DOCKER_CONFIG,
    MACHINE_STORAGE_PATH: root,
    AWS_ACCESS_KEY_ID: 'AKIDFAULTS',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_ENDPOINT: front.url,
    MOOR_SECRET_STORE: 'plain',
    MOOR_SSH_WAIT_SECONDS: '1',
    MOOR_AMAZONEC2_POLL_MS: '20',
    MOOR_AMAZONEC2_WAIT_SECONDS: '5',
  };
}

beforeAll(async () => {
  front = await startEc2Emulator('fake');
  front.onRequest = async (_req, phase) => {
    const index = phase === 'before' ? stepIndex++ : stepIndex - 1;
    if (!killAt || !child || killAt.index !== index || killAt.phase !== phase) return undefined;
    const victim = child;
    killAt = null;
    await new Promise<void>((resolve) => {
      if (victim.exitCode !== null || victim.signalCode !== null) return resolve();
      victim.once('exit', () => resolve());
      victim.kill('SIGKILL');
    });
    return 'drop';
  };
  ec2 = new EC2Client({
    region: 'us-east-1',
    endpoint: front.moto.url,
    credentials: { accessKeyId: 'other', secretAccessKey: 'other' },
  });
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-ec2-faults-'));
  certs = path.join(work, 'certs-store');
  const { bootstrapCertificates } = await import('../../main/certs/index.js');
  const c = path.join(certs, 'certs');
  await bootstrapCertificates({
    caCert: path.join(c, 'ca.pem'),
    caKey: path.join(c, 'ca-key.pem'),
    clientCert: path.join(c, 'cert.pem'),
    clientKey: path.join(c, 'key.pem'),
  });
  // Another client's resources, named as docker-machine would name the machine's.
  await ec2.send(
    new ImportKeyPairCommand({
      KeyName: NAME,
      PublicKeyMaterial: new TextEncoder().encode((await generateRsaKeyPair()).publicKey),
    }),
  );
  const group = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: 'their-group', Description: 'x' }),
  );
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: AMI,
      MinCount: 1,
      MaxCount: 1,
      KeyName: NAME,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: NAME }] }],
    }),
  );
  foreign = { instanceId: run.Instances![0]!.InstanceId!, keyName: NAME, groupId: group.GroupId! };
}, 60_000);

afterAll(async () => {
  await front?.close();
  await front?.moto.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

async function newStore(run: string): Promise<string> {
  const root = path.join(work, run);
  await fs.cp(certs, root, { recursive: true });
  return root;
}

async function createRun(root: string, kill: { index: number; phase: 'before' | 'after' } | null) {
  stepIndex = 0;
  killAt = kill;
  const proc = spawnMoor(
    [
      'create',
      '-d',
      'amazonec2',
      '--amazonec2-ami',
      AMI,
      '--amazonec2-retries',
      '1',
      '--engine-install-url',
      'distro',
      NAME,
    ],
    { env: env(root), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child = proc;
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('close', (code, signal) => resolve({ code, signal })),
  );
  child = null;
  killAt = null;
  return { ...result, steps: stepIndex };
}

async function ours() {
  const instances = ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [])
    .flatMap((r) => r.Instances ?? [])
    .filter((i) => !['terminated', 'shutting-down'].includes(i.State?.Name ?? ''))
    .map((i) => i.InstanceId)
    .filter((id) => id !== foreign.instanceId);
  const keys = ((await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? [])
    .map((k) => k.KeyName)
    .filter((k) => k !== foreign.keyName);
  const groups = ((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [])
    .filter((g) => g.GroupName !== 'default' && g.GroupId !== foreign.groupId)
    .map((g) => g.GroupName);
  return { instances, keys, groups };
}

/** Every "deleted X" line matches a call moto answered 200 (never a guess). */
function expectOnlyVerifiedDeletions(output: string, since: number) {
  const done = front.requests.slice(since).filter((r) => r.status === 200);
  const did = (action: string, key: string, value: string) =>
    done.some((r) => r.action === action && [...r.params].some(([k, v]) => k.startsWith(key) && v === value));
  for (const m of output.matchAll(/deleted (instance|key-pair|security-group) ([^;\n]+)/g)) {
    for (const id of m[2]!.split(',').map((x) => x.trim())) {
      const [action, key] =
        m[1] === 'instance'
          ? ['TerminateInstances', 'InstanceId']
          : m[1] === 'key-pair'
            ? ['DeleteKeyPair', 'KeyName']
            : ['DeleteSecurityGroup', 'GroupId'];
      expect(did(action!, key!, id), `"${m[0]}" was printed`).toBe(true);
    }
  }
}

async function expectForeignUntouched(since: number) {
  const touched = front.requests
    .slice(since)
    .filter(
      (r) =>
        (r.action === 'TerminateInstances' && [...r.params.values()].includes(foreign.instanceId)) ||
        (r.action === 'DeleteKeyPair' && r.params.get('KeyName') === foreign.keyName) ||
        (r.action === 'DeleteSecurityGroup' && r.params.get('GroupId') === foreign.groupId),
    );
  expect(touched.map((r) => r.action)).toEqual([]);
}

async function recover(root: string, via: 'ls' | 'rm', since: number) {
  const args = via === 'ls' ? ['ls', '-q'] : ['rm', '-f', '-y', NAME];
  let output = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await runMoor(args, { env: env(root) });
    output += r.stderr + r.stdout;
    const left = await fs
      .access(path.join(root, 'machines', NAME))
      .then(() => true)
      .catch(() => false);
    if (!left) break;
    front.clearFaults();
  }
  expectOnlyVerifiedDeletions(output, since);
  await expectForeignUntouched(since);
  expect(await ours()).toEqual({ instances: [], keys: [], groups: [] });
  expect(await fs.readdir(path.join(root, 'machines')).catch(() => [])).toEqual([]);
  return output;
}

describe('amazonec2 create journal fault suite (real moor processes, moto without hosts)', () => {
  let steps = 0;
  let baselineActions: string[] = [];

  it('a create that runs to its end (SSH never answers) rolls back completely', async () => {
    const root = await newStore('baseline');
    const since = front.requests.length;
    const run = await createRun(root, null);
    expect(run.code).not.toBe(0);
    steps = run.steps;
    baselineActions = front.requests.slice(since, since + steps).map((r) => r.action);
    expect(steps).toBeGreaterThanOrEqual(8);
    await recover(root, 'ls', since);
  }, 60_000);

  it('kill -9 at every EC2 call, before and after moto handled it: nothing leaks, nothing foreign touched', async () => {
    const summary: string[] = [];
    for (let index = 0; index < steps; index++) {
      // A read changes nothing: killing after it is the same as killing before the next call.
      const read = /^Describe/.test(baselineActions[index] ?? '');
      for (const phase of read ? (['before'] as const) : (['before', 'after'] as const)) {
        const root = await newStore(`kill-${index}-${phase}`);
        const since = front.requests.length;
        const run = await createRun(root, { index, phase });
        // Polls vary in number: a create that needed fewer steps this time ran to its end instead.
        if (run.signal !== 'SIGKILL')
          expect(run.steps, `not killed at ${index} ${phase}`).toBeLessThanOrEqual(index);
        const action = front.requests[since + index]?.action;
        const output = await recover(root, index % 3 === 2 ? 'rm' : 'ls', since);
        summary.push(`${index} ${phase} ${action}: ${output.trim().split('\n')[0] ?? ''}`);
      }
    }
    console.log(summary.join('\n'));
  }, 600_000);

  it('the secret key and session token never appear in -D output, on create or on the cleanup', async () => {
    const root = await newStore('debug');
    const secrets = { AWS_SECRET_ACCESS_KEY: 'Sec/ret+Key-7f3a91', AWS_SESSION_TOKEN: 'Sess1onT0ken-c0ffee' };
    const created = await runMoor(
      ['-D', 'create', '-d', 'amazonec2', '--amazonec2-ami', AMI, '--engine-install-url', 'distro', NAME],
      { env: { ...env(root), ...secrets } },
    );
    expect(created.code).not.toBe(0); // no host behind the instance: rolled back
    const ls = await runMoor(['-D', 'ls'], { env: env(root) });
    for (const text of [created.stdout, created.stderr, ls.stdout, ls.stderr]) {
      expect(text).not.toContain(secrets.AWS_SECRET_ACCESS_KEY);
      expect(text).not.toContain(secrets.AWS_SESSION_TOKEN);
    }
    expect(await ours()).toEqual({ instances: [], keys: [], groups: [] });
  }, 60_000);

  const seed = Number(process.env.MOOR_FAULT_SEED ?? 20261204);
  it(`random fault schedules with a kill at a random step (seed ${seed}, 12 runs)`, async () => {
    const random = prng(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const actions = [
      'ImportKeyPair',
      'CreateSecurityGroup',
      'RunInstances',
      'DescribeInstances',
      'TerminateInstances',
    ];
    const kinds: Array<Partial<Ec2Fault>> = [
      { status: 500 },
      { status: 503, code: 'Unavailable', times: 3 },
      { status: 500, afterCommit: true },
      { drop: true },
      { drop: true, afterCommit: true },
    ];
    for (let run = 0; run < 12; run++) {
      front.clearFaults();
      for (let i = 0; i < 1 + Math.floor(random() * 2); i++)
        front.injectFault({ action: pick(actions), ...pick(kinds) });
      const kill =
        random() < 0.7
          ? { index: Math.floor(random() * (steps + 2)), phase: pick(['before', 'after'] as const) }
          : null;
      const root = await newStore(`random-${run}`);
      const since = front.requests.length;
      await createRun(root, kill);
      front.clearFaults();
      await recover(root, random() < 0.7 ? 'ls' : 'rm', since);
    }
  }, 600_000);
});
