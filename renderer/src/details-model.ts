/**
 * What Details shows of a machine's stored config, in a person's words (pure, unit-tested): the
 * engine options grouped and labelled instead of docker-machine's Go field names (ArbitraryFlags,
 * GraphDir), and the driver's own facts (a droplet's region, size, ID). Empty values are left out.
 */
import type { JsonValue } from '../../main/api/contract.js';

export interface Fact {
  label: string;
  value: string;
  /** The stored field it comes from, for those who know config.json (shown as secondary text). */
  field: string;
}

export interface FactGroup {
  title: string;
  facts: Fact[];
}

const ENGINE_GROUPS: Array<{ title: string; fields: Array<[field: string, label: string]> }> = [
  {
    title: 'Docker installation',
    fields: [
      ['InstallURL', 'Install script'],
      ['StorageDriver', 'Storage driver'],
      ['GraphDir', 'Data directory'],
      ['TlsVerify', 'TLS client verification'],
    ],
  },
  {
    title: 'Registries',
    fields: [
      ['RegistryMirror', 'Registry mirrors'],
      ['InsecureRegistry', 'Insecure registries'],
    ],
  },
  {
    title: 'Daemon',
    fields: [
      ['Dns', 'DNS servers'],
      ['Labels', 'Labels'],
      ['LogLevel', 'Log level'],
      ['Env', 'Environment'],
      ['ArbitraryFlags', 'Extra daemon options'],
      ['Ipv6', 'IPv6'],
      ['SelinuxEnabled', 'SELinux'],
    ],
  },
];

const DRIVER_FACTS: Record<string, Array<[field: string, label: string]>> = {
  digitalocean: [
    ['Region', 'Region'],
    ['Size', 'Size'],
    ['Image', 'Image'],
    ['DropletID', 'Droplet ID'],
    ['DropletName', 'Droplet name'],
    ['IPv6', 'IPv6'],
    ['PrivateNetworking', 'Private networking'],
    ['Backups', 'Backups'],
    ['Monitoring', 'Monitoring'],
    ['Tags', 'Tags'],
  ],
  generic: [
    ['EnginePort', 'Engine port'],
    ['SSHKey', 'Key given at create'],
  ],
  none: [['URL', 'Engine URL']],
};

/** A stored value as text; '' for nothing worth showing (empty, false, 0, null). */
export function factValue(value: JsonValue | undefined): string {
  if (value === null || value === undefined || value === '' || value === false || value === 0) return '';
  if (value === true) return 'on';
  if (Array.isArray(value))
    return value
      .map((v) => factValue(v))
      .filter(Boolean)
      .join(', ');
  if (typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => (factValue(v) ? `${k}=${factValue(v)}` : ''))
      .filter(Boolean)
      .join(', ');
  }
  return String(value);
}

function pick(source: JsonValue | undefined, fields: Array<[string, string]>): Fact[] {
  if (!source || typeof source !== 'object' || Array.isArray(source)) return [];
  return fields
    .map(([field, label]) => ({ label, field, value: factValue(source[field]) }))
    .filter((f) => f.value !== '');
}

/** The engine options that were set, in groups; groups with nothing set are left out. */
export function engineGroups(engineOptions: JsonValue | undefined): FactGroup[] {
  return ENGINE_GROUPS.map((g) => ({ title: g.title, facts: pick(engineOptions, g.fields) })).filter(
    (g) => g.facts.length > 0,
  );
}

/** The driver's own facts from config.json's `Driver` (a droplet's region, size, ID, ...). */
export function driverFacts(driver: string, config: JsonValue | undefined): Fact[] {
  const stored =
    config && typeof config === 'object' && !Array.isArray(config) ? (config.Driver ?? undefined) : undefined;
  return pick(stored, DRIVER_FACTS[driver] ?? []);
}
