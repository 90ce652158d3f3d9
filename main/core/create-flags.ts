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
  {
    name: 'swarm-join',
    type: 'string',
    help: 'Join the Swarm mode cluster of this manager machine as the last create step',
    default: '',
  },
  {
    name: 'swarm-role',
    type: 'string',
    help: 'Role of the new node with --swarm-join: worker or manager',
    default: 'worker',
  },
  { name: 'tls-san', type: 'string[]', help: 'Support extra SANs for TLS certs' },
];

/** Swarm mode (`moor swarm`) create flags; the other `swarm*` flags are docker-machine's legacy Swarm. */
const SWARM_MODE_FLAGS = new Set(['swarm-join', 'swarm-role']);

/** docker-machine's standalone-Swarm flags (`--swarm`, `--swarm-master`, ...): stored, never acted on. */
export function isLegacySwarmFlag(name: string): boolean {
  return name.startsWith('swarm') && !SWARM_MODE_FLAGS.has(name);
}

/** `--swarm-join MANAGER [--swarm-role R]`: the swarm a new machine joins, validated. */
export function swarmJoinFromFlags(
  values: FlagValues,
): { manager: string; role: 'worker' | 'manager' } | undefined {
  const manager = flagString(values['swarm-join']);
  const role = flagString(values['swarm-role'], 'worker');
  if (role !== 'worker' && role !== 'manager') {
    throw new MoorError(`Error: --swarm-role must be "worker" or "manager", not "${role}"`);
  }
  return manager ? { manager, role } : undefined;
}

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

/**
 * docker-machine's `--swarm*` flags set up standalone Swarm (swarm containers), retired by
 * Docker. Moor accepts and stores them (scripts pass them) but starts nothing: say so.
 */
export function legacySwarmWarning(givenFlags: readonly string[], machine: string): string {
  const flags = givenFlags.map((f) => `--${f}`).join(', ');
  return (
    `${flags}: legacy (standalone) Swarm is not supported by Moor. The options are stored in config.json ` +
    'as docker-machine stores them, but no Swarm containers are started. Use Swarm mode instead: ' +
    `moor swarm init ${machine}, then moor swarm join --manager ${machine} OTHER (or create OTHER with --swarm-join ${machine}).`
  );
}

/** The create form's labels of the shared flags (all in its collapsed "Engine and TLS" part). */
const FORM_LABELS: Record<string, string> = {
  'engine-install-url': 'Docker install script URL',
  'engine-opt': 'Engine options',
  'engine-insecure-registry': 'Insecure registries',
  'engine-registry-mirror': 'Registry mirrors',
  'engine-label': 'Engine labels',
  'engine-storage-driver': 'Storage driver',
  'engine-env': 'Engine environment',
  'swarm-join': 'Join the swarm of manager',
  'swarm-role': 'Swarm role',
  'tls-san': 'Extra TLS names (SANs)',
};

/** The create flags the app's form offers: the shared ones without the legacy Swarm flags. */
export const FORM_CREATE_FLAGS: FlagSpec[] = SHARED_CREATE_FLAGS.filter(
  (f) => !isLegacySwarmFlag(f.name),
).map((f) => ({
  ...f,
  ...(FORM_LABELS[f.name] ? { label: FORM_LABELS[f.name] } : {}),
  group: 'advanced' as const,
}));

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
