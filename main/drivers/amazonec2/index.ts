import { randomBytes } from 'node:crypto';
import { diskSizeProblem } from '../../base/cloud-values.js';
import { errorMessage, MoorError } from '../../base/errors.js';
import { planSecret } from '../../secrets/index.js';
import { diskSizeFlag, loadUserData, tagsFlag, userDataFields, userDataFlag } from '../cloud-flags.js';
import { flagBool, flagList, flagString } from '../flag-values.js';
import type { DriverModule, FlagGroup, FlagSpec, FlagValues } from '../types.js';
import { credentialProvider } from './api.js';
import {
  type AmazonEc2Config,
  DEFAULT_DEVICE_NAME,
  DEFAULT_INSTANCE_TYPE,
  DEFAULT_REGION,
  DEFAULT_ROOT_SIZE,
  DEFAULT_SECURITY_GROUP,
  DEFAULT_SPOT_PRICE,
  DEFAULT_SSH_USER,
  DEFAULT_VOLUME_TYPE,
  DEFAULT_ZONE,
  parseOpenPort,
  parseTags,
} from './config.js';
import { AmazonEc2Driver, deferredPlainTextWarnings } from './driver.js';

/** The create form's label and place of each flag (flags absent here are 'advanced'). */
const FORM: Record<string, [label: string, group: FlagGroup]> = {
  'access-key': ['Access key ID', 'common'],
  'secret-key': ['Secret access key', 'common'],
  'session-token': ['Session token', 'advanced'],
  ami: ['Machine image (AMI)', 'common'],
  region: ['Region', 'common'],
  'vpc-id': ['VPC ID', 'advanced'],
  zone: ['Availability zone letter', 'advanced'],
  'subnet-id': ['Subnet ID', 'advanced'],
  'security-group-readonly': ['Leave security group rules as they are', 'advanced'],
  'security-group': ['Security groups', 'advanced'],
  'open-port': ['Open ports', 'advanced'],
  'instance-type': ['Instance type', 'common'],
  'device-name': ['Root device name', 'advanced'],
  'volume-type': ['EBS volume type', 'advanced'],
  'iam-instance-profile': ['IAM instance profile', 'advanced'],
  'ssh-user': ['SSH user', 'advanced'],
  'request-spot-instance': ['Spot instance', 'advanced'],
  'spot-price': ['Spot price (USD)', 'advanced'],
  'block-duration-minutes': ['Spot block duration (minutes)', 'advanced'],
  'private-address-only': ['Private address only', 'advanced'],
  'use-private-address': ['Connect over the private address', 'advanced'],
  monitoring: ['CloudWatch monitoring', 'advanced'],
  'use-ebs-optimized-instance': ['EBS-optimized instance', 'advanced'],
  'ssh-keypath': ['SSH private key file', 'advanced'],
  'keypair-name': ['Key pair name', 'advanced'],
  retries: ['Retries', 'advanced'],
  endpoint: ['API endpoint', 'advanced'],
  'insecure-transport': ['Plain HTTP to the endpoint (no TLS)', 'advanced'],
};

type Spec = Omit<FlagSpec, 'name'> & { name: string };
const flag = (name: string, type: FlagSpec['type'], help: string, extra: Partial<Spec> = {}): FlagSpec => {
  const [label, group] = FORM[name] ?? [undefined, 'advanced'];
  return { name: `amazonec2-${name}`, type, help, ...(label ? { label } : {}), group, ...extra };
};

