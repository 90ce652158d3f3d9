import type { ProgressReporter } from '../base/progress.js';
import type { MachineState } from '../base/state.js';
import type { HostPrice } from '../schedule/cost.js';
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
  /**
   * The config.json `Driver` field that stores the flag's value, when it is not docker-machine's
   * usual PascalCase of the name without the driver prefix (`digitalocean-access-token` → AccessToken).
   */
  configKey?: string;
  /**
   * What the value must be, checked by one shared function (main/base/validate-input.ts
   * flagValueProblem) in the driver when the CLI or the app creates, and in the create form as
   * the user types.
   */
  check?: FlagCheck;
}

/** A value rule a flag declares: a host address (IPv4/IPv6/DNS name) or a TCP port. */
export type FlagCheck = 'host-address' | 'port';

export type FlagValue = string | number | boolean | string[];
export type FlagValues = Record<string, FlagValue | undefined>;

/** Where and how to reach a machine over SSH. */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** Private key file; empty means "ssh-agent / the user's default keys". */
  keyPath: string;
  /** How the key is named in errors when keyPath is a copy, e.g. `…/id_rsa (a copy of ~/.ssh/deploy)`. */
  keyLabel?: string;
  /** Pinned host keys of this machine (OpenSSH known_hosts format), in its machine directory. */
  knownHostsPath: string;
  /** Named in host key errors; defaults to the name of knownHostsPath's directory. */
  machineName?: string;
}

/** One resource a create asked (or was about to ask) the cloud for: see main/core/create-journal.ts. */
export interface JournalEntry {
  /** The driver's word for it: "droplet", "ssh-key", "instance", "key-pair", "security-group". */
  kind: string;
  /**
   * How the driver finds it again without its id (this create's tag, a fingerprint, a unique
   * name), as data the driver itself wrote; shown to the user when it cannot be checked.
   */
  find: Record<string, string>;
  /** The cloud's id, once an answer named it. */
  id?: string;
}

export interface JournalRecord {
  createId: string;
  startedAt: string;
  entries: JournalEntry[];
}

/** What a cleanup saw of one journaled resource (never a removal it did not see). */
export interface CleanupOutcome {
  entry: JournalEntry;
  result: 'deleted' | 'already gone' | 'could not check';
  /** The deleted resource's id, or why it could not be checked. */
  detail?: string;
}

/** The running create's journal, as a driver sees it. */
export interface CreateJournalHandle {
  /** Unique per create; the driver puts `tag` on every resource it makes. */
  readonly createId: string;
  /** `moor-create-<createId>`. */
  readonly tag: string;
  /** Write-ahead: call before the request that may create the resource. */
  intend(kind: string, find: Record<string, string>): Promise<JournalEntry>;
  /** The answer named the resource's id. */
  created(entry: JournalEntry, id: string): Promise<void>;
  /** The cloud refused the request (4xx): nothing was made. */
  refused(entry: JournalEntry): Promise<void>;
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
  /**
   * Set during create only: where a driver flag's value came from, as the user would name it
   * (`$DIGITALOCEAN_ACCESS_TOKEN`); a flag without an entry was given as a flag (or form field).
   */
  flagSources?: Readonly<Record<string, string>>;
  /** Set during create only (cloud drivers): the write-ahead record of what the create requests. */
  journal?: CreateJournalHandle;
  /**
   * Set during create only (drivers that provision): for a driver that knows the engine's address
   * and port before the machine first boots (qemu's loopback forward). Makes the server certificate
   * and returns a `#cloud-boothook` script that installs it and the engine's TLS configuration
   * before docker.service first starts (main/provision/engine-seed.ts); provisioning then only
   * verifies it. The script holds the server key.
   */
  engineSeed?: (enginePort: number) => Promise<string>;
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
  /**
   * Waits for a new machine to run, reporting why it does not yet and failing early on errors
   * that will not heal (generic: DNS, a refusing port). Without it, create polls state().
   */
  waitUntilRunning?(wait: { tries: number; intervalMs: number }): Promise<void>;
  /**
   * Cloud drivers: deletes every resource of a failed or killed create's journal, each found by
   * its id or else by the create's tag, and reports what it verified. Used instead of remove()
   * while a create is rolled back or recovered; it also removes what remove() would (keychain).
   */
  cleanUpCreate?(record: JournalRecord): Promise<CleanupOutcome[]>;
  /** What the host costs at its provider (clouds only): `moor schedule ls`, the app's details. */
  price?(): Promise<HostPrice>;
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
