import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateSecurityGroupCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  EC2Client,
  type Instance,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ProgressEvent, progressReporter } from '../../main/base/progress.js';
import { CreateJournal, readJournal } from '../../main/core/create-journal.js';
import amazonec2 from '../../main/drivers/amazonec2/index.js';
import type { DriverContext, FlagValues } from '../../main/drivers/types.js';
import { baseDriverConfig } from '../../main/store/config.js';
import { type Ec2Front, startEc2Emulator } from '../emulators/ec2/front.js';

// The amazonec2 driver against moto_server through the EC2 front, without hosts: API behaviour.
let front: Ec2Front;
let dir: string;
let events: ProgressEvent[];
let ec2: EC2Client;

beforeAll(async () => {
  front = await startEc2Emulator('fake');
  ec2 = new EC2Client({
    region: 'us-east-1',
    endpoint: front.moto.url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}, 60_000);
afterAll(async () => {
  await front?.close();
  await front?.moto.stop();
});
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-ec2-driver-'));
  events = [];
  front.clearFaults();
  front.requests.length = 0;
  await front.moto.reset();
});

function context(name: string, env: NodeJS.ProcessEnv = {}): DriverContext {
  return {
    storePath: dir,
    machineDir: path.join(dir, 'machines', name),
    progress: progressReporter(name, (e) => events.push(e)),
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      MOOR_SECRET_STORE: 'plain',
      MOOR_AMAZONEC2_POLL_MS: '20',
      ...env,
    },
  };
}

const AMI = 'ami-785db401'; // one of moto's images

async function open(name: string, values: FlagValues = {}, env: NodeJS.ProcessEnv = {}) {
  const ctx = context(name, env);
  await fs.mkdir(ctx.machineDir, { recursive: true });
  ctx.journal = await CreateJournal.begin(ctx.machineDir);
  const defaults = Object.fromEntries(amazonec2.flags.map((f) => [f.name, f.default]));
  const config = await amazonec2.configFromFlags(
    {
      ...defaults,
      'amazonec2-access-key': 'AKIDTEST',
      'amazonec2-secret-key': 'secret-test',
      'amazonec2-endpoint': front.url,
      'amazonec2-ami': AMI,
      'amazonec2-retries': 0,
      ...values,
    },
    baseDriverConfig(name, dir),
    ctx,
  );
  return { ctx, config: config as Record<string, unknown>, driver: amazonec2.open(config, ctx) };
}

