import { diskSizeProblem, parseGceLabels, parseGceNetworkTags } from '../../base/cloud-values.js';
import { MoorError } from '../../base/errors.js';
import {
  diskSizeFlag,
  loadUserData,
  parseFlag,
  tagsFlag,
  userDataFields,
  userDataFlag,
} from '../cloud-flags.js';
import { flagBool, flagList, flagString } from '../flag-values.js';
import type { DriverModule, FlagSpec } from '../types.js';
import {
  DEFAULT_DISK_SIZE,
  DEFAULT_DISK_TYPE,
  DEFAULT_IMAGE,
  DEFAULT_MACHINE_TYPE,
  DEFAULT_NETWORK,
  DEFAULT_SCOPES,
  DEFAULT_SERVICE_ACCOUNT,
  DEFAULT_USER,
  DEFAULT_ZONE,
  type GoogleConfig,
  orderedConfig,
  validateOpenPort,
} from './config.js';
import { GoogleDriver } from './driver.js';

/**
 * docker-machine's google flags (drivers/google/google.go), names, env vars and help unchanged;
 * the image default is current. Credentials are not flags: Application Default Credentials
 * ($GOOGLE_APPLICATION_CREDENTIALS or gcloud's file), as docker-machine read them.
 */
export const flags: FlagSpec[] = [
  {
    name: 'google-zone',
    label: 'Zone',
    group: 'common',
    type: 'string',
    help: 'GCE Zone',
    envVar: 'GOOGLE_ZONE',
    default: DEFAULT_ZONE,
  },
  {
    name: 'google-machine-type',
    label: 'Machine type',
    group: 'common',
    type: 'string',
    help: 'GCE Machine Type',
    envVar: 'GOOGLE_MACHINE_TYPE',
    default: DEFAULT_MACHINE_TYPE,
  },
  {
    name: 'google-machine-image',
    label: 'Machine image',
    group: 'common',
    type: 'string',
    help: 'GCE Machine Image Absolute URL',
    envVar: 'GOOGLE_MACHINE_IMAGE',
    default: DEFAULT_IMAGE,
  },
  {
    name: 'google-username',
    label: 'SSH user',
    group: 'advanced',
    type: 'string',
    help: 'GCE User Name',
    envVar: 'GOOGLE_USERNAME',
    default: DEFAULT_USER,
  },
  {
    name: 'google-project',
    label: 'Project ID',
    group: 'common',
    type: 'string',
    help: 'GCE Project',
    envVar: 'GOOGLE_PROJECT',
    default: '',
    required: true,
  },
  {
    name: 'google-service-account',
    label: 'Service account',
    group: 'advanced',
    type: 'string',
    help: 'GCE Service Account for the VM (email address)',
    envVar: 'GOOGLE_SERVICE_ACCOUNT',
    default: DEFAULT_SERVICE_ACCOUNT,
  },
  {
    name: 'google-scopes',
    label: 'API scopes',
    group: 'advanced',
    type: 'string',
    help: 'GCE Scopes (comma-separated if multiple scopes)',
    envVar: 'GOOGLE_SCOPES',
    default: DEFAULT_SCOPES,
  },
  {
    ...diskSizeFlag(
      'google-disk-size',
      'GCE Instance Disk Size (in GB)',
      'GOOGLE_DISK_SIZE',
      DEFAULT_DISK_SIZE,
      'google-disk-size',
    ),
    group: 'common',
  },
  {
    name: 'google-disk-type',
    label: 'Disk type',
    group: 'advanced',
    type: 'string',
    help: 'GCE Instance Disk type',
    envVar: 'GOOGLE_DISK_TYPE',
    default: DEFAULT_DISK_TYPE,
  },
  {
    name: 'google-network',
    label: 'Network',
    group: 'advanced',
    type: 'string',
    help: 'Specify network in which to provision vm',
    envVar: 'GOOGLE_NETWORK',
    default: DEFAULT_NETWORK,
  },
  {
    name: 'google-subnetwork',
    label: 'Subnetwork',
    group: 'advanced',
    type: 'string',
    help: 'Specify subnetwork in which to provision vm',
    envVar: 'GOOGLE_SUBNETWORK',
    default: '',
  },
  {
    name: 'google-address',
    label: 'Static external address',
    group: 'advanced',
    type: 'string',
    help: 'GCE Instance External IP',
    envVar: 'GOOGLE_ADDRESS',
    default: '',
  },
  {
    name: 'google-preemptible',
    label: 'Preemptible (Spot) VM',
    group: 'advanced',
    type: 'bool',
    help: 'GCE Instance Preemptibility',
    envVar: 'GOOGLE_PREEMPTIBLE',
    default: false,
  },
  tagsFlag('google-tags', 'GCE Instance Tags (comma-separated)', 'google-network-tags', {
    envVar: 'GOOGLE_TAGS',
    label: 'Network tags',
  }),
  {
    name: 'google-use-internal-ip',
    label: 'Connect over the internal IP',
    group: 'advanced',
    type: 'bool',
    help: 'Use internal GCE Instance IP rather than public one',
    envVar: 'GOOGLE_USE_INTERNAL_IP',
    default: false,
    configKey: 'UseInternalIP',
  },
  {
    name: 'google-use-internal-ip-only',
    label: 'Internal IP only (no external address)',
    group: 'advanced',
    type: 'bool',
    help: 'Configure GCE instance to not have an external IP address',
    envVar: 'GOOGLE_USE_INTERNAL_IP_ONLY',
    default: false,
    configKey: 'UseInternalIPOnly',
  },
  {
    name: 'google-use-existing',
    label: 'Use an existing instance',
    group: 'advanced',
    type: 'bool',
    help: "Don't create a new VM, use an existing one",
    envVar: 'GOOGLE_USE_EXISTING',
    default: false,
  },
  {
    name: 'google-open-port',
    label: 'Open ports',
    group: 'advanced',
    type: 'string[]',
    help: 'Make the specified port number accessible from the Internet, e.g, 8080/tcp',
    default: [],
    configKey: 'OpenPorts',
  },
  // Moor's (docker-machine's google driver had neither): the shared cloud flags.
  userDataFlag('google', 'GOOGLE_USERDATA'),
  tagsFlag(
    'google-labels',
    'GCE Instance Labels (comma-separated key=value; lowercase letters, digits, "_", "-")',
    'google-labels',
    { envVar: 'GOOGLE_LABELS', configKey: 'Labels', label: 'Labels' },
  ),
];

