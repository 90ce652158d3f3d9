import { MoorError } from '../../base/errors.js';
import { flagBool, flagString } from '../flag-values.js';
import type { DriverModule, FlagSpec, FlagValues } from '../types.js';
import { DEFAULT_CLOUD_IMAGE, DEFAULTS, orderedConfig, SSH_USER, type VirtualBoxConfig } from './config.js';
import { defaultDeps, VirtualBoxDriver } from './driver.js';

/** docker-machine 0.16.2's virtualbox flags (names, defaults, env vars, help), then Moor's image flag. */
export const flags: FlagSpec[] = [
  {
    name: 'virtualbox-memory',
    label: 'Memory (MB)',
    group: 'common',
    type: 'int',
    help: 'Size of memory for host in MB',
    default: DEFAULTS.memory,
    envVar: 'VIRTUALBOX_MEMORY_SIZE',
  },
  {
    name: 'virtualbox-cpu-count',
    label: 'CPUs',
    group: 'common',
    type: 'int',
    help: 'number of CPUs for the machine (-1 to use the number of CPUs available)',
    default: DEFAULTS.cpu,
    envVar: 'VIRTUALBOX_CPU_COUNT',
    configKey: 'CPU',
  },
  {
    name: 'virtualbox-disk-size',
    label: 'Disk size (MB)',
    group: 'common',
    type: 'int',
    help: 'Size of disk for host in MB',
    default: DEFAULTS.diskSize,
    envVar: 'VIRTUALBOX_DISK_SIZE',
  },
  {
    name: 'virtualbox-boot2docker-url',
    label: 'boot2docker ISO URL',
    group: 'advanced',
    type: 'string',
    help: 'The URL of the boot2docker image. Defaults to the latest available version',
    default: '',
    envVar: 'VIRTUALBOX_BOOT2DOCKER_URL',
    configKey: 'Boot2DockerURL',
  },
  {
    name: 'virtualbox-import-boot2docker-vm',
    label: 'Import a boot2docker VM',
    group: 'advanced',
    type: 'string',
    help: 'The name of a Boot2Docker VM to import',
    default: '',
    envVar: 'VIRTUALBOX_BOOT2DOCKER_IMPORT_VM',
    configKey: 'Boot2DockerImportVM',
  },
  {
    name: 'virtualbox-host-dns-resolver',
    label: 'Use the host DNS resolver',
    group: 'advanced',
    type: 'bool',
    help: 'Use the host DNS resolver',
    default: false,
    envVar: 'VIRTUALBOX_HOST_DNS_RESOLVER',
    configKey: 'HostDNSResolver',
  },
  {
    name: 'virtualbox-nat-nictype',
    label: 'NAT network adapter type',
    group: 'advanced',
    type: 'string',
    help: 'Specify the Network Adapter Type',
    default: DEFAULTS.nicType,
    envVar: 'VIRTUALBOX_NAT_NICTYPE',
    configKey: 'NatNicType',
  },
  {
    name: 'virtualbox-hostonly-cidr',
    label: 'Host-only network (CIDR)',
    group: 'advanced',
    type: 'string',
    help: 'Specify the Host Only CIDR',
    default: DEFAULTS.hostOnlyCidr,
    envVar: 'VIRTUALBOX_HOSTONLY_CIDR',
    configKey: 'HostOnlyCIDR',
  },
  {
    name: 'virtualbox-hostonly-nictype',
    label: 'Host-only adapter type',
    group: 'advanced',
    type: 'string',
    help: 'Specify the Host Only Network Adapter Type',
    default: DEFAULTS.nicType,
    envVar: 'VIRTUALBOX_HOSTONLY_NIC_TYPE',
    configKey: 'HostOnlyNicType',
  },
  {
    name: 'virtualbox-hostonly-nicpromisc',
    label: 'Host-only promiscuous mode',
    group: 'advanced',
    type: 'string',
    help: 'Specify the Host Only Network Adapter Promiscuous Mode',
    default: DEFAULTS.promiscMode,
    envVar: 'VIRTUALBOX_HOSTONLY_NIC_PROMISC',
    configKey: 'HostOnlyPromiscMode',
  },
  {
    name: 'virtualbox-ui-type',
    label: 'VM window type',
    group: 'advanced',
    type: 'string',
    help: 'Specify the UI Type: (gui|sdl|headless|separate)',
    default: DEFAULTS.uiType,
    envVar: 'VIRTUALBOX_UI_TYPE',
    configKey: 'UIType',
  },
  {
    name: 'virtualbox-hostonly-no-dhcp',
    label: 'No DHCP on the host-only network',
    group: 'advanced',
    type: 'bool',
    help: 'Disable the Host Only DHCP Server',
    default: false,
    envVar: 'VIRTUALBOX_HOSTONLY_NO_DHCP',
    configKey: 'HostOnlyNoDHCP',
  },
  {
    name: 'virtualbox-no-share',
    label: 'No home folder share',
    group: 'advanced',
    type: 'bool',
    help: 'Disable the mount of your home directory',
    default: false,
    envVar: 'VIRTUALBOX_NO_SHARE',
    configKey: 'NoShare',
  },
  {
    name: 'virtualbox-no-dns-proxy',
    label: 'No DNS proxy',
    group: 'advanced',
    type: 'bool',
    help: 'Disable proxying all DNS requests to the host',
    default: false,
    envVar: 'VIRTUALBOX_NO_DNS_PROXY',
    // Stored inverted, as docker-machine does: DNSProxy = !--virtualbox-no-dns-proxy.
    configKey: 'DNSProxy',
  },
  {
    name: 'virtualbox-no-vtx-check',
    label: 'Skip the VT-x check',
    group: 'advanced',
    type: 'bool',
    help: 'Disable checking for the availability of hardware virtualization before the vm is started',
    default: false,
    envVar: 'VIRTUALBOX_NO_VTX_CHECK',
    configKey: 'NoVTXCheck',
  },
  {
    name: 'virtualbox-share-folder',
    label: 'Shared folder',
    group: 'advanced',
    type: 'string',
    help: 'Mount the specified directory instead of the default home location. Format: dir:name',
    default: '',
    envVar: 'VIRTUALBOX_SHARE_FOLDER',
  },
  {
    name: 'virtualbox-image',
    label: 'Disk image',
    group: 'advanced',
    type: 'string',
    help: 'Moor: cloud image (raw) for a machine without --virtualbox-boot2docker-url, converted to VDI with a cloud-init seed',
    default: DEFAULT_CLOUD_IMAGE,
    envVar: 'VIRTUALBOX_IMAGE',
  },
];

