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
}

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
  };
}
