import { randomBytes } from 'node:crypto';
import { MoorError } from '../../base/errors.js';
import { planSecret } from '../../secrets/index.js';
import { flagBool, flagString } from '../flag-values.js';
import type { DriverModule, FlagSpec } from '../types.js';
import {
  DEFAULT_IMAGE,
  DEFAULT_REGION,
  DEFAULT_SIZE,
  type DigitalOceanConfig,
  isFlatcarImage,
  orderedConfig,
} from './config.js';
import { DigitalOceanDriver, deferredPlainTextWarnings } from './driver.js';

/** docker-machine's digitalocean flags, names and env vars unchanged; current defaults. */
export const flags: FlagSpec[] = [
  {
    name: 'digitalocean-access-token',
    type: 'string',
    help: 'Digital Ocean access token',
    envVar: 'DIGITALOCEAN_ACCESS_TOKEN',
    default: '',
    required: true,
    secret: true,
  },
  {
    name: 'digitalocean-image',
    type: 'string',
    help: 'Digital Ocean Image (a slug such as ubuntu-24-04-x64 or flatcar-stable, or an image ID)',
    envVar: 'DIGITALOCEAN_IMAGE',
    default: DEFAULT_IMAGE,
  },
  {
    name: 'digitalocean-region',
    type: 'string',
    help: 'Digital Ocean region',
    envVar: 'DIGITALOCEAN_REGION',
    default: DEFAULT_REGION,
  },
  {
    name: 'digitalocean-size',
    type: 'string',
    help: 'Digital Ocean size',
    envVar: 'DIGITALOCEAN_SIZE',
    default: DEFAULT_SIZE,
  },
  {
    name: 'digitalocean-ipv6',
    type: 'bool',
    help: 'enable ipv6 for droplet',
    envVar: 'DIGITALOCEAN_IPV6',
    default: false,
  },
  {
    name: 'digitalocean-private-networking',
    type: 'bool',
    help: 'enable private networking for droplet',
    envVar: 'DIGITALOCEAN_PRIVATE_NETWORKING',
    default: false,
  },
  {
    name: 'digitalocean-backups',
    type: 'bool',
    help: 'enable backups for droplet',
    envVar: 'DIGITALOCEAN_BACKUPS',
    default: false,
  },
  {
    name: 'digitalocean-userdata',
    type: 'string',
    help: 'path to file with cloud-init user-data',
    envVar: 'DIGITALOCEAN_USERDATA',
    default: '',
  },
  {
    name: 'digitalocean-ssh-user',
    type: 'string',
    help: 'SSH username',
    envVar: 'DIGITALOCEAN_SSH_USER',
    default: 'root',
  },
  {
    name: 'digitalocean-ssh-port',
    type: 'int',
    help: 'SSH port',
    envVar: 'DIGITALOCEAN_SSH_PORT',
    default: 22,
    check: 'port',
  },
  {
    name: 'digitalocean-ssh-key-path',
    type: 'string',
    help: 'SSH private key path',
    envVar: 'DIGITALOCEAN_SSH_KEY_PATH',
    default: '',
  },
  {
    name: 'digitalocean-ssh-key-fingerprint',
    type: 'string',
    help: 'SSH key fingerprint',
    envVar: 'DIGITALOCEAN_SSH_KEY_FINGERPRINT',
    default: '',
  },
  {
    name: 'digitalocean-monitoring',
    type: 'bool',
    help: 'enable monitoring for droplet',
    envVar: 'DIGITALOCEAN_MONITORING',
    default: false,
  },
  {
    name: 'digitalocean-tags',
    type: 'string',
    help: 'comma-separated list of tags to apply to the Droplet',
    envVar: 'DIGITALOCEAN_TAGS',
    default: '',
  },
];

const digitalocean: DriverModule = {
  name: 'digitalocean',
  description: 'A DigitalOcean droplet (API v2; token from --digitalocean-access-token)',
  capabilities: {
    actions: ['start', 'stop', 'restart', 'kill', 'hibernate', 'wake'],
    ssh: true,
    removes: 'the droplet (or its hibernation snapshot) and the SSH key Moor uploaded for it',
    restartReboots: true,
  },
  provisions: true,
  flags,

  async configFromFlags(values, base, ctx) {
    const token = flagString(values['digitalocean-access-token']).trim();
    if (!token) throw new MoorError('digitalocean driver requires the --digitalocean-access-token option');
    const port = Number(values['digitalocean-ssh-port'] ?? 22);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new MoorError(
        `--digitalocean-ssh-port "${values['digitalocean-ssh-port']}" is not a port number`,
      );
    }
    const config: DigitalOceanConfig = {
      ...base,
      SSHUser: flagString(values['digitalocean-ssh-user'], 'root') || 'root',
      SSHPort: port,
      AccessToken: token,
      DropletID: 0,
      DropletName: '',
      Image: flagString(values['digitalocean-image'], DEFAULT_IMAGE) || DEFAULT_IMAGE,
      Region: flagString(values['digitalocean-region'], DEFAULT_REGION) || DEFAULT_REGION,
      SSHKeyID: 0,
      SSHKeyFingerprint: flagString(values['digitalocean-ssh-key-fingerprint']),
      SSHKey: flagString(values['digitalocean-ssh-key-path']),
      Size: flagString(values['digitalocean-size'], DEFAULT_SIZE) || DEFAULT_SIZE,
      IPv6: flagBool(values['digitalocean-ipv6']),
      Backups: flagBool(values['digitalocean-backups']),
      PrivateNetworking: flagBool(values['digitalocean-private-networking']),
      UserDataFile: flagString(values['digitalocean-userdata']),
      Monitoring: flagBool(values['digitalocean-monitoring']),
      Tags: flagString(values['digitalocean-tags']),
    };

    if (isFlatcarImage(config.Image) && config.SSHUser === 'root') {
      // Flatcar authorizes the droplet's keys for `core` only (root login is disabled there).
      config.SSHUser = 'core';
    }

    // Keep the token out of config.json when a keychain is usable (docker-machine kept it in plain
    // text). The item is written by create(), so a failed pre-create check leaves no keychain entry.
    const keychain = await planSecret(
      `digitalocean-${base.MachineName}-${randomBytes(4).toString('hex')}`,
      token,
      `Moor: DigitalOcean access token (${base.MachineName})`,
      { env: ctx.env, injected: ctx.secrets },
    );
    if (keychain.ref) {
      config.AccessToken = '';
      config.AccessTokenRef = keychain.ref;
    } else if (keychain.warning) {
      deferredPlainTextWarnings.set(ctx, keychain.warning);
    }
    return orderedConfig(config);
  },

  open(config, ctx) {
    return new DigitalOceanDriver(config as DigitalOceanConfig, ctx);
  },
};

export default digitalocean;
