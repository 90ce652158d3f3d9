/**
 * docker-machine's shared `create` flags (engine, swarm, TLS SANs), declared as data like a
 * driver's flags so the CLI and the app's create form are generated from the same list, and the
 * mapping of their values onto config.json's EngineOptions/SwarmOptions.
 */

import { MoorError } from '../base/errors.js';
import { flagBool, flagList, flagString } from '../drivers/flag-values.js';
import type { FlagSpec, FlagValue, FlagValues } from '../drivers/types.js';
import { DEFAULT_ENGINE_INSTALL_URL, type EngineOptions, type SwarmOptions } from '../store/config.js';

export const SHARED_CREATE_FLAGS: FlagSpec[] = [
  {
    name: 'engine-install-url',
    type: 'string',
    help: 'Custom URL to use for engine installation ("distro" installs the distribution package)',
    default: DEFAULT_ENGINE_INSTALL_URL,
    envVar: 'MACHINE_DOCKER_INSTALL_URL',
  },
  {
    name: 'engine-opt',
    type: 'string[]',
    help: 'Specify arbitrary flags to include with the created engine in the form flag=value',
  },
  {
    name: 'engine-insecure-registry',
    type: 'string[]',
    help: 'Specify insecure registries to allow with the created engine',
  },
  {
    name: 'engine-registry-mirror',
    type: 'string[]',
    help: 'Specify registry mirrors to use',
    envVar: 'ENGINE_REGISTRY_MIRROR',
  },
  { name: 'engine-label', type: 'string[]', help: 'Specify labels for the created engine' },
  {
    name: 'engine-storage-driver',
    type: 'string',
    help: 'Specify a storage driver to use with the engine',
    default: '',
  },
  { name: 'engine-env', type: 'string[]', help: 'Specify environment variables to set in the engine' },
  { name: 'swarm', type: 'bool', help: 'Configure Machine to join a Swarm cluster' },
  {
    name: 'swarm-image',
    type: 'string',
    help: 'Specify Docker image to use for Swarm',
    default: 'swarm:latest',
    envVar: 'MACHINE_SWARM_IMAGE',
  },
  { name: 'swarm-master', type: 'bool', help: 'Configure Machine to be a Swarm master' },
  { name: 'swarm-discovery', type: 'string', help: 'Discovery service to use with Swarm', default: '' },
  {
    name: 'swarm-strategy',
    type: 'string',
    help: 'Define a default scheduling strategy for Swarm',
    default: 'spread',
  },
  { name: 'swarm-opt', type: 'string[]', help: 'Define arbitrary flags for Swarm master' },
  { name: 'swarm-join-opt', type: 'string[]', help: 'Define arbitrary flags for Swarm join' },
  {
    name: 'swarm-host',
    type: 'string',
    help: 'ip/socket to listen on for Swarm master',
    default: 'tcp://0.0.0.0:3376',
  },
  {
    name: 'swarm-addr',
    type: 'string',
    help: 'addr to advertise for Swarm (default: detect and use the machine IP)',
    default: '',
  },
  { name: 'swarm-experimental', type: 'bool', help: 'Enable Swarm experimental features' },
  { name: 'tls-san', type: 'string[]', help: 'Support extra SANs for TLS certs' },
];

/** The config.json options docker-machine's cmdCreateInner builds from the shared flags. */
export function hostOptionsFromFlags(values: FlagValues): {
  engine: Partial<EngineOptions>;
  swarm: Partial<SwarmOptions>;
  tlsSans: string[];
} {
  return {
    engine: {
      ArbitraryFlags: flagList(values['engine-opt']),
      Env: flagList(values['engine-env']),
      InsecureRegistry: flagList(values['engine-insecure-registry']),
      Labels: flagList(values['engine-label']),
      RegistryMirror: flagList(values['engine-registry-mirror']),
      StorageDriver: flagString(values['engine-storage-driver']),
      TlsVerify: true,
      InstallURL: flagString(values['engine-install-url'], DEFAULT_ENGINE_INSTALL_URL),
    },
    swarm: {
      IsSwarm: flagBool(values.swarm) || flagBool(values['swarm-master']),
      Image: flagString(values['swarm-image'], 'swarm:latest'),
      Agent: flagBool(values.swarm),
      Master: flagBool(values['swarm-master']),
      Discovery: flagString(values['swarm-discovery']),
      Address: flagString(values['swarm-addr']),
      Host: flagString(values['swarm-host'], 'tcp://0.0.0.0:3376'),
      Strategy: flagString(values['swarm-strategy'], 'spread'),
      ArbitraryFlags: flagList(values['swarm-opt']),
      ArbitraryJoinFlags: flagList(values['swarm-join-opt']),
      IsExperimental: flagBool(values['swarm-experimental']),
    },
    tlsSans: flagList(values['tls-san']),
  };
}

/** The create flags the app's form offers: the shared ones without the legacy Swarm flags. */
export const FORM_CREATE_FLAGS: FlagSpec[] = SHARED_CREATE_FLAGS.filter((f) => !f.name.startsWith('swarm'));

/** A flag's value from its environment variable (docker-machine's EnvVar), parsed for its type. */
export function flagValueFromEnv(spec: FlagSpec, env: NodeJS.ProcessEnv): FlagValue | undefined {
  const raw = spec.envVar ? env[spec.envVar] : undefined;
  if (raw === undefined || raw === '') return undefined;
  switch (spec.type) {
    case 'bool':
      return ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(raw);
    case 'int': {
      const n = Number.parseInt(raw, 10);
      if (Number.isNaN(n)) throw new MoorError(`invalid value "${raw}" for ${spec.envVar}`);
      return n;
    }
    case 'string[]':
      return raw.split(',').map((s) => s.trim());
    default:
      return raw;
  }
}
