import type { ProgressReporter } from '../base/progress.js';
import type { MachineState } from '../base/state.js';
import type { SecretStore } from '../secrets/types.js';
import type { BaseDriverConfig, HostConfig } from '../store/config.js';

/**
 * A driver flag, declared as data: the CLI's `create` options, the app's create form and the
 * docs are all generated from these. Names are docker-machine's (`generic-ip-address`, ...).
 */
export interface FlagSpec {
  name: string;
  type: 'string' | 'string[]' | 'int' | 'bool';
  help: string;
  default?: string | number | boolean | string[];
  envVar?: string;
  required?: boolean;
  /** A credential: masked in the form, never echoed, kept in the OS keychain where there is one. */
  secret?: boolean;
}

export type FlagValue = string | number | boolean | string[];
export type FlagValues = Record<string, FlagValue | undefined>;

/** Where and how to reach a machine over SSH. */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** Private key file; empty means "ssh-agent / the user's default keys". */
  keyPath: string;
  /** Pinned host keys of this machine (OpenSSH known_hosts format), in its machine directory. */
  knownHostsPath: string;
  /** Named in host key errors; defaults to the name of knownHostsPath's directory. */
  machineName?: string;
}

/** What a driver gets from the core: paths, progress output, cancellation. */
export interface DriverContext {
  storePath: string;
  machineDir: string;
  progress: ProgressReporter;
  signal?: AbortSignal;
  // The environment (process.env in the CLI), typed without Node so the contract can share this file.
  env: Record<string, string | undefined>;
  /**
   * Saves config.json now. `create` calls it as soon as a cloud resource exists (key, droplet),
   * so a killed CLI leaves a record the next `ls`/`rm` can clean up. Set by createMachine.
   */
  checkpoint?: () => Promise<void>;
  /** The app's secret store (Electron safeStorage); the CLI leaves it unset and uses the OS keychain. */
  secrets?: SecretStore;
}

/**
 * One machine's driver: docker-machine's driver interface, async. `config` is the `Driver`
 * object of config.json; a driver mutates it (e.g. records a droplet ID) and the caller saves it.
 */
export interface Driver {
  readonly config: BaseDriverConfig;
  preCreateCheck(): Promise<void>;
  create(): Promise<void>;
  remove(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  kill(): Promise<void>;
  state(): Promise<MachineState>;
  ip(): Promise<string>;
  url(): Promise<string>;
  /** null when the machine has no SSH access (the `none` driver). */
  sshTarget(): Promise<SshTarget | null>;
}

/** The power actions a machine can be asked for (`moor start|stop|restart|kill`, tray, window). */
export type PowerAction = 'start' | 'stop' | 'restart' | 'kill';

/**
 * What a driver can really do, as data: the window, the tray and the CLI's help offer only these
 * (a `generic` host cannot be stopped by Moor; a `none` host cannot be reached over SSH).
 */
export interface DriverCapabilities {
  /** Power actions the driver performs; the others fail with the driver's "does not support". */
  actions: readonly PowerAction[];
  /** Reachable over SSH: terminal, `moor ssh`/`scp`/`mount`, provisioning. */
  ssh: boolean;
  /**
   * What `rm` deletes besides the local record (certificates, keys, config), in a user's words,
   * e.g. "the droplet and its SSH key"; '' when only the local record goes.
   */
  removes: string;
  /** `restart` reboots a server the user may share with others (ask before doing it). */
  restartReboots: boolean;
}

/** A driver folder's export: its flags as data and how to make a Driver. */
export interface DriverModule {
  name: string;
  /** One line for `create --help` and the create form. */
  description: string;
  flags: FlagSpec[];
  capabilities: DriverCapabilities;
  /** Whether `create` provisions the host over SSH after Driver.create (false for `none`). */
  provisions: boolean;
  /**
   * When provisioning fails during `create`, keep the machine (config, copied key, pinned host
   * key) instead of rolling back, so `moor provision NAME` can finish the job. For hosts Moor did
   * not make (generic) there is nothing remote to roll back, and re-typing every flag helps no one.
   */
  keepOnProvisionFailure?: boolean;
  /** docker-machine's SetConfigFromFlags: the `Driver` object for config.json from flag values. */
  configFromFlags(
    values: FlagValues,
    base: BaseDriverConfig,
    ctx: DriverContext,
  ): BaseDriverConfig | Promise<BaseDriverConfig>;
  open(config: BaseDriverConfig, ctx: DriverContext, host?: HostConfig): Driver;
}
