import { type BaseDriverConfig, baseDriverFields } from '../../store/config.js';

/**
 * The `Driver` object of a virtualbox machine's config.json, in docker-machine 0.16.2's field
 * order (drivers/virtualbox/virtualbox.go's Driver struct; `VBoxManager` and `HostInterfaces` are
 * its embedded interfaces, which Go writes as `{}`). `Image` is Moor's: the cloud image of a
 * machine made without boot2docker (absent from docker-machine's machines).
 */
export interface VirtualBoxConfig extends BaseDriverConfig {
  VBoxManager: Record<string, never>;
  HostInterfaces: Record<string, never>;
  CPU: number;
  Memory: number;
  DiskSize: number;
  NatNicType: string;
  Boot2DockerURL: string;
  Boot2DockerImportVM: string;
  HostDNSResolver: boolean;
  HostOnlyCIDR: string;
  HostOnlyNicType: string;
  HostOnlyPromiscMode: string;
  UIType: string;
  HostOnlyNoDHCP: boolean;
  NoShare: boolean;
  DNSProxy: boolean;
  NoVTXCheck: boolean;
  ShareFolder: string;
  Image?: string;
}

/** docker-machine's defaults (virtualbox.go constants). */
export const DEFAULTS = {
  cpu: 1,
  memory: 1024,
  diskSize: 20000,
  hostOnlyCidr: '192.168.99.1/24',
  nicType: '82540EM',
  promiscMode: 'deny',
  uiType: 'headless',
} as const;

/**
 * The cloud image of a machine made without --virtualbox-boot2docker-url: Debian stable's
 * "genericcloud" build in raw format, which `VBoxManage convertfromraw` turns into a VDI.
 */
export const DEFAULT_CLOUD_IMAGE =
  'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.raw';

/** docker-machine's SSH user on boot2docker; Moor's cloud-init seed creates the same user. */
export const SSH_USER = 'docker';

/** Every key in docker-machine's order (Image, Moor's, last and only when set). */
export function orderedConfig(c: VirtualBoxConfig): VirtualBoxConfig {
  return {
    ...baseDriverFields(c),
    VBoxManager: {},
    HostInterfaces: {},
    CPU: c.CPU,
    Memory: c.Memory,
    DiskSize: c.DiskSize,
    NatNicType: c.NatNicType,
    Boot2DockerURL: c.Boot2DockerURL,
    Boot2DockerImportVM: c.Boot2DockerImportVM,
    HostDNSResolver: c.HostDNSResolver,
    HostOnlyCIDR: c.HostOnlyCIDR,
    HostOnlyNicType: c.HostOnlyNicType,
    HostOnlyPromiscMode: c.HostOnlyPromiscMode,
    UIType: c.UIType,
    HostOnlyNoDHCP: c.HostOnlyNoDHCP,
    NoShare: c.NoShare,
    DNSProxy: c.DNSProxy,
    NoVTXCheck: c.NoVTXCheck,
    ShareFolder: c.ShareFolder,
    ...(c.Image ? { Image: c.Image } : {}),
  };
}
