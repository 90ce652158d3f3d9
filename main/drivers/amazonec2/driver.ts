import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteKeyPairCommand,
  DeleteSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  ImportKeyPairCommand,
  type Instance,
  type IpPermission,
  RebootInstancesCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  type SecurityGroup,
  StartInstancesCommand,
  StopInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { errorMessage, HostNotRunningError, MoorError } from '../../base/errors.js';
import { sleep } from '../../base/sleep.js';
import type { MachineState } from '../../base/state.js';
import { commitSecret, deleteSecret, plainTextWarning, readSecret } from '../../secrets/index.js';
import { loadUserData } from '../cloud-flags.js';
// The same key format docker-machine generates for every cloud (RSA 2048, PKCS#1).
import { generateRsaKeyPair } from '../digitalocean/keys.js';
import { machineSshTarget, recordedAddress } from '../machine-ssh.js';
import type {
  CleanupOutcome,
  Driver,
  DriverContext,
  JournalEntry,
  JournalRecord,
  SshTarget,
} from '../types.js';
import { awsCode, credentialProvider, ec2Client, isNotFound, mayHaveCommitted } from './api.js';
import {
  type AmazonEc2Config,
  CANONICAL_OWNER,
  DEFAULT_AMI_NAME,
  ENGINE_PORT,
  parseOpenPort,
  parseTags,
} from './config.js';

/** The tag key every resource of a create carries; its value is the create's id. */
export const CREATE_TAG_KEY = 'moor-create';
/** How journal entries name that tag (shown as "instance with tag:moor-create <id>"). */
const TAG_FIND = `tag:${CREATE_TAG_KEY}`;

/** Knobs for tests and slow accounts (environment). */
export function timings(env: Record<string, string | undefined>) {
  const num = (name: string, fallback: number) => {
    const v = Number(env[name]);
    return env[name] && Number.isFinite(v) && v >= 0 ? v : fallback;
  };
  return {
    waitMs: num('MOOR_AMAZONEC2_WAIT_SECONDS', 600) * 1000,
    pollMs: num('MOOR_AMAZONEC2_POLL_MS', 2000),
  };
}

const STATES: Record<string, MachineState> = {
  pending: 'Starting',
  running: 'Running',
  stopping: 'Stopping',
  'shutting-down': 'Stopping',
  stopped: 'Stopped',
  terminated: 'Error',
};

export function mapInstanceState(name: string | undefined): MachineState {
  return STATES[name ?? ''] ?? '';
}

/** Warned about when the create is really under way (see DigitalOcean's deferredPlainTextWarnings). */
export const deferredPlainTextWarnings = new WeakMap<DriverContext, string>();

export class AmazonEc2Driver implements Driver {
  private readonly t: ReturnType<typeof timings>;
  private client?: EC2Client;

  constructor(
    readonly config: AmazonEc2Config,
    private readonly ctx: DriverContext,
  ) {
    this.t = timings(ctx.env);
  }

  private get name(): string {
    return this.config.MachineName;
  }

  /** The secret key and session token: config.json, else the keychain item (JSON of both). */
  private async secrets(): Promise<{ secretKey: string; sessionToken: string }> {
    const c = this.config;
    if (!c.SecretKeyRef) return { secretKey: c.SecretKey, sessionToken: c.SessionToken };
    try {
      const text = await readSecret(c.SecretKeyRef, { env: this.ctx.env, injected: this.ctx.secrets });
      const parsed = JSON.parse(text) as { SecretKey?: string; SessionToken?: string };
      return { secretKey: parsed.SecretKey ?? '', sessionToken: parsed.SessionToken ?? '' };
    } catch (err) {
      throw new MoorError(
        `no AWS secret key for machine "${this.name}": the keychain item ${c.SecretKeyRef} could not be read (${errorMessage(err)})`,
      );
    }
  }

  private async ec2(): Promise<EC2Client> {
    if (this.client) return this.client;
    const c = this.config;
    const { secretKey, sessionToken } = c.AccessKey
      ? await this.secrets()
      : { secretKey: '', sessionToken: '' };
    this.client = ec2Client({
      region: c.Region,
      endpoint: c.Endpoint,
      disableSsl: c.DisableSSL,
      retries: c.RetryCount,
      credentials: credentialProvider({ accessKey: c.AccessKey, secretKey, sessionToken, env: this.ctx.env }),
    });
    return this.client;
  }