/** docker-machine's amazonec2 flags: names, env vars and config.json fields unchanged. */
export const flags: FlagSpec[] = [
  flag('access-key', 'string', 'AWS Access Key', { envVar: 'AWS_ACCESS_KEY_ID', default: '', secret: true }),
  flag('secret-key', 'string', 'AWS Secret Key', {
    envVar: 'AWS_SECRET_ACCESS_KEY',
    default: '',
    secret: true,
  }),
  flag('session-token', 'string', 'AWS Session Token', {
    envVar: 'AWS_SESSION_TOKEN',
    default: '',
    secret: true,
  }),
  flag('ami', 'string', "AWS machine image (default: Canonical's current Ubuntu 24.04 LTS in the region)", {
    envVar: 'AWS_AMI',
    default: '',
    configKey: 'AMI',
  }),
  flag('region', 'string', 'AWS region', { envVar: 'AWS_DEFAULT_REGION', default: DEFAULT_REGION }),
  flag('vpc-id', 'string', 'AWS VPC id (default: the default VPC)', { envVar: 'AWS_VPC_ID', default: '' }),
  flag('zone', 'string', 'AWS zone for instance (i.e. a,b,c,d,e)', {
    envVar: 'AWS_ZONE',
    default: DEFAULT_ZONE,
  }),
  flag('subnet-id', 'string', 'AWS VPC subnet id', { envVar: 'AWS_SUBNET_ID', default: '' }),
  flag('security-group-readonly', 'bool', 'Skip adding default rules to security groups', {
    envVar: 'AWS_SECURITY_GROUP_READONLY',
    default: false,
  }),
  flag('security-group', 'string[]', 'AWS VPC security group', {
    envVar: 'AWS_SECURITY_GROUP',
    default: [DEFAULT_SECURITY_GROUP],
    configKey: 'SecurityGroupNames',
  }),
  flag('open-port', 'string[]', 'Make the specified port number accessible from the Internet', {
    default: [],
    configKey: 'OpenPorts',
  }),
  tagsFlag('amazonec2-tags', 'AWS Tags (e.g. key1,value1,key2,value2)', 'amazonec2-tags', {
    envVar: 'AWS_TAGS',
    label: 'Tags',
  }),
  flag('instance-type', 'string', 'AWS instance type', {
    envVar: 'AWS_INSTANCE_TYPE',
    default: DEFAULT_INSTANCE_TYPE,
  }),
  flag('device-name', 'string', 'AWS root device name', {
    envVar: 'AWS_DEVICE_NAME',
    default: DEFAULT_DEVICE_NAME,
  }),
  {
    ...diskSizeFlag(
      'amazonec2-root-size',
      'AWS root disk size (in GB)',
      'AWS_ROOT_SIZE',
      DEFAULT_ROOT_SIZE,
      'amazonec2-disk-size',
    ),
    label: 'Root disk size (GB)',
    group: 'common',
  },
  flag('volume-type', 'string', 'Amazon EBS volume type', {
    envVar: 'AWS_VOLUME_TYPE',
    default: DEFAULT_VOLUME_TYPE,
  }),
  flag('iam-instance-profile', 'string', 'AWS IAM Instance Profile', {
    envVar: 'AWS_INSTANCE_PROFILE',
    default: '',
  }),
  flag('ssh-user', 'string', 'Set the name of the ssh user', {
    envVar: 'AWS_SSH_USER',
    default: DEFAULT_SSH_USER,
    configKey: 'SSHUser',
  }),
  flag('request-spot-instance', 'bool', 'Set this flag to request spot instance', { default: false }),
  flag('spot-price', 'string', 'AWS spot instance bid price (in dollar)', { default: DEFAULT_SPOT_PRICE }),
  flag(
    'block-duration-minutes',
    'int',
    'AWS spot instance duration in minutes (60, 120, 180, 240, 300, or 360)',
    {
      default: 0,
    },
  ),
  flag('private-address-only', 'bool', 'Only use a private IP address', {
    default: false,
    configKey: 'PrivateIPOnly',
  }),
  flag('use-private-address', 'bool', 'Force the usage of private IP address', {
    default: false,
    configKey: 'UsePrivateIP',
  }),
  flag('monitoring', 'bool', 'Set this flag to enable CloudWatch monitoring', { default: false }),
  flag('use-ebs-optimized-instance', 'bool', 'Create an EBS optimized instance', {
    default: false,
    configKey: 'UseEbsOptimizedInstance',
  }),
  flag('ssh-keypath', 'string', 'SSH Key for Instance', {
    envVar: 'AWS_SSH_KEYPATH',
    default: '',
    configKey: 'SSHPrivateKeyPath',
  }),
  flag('keypair-name', 'string', 'AWS keypair to use; requires --amazonec2-ssh-keypath', {
    envVar: 'AWS_KEYPAIR_NAME',
    default: '',
    configKey: 'KeyName',
  }),
  flag('retries', 'int', 'Set retry count for recoverable failures (use -1 to disable)', {
    default: 5,
    configKey: 'RetryCount',
  }),
  flag('endpoint', 'string', 'Optional endpoint URL (hostname only or fully qualified URI)', {
    envVar: 'AWS_ENDPOINT',
    default: '',
  }),
  flag('insecure-transport', 'bool', 'Disable SSL when sending requests', {
    envVar: 'AWS_INSECURE_TRANSPORT',
    default: false,
    configKey: 'DisableSSL',
  }),
  userDataFlag('amazonec2', 'AWS_USERDATA'),
];

