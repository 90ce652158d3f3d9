import { randomBytes } from 'node:crypto';
import { parseDigitalOceanTags } from '../../base/cloud-values.js';
import { MoorError } from '../../base/errors.js';
import { planSecret, readSecret } from '../../secrets/index.js';
import { loadUserData, parseFlag, tagsFlag, userDataFields, userDataFlag } from '../cloud-flags.js';
import { flagBool, flagString } from '../flag-values.js';
import type { ChoiceSource, ChoicesContext, DriverModule, FlagChoice, FlagSpec } from '../types.js';
import { DigitalOceanApi } from './api.js';
import { imageChoices, regionChoices, sizeChoices } from './choices.js';
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
    label: 'Access token',
    group: 'common',
    type: 'string',
    help: 'Digital Ocean access token',
    envVar: 'DIGITALOCEAN_ACCESS_TOKEN',
    default: '',
    required: true,
    secret: true,
  },
  {
    name: 'digitalocean-image',
    label: 'Image',
    group: 'common',
    choices: 'images',
    type: 'string',
    help: 'Digital Ocean Image (a slug such as ubuntu-24-04-x64 or flatcar-stable, or an image ID)',
    envVar: 'DIGITALOCEAN_IMAGE',
    default: DEFAULT_IMAGE,
  },
  {
    name: 'digitalocean-region',
    label: 'Region',
    group: 'common',
    choices: 'regions',
    type: 'string',
    help: 'Digital Ocean region',
    envVar: 'DIGITALOCEAN_REGION',
    default: DEFAULT_REGION,
  },
  {
    name: 'digitalocean-size',
    label: 'Size',
    group: 'common',
    choices: 'sizes',
    type: 'string',
    help: 'Digital Ocean size',
    envVar: 'DIGITALOCEAN_SIZE',
    default: DEFAULT_SIZE,
  },
  {
    name: 'digitalocean-ipv6',
    label: 'IPv6',
    group: 'advanced',
    type: 'bool',
    help: 'enable ipv6 for droplet',
    envVar: 'DIGITALOCEAN_IPV6',
    default: false,
  },
  {
    name: 'digitalocean-private-networking',
    label: 'Private networking',
    group: 'advanced',
    type: 'bool',
    help: 'enable private networking for droplet',
    envVar: 'DIGITALOCEAN_PRIVATE_NETWORKING',
    default: false,
  },
  {
    name: 'digitalocean-backups',
    label: 'Backups',
    group: 'advanced',
    type: 'bool',
    help: 'enable backups for droplet',
    envVar: 'DIGITALOCEAN_BACKUPS',
    default: false,
  },
  userDataFlag('digitalocean', 'DIGITALOCEAN_USERDATA'),
  {
    name: 'digitalocean-ssh-user',
    label: 'SSH user',
    group: 'advanced',
    type: 'string',
    help: 'SSH username',
    envVar: 'DIGITALOCEAN_SSH_USER',
    default: 'root',
  },
  {
    name: 'digitalocean-ssh-port',
    label: 'SSH port',
    group: 'advanced',
    type: 'int',
    help: 'SSH port',
    envVar: 'DIGITALOCEAN_SSH_PORT',
    default: 22,
    check: 'port',
  },
  {
    name: 'digitalocean-ssh-key-path',
    label: 'SSH private key file',
    group: 'advanced',
    type: 'string',
    help: 'SSH private key path',
    envVar: 'DIGITALOCEAN_SSH_KEY_PATH',
    file: 'ssh-private-key',
    default: '',
  },
  {
    name: 'digitalocean-ssh-key-fingerprint',
    label: 'SSH key fingerprint (a key in your account)',
    group: 'advanced',
    type: 'string',
    help: 'SSH key fingerprint',
    envVar: 'DIGITALOCEAN_SSH_KEY_FINGERPRINT',
    default: '',
  },
  {
    name: 'digitalocean-monitoring',
    label: 'Monitoring agent',
    group: 'advanced',
    type: 'bool',
    help: 'enable monitoring for droplet',
    envVar: 'DIGITALOCEAN_MONITORING',
    default: false,
  },
  tagsFlag(
    'digitalocean-tags',
    'comma-separated list of tags to apply to the Droplet (letters, digits, ":", "-", "_")',
    'digitalocean-tags',
    { envVar: 'DIGITALOCEAN_TAGS', label: 'Tags' },
  ),
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
      ...userDataFields(flagString(values['digitalocean-userdata'])),
      Monitoring: flagBool(values['digitalocean-monitoring']),
      Tags: flagString(values['digitalocean-tags']),
    };
    // The shared cloud flags' rules, before anything is asked of the API (or of the keychain).
    parseFlag(parseDigitalOceanTags, config.Tags);
    await loadUserData('digitalocean', config);

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

  choices: listChoices,
};

/** The token of a DigitalOcean machine already in the store (config.json, or its keychain item). */
async function storedToken(ctx: ChoicesContext): Promise<{ token: string; source: string } | null> {
  for (const { name, config } of (await ctx.stored?.()) ?? []) {
    const c = config as Partial<DigitalOceanConfig>;
    if (c.AccessToken?.trim())
      return { token: c.AccessToken.trim(), source: `the token of machine "${name}"` };
    if (c.AccessTokenRef) {
      const token = await readSecret(c.AccessTokenRef, { env: ctx.env, injected: ctx.secrets }).catch(
        () => '',
      );
      if (token.trim()) return { token: token.trim(), source: `the keychain token of machine "${name}"` };
    }
  }
  return null;
}

/**
 * The form's lists, fetched with the token the form holds, else $DIGITALOCEAN_ACCESS_TOKEN, else
 * that of a DigitalOcean machine in the store. Few retries and a short rate-limit wait: someone is
 * looking at the field (it still takes free text).
 */
async function listChoices(source: ChoiceSource, ctx: ChoicesContext): Promise<FlagChoice[]> {
  const given = ctx.given['digitalocean-access-token']?.trim();
  const envToken = ctx.env.DIGITALOCEAN_ACCESS_TOKEN?.trim();
  const found = given
    ? { token: given, source: 'the access token field' }
    : envToken
      ? { token: envToken, source: '$DIGITALOCEAN_ACCESS_TOKEN' }
      : await storedToken(ctx);
  if (!found) {
    throw new MoorError(
      `enter an access token (or set $DIGITALOCEAN_ACCESS_TOKEN) to list DigitalOcean's ${source}`,
    );
  }
  const api = new DigitalOceanApi({
    token: found.token,
    tokenSource: found.source,
    baseUrl: ctx.env.DIGITALOCEAN_API_URL,
    signal: ctx.signal,
    maxRetries: 2,
    maxRateLimitWaitMs: 10_000,
    requestTimeoutMs: 20_000,
  });
  if (source === 'regions') return regionChoices(await api.listRegions());
  if (source === 'sizes') return sizeChoices(await api.listSizes());
  return imageChoices(await api.listDistributionImages());
}

export default digitalocean;
