import { type BaseDriverConfig, baseDriverFields } from '../../store/config.js';

/**
 * The `Driver` object of a google machine's config.json, in docker-machine's field order
 * (drivers/google/google.go). The last three fields are Moor's create journal: `CreateID` is
 * written before any resource is requested and is put on each resource (the instance's
 * `moor-create-id` label, the firewall rule's description), so cleanup only ever deletes what
 * this create made; `InstanceID` is the instance's numeric id once it exists.
 */
export interface GoogleConfig extends BaseDriverConfig {
  Zone: string;
  MachineType: string;
  MachineImage: string;
  DiskType: string;
  Address: string;
  Network: string;
  Subnetwork: string;
  Preemptible: boolean;
  UseInternalIP: boolean;
  UseInternalIPOnly: boolean;
  ServiceAccount: string;
  Scopes: string;
  DiskSize: number;
  Project: string;
  Tags: string;
  UseExisting: boolean;
  OpenPorts: string[] | null;
  /** Moor's (docker-machine's google driver had no user-data): `--google-userdata` as a path... */
  UserDataFile?: string;
  /** ...or inline; sent as the instance's `user-data` metadata item. */
  UserData?: string;
  /** Moor's: `--google-labels` (key=value,...), beside Moor's own moor-create-id label. */
  Labels?: string;
  CreateID?: string;
  InstanceID?: string;
}

export const DEFAULT_ZONE = 'us-central1-a';
export const DEFAULT_USER = 'docker-user';
export const DEFAULT_MACHINE_TYPE = 'n1-standard-1';
/** docker-machine's ubuntu-1604-xenial-v20170721 is long gone; an image family always names a current image. */
export const DEFAULT_IMAGE = 'ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64';
export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const DEFAULT_SCOPES =
  'https://www.googleapis.com/auth/devstorage.read_only,https://www.googleapis.com/auth/logging.write,https://www.googleapis.com/auth/monitoring.write';
export const DEFAULT_DISK_TYPE = 'pd-standard';
export const DEFAULT_DISK_SIZE = 10;
export const DEFAULT_NETWORK = 'default';

/** docker-machine's shared firewall rule and the network tag it targets. */
export const FIREWALL_RULE = 'docker-machines';
export const FIREWALL_TARGET_TAG = 'docker-machine';
/** The label that ties an instance to the create that made it. */
export const CREATE_ID_LABEL = 'moor-create-id';

/** `--google-tags a,b` → the instance's network tags, docker-machine's firewall tag first. */
export function instanceTags(tags: string): string[] {
  const extra = tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return [...new Set([FIREWALL_TARGET_TAG, ...extra])];
}

/** `8080/udp` → ["8080", "udp"]; a bare port is TCP (docker-machine's driverutil.SplitPortProto). */
export function splitPortProto(spec: string): { port: string; proto: string } {
  const [port = '', proto = 'tcp'] = spec.trim().split('/');
  return { port, proto: proto.toLowerCase() || 'tcp' };
}

/** Refuses an --google-open-port value that is not PORT[/tcp|udp] (or a PORT-PORT range). */
export function validateOpenPort(spec: string): void {
  const { port, proto } = splitPortProto(spec);
  const range = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(port);
  const inRange = (v: string | undefined) => v === undefined || (Number(v) >= 1 && Number(v) <= 65535);
  if (!range || !inRange(range[1]) || !inRange(range[2]) || !['tcp', 'udp'].includes(proto)) {
    throw new Error(`--google-open-port "${spec}" is not PORT[/tcp|/udp] (e.g. 8080/tcp)`);
  }
}

/** The zone's region: us-central1-a → us-central1. */
export function regionOf(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

/** Builds the Driver object with every key in docker-machine's order (Moor's journal last). */
export function orderedConfig(c: GoogleConfig): GoogleConfig {
  return {
    ...baseDriverFields(c),
    Zone: c.Zone,
    MachineType: c.MachineType,
    MachineImage: c.MachineImage,
    DiskType: c.DiskType,
    Address: c.Address,
    Network: c.Network,
    Subnetwork: c.Subnetwork,
    Preemptible: c.Preemptible,
    UseInternalIP: c.UseInternalIP,
    UseInternalIPOnly: c.UseInternalIPOnly,
    ServiceAccount: c.ServiceAccount,
    Scopes: c.Scopes,
    DiskSize: c.DiskSize,
    Project: c.Project,
    Tags: c.Tags,
    UseExisting: c.UseExisting,
    OpenPorts: c.OpenPorts,
    ...(c.UserDataFile ? { UserDataFile: c.UserDataFile } : {}),
    ...(c.UserData ? { UserData: c.UserData } : {}),
    ...(c.Labels ? { Labels: c.Labels } : {}),
    ...(c.CreateID ? { CreateID: c.CreateID } : {}),
    ...(c.InstanceID ? { InstanceID: c.InstanceID } : {}),
  };
}
