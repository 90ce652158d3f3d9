import type { ProgressReporter } from '../base/progress.js';
import type { MachineState } from '../base/state.js';
import type { FlagCheck } from '../base/validate-input.js';
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
  /**
   * The create form's name for the field, in a user's words ("Region", "Access token"); the flag
   * name and env var stay visible beside it. The CLI's help never shows it (docker-machine's text).
   */
  label?: string;
  /**
   * Where the create form puts the field: 'common' (shown) or 'advanced' (collapsed). Required
   * flags are always shown. Default 'advanced'.
   */
  group?: FlagGroup;
  /**
   * The field's value is one of a list the driver fetches from the provider (DriverModule.choices):
   * the form offers a searchable list and still takes free text.
   */
  choices?: ChoiceSource;
  /**
   * The value is a local file of this kind: the create form offers Browse… (the system's file
   * picker) and checks the file as the user types (an SSH private key: main/ssh/check.ts).
   */
  file?: 'ssh-private-key';
  /**
   * A text that may span lines (inline cloud-init user-data): the form shows a text area and
   * sends the text as written.
   */
  multiline?: boolean;
}

export type FlagGroup = 'common' | 'advanced';

/** A list a driver can fetch from its provider for a flag (regions, sizes with prices, images). */
export type ChoiceSource = 'regions' | 'sizes' | 'images';

/** One value the provider offers for a flag. */
export interface FlagChoice {
  /** What the flag gets (a slug: "nyc3", "s-1vcpu-1gb", "ubuntu-24-04-x64"). */
  value: string;
  /** In a user's words: "New York 3", "Basic · 1 vCPU · 1 GB", "Ubuntu 24.04 (LTS) x64". */
  label: string;
  /** Secondary text: price and resources of a size ("$0.009/h · $6/mo · 1 vCPU · 1 GB · 25 GB disk"). */
  detail: string;
  /** The provider accepts new machines with it (a region closed to new droplets: false). */
  available: boolean;
  /**
   * Offered only together with one of these values of another flag (a size only in some regions):
   * the form shows it unavailable while that flag holds another value.
   */
  onlyWith?: { flag: string; values: string[] };
}

/** What a driver needs to fetch choices: the environment and the token the form holds, if any. */
export interface ChoicesContext {
  env: Record<string, string | undefined>;
  /** Credential values the form holds, by flag name (a token typed before the host exists). */
  given: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  /**
   * The `Driver` objects of this driver's machines in the store, by machine name: their
   * credentials (plain, or a keychain reference) serve when the form and the environment have none.
   */
  stored?: () => Promise<Array<{ name: string; config: BaseDriverConfig }>>;
  /** The app's secret store, to read a stored machine's keychain reference. */
  secrets?: SecretStore;
}

export type { FlagCheck } from '../base/validate-input.js';

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
  /**
   * What state() asks (generic: "SSH port 127.0.42.9:22"), named in the list's reason when it
   * does not answer in time.
   */
  stateCheck?(): { address: string; label: string };
  /** Why the last state() was not Running, one line ("connection refused"); '' when it gave none. */
  lastStateFailure?(): string;
  /**
   * Cloud drivers (capability `hibernate`): power off, snapshot, verify the snapshot, destroy the
   * server; the record keeps name, keys, certificates and the snapshot id (state `Hibernated`).
   * Resumes an interrupted hibernate from the step it recorded (ctx.checkpoint saves each).
   */
  hibernate?(): Promise<void>;
  /**
   * Creates the server again from the snapshot (journaled: only a server carrying this wake's
   * create tag is adopted) and waits for its address; the caller then follows the new address
   * and waits for Docker, and calls finishWake. Resumes an interrupted wake.
   */
  wake?(): Promise<void>;
  /** The woken machine answered SSH and TLS: deletes the snapshot and the hibernation record. */
  finishWake?(): Promise<void>;
  /**
   * From the record alone: 'hibernated' (only the snapshot exists), 'interrupted' (a hibernate or
   * wake did not finish; the next hibernate or wake goes on), null (none).
   */
  hibernation?(): 'hibernated' | 'interrupted' | null;
}

/** The power actions a machine can be asked for (`moor start|stop|restart|kill`, tray, window). */
export type PowerAction = 'start' | 'stop' | 'restart' | 'kill' | 'hibernate' | 'wake';

/**
 * What a driver can really do, as data: the window, the tray and the CLI's help offer only these
 * (a `generic` host cannot be stopped by Moor; a `none` host cannot be reached over SSH).
 */
export interface DriverCapabilities {
  /**
   * Power actions the driver performs; the others fail with the driver's "does not support".
   * `hibernate`/`wake` (clouds): the server is destroyed and re-created from a snapshot.
   */
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
  /** Fetches the provider's values for a flag that declares `choices` (the create form's lists). */
  choices?(source: ChoiceSource, ctx: ChoicesContext): Promise<FlagChoice[]>;
}
