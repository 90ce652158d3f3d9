import { type BaseDriverConfig, baseDriverFields } from '../../store/config.js';

/**
 * The `Driver` object of a digitalocean machine's config.json, in docker-machine's field order
 * (drivers/digitalocean/digitalocean.go). `AccessTokenRef` is Moor's: present only when the token
 * is in a keychain, and then `AccessToken` is "".
 */
export interface DigitalOceanConfig extends BaseDriverConfig {
  AccessToken: string;
  AccessTokenRef?: string;
  DropletID: number;
  DropletName: string;
  Image: string;
  Region: string;
  SSHKeyID: number;
  SSHKeyFingerprint: string;
  SSHKey: string;
  Size: string;
  IPv6: boolean;
  Backups: boolean;
  PrivateNetworking: boolean;
  UserDataFile: string;
  /** Moor's: inline user-data (the flag's value was the text itself, not a path). */
  UserData?: string;
  Monitoring: boolean;
  Tags: string;
  /** Moor's: a hibernate or wake in progress or done (docker-machine ignores the field). */
  Hibernation?: Hibernation;
}

/**
 * What `moor hibernate` did so far, written before each step's request, so a kill -9 anywhere
 * leaves what the next command needs: the snapshot's name before it is requested, its id once
 * verified (only then is the droplet destroyed), the wake's create tag before the droplet is
 * requested (only a droplet carrying it is adopted). Cleared once the woken droplet answers.
 */
export interface Hibernation {
  /**
   * snapshotting: powering off / snapshot requested (the droplet still exists);
   * destroying: the snapshot is verified, the droplet is being destroyed;
   * hibernated: only the snapshot exists;
   * waking: a droplet is being created from the snapshot (WakeTag set).
   */
  Phase: 'snapshotting' | 'destroying' | 'hibernated' | 'waking';
  /** `moor-hibernate-<machine>-<id>`: how the snapshot is found before its id is known. */
  SnapshotName: string;
  /** 0 until the snapshot was seen and verified. */
  SnapshotID: number;
  /** Its billed size (the API's size_gigabytes). */
  SnapshotGigabytes: number;
  /** The droplet it was taken of. */
  DropletID: number;
  /** `moor-create-<id>` of the wake's droplet, set before the create request; '' before. */
  WakeTag: string;
  /** When the hibernate began (ISO 8601). */
  Since: string;
}

/** The machine's droplet is gone and its snapshot holds it (the state `Hibernated`). */
export function isHibernated(c: Pick<DigitalOceanConfig, 'DropletID' | 'Hibernation'>): boolean {
  const h = c.Hibernation;
  return !!h && !(c.DropletID > 0) && h.SnapshotID > 0 && (h.Phase === 'hibernated' || h.Phase === 'waking');
}

/** DigitalOcean's snapshot price: $0.06 per GB and month (billed hourly). */
export const SNAPSHOT_USD_PER_GB_MONTH = 0.06;

export const DEFAULT_IMAGE = 'ubuntu-24-04-x64';
export const DEFAULT_REGION = 'nyc3';
export const DEFAULT_SIZE = 's-1vcpu-1gb';

/** Flatcar (and the retired CoreOS) images: Docker preinstalled, provisioned by the Flatcar provisioner. */
export function isFlatcarImage(image: string): boolean {
  return /flatcar|coreos/i.test(image);
}

/** A numeric image is an image ID (snapshots, custom images); anything else is a slug. */
export function imageParam(image: string): string | number {
  return /^\d+$/.test(image) ? Number(image) : image;
}

/** Builds the Driver object with every key in docker-machine's order (ref right after the token). */
export function orderedConfig(c: DigitalOceanConfig): DigitalOceanConfig {
  return {
    ...baseDriverFields(c),
    AccessToken: c.AccessToken,
    ...(c.AccessTokenRef ? { AccessTokenRef: c.AccessTokenRef } : {}),
    DropletID: c.DropletID,
    DropletName: c.DropletName,
    Image: c.Image,
    Region: c.Region,
    SSHKeyID: c.SSHKeyID,
    SSHKeyFingerprint: c.SSHKeyFingerprint,
    SSHKey: c.SSHKey,
    Size: c.Size,
    IPv6: c.IPv6,
    Backups: c.Backups,
    PrivateNetworking: c.PrivateNetworking,
    UserDataFile: c.UserDataFile,
    ...(c.UserData ? { UserData: c.UserData } : {}),
    Monitoring: c.Monitoring,
    Tags: c.Tags,
    ...(c.Hibernation ? { Hibernation: c.Hibernation } : {}),
  };
}
