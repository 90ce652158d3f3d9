import { randomBytes } from 'node:crypto';
import { buildIso } from './iso9660.js';

/**
 * The cloud-init NoCloud seed of a machine (shared by the VM drivers: qemu, virtualbox): `meta-data` (instance id, hostname) and `user-data`
 * (the SSH user with passwordless sudo and Moor's key). JSON is valid YAML, so values need no quoting
 * rules of our own. A user's own user-data (--qemu-user-data) is sent as a second MIME part, merged
 * by cloud-init (lists appended, dicts merged), so it can add packages or files without losing ours.
 */
export interface SeedOptions {
  hostname: string;
  user: string;
  authorizedKey: string;
  instanceId?: string;
  /** The contents of --qemu-user-data, if any. */
  extraUserData?: string;
  /** NoCloud `network-config` (v2), for VMs whose NICs need more than cloud-init's default DHCP. */
  networkConfig?: string;
  /**
   * A `#cloud-boothook` script run in cloud-init.service before any normal service starts (the
   * engine's TLS files: main/provision/engine-seed.ts). It holds the engine's server key, so the
   * seed image is written 0600, like server-key.pem next to it in the machine directory.
   */
  boothook?: string;
}

export function metaData(o: SeedOptions): string {
  const id = o.instanceId ?? `moor-${o.hostname}-${randomBytes(4).toString('hex')}`;
  return `instance-id: ${JSON.stringify(id)}\nlocal-hostname: ${JSON.stringify(o.hostname)}\n`;
}

export function moorCloudConfig(o: SeedOptions): string {
  const config = {
    hostname: o.hostname,
    preserve_hostname: false,
    // A 127.0.1.1 line for the hostname: without it every `sudo` first waits for DNS to say no
    // (20 s in a VM without a resolver), provisioning's first root command among them.
    manage_etc_hosts: 'localhost',
    ssh_pwauth: false,
    disable_root: true,
    users: [
      {
        name: o.user,
        shell: '/bin/bash',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        // No group of the user's name: images with Docker preinstalled already have a `docker` group,
        // and useradd then refuses the user `docker` (exit 9) and nobody can log in.
        no_user_group: true,
        ssh_authorized_keys: [o.authorizedKey.trim()],
      },
    ],
  };
  return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}

/** The MIME content type cloud-init expects for a user-data part, from its first line. */
export function userDataType(text: string): string {
  const first = text.split('\n', 1)[0]?.trim() ?? '';
  if (first.startsWith('#cloud-config')) return 'text/cloud-config';
  if (first.startsWith('#!')) return 'text/x-shellscript';
  if (first.startsWith('#cloud-boothook')) return 'text/cloud-boothook';
  if (first.startsWith('#include')) return 'text/x-include-url';
  throw new Error(
    'the --qemu-user-data file must start with #cloud-config, #! (a script), #cloud-boothook or #include',
  );
}

export function userData(o: SeedOptions, boundary = `moor-${randomBytes(8).toString('hex')}`): string {
  const ours = moorCloudConfig(o);
  if (!o.extraUserData && !o.boothook) return ours;
  const part = (type: string, body: string, extraHeaders = '') =>
    `--${boundary}\nContent-Type: ${type}; charset="utf-8"\nMIME-Version: 1.0\n${extraHeaders}\n${body.endsWith('\n') ? body : `${body}\n`}`;
  let parts = part('text/cloud-config', ours);
  if (o.boothook) parts += part('text/cloud-boothook', o.boothook);
  if (o.extraUserData) {
    const theirType = userDataType(o.extraUserData);
    parts += part(
      theirType,
      o.extraUserData,
      'Merge-Type: list(append)+dict(recurse_array,no_replace)+str()\n',
    );
  }
  return `Content-Type: multipart/mixed; boundary="${boundary}"\nMIME-Version: 1.0\n\n${parts}--${boundary}--\n`;
}

/** The seed image: ISO 9660, volume id `cidata` (what NoCloud looks for). */
export function seedImage(o: SeedOptions): Uint8Array {
  const enc = new TextEncoder();
  return buildIso('cidata', [
    { name: 'meta-data', data: enc.encode(metaData(o)) },
    { name: 'user-data', data: enc.encode(userData(o)) },
    ...(o.networkConfig ? [{ name: 'network-config', data: enc.encode(o.networkConfig) }] : []),
  ]);
}