function intFlag(values: FlagValues, name: string, fallback: number, min: number): number {
  const raw = values[`amazonec2-${name}`];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new MoorError(
      `--amazonec2-${name} "${String(raw)}" is not a whole number${min >= 0 ? ` ≥ ${min}` : ''}`,
    );
  }
  return n;
}

function rootSize(values: FlagValues): number {
  const raw = values['amazonec2-root-size'];
  const value = raw === undefined || raw === '' ? DEFAULT_ROOT_SIZE : raw;
  const problem = diskSizeProblem('amazonec2', value);
  if (problem) throw new MoorError(`--amazonec2-root-size: ${problem}`);
  return Number(value);
}

/** Keys in docker-machine's order (drivers/amazonec2/amazonec2.go), Moor's ref after SecretKey. */
function ordered(c: AmazonEc2Config): AmazonEc2Config {
  const {
    IPAddress,
    MachineName,
    SSHUser,
    SSHPort,
    SSHKeyPath,
    StorePath,
    SwarmMaster,
    SwarmHost,
    SwarmDiscovery,
    ...rest
  } = c;
  const { SecretKeyRef, ...driver } = rest;
  const out: Record<string, unknown> = {
    IPAddress,
    MachineName,
    SSHUser,
    SSHPort,
    SSHKeyPath,
    StorePath,
    SwarmMaster,
    SwarmHost,
    SwarmDiscovery,
  };
  for (const [k, v] of Object.entries(driver)) {
    out[k] = v;
    if (k === 'SecretKey' && SecretKeyRef) out.SecretKeyRef = SecretKeyRef;
  }
  return out as unknown as AmazonEc2Config;
}