function int(values: FlagValues, flag: string, fallback: number, min: number): number {
  const v = values[flag];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new MoorError(
      `invalid value "${String(v)}" for flag --${flag}: not a whole number of at least ${min}`,
    );
  }
  return n;
}

const virtualbox: DriverModule = {
  name: 'virtualbox',
  description: 'A local VirtualBox VM (boot2docker), driven through VBoxManage',
  capabilities: {
    actions: ['start', 'stop', 'restart', 'kill'],
    ssh: true,
    removes: 'the VirtualBox VM and its disk',
    restartReboots: false,
  },
  provisions: true,
  flags,

  /** docker-machine's SetConfigFromFlags; SSHUser is always docker, SSHPort is set at start. */
  configFromFlags(values, base): VirtualBoxConfig {
    const str = (flag: string, fallback: string) => flagString(values[flag], fallback) || fallback;
    return orderedConfig({
      ...base,
      SSHUser: SSH_USER,
      SSHPort: 0,
      SwarmHost: base.SwarmHost || 'tcp://0.0.0.0:3376',
      VBoxManager: {},
      HostInterfaces: {},
      CPU: int(values, 'virtualbox-cpu-count', DEFAULTS.cpu, -1),
      Memory: int(values, 'virtualbox-memory', DEFAULTS.memory, 1),
      DiskSize: int(values, 'virtualbox-disk-size', DEFAULTS.diskSize, 1),
      NatNicType: str('virtualbox-nat-nictype', DEFAULTS.nicType),
      Boot2DockerURL: flagString(values['virtualbox-boot2docker-url']),
      Boot2DockerImportVM: flagString(values['virtualbox-import-boot2docker-vm']),
      HostDNSResolver: flagBool(values['virtualbox-host-dns-resolver']),
      HostOnlyCIDR: str('virtualbox-hostonly-cidr', DEFAULTS.hostOnlyCidr),
      HostOnlyNicType: str('virtualbox-hostonly-nictype', DEFAULTS.nicType),
      HostOnlyPromiscMode: str('virtualbox-hostonly-nicpromisc', DEFAULTS.promiscMode),
      UIType: str('virtualbox-ui-type', DEFAULTS.uiType),
      HostOnlyNoDHCP: flagBool(values['virtualbox-hostonly-no-dhcp']),
      NoShare: flagBool(values['virtualbox-no-share']),
      DNSProxy: !flagBool(values['virtualbox-no-dns-proxy']),
      NoVTXCheck: flagBool(values['virtualbox-no-vtx-check']),
      ShareFolder: flagString(values['virtualbox-share-folder']),
      Image: flagString(values['virtualbox-boot2docker-url'])
        ? undefined
        : str('virtualbox-image', DEFAULT_CLOUD_IMAGE),
    });
  },

  open(config, ctx, host) {
    return new VirtualBoxDriver(config as VirtualBoxConfig, ctx, defaultDeps(ctx.env), host);
  },
};

export default virtualbox;