  /** One EC2 call; `cancellable: false` for cleanup and for creates (their answer must be read). */
  private async send<T>(command: unknown, cancellable = true): Promise<T> {
    const client = await this.ec2();
    const signal = cancellable ? this.ctx.signal : undefined;
    signal?.throwIfAborted();
    // biome-ignore lint/suspicious/noExplicitAny: one generic path for every command
    return (await client.send(command as any, signal ? { abortSignal: signal } : {})) as T;
  }

  private async checkpoint(): Promise<void> {
    await this.ctx.checkpoint?.();
  }

  private createTags(): Tag[] {
    return this.ctx.journal ? [{ Key: CREATE_TAG_KEY, Value: this.ctx.journal.createId }] : [];
  }

  async preCreateCheck(): Promise<void> {
    const c = this.config;
    await loadUserData('amazonec2', c);
    if (c.ExistingKey) {
      await fs.access(c.SSHPrivateKeyPath).catch(() => {
        throw new MoorError(`SSH key does not exist: "${c.SSHPrivateKeyPath}"`);
      });
      try {
        await this.send(new DescribeKeyPairsCommand({ KeyNames: [c.KeyName] }));
      } catch (err) {
        if (isNotFound(err)) throw new MoorError(`There is no key pair named "${c.KeyName}" in ${c.Region}`);
        throw err;
      }
    }
    if (!c.VpcId && !c.SubnetId) {
      const vpcs = await this.send<{ Vpcs?: Array<{ VpcId?: string }> }>(
        new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] }),
      );
      c.VpcId = vpcs.Vpcs?.[0]?.VpcId ?? '';
      if (!c.VpcId) {
        throw new MoorError(
          'amazonec2 driver requires either the --amazonec2-subnet-id or --amazonec2-vpc-id option or an AWS Account with a default vpc-id',
        );
      }
    }
    const zone = `${c.Region}${c.Zone}`;
    if (c.SubnetId) {
      const found = await this.send<{ Subnets?: Array<{ VpcId?: string }> }>(
        new DescribeSubnetsCommand({ Filters: [{ Name: 'subnet-id', Values: [c.SubnetId] }] }),
      );
      const subnet = found.Subnets?.[0];
      if (!subnet) {
        throw new MoorError(
          "The desired subnet could not be located in this region. Is '--amazonec2-subnet-id' or AWS_SUBNET_ID configured correctly?",
        );
      }
      if (c.VpcId && subnet.VpcId !== c.VpcId) {
        throw new MoorError(`SubnetId: ${c.SubnetId} does not belong to VpcId: ${c.VpcId}`);
      }
      c.VpcId ||= subnet.VpcId ?? '';
    } else {
      const found = await this.send<{ Subnets?: Array<{ SubnetId?: string; DefaultForAz?: boolean }> }>(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'availability-zone', Values: [zone] },
            { Name: 'vpc-id', Values: [c.VpcId] },
          ],
        }),
      );
      const subnets = found.Subnets ?? [];
      const subnet = subnets.find((s) => s.DefaultForAz) ?? subnets[0];
      if (!subnet?.SubnetId) throw new MoorError(`unable to find a subnet in the zone: ${zone}`);
      c.SubnetId = subnet.SubnetId;
    }
    if (!c.AMI) c.AMI = await this.currentUbuntuAmi();
  }

  /** Canonical's newest Ubuntu 24.04 LTS image in the region (what the default AMI means). */
  private async currentUbuntuAmi(): Promise<string> {
    const found = await this.send<{ Images?: Array<{ ImageId?: string; CreationDate?: string }> }>(
      new DescribeImagesCommand({
        Owners: [CANONICAL_OWNER],
        Filters: [
          { Name: 'name', Values: [DEFAULT_AMI_NAME] },
          { Name: 'state', Values: ['available'] },
          { Name: 'architecture', Values: ['x86_64'] },
        ],
      }),
    );
    const newest = (found.Images ?? [])
      .filter((i) => i.ImageId)
      .sort((a, b) => String(b.CreationDate).localeCompare(String(a.CreationDate)))[0];
    if (!newest?.ImageId) {
      throw new MoorError(
        `no Ubuntu 24.04 image of Canonical (${CANONICAL_OWNER}) found in ${this.config.Region}; name one with --amazonec2-ami`,
      );
    }
    return newest.ImageId;
  }

  /**
   * Key pair, security groups, instance — each journaled before its request (write-ahead) and
   * recorded in config.json once it exists, each tagged with this create's id.
   */
  async create(): Promise<void> {
    const c = this.config;
    const { progress, signal } = this.ctx;
    await this.storeSecret();
    const plainText = deferredPlainTextWarnings.get(this.ctx);
    if (plainText !== undefined) {
      deferredPlainTextWarnings.delete(this.ctx);
      progress.warn(plainTextWarning('The AWS secret key', plainText));
    }
    const userData = (await loadUserData('amazonec2', c)) ?? undefined;

    const machineKey = path.join(this.ctx.machineDir, 'id_rsa');
    if (c.ExistingKey) {
      progress.log('Using existing key pair...');
      await fs.copyFile(c.SSHPrivateKeyPath, machineKey);
      await fs.chmod(machineKey, 0o600);
      await fs.copyFile(`${c.SSHPrivateKeyPath}.pub`, `${machineKey}.pub`).catch(() => undefined);
      c.SSHKeyPath = machineKey;
    } else {
      progress.step('ssh-key', 'Creating key pair...');
      const pair = await generateRsaKeyPair();
      await fs.writeFile(machineKey, pair.privateKey, { mode: 0o600 });
      await fs.writeFile(`${machineKey}.pub`, pair.publicKey, { mode: 0o600 });
      c.SSHKeyPath = machineKey;
      signal?.throwIfAborted();
      await this.importKeyPair(pair.publicKey);
    }
    signal?.throwIfAborted();

    progress.step('security-group', 'Configuring security groups...');
    await this.configureSecurityGroups();
    signal?.throwIfAborted();

    progress.step('instance', 'Launching instance...');
    const instance = await this.runInstance(userData);
    c.InstanceId = instance.InstanceId ?? '';
    c.ReservationId = this.reservationId ?? c.ReservationId;
    await this.checkpoint();
    signal?.throwIfAborted();

    progress.step('wait-ip', 'Waiting for the instance to run with an IP address...');
    const running = await this.waitFor('running', (i) => Boolean(this.addressOf(i)));
    c.IPAddress = this.addressOf(running);
    c.PrivateIPAddress = running.PrivateIpAddress ?? '';
    await this.checkpoint();
    progress.log(`Created instance ${c.InstanceId} (${c.IPAddress})`);
  }

  private reservationId?: string;

  /**
   * ImportKeyPair, named `<machine>-<create id>`: unique to this create, so after an ambiguous
   * answer (or the SDK's own retry meeting a Duplicate) the key pair of that name is this one.
   */
  private async importKeyPair(publicKey: string): Promise<void> {
    const c = this.config;
    const journal = this.ctx.journal;
    c.KeyName = journal ? `${c.MachineName}-${journal.createId}` : c.MachineName;
    const entry = await journal?.intend('key-pair', { name: c.KeyName });
    let id: string | undefined;
    try {
      const res = await this.send<{ KeyPairId?: string }>(
        new ImportKeyPairCommand({
          KeyName: c.KeyName,
          PublicKeyMaterial: new TextEncoder().encode(publicKey),
          TagSpecifications: [{ ResourceType: 'key-pair', Tags: this.createTags() }],
        }),
        false,
      );
      id = res.KeyPairId;
    } catch (err) {
      if (!mayHaveCommitted(err) && awsCode(err) !== 'InvalidKeyPair.Duplicate') {
        if (entry) await journal?.refused(entry);
        throw err;
      }
      const found = await this.findKeyPair(c.KeyName).catch((lookupErr: unknown) => {
        throw new MoorError(
          `${errorMessage(err)}; checking whether key pair ${c.KeyName} was created anyway failed too (${errorMessage(lookupErr)})`,
        );
      });
      if (!found) throw err;
      this.ctx.progress.log(
        `The key pair import failed (${errorMessage(err)}) but ${c.KeyName} exists: using it`,
      );
      id = found;
    }
    if (entry) await journal?.created(entry, c.KeyName);
    this.config.SSHKeyID = 0;
    if (id) this.ctx.progress.log(`Imported key pair ${c.KeyName} (${id})`);
    await this.checkpoint();
  }

  /** The key pair's id, or null when there is none of that name. */
  private async findKeyPair(name: string): Promise<string | null> {
    try {
      const res = await this.send<{ KeyPairs?: Array<{ KeyPairId?: string }> }>(
        new DescribeKeyPairsCommand({ KeyNames: [name] }),
        false,
      );
      return res.KeyPairs?.[0] ? (res.KeyPairs[0].KeyPairId ?? name) : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * Each named group: an existing one (in the VPC) is used as it is and never deleted, as
   * docker-machine does; a missing one is created, tagged and journaled (rolled back with the
   * create). Then, unless read-only, SSH, the engine port, swarm's port for a master and the
   * --amazonec2-open-port ports are opened to 0.0.0.0/0 where they are not yet.
   */
  private async configureSecurityGroups(): Promise<void> {
    const c = this.config;
    const ids: string[] = [];
    for (const name of c.SecurityGroupNames) {
      let group = await this.findGroup({ name });
      if (!group) group = await this.createGroup(name);
      ids.push(group.GroupId!);
      if (!c.SecurityGroupReadOnly) await this.authorize(group);
    }
    c.SecurityGroupIds = ids;
    await this.checkpoint();
  }

  private async findGroup(by: { name?: string; tag?: string; id?: string }): Promise<SecurityGroup | null> {
    const c = this.config;
    const filters = [
      ...(c.VpcId ? [{ Name: 'vpc-id', Values: [c.VpcId] }] : []),
      ...(by.name ? [{ Name: 'group-name', Values: [by.name] }] : []),
      ...(by.tag ? [{ Name: `tag:${CREATE_TAG_KEY}`, Values: [by.tag] }] : []),
      ...(by.id ? [{ Name: 'group-id', Values: [by.id] }] : []),
    ];
    const res = await this.send<{ SecurityGroups?: SecurityGroup[] }>(
      new DescribeSecurityGroupsCommand({ Filters: filters }),
      false,
    );
    return res.SecurityGroups?.[0] ?? null;
  }

  private async createGroup(name: string): Promise<SecurityGroup> {
    const c = this.config;
    const journal = this.ctx.journal;
    const entry = await journal?.intend('security-group', {
      name,
      ...(journal ? { [TAG_FIND]: journal.createId } : {}),
    });
    this.ctx.progress.log(`Creating security group ${name} in ${c.VpcId}`);
    try {
      const res = await this.send<{ GroupId?: string }>(
        new CreateSecurityGroupCommand({
          GroupName: name,
          Description: 'Docker Machine',
          VpcId: c.VpcId || undefined,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: this.createTags() }],
        }),
        false,
      );
      if (entry) await journal?.created(entry, res.GroupId!);
      return { GroupId: res.GroupId, GroupName: name, IpPermissions: [] };
    } catch (err) {
      if (awsCode(err) === 'InvalidGroup.Duplicate' || mayHaveCommitted(err)) {
        // Ours if it carries this create's tag (a retried request); else another create's, shared.
        const mine = journal ? await this.findGroup({ name, tag: journal.createId }) : null;
        if (mine && entry) {
          await journal?.created(entry, mine.GroupId!);
          return mine;
        }
        const theirs = awsCode(err) === 'InvalidGroup.Duplicate' ? await this.findGroup({ name }) : null;
        if (theirs) {
          if (entry) await journal?.refused(entry);
          return theirs;
        }
        throw err;
      }
      if (entry) await journal?.refused(entry);
      throw err;
    }
  }

  private async authorize(group: SecurityGroup): Promise<void> {
    const c = this.config;
    const wanted: Array<{ protocol: string; port: number }> = [
      { protocol: 'tcp', port: c.SSHPort || 22 },
      { protocol: 'tcp', port: ENGINE_PORT },
      ...(c.SwarmMaster ? [{ protocol: 'tcp', port: 3376 }] : []),
      ...c.OpenPorts.map(parseOpenPort),
    ];
    const has = (p: { protocol: string; port: number }) =>
      (group.IpPermissions ?? []).some(
        (perm) => perm.IpProtocol === p.protocol && perm.FromPort === p.port && perm.ToPort === p.port,
      );
    const perms: IpPermission[] = wanted
      .filter(
        (p, i) => !has(p) && wanted.findIndex((q) => q.port === p.port && q.protocol === p.protocol) === i,
      )
      .map((p) => ({
        IpProtocol: p.protocol,
        FromPort: p.port,
        ToPort: p.port,
        IpRanges: [{ CidrIp: '0.0.0.0/0' }],
      }));
    if (perms.length === 0) return;
    try {
      await this.send(
        new AuthorizeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions: perms }),
      );
    } catch (err) {
      // Another create opened them meanwhile (or a retried request already did).
      if (awsCode(err) !== 'InvalidPermission.Duplicate') throw err;
    }
  }

  /**
   * RunInstances with this create's id as ClientToken: EC2 makes at most one instance for it, so
   * the SDK's retries are safe. IMDSv2 is required (no token-less metadata for the instance).
   * After an ambiguous final failure, only an instance tagged with this create's id is adopted.
   */
  private async runInstance(userData: Buffer | undefined): Promise<Instance> {
    const c = this.config;
    const journal = this.ctx.journal;
    const tags: Tag[] = [{ Key: 'Name', Value: c.MachineName }, ...parseTags(c.Tags), ...this.createTags()];
    const input: RunInstancesCommandInput = {
      ImageId: c.AMI,
      InstanceType: c.InstanceType as RunInstancesCommandInput['InstanceType'],
      MinCount: 1,
      MaxCount: 1,
      KeyName: c.KeyName,
      ...(journal ? { ClientToken: journal.createId } : {}),
      Placement: { AvailabilityZone: `${c.Region}${c.Zone}` },
      Monitoring: { Enabled: c.Monitoring },
      EbsOptimized: c.UseEbsOptimizedInstance,
      ...(c.IamInstanceProfile ? { IamInstanceProfile: { Name: c.IamInstanceProfile } } : {}),
      ...(userData ? { UserData: userData.toString('base64') } : {}),
      BlockDeviceMappings: [
        {
          DeviceName: c.DeviceName,
          Ebs: {
            VolumeSize: c.RootSize,
            VolumeType: c.VolumeType as 'gp3',
            DeleteOnTermination: true,
          },
        },
      ],
      NetworkInterfaces: [
        {
          DeviceIndex: 0,
          SubnetId: c.SubnetId,
          Groups: c.SecurityGroupIds,
          AssociatePublicIpAddress: !c.PrivateIPOnly,
        },
      ],
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
      ...(c.RequestSpotInstance
        ? {
            InstanceMarketOptions: {
              MarketType: 'spot',
              SpotOptions: {
                MaxPrice: c.SpotPrice,
                SpotInstanceType: 'one-time',
                ...(c.BlockDurationMinutes ? { BlockDurationMinutes: c.BlockDurationMinutes } : {}),
              },
            },
          }
        : {}),
    };
    const entry = await journal?.intend('instance', journal ? { [TAG_FIND]: journal.createId } : {});
    try {
      const res = await this.send<{ Instances?: Instance[]; ReservationId?: string }>(
        new RunInstancesCommand(input),
        false,
      );
      const instance = res.Instances?.[0];
      if (!instance?.InstanceId) throw new MoorError('RunInstances answered without an instance');
      this.reservationId = res.ReservationId;
      if (entry) await journal?.created(entry, instance.InstanceId);
      return instance;
    } catch (err) {
      if (!mayHaveCommitted(err) || !journal) {
        if (entry && !mayHaveCommitted(err)) await journal?.refused(entry);
        throw err;
      }
      let found: Instance[];
      try {
        found = await this.instancesTagged(journal.createId);
      } catch (lookupErr) {
        throw new MoorError(
          `${errorMessage(err)}; checking whether the instance was launched anyway failed too ` +
            `(${errorMessage(lookupErr)}): the next "moor ls" looks again for the instance tagged ${CREATE_TAG_KEY}=${journal.createId}`,
        );
      }
      if (found.length !== 1) throw err;
      this.ctx.progress.log(
        `Launching failed (${errorMessage(err)}) but instance ${found[0]!.InstanceId} was launched: using it`,
      );
      if (entry) await journal.created(entry, found[0]!.InstanceId!);
      return found[0]!;
    }
  }

  /** Live (not terminated) instances carrying this create's tag. */
  private async instancesTagged(createId: string): Promise<Instance[]> {
    const res = await this.send<{ Reservations?: Array<{ Instances?: Instance[] }> }>(
      new DescribeInstancesCommand({ Filters: [{ Name: `tag:${CREATE_TAG_KEY}`, Values: [createId] }] }),
      false,
    );
    return (res.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .filter((i) => !['terminated', 'shutting-down'].includes(i.State?.Name ?? ''));
  }

  private addressOf(i: Instance): string {
    const c = this.config;
    if (c.PrivateIPOnly || c.UsePrivateIP) return i.PrivateIpAddress ?? '';
    return i.PublicIpAddress ?? '';
  }

  private async describe(cancellable = true): Promise<Instance> {
    const id = this.requireInstance();
    const res = await this.send<{ Reservations?: Array<{ Instances?: Instance[] }> }>(
      new DescribeInstancesCommand({ InstanceIds: [id] }),
      cancellable,
    );
    const instance = res.Reservations?.[0]?.Instances?.[0];
    if (!instance) throw new MoorError(`instance ${id} of machine "${this.name}" was not found`);
    return instance;
  }

  /** Polls until the instance is in `state` (and `ready` holds), bounded; fails on terminated. */
  private async waitFor(state: string, ready: (i: Instance) => boolean = () => true): Promise<Instance> {
    const deadline = Date.now() + this.t.waitMs;
    for (;;) {
      const i = await this.describe();
      if (i.State?.Name === state && ready(i)) return i;
      if (i.State?.Name === 'terminated') {
        throw new MoorError(
          `instance ${i.InstanceId} was terminated (${i.StateReason?.Message ?? 'no reason given'})`,
        );
      }
      if (Date.now() > deadline) {
        throw new MoorError(
          `instance ${i.InstanceId} did not become ${state} within ${Math.round(this.t.waitMs / 1000)}s (state "${i.State?.Name}")`,
        );
      }
      await sleep(this.t.pollMs, this.ctx.signal);
    }
  }

  private async storeSecret(): Promise<void> {
    const ref = this.config.SecretKeyRef;
    if (!ref) return;
    const result = await commitSecret(ref, { env: this.ctx.env, injected: this.ctx.secrets });
    if (result.ok) return;
    const parsed = JSON.parse(result.secret) as { SecretKey?: string; SessionToken?: string };
    this.config.SecretKey = parsed.SecretKey ?? '';
    this.config.SessionToken = parsed.SessionToken ?? '';
    delete this.config.SecretKeyRef;
    this.ctx.progress.warn(plainTextWarning('The AWS secret key', result.reason));
    await this.checkpoint();
  }

  private async deleteStoredSecret(): Promise<void> {
    const ref = this.config.SecretKeyRef;
    if (!ref) return;
    await deleteSecret(ref, { env: this.ctx.env, injected: this.ctx.secrets }).catch((err: unknown) =>
      this.ctx.progress.warn(`could not delete ${ref} from the keychain: ${errorMessage(err)}`),
    );
  }

  /**
   * A failed or killed create: instances first (found by id, else by the create's tag), then
   * the key pair (by its unique name) and the security groups this create made (they cannot go
   * while an instance still uses them). Reports only what EC2 confirmed.
   */
  async cleanUpCreate(record: JournalRecord): Promise<CleanupOutcome[]> {
    const order = ['instance', 'key-pair', 'security-group'];
    const entries = [...record.entries].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
    const outcomes: CleanupOutcome[] = [];
    // Instances of this create (terminated now or by an earlier, interrupted cleanup) keep its
    // groups in use until they are gone: then the group delete waits for them.
    const terminated: string[] = record.entries.some((e) => e.kind === 'instance') ? ['(journaled)'] : [];
    for (const entry of entries) {
      try {
        outcomes.push(await this.cleanUpEntry(entry, terminated));
      } catch (err) {
        outcomes.push({ entry, result: 'could not check', detail: errorMessage(err) });
      }
    }
    if (outcomes.every((o) => o.result !== 'could not check')) await this.deleteStoredSecret();
    return outcomes;
  }

  private async cleanUpEntry(entry: JournalEntry, terminated: string[]): Promise<CleanupOutcome> {
    if (entry.kind === 'instance') {
      let live: Instance[];
      if (entry.id) {
        try {
          const res = await this.send<{ Reservations?: Array<{ Instances?: Instance[] }> }>(
            new DescribeInstancesCommand({ InstanceIds: [entry.id] }),
            false,
          );
          live = (res.Reservations ?? [])
            .flatMap((r) => r.Instances ?? [])
            .filter((i) => !['terminated', 'shutting-down'].includes(i.State?.Name ?? ''));
        } catch (err) {
          if (!isNotFound(err)) throw err;
          live = [];
        }
      } else if (entry.find[TAG_FIND]) {
        live = await this.instancesTagged(entry.find[TAG_FIND]);
      } else {
        return { entry, result: 'already gone' };
      }
      if (live.length === 0) return { entry, result: 'already gone' };
      const ids = live.map((i) => i.InstanceId!);
      await this.send(new TerminateInstancesCommand({ InstanceIds: ids }), false);
      terminated.push(...ids);
      return { entry, result: 'deleted', detail: ids.join(', ') };
    }
    if (entry.kind === 'key-pair') {
      const name = entry.id ?? entry.find.name ?? '';
      if (!(await this.findKeyPair(name))) return { entry, result: 'already gone' };
      await this.send(new DeleteKeyPairCommand({ KeyName: name }), false);
      return { entry, result: 'deleted', detail: name };
    }
    if (entry.kind === 'security-group') {
      const group = entry.id
        ? await this.findGroup({ id: entry.id })
        : entry.find[TAG_FIND]
          ? await this.findGroup({ name: entry.find.name, tag: entry.find[TAG_FIND] })
          : null;
      if (!group?.GroupId) return { entry, result: 'already gone' };
      await this.deleteGroupWhenFree(group.GroupId, terminated.length > 0);
      return { entry, result: 'deleted', detail: group.GroupId };
    }
    return { entry, result: 'could not check', detail: `unknown resource kind "${entry.kind}"` };
  }

  /** A group in use by a terminating instance answers DependencyViolation until it is gone. */
  private async deleteGroupWhenFree(groupId: string, waitForInstances: boolean): Promise<void> {
    const deadline = Date.now() + (waitForInstances ? this.t.waitMs : 0);
    for (;;) {
      try {
        await this.send(new DeleteSecurityGroupCommand({ GroupId: groupId }), false);
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (awsCode(err) !== 'DependencyViolation' || Date.now() > deadline) throw err;
      }
      await sleep(this.t.pollMs);
    }
  }

  /**
   * `rm`: terminates the instance and deletes the key pair Moor imported (not one the user
   * named). Security groups stay, as with docker-machine: one group serves every machine.
   */
  async remove(): Promise<void> {
    const c = this.config;
    if (c.InstanceId) {
      try {
        await this.send(new TerminateInstancesCommand({ InstanceIds: [c.InstanceId] }), false);
        this.ctx.progress.log(`Terminated instance ${c.InstanceId}`);
      } catch (err) {
        if (!isNotFound(err)) throw new MoorError(`unable to terminate instance: ${errorMessage(err)}`);
        this.ctx.progress.log(`Instance ${c.InstanceId} doesn't exist, assuming it is already deleted`);
      }
    }
    if (c.KeyName && !c.ExistingKey) {
      try {
        await this.send(new DeleteKeyPairCommand({ KeyName: c.KeyName }), false);
      } catch (err) {
        if (!isNotFound(err)) throw new MoorError(`unable to remove key pair: ${errorMessage(err)}`);
      }
    }
    await this.deleteStoredSecret();
  }

  async start(): Promise<void> {
    await this.send(new StartInstancesCommand({ InstanceIds: [this.requireInstance()] }));
    // A stopped instance comes back with a new public IP (unless it has an Elastic IP).
    const running = await this.waitFor('running', (i) => Boolean(this.addressOf(i)));
    this.config.IPAddress = this.addressOf(running);
    this.config.PrivateIPAddress = running.PrivateIpAddress ?? '';
  }

  async stop(): Promise<void> {
    await this.send(new StopInstancesCommand({ InstanceIds: [this.requireInstance()], Force: false }));
    await this.waitFor('stopped');
  }

  async restart(): Promise<void> {
    await this.send(new RebootInstancesCommand({ InstanceIds: [this.requireInstance()] }));
  }

  async kill(): Promise<void> {
    await this.send(new StopInstancesCommand({ InstanceIds: [this.requireInstance()], Force: true }));
    await this.waitFor('stopped');
  }

  private requireInstance(): string {
    if (!this.config.InstanceId) {
      throw new MoorError(`machine "${this.name}" has no instance (InstanceId is not set)`);
    }
    return this.config.InstanceId;
  }

  async state(): Promise<MachineState> {
    return mapInstanceState((await this.describe()).State?.Name);
  }

  async ip(): Promise<string> {
    return recordedAddress(this.config);
  }

  async url(): Promise<string> {
    if ((await this.state()) !== 'Running') throw new HostNotRunningError();
    return `tcp://${await this.ip()}:${ENGINE_PORT}`;
  }

  async sshTarget(): Promise<SshTarget> {
    return machineSshTarget(this.config, this.ctx.machineDir, 'ubuntu');
  }
}