const google: DriverModule = {
  name: 'google',
  description:
    'A Google Compute Engine instance (credentials: $GOOGLE_APPLICATION_CREDENTIALS or gcloud ADC)',
  capabilities: {
    actions: ['start', 'stop', 'restart', 'kill'],
    ssh: true,
    removes: 'the instance (and its boot disk) and the firewall rule if only it used it',
    restartReboots: true,
  },
  provisions: true,
  flags,

  async configFromFlags(values, base) {
    const project = flagString(values['google-project']).trim();
    if (!project) throw new MoorError('no Google Cloud Project name specified (--google-project)');
    const diskSizeValue = values['google-disk-size'] ?? DEFAULT_DISK_SIZE;
    const diskSizeError = diskSizeProblem('google', diskSizeValue);
    if (diskSizeError) throw new MoorError(`--google-disk-size: ${diskSizeError}`);
    const diskSize = Number(diskSizeValue);
    const diskType = flagString(values['google-disk-type'], DEFAULT_DISK_TYPE).trim() || DEFAULT_DISK_TYPE;
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(diskType)) {
      throw new MoorError(
        `--google-disk-type "${diskType}" is not a disk type name such as pd-standard or pd-ssd`,
      );
    }
    const openPorts = flagList(values['google-open-port']);
    for (const port of openPorts) {
      try {
        validateOpenPort(port);
      } catch (err) {
        throw new MoorError((err as Error).message);
      }
    }
    const zone = flagString(values['google-zone'], DEFAULT_ZONE) || DEFAULT_ZONE;
    if (!/^[a-z]+-[a-z]+\d+-[a-z]$/.test(zone)) {
      throw new MoorError(`--google-zone "${zone}" is not a zone name such as us-central1-a`);
    }
    const useExisting = flagBool(values['google-use-existing']);
    const internalOnly = flagBool(values['google-use-internal-ip-only']);
    const config: GoogleConfig = {
      ...base,
      SSHUser: flagString(values['google-username'], DEFAULT_USER) || DEFAULT_USER,
      SSHPort: 22,
      Zone: zone,
      MachineType: flagString(values['google-machine-type'], DEFAULT_MACHINE_TYPE) || DEFAULT_MACHINE_TYPE,
      MachineImage: (flagString(values['google-machine-image'], DEFAULT_IMAGE) || DEFAULT_IMAGE).replace(
        /^https:\/\/(www|compute)\.googleapis\.com\/compute\/v1\/projects\//,
        '',
      ),
      DiskType: diskType,
      Address: flagString(values['google-address']).trim(),
      Network: flagString(values['google-network'], DEFAULT_NETWORK) || DEFAULT_NETWORK,
      Subnetwork: flagString(values['google-subnetwork']),
      Preemptible: flagBool(values['google-preemptible']),
      // docker-machine: an instance without an external address is reached on its internal one.
      UseInternalIP: flagBool(values['google-use-internal-ip']) || internalOnly,
      UseInternalIPOnly: internalOnly,
      ServiceAccount:
        flagString(values['google-service-account'], DEFAULT_SERVICE_ACCOUNT) || DEFAULT_SERVICE_ACCOUNT,
      Scopes: flagString(values['google-scopes'], DEFAULT_SCOPES) || DEFAULT_SCOPES,
      DiskSize: diskSize,
      Project: project,
      Tags: flagString(values['google-tags']),
      UseExisting: useExisting,
      OpenPorts: openPorts.length > 0 ? openPorts : null,
      ...userDataFields(flagString(values['google-userdata'])),
      Labels: flagString(values['google-labels']).trim(),
    };
    parseFlag(parseGceNetworkTags, config.Tags);
    parseFlag(parseGceLabels, config.Labels ?? '');
    if (useExisting && (config.UserDataFile || config.UserData || config.Labels)) {
      throw new MoorError(
        '--google-userdata and --google-labels apply to a new instance; with --google-use-existing the instance is not created',
      );
    }
    await loadUserData('google', config);
    if (config.Address && config.UseInternalIPOnly) {
      throw new MoorError(
        '--google-address and --google-use-internal-ip-only exclude each other (no external IP)',
      );
    }
    return orderedConfig(config);
  },

  open(config, ctx) {
    return new GoogleDriver(config as GoogleConfig, ctx);
  },
};

export default google;