const amazonec2: DriverModule = {
  name: 'amazonec2',
  description: 'An Amazon EC2 instance (credentials: flags, AWS_* variables or ~/.aws/credentials)',
  capabilities: {
    actions: ['start', 'stop', 'restart', 'kill'],
    ssh: true,
    removes: 'the instance and the key pair Moor imported for it',
    restartReboots: true,
  },
  provisions: true,
  flags,

  async configFromFlags(values, base, ctx) {
    const s = (name: string, fallback = '') => flagString(values[`amazonec2-${name}`], fallback).trim();
    const accessKey = s('access-key');
    const secretKey = s('secret-key');
    const sessionToken = s('session-token');
    if (accessKey && !secretKey) {
      throw new MoorError('--amazonec2-access-key needs --amazonec2-secret-key (or AWS_SECRET_ACCESS_KEY)');
    }
    if (!accessKey) {
      // No key given: the shared credentials file must have the profile (checked now, as docker-machine does).
      try {
        await credentialProvider({ accessKey: '', secretKey: '', sessionToken: '', env: ctx.env })();
      } catch (err) {
        throw new MoorError(errorMessage(err));
      }
    }
    const endpoint = s('endpoint');
    const disableSsl = flagBool(values['amazonec2-insecure-transport']);
    if (disableSsl && !endpoint)
      throw new MoorError('using --amazonec2-insecure-transport also requires --amazonec2-endpoint');
    const keyName = s('keypair-name');
    const keyPath = s('ssh-keypath');
    if (keyName && !keyPath)
      throw new MoorError('using --amazonec2-keypair-name also requires --amazonec2-ssh-keypath');
    const zone = s('zone', DEFAULT_ZONE) || DEFAULT_ZONE;
    if (!/^[a-z]$/.test(zone))
      throw new MoorError(`--amazonec2-zone "${zone}" must be one letter (a, b, c, ...)`);
    const tags = s('tags');
    const openPorts = flagList(values['amazonec2-open-port']);
    try {
      parseTags(tags);
      openPorts.forEach(parseOpenPort);
    } catch (err) {
      throw new MoorError(errorMessage(err));
    }
    const groups = flagList(values['amazonec2-security-group']).filter(Boolean);

    const config: AmazonEc2Config = {
      ...base,
      SSHUser: s('ssh-user', DEFAULT_SSH_USER) || DEFAULT_SSH_USER,
      SSHPort: 22,
      Id: randomBytes(16).toString('hex'),
      AccessKey: accessKey,
      SecretKey: secretKey,
      SessionToken: sessionToken,
      Region: s('region', DEFAULT_REGION) || DEFAULT_REGION,
      AMI: s('ami'),
      SSHKeyID: 0,
      ExistingKey: keyName !== '',
      KeyName: keyName,
      InstanceId: '',
      InstanceType: s('instance-type', DEFAULT_INSTANCE_TYPE) || DEFAULT_INSTANCE_TYPE,
      PrivateIPAddress: '',
      SecurityGroupId: '',
      SecurityGroupIds: [],
      SecurityGroupName: '',
      SecurityGroupNames: groups.length ? groups : [DEFAULT_SECURITY_GROUP],
      SecurityGroupReadOnly: flagBool(values['amazonec2-security-group-readonly']),
      OpenPorts: openPorts,
      Tags: tags,
      ReservationId: '',
      DeviceName: s('device-name', DEFAULT_DEVICE_NAME) || DEFAULT_DEVICE_NAME,
      RootSize: rootSize(values),
      VolumeType: s('volume-type', 'gp3') || 'gp3',
      IamInstanceProfile: s('iam-instance-profile'),
      VpcId: s('vpc-id'),
      SubnetId: s('subnet-id'),
      Zone: zone,
      RequestSpotInstance: flagBool(values['amazonec2-request-spot-instance']),
      SpotPrice: s('spot-price', DEFAULT_SPOT_PRICE) || DEFAULT_SPOT_PRICE,
      BlockDurationMinutes: intFlag(values, 'block-duration-minutes', 0, 0),
      PrivateIPOnly: flagBool(values['amazonec2-private-address-only']),
      UsePrivateIP: flagBool(values['amazonec2-use-private-address']),
      UseEbsOptimizedInstance: flagBool(values['amazonec2-use-ebs-optimized-instance']),
      Monitoring: flagBool(values['amazonec2-monitoring']),
      SSHPrivateKeyPath: keyPath,
      RetryCount: intFlag(values, 'retries', 5, -1),
      Endpoint: endpoint,
      DisableSSL: disableSsl,
      ...userDataFields(flagString(values['amazonec2-userdata'])),
    };
    await loadUserData('amazonec2', config);

    if (accessKey) {
      // The secret key (and session token) go to the keychain when one is usable; the access key id is not secret.
      const keychain = await planSecret(
        `amazonec2-${base.MachineName}-${randomBytes(4).toString('hex')}`,
        JSON.stringify({ SecretKey: secretKey, SessionToken: sessionToken }),
        `Moor: AWS secret key (${base.MachineName})`,
        { env: ctx.env, injected: ctx.secrets },
      );
      if (keychain.ref) {
        config.SecretKey = '';
        config.SessionToken = '';
        config.SecretKeyRef = keychain.ref;
      } else if (keychain.warning) {
        deferredPlainTextWarnings.set(ctx, keychain.warning);
      }
    }
    return ordered(config);
  },

  open(config, ctx) {
    return new AmazonEc2Driver(config as AmazonEc2Config, ctx);
  },
};

export default amazonec2;