async function instances(): Promise<Instance[]> {
  const res = await ec2.send(new DescribeInstancesCommand({}));
  return (res.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}
const live = async () => (await instances()).filter((i) => i.State?.Name !== 'terminated');
const keyPairs = async () => (await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? [];
const groups = async () =>
  ((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []).filter(
    (g) => g.GroupName !== 'default',
  );

// moto answers in tens of ms, but a create with power actions is a few dozen calls: allow a loaded machine.
describe('amazonec2 driver (moto, no hosts)', { timeout: 90_000 }, () => {
  it("declares docker-machine's flags and env vars", () => {
    const byName = Object.fromEntries(amazonec2.flags.map((f) => [f.name, f]));
    expect(byName['amazonec2-access-key']).toMatchObject({ envVar: 'AWS_ACCESS_KEY_ID', secret: true });
    expect(byName['amazonec2-secret-key']).toMatchObject({ envVar: 'AWS_SECRET_ACCESS_KEY', secret: true });
    expect(byName['amazonec2-region']).toMatchObject({ envVar: 'AWS_DEFAULT_REGION', default: 'us-east-1' });
    expect(byName['amazonec2-endpoint']).toMatchObject({ envVar: 'AWS_ENDPOINT' });
    expect(byName['amazonec2-security-group']).toMatchObject({
      type: 'string[]',
      default: ['docker-machine'],
    });
    expect(byName['amazonec2-retries']).toMatchObject({ type: 'int', default: 5 });
    for (const name of [
      'session-token',
      'zone',
      'ami',
      'instance-type',
      'root-size',
      'volume-type',
      'vpc-id',
      'subnet-id',
      'open-port',
      'tags',
      'keypair-name',
      'ssh-keypath',
      'ssh-user',
      'request-spot-instance',
      'spot-price',
      'private-address-only',
      'use-private-address',
      'iam-instance-profile',
      'monitoring',
      'use-ebs-optimized-instance',
      'userdata',
    ]) {
      expect(byName[`amazonec2-${name}`], name).toBeDefined();
    }
  });

  it('refuses bad flags with a clear error, before anything exists', async () => {
    await expect(open('bad', { 'amazonec2-tags': 'a,b,c' })).rejects.toThrow(/must be key,value pairs/);
    await expect(open('bad', { 'amazonec2-open-port': ['http'] })).rejects.toThrow(/is not a port/);
    await expect(open('bad', { 'amazonec2-keypair-name': 'k' })).rejects.toThrow(
      /requires --amazonec2-ssh-keypath/,
    );
    await expect(open('bad', { 'amazonec2-access-key': '', 'amazonec2-secret-key': '' })).rejects.toThrow(
      /requires AWS credentials/,
    );
    expect(front.requests).toEqual([]);
  });

  it('creates key pair, security group (22, 2376, open ports) and an IMDSv2 instance; power actions; rm', async () => {
    const { driver, config, ctx } = await open('web', {
      'amazonec2-open-port': ['8080', '53/udp'],
      'amazonec2-tags': 'team,infra,env,test',
      'amazonec2-root-size': 30,
    });
    await driver.preCreateCheck();
    expect(config.VpcId).toMatch(/^vpc-/); // the default VPC
    expect(config.SubnetId).toMatch(/^subnet-/);
    await driver.create();
    const createId = ctx.journal!.createId;

    const [instance] = await live();
    expect(instance).toMatchObject({
      InstanceId: config.InstanceId,
      ImageId: AMI,
      KeyName: `web-${createId}`,
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
    });
    expect(instance!.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'Name', Value: 'web' },
        { Key: 'team', Value: 'infra' },
        { Key: 'env', Value: 'test' },
        { Key: 'moor-create', Value: createId },
      ]),
    );
    const run = front.requests.find((r) => r.action === 'RunInstances')!;
    expect(run.params.get('ClientToken')).toBe(createId);
    expect(run.params.get('BlockDeviceMapping.1.Ebs.VolumeSize')).toBe('30');
    expect(config.IPAddress).toBe(front.addressOf(String(config.InstanceId))); // the front's address, not moto's

    const [group] = await groups();
    expect(group?.GroupName).toBe('docker-machine');
    expect(config.SecurityGroupIds).toEqual([group?.GroupId]);
    const ports = (group?.IpPermissions ?? []).map((p) => `${p.FromPort}/${p.IpProtocol}`).sort();
    expect(ports).toEqual(['22/tcp', '2376/tcp', '53/udp', '8080/tcp']);
    expect((await keyPairs()).map((k) => k.KeyName)).toEqual([`web-${createId}`]);

    expect(await driver.state()).toBe('Running');
    await driver.stop();
    expect(await driver.state()).toBe('Stopped');
    await driver.start();
    expect(await driver.state()).toBe('Running');
    await driver.restart();
    await driver.kill();
    expect(await driver.state()).toBe('Stopped');
    await driver.remove();
    expect(await live()).toEqual([]);
    expect(await keyPairs()).toEqual([]);
    expect(await groups()).toHaveLength(1); // shared by name, as docker-machine leaves it
  });

  it('shared cloud flags: user-data, tags and root size as EC2 shows them', async () => {
    const inline = '#!/bin/sh\necho provisioned > /etc/moor-ec2\n';
    const { driver, config } = await open('shared', {
      'amazonec2-userdata': inline,
      'amazonec2-tags': 'team,infra,cost-centre,',
      'amazonec2-root-size': 24,
    });
    expect(config).toMatchObject({ UserDataFile: '', UserData: inline, RootSize: 24 });
    await driver.preCreateCheck();
    await driver.create();
    const id = String(config.InstanceId);
    const attribute = await ec2.send(
      new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' }),
    );
    expect(Buffer.from(attribute.UserData?.Value ?? '', 'base64').toString('utf8')).toBe(inline);
    const [instance] = await live();
    expect(instance!.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'team', Value: 'infra' },
        { Key: 'cost-centre', Value: '' },
      ]),
    );
    const volumes = await ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }),
    );
    expect(volumes.Volumes?.map((v) => v.Size)).toEqual([24]);
    expect(volumes.Volumes?.[0]?.Tags).toEqual(expect.arrayContaining([{ Key: 'team', Value: 'infra' }]));
    await driver.remove();
    expect(await live()).toEqual([]);
  });

  it.each([
    [
      { 'amazonec2-tags': 'aws:owner,me' },
      '--amazonec2-tags: "aws:owner": keys starting with "aws:" are AWS\'s own',
    ],
    [{ 'amazonec2-tags': 'Name,other' }, '--amazonec2-tags: "Name" is set by Moor itself'],
    [{ 'amazonec2-tags': 'a,1,a,2' }, '--amazonec2-tags: the key "a" is given twice'],
    [{ 'amazonec2-tags': `${'k'.repeat(129)},v` }, 'is longer than 128 characters'],
    [{ 'amazonec2-tags': `k,${'v'.repeat(257)}` }, 'the value of "k" is longer than 256 characters'],
    [
      { 'amazonec2-tags': Array.from({ length: 49 }, (_, i) => `k${i},v`).join(',') },
      '--amazonec2-tags has 49 tags; at most 48',
    ],
    [{ 'amazonec2-root-size': 0 }, "--amazonec2-root-size: 0 GB is outside Amazon EC2's 1–16384 GB"],
    [{ 'amazonec2-root-size': 20000 }, "--amazonec2-root-size: 20000 GB is outside Amazon EC2's 1–16384 GB"],
    [
      { 'amazonec2-userdata': '/nonexistent/ud.sh' },
      '--amazonec2-userdata: the user-data file /nonexistent/ud.sh could not be read',
    ],
    [
      { 'amazonec2-userdata': `#!/bin/sh\n${'x'.repeat(16 * 1024)}` },
      'Amazon EC2 takes at most 16 KiB of user-data',
    ],
  ])('refuses %o before any API call', async (values, message) => {
    await expect(open('bad', values as FlagValues)).rejects.toThrow(message);
    expect(front.requests).toEqual([]);
  });

  it('the front refuses user-data over 16 KiB as EC2 does (moto does not)', async () => {
    const res = await ec2
      .send(
        new RunInstancesCommand({
          ImageId: AMI,
          MinCount: 1,
          MaxCount: 1,
          UserData: Buffer.alloc(16 * 1024 + 1, 'a').toString('base64'),
        }),
        {},
      )
      .catch((e: Error) => e);
    // Sent to moto directly (the test's client): moto takes it; through the front it is refused.
    expect(res).not.toBeInstanceOf(Error);
    const viaFront = new EC2Client({
      region: 'us-east-1',
      endpoint: front.url,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    });
    await expect(
      viaFront.send(
        new RunInstancesCommand({
          ImageId: AMI,
          MinCount: 1,
          MaxCount: 1,
          UserData: Buffer.alloc(16 * 1024 + 1, 'a').toString('base64'),
        }),
      ),
    ).rejects.toThrow('User data is limited to 16384 bytes');
  });

  it('an existing security group is used as it is and never rolled back', async () => {
    const { driver, ctx } = await open('g');
    await driver.preCreateCheck();
    const existing = await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: 'docker-machine', Description: 'x' }),
    );
    await driver.create();
    const outcomes = await driver.cleanUpCreate!((await readJournal(ctx.machineDir))!);
    expect(outcomes.map((o) => [o.entry.kind, o.result])).toEqual([
      ['instance', 'deleted'],
      ['key-pair', 'deleted'],
    ]);
    expect((await groups()).map((g) => g.GroupId)).toEqual([existing.GroupId]);
  });

  it('a RunInstances answer lost after EC2 launched: adopts only the instance with this create’s tag', async () => {
    // Another client's instance with the same Name, launched just before.
    const other = await ec2.send(
      new RunInstancesCommand({
        ImageId: AMI,
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'adopt' }] }],
      }),
    );
    const otherId = other.Instances![0]!.InstanceId!;
    front.injectFault({ action: 'RunInstances', status: 500, afterCommit: true });
    const { driver, ctx, config } = await open('adopt');
    await driver.preCreateCheck();
    await driver.create();
    expect(config.InstanceId).not.toBe(otherId);
    expect(events.some((e) => /was launched: using it/.test(e.message))).toBe(true);
    const outcomes = await driver.cleanUpCreate!((await readJournal(ctx.machineDir))!);
    expect(outcomes.map((o) => [o.entry.kind, o.result])).toEqual([
      ['instance', 'deleted'],
      ['key-pair', 'deleted'],
      ['security-group', 'deleted'],
    ]);
    expect((await live()).map((i) => i.InstanceId)).toEqual([otherId]);
    expect(await groups()).toEqual([]);
  });

  it('a RunInstances that failed before launching: nothing adopted, the foreign instance untouched', async () => {
    const other = await ec2.send(
      new RunInstancesCommand({
        ImageId: AMI,
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'lost' }] }],
      }),
    );
    front.injectFault({ action: 'RunInstances', status: 503, code: 'Unavailable' });
    const { driver, ctx } = await open('lost');
    await driver.preCreateCheck();
    await expect(driver.create()).rejects.toThrow();
    const outcomes = await driver.cleanUpCreate!((await readJournal(ctx.machineDir))!);
    expect(outcomes.map((o) => [o.entry.kind, o.result])).toEqual([
      ['instance', 'already gone'],
      ['key-pair', 'deleted'],
      ['security-group', 'deleted'],
    ]);
    expect((await live()).map((i) => i.InstanceId)).toEqual([other.Instances![0]!.InstanceId]);
  });

  it('credentials from ~/.aws/credentials (AWS_PROFILE), none in config.json', async () => {
    await fs.mkdir(path.join(dir, '.aws'), { recursive: true });
    await fs.writeFile(
      path.join(dir, '.aws', 'credentials'),
      '[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = nope\n[ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = s3cret\n',
    );
    const { driver, config } = await open(
      'prof',
      { 'amazonec2-access-key': '', 'amazonec2-secret-key': '' },
      { AWS_PROFILE: 'ci' },
    );
    expect(config).toMatchObject({ AccessKey: '', SecretKey: '' });
    await driver.preCreateCheck();
    expect(front.requests.length).toBeGreaterThan(0);
    expect(new Set(front.requests.map((r) => r.accessKey))).toEqual(new Set(['AKIDCI'])); // the profile's key
    await expect(
      open('prof2', { 'amazonec2-access-key': '', 'amazonec2-secret-key': '' }, { AWS_PROFILE: 'nope' }),
    ).rejects.toThrow(/profile "nope"/);
  });

  it('an unknown IAM instance profile: EC2 refuses the launch, the rollback deletes key pair and group', async () => {
    const { driver, ctx } = await open('iam', { 'amazonec2-iam-instance-profile': 'docker-role' });
    await driver.preCreateCheck();
    await expect(driver.create()).rejects.toThrow(/Instance profile docker-role not found/);
    expect(
      front.requests.find((r) => r.action === 'RunInstances')?.params.get('IamInstanceProfile.Name'),
    ).toBe('docker-role');
    const outcomes = await driver.cleanUpCreate!((await readJournal(ctx.machineDir))!);
    // A 4xx means nothing was launched: the journal dropped the instance, nothing to look for.
    expect(outcomes.map((o) => [o.entry.kind, o.result])).toEqual([
      ['key-pair', 'deleted'],
      ['security-group', 'deleted'],
    ]);
    expect(await live()).toEqual([]);
  });

  it('spot, private address only, user data, EBS optimised, monitoring reach RunInstances', async () => {
    const userData = path.join(dir, 'cloud-init.yaml');
    await fs.writeFile(userData, '#cloud-config\nruncmd: [true]\n');
    const { driver, config } = await open('opts', {
      'amazonec2-request-spot-instance': true,
      'amazonec2-spot-price': '0.07',
      'amazonec2-private-address-only': true,
      'amazonec2-userdata': userData,
      'amazonec2-use-ebs-optimized-instance': true,
      'amazonec2-monitoring': true,
      'amazonec2-security-group-readonly': true,
    });
    await driver.preCreateCheck();
    await driver.create();
    const p = front.requests.find((r) => r.action === 'RunInstances')!.params;
    expect(p.get('InstanceMarketOptions.MarketType')).toBe('spot');
    expect(p.get('InstanceMarketOptions.SpotOptions.MaxPrice')).toBe('0.07');
    expect(p.get('NetworkInterface.1.AssociatePublicIpAddress')).toBe('false');
    expect(Buffer.from(p.get('UserData') ?? '', 'base64').toString()).toBe('#cloud-config\nruncmd: [true]\n');
    expect(p.get('EbsOptimized')).toBe('true');
    expect(p.get('Monitoring.Enabled')).toBe('true');
    expect(config.IPAddress).toBe(front.addressOf(String(config.InstanceId))); // the private address
    expect(front.requests.some((r) => r.action === 'AuthorizeSecurityGroupIngress')).toBe(false); // read-only
    await driver.remove();
  });

  it('an existing key pair (--amazonec2-keypair-name + --amazonec2-ssh-keypath) is used and never deleted', async () => {
    const { generateRsaKeyPair } = await import('../../main/drivers/digitalocean/keys.js');
    const pair = await generateRsaKeyPair();
    const keyFile = path.join(dir, 'deploy');
    await fs.writeFile(keyFile, pair.privateKey, { mode: 0o600 });
    const { ImportKeyPairCommand } = await import('@aws-sdk/client-ec2');
    await ec2.send(
      new ImportKeyPairCommand({
        KeyName: 'deploy',
        PublicKeyMaterial: new TextEncoder().encode(pair.publicKey),
      }),
    );
    const { driver, ctx } = await open('own-key', {
      'amazonec2-keypair-name': 'deploy',
      'amazonec2-ssh-keypath': keyFile,
    });
    await driver.preCreateCheck();
    await driver.create();
    expect((await live())[0]?.KeyName).toBe('deploy');
    expect(await fs.readFile(path.join(ctx.machineDir, 'id_rsa'), 'utf8')).toBe(pair.privateKey);
    const outcomes = await driver.cleanUpCreate!((await readJournal(ctx.machineDir))!);
    expect(outcomes.map((o) => o.entry.kind)).toEqual(['instance', 'security-group']);
    expect((await keyPairs()).map((k) => k.KeyName)).toEqual(['deploy']);
    const missing = await open('no-key', {
      'amazonec2-keypair-name': 'nope',
      'amazonec2-ssh-keypath': keyFile,
    });
    await expect(missing.driver.preCreateCheck()).rejects.toThrow(/There is no key pair named "nope"/);
  });

  it('maps EC2 states as docker-machine does', async () => {
    const { mapInstanceState } = await import('../../main/drivers/amazonec2/driver.js');
    expect(
      ['pending', 'running', 'stopping', 'shutting-down', 'stopped', 'terminated', 'x'].map(mapInstanceState),
    ).toEqual(['Starting', 'Running', 'Stopping', 'Stopping', 'Stopped', 'Error', '']);
  });
});
