import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HostNotRunningError, MoorError } from '../../base/errors.js';
import type { MachineState } from '../../base/state.js';
import { flagValueProblem, validateHostAddress } from '../../base/validate-input.js';
import { writeFileAtomic } from '../../store/atomic.js';
import { type BaseDriverConfig, DEFAULT_ENGINE_PORT, type HostConfig } from '../../store/config.js';
import { relocate } from '../../store/paths.js';
import { readRegularFileBytes } from '../../store/regular-file.js';
import type { Driver, DriverContext, DriverModule, FlagValues, SshTarget } from '../types.js';

/** config.json's Driver object of a generic machine: BaseDriver, then EnginePort and SSHKey. */
export interface GenericConfig extends BaseDriverConfig {
  EnginePort: number;
  /** The key file the user gave (--generic-ssh-key); SSHKeyPath is Moor's copy of it. */
  SSHKey: string;
}

/** The copy of --generic-ssh-key in the machine directory (libmachine's GetSSHKeyPath name). */
export const COPIED_KEY = 'id_rsa';

/** docker-machine's GetState dial timeout was 15 s; a live host answers a SYN in milliseconds. */
const STATE_DIAL_TIMEOUT_MS = 10_000;
/** How long a reboot may take to drop the SSH connection, then to accept SSH again. */
const REBOOT_DOWN_MS = 60_000;
const REBOOT_UP_MS = 300_000;

/**
 * Any machine reachable over SSH: Moor installs and secures Docker on it and otherwise leaves it
 * alone (it cannot power it on or off). Flags, messages and config.json match docker-machine's.
 */
const generic: DriverModule = {
  name: 'generic',
  description: 'An existing host reachable over SSH (any cloud or bare metal); Docker is installed on it',
  // Moor did not make the host: it can reboot it over SSH, never power it off or on.
  capabilities: { actions: ['restart'], ssh: true, removes: '', restartReboots: true },
  provisions: true,
  keepOnProvisionFailure: true,
  flags: [
    {
      name: 'generic-engine-port',
      label: 'Docker engine port',
      group: 'advanced',
      type: 'int',
      help: 'Docker engine port',
      default: DEFAULT_ENGINE_PORT,
      envVar: 'GENERIC_ENGINE_PORT',
      check: 'port',
    },
    {
      name: 'generic-ip-address',
      label: 'IP address',
      group: 'common',
      type: 'string',
      help: 'IP Address of machine',
      default: '',
      envVar: 'GENERIC_IP_ADDRESS',
      required: true,
      check: 'host-address',
    },
    {
      name: 'generic-ssh-key',
      label: 'SSH private key',
      group: 'common',
      type: 'string',
      help: 'SSH private key path (if not provided, default SSH key will be used)',
      default: '',
      envVar: 'GENERIC_SSH_KEY',
      file: 'ssh-private-key',
    },
    {
      name: 'generic-ssh-port',
      label: 'SSH port',
      group: 'common',
      type: 'int',
      help: 'SSH port',
      default: 22,
      envVar: 'GENERIC_SSH_PORT',
      check: 'port',
    },
    {
      name: 'generic-ssh-user',
      label: 'SSH user',
      group: 'common',
      type: 'string',
      help: 'SSH user',
      default: 'root',
      envVar: 'GENERIC_SSH_USER',
    },
  ],

  configFromFlags(values: FlagValues, base: BaseDriverConfig): GenericConfig {
    const ip = String(values['generic-ip-address'] ?? '').trim();
    if (!ip) throw new MoorError('generic driver requires the --generic-ip-address option');
    // Up front: `999.1.1.1` or `tcp://…` would otherwise fail minutes later as a DNS error.
    validateHostAddress(ip, '--generic-ip-address');
    const sshPort = port(values['generic-ssh-port'], 22, 'generic-ssh-port');
    const enginePort = port(values['generic-engine-port'], DEFAULT_ENGINE_PORT, 'generic-engine-port');
    const key = String(values['generic-ssh-key'] ?? '');
    return {
      ...base,
      IPAddress: ip,
      SSHUser: String(values['generic-ssh-user'] || 'root'),
      SSHPort: sshPort,
      SSHKeyPath: '',
      EnginePort: enginePort,
      // Absolute, so the check and the copy do not depend on where create ran.
      SSHKey: key ? path.resolve(key) : '',
    };
  },

  open(config: BaseDriverConfig, ctx: DriverContext, host?: HostConfig): Driver {
    return new GenericDriver(config as GenericConfig, ctx, host);
  },
};

function port(value: unknown, fallback: number, flag: string): number {
  if (value === undefined || value === '') return fallback;
  // The rule the flag declares (check: 'port'), shared with the app's form.
  if (flagValueProblem('port', value)) {
    throw new MoorError(`invalid value "${String(value)}" for flag --${flag}: not a port number`);
  }
  return Number(value);
}

export class GenericDriver implements Driver {
  constructor(
    readonly config: GenericConfig,
    private readonly ctx: DriverContext,
    private readonly host?: HostConfig,
  ) {}

  async preCreateCheck(): Promise<void> {
    const key = this.config.SSHKey;
    if (
      key &&
      !(await fs.stat(key).then(
        (s) => s.isFile(),
        () => false,
      ))
    ) {
      throw new MoorError(`SSH key does not exist: "${key}"`);
    }
    if (key) {
      const { isPublicKeyFile, publicKeyMistake } = await import('../../ssh/index.js');
      if (await isPublicKeyFile(key)) {
        throw new MoorError(`--generic-ssh-key "${key}": ${await publicKeyMistake(key)}`);
      }
    }
  }

  /**
   * Before provisioning: waits for the SSH port, saying why it does not answer yet (the CLI's
   * and the app's progress) and giving up early when waiting cannot help (a name that does not
   * resolve; a port that keeps refusing, i.e. nothing listens there).
   */
  async waitUntilRunning(wait: { tries: number; intervalMs: number }): Promise<void> {
    const { waitForPort } = await import('../../ssh/index.js');
    await waitForPort({
      host: this.config.IPAddress,
      port: this.config.SSHPort || 22,
      progress: this.ctx.progress,
      signal: this.ctx.signal,
      deadlineMs: wait.tries * wait.intervalMs,
      intervalMs: wait.intervalMs,
      dialTimeoutMs: STATE_DIAL_TIMEOUT_MS,
      hint: (kind) =>
        kind === 'refused'
          ? 'is sshd running there, and is --generic-ssh-port right?'
          : 'check --generic-ip-address (and that the host is up)',
    });
  }

  /**
   * Nothing remote: the key (and its .pub) is copied into the machine directory, 0600, as
   * `id_rsa` (docker-machine's name for a machine's own key, whatever its type). docker-machine
   * kept the key's own file name, so a key called key.pem, cert.pem or config.json overwrote the
   * store's files; config.json records the copy's path, so machines made either way keep working.
   */
  async create(): Promise<void> {
    const { progress, machineDir } = this.ctx;
    const key = this.config.SSHKey;
    if (!key) {
      progress.log('No SSH key specified. Assuming an existing key at the default location.');
      return;
    }
    progress.step('import-key', 'Importing SSH key...');
    const copy = path.join(machineDir, COPIED_KEY);
    await writeFileAtomic(copy, await readRegularFileBytes(key), { mode: 0o600 });
    try {
      await writeFileAtomic(`${copy}.pub`, await readRegularFileBytes(`${key}.pub`), { mode: 0o600 });
    } catch (err) {
      progress.log(`Couldn't copy SSH public key : ${(err as Error).message}`);
    }
    this.config.SSHKeyPath = copy;
  }

  /** The host is the user's: removing the machine touches nothing on it (see rm --remove-engine-config). */
  async remove(): Promise<void> {}

  async start(): Promise<void> {
    throw new MoorError('generic driver does not support start');
  }

  async stop(): Promise<void> {
    throw new MoorError('generic driver does not support stop');
  }

  async kill(): Promise<void> {
    throw new MoorError('generic driver does not support kill');
  }

  /**
   * Reboots over SSH (docker-machine: `sudo shutdown -r now`) and returns once the host went down
   * and accepts SSH again, so the caller's "wait for Running, then for Docker" is meaningful.
   */
  async restart(): Promise<void> {
    const { connect } = await import('../../ssh/index.js');
    const target = await this.sshTarget();
    const { progress, signal } = this.ctx;
    const session = await connect(target, { retryForMs: 0, signal });
    let wentDown: boolean;
    let timer: NodeJS.Timeout | undefined;
    try {
      progress.log(`Rebooting ${target.host}...`);
      // Detached, so the exec's own exit status arrives before the connection drops.
      const r = await session.exec(
        'cmd="shutdown -r now"; [ "$(id -u)" = 0 ] || cmd="sudo -n $cmd"; nohup sh -c "sleep 1; $cmd" >/dev/null 2>&1 &',
        { signal },
      );
      if (r.code !== 0)
        throw new MoorError(`reboot of ${target.host} failed: ${(r.stderr || r.stdout).trim()}`);
      wentDown = await Promise.race([
        session.closed.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), REBOOT_DOWN_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      session.close(); // also when the reboot command failed: no connection left open
    }
    if (!wentDown)
      throw new MoorError(`${target.host} did not go down within ${REBOOT_DOWN_MS / 1000} s of the reboot`);
    progress.log(`Waiting for ${target.host} to come back...`);
    const back = await connect(target, { retryForMs: REBOOT_UP_MS, signal });
    back.close();
  }

  /** Why the last state() found the SSH port closed ('' after it answered). */
  private stateFailure = '';

  /** docker-machine's rule: Running when the SSH port accepts a TCP connection, else Stopped. */
  async state(): Promise<MachineState> {
    const { probeTcp } = await import('../../ssh/reachability.js');
    const failure = await probeTcp(
      this.config.IPAddress,
      this.config.SSHPort,
      STATE_DIAL_TIMEOUT_MS,
      this.ctx.signal,
    );
    this.stateFailure = failure?.reason ?? '';
    return failure ? 'Stopped' : 'Running';
  }

  stateCheck(): { address: string; label: string } {
    const ip = this.config.IPAddress;
    const address = `${ip.includes(':') ? `[${ip}]` : ip}:${this.config.SSHPort || 22}`;
    return { address, label: `SSH port ${address}` };
  }

  lastStateFailure(): string {
    return this.stateFailure;
  }

  async ip(): Promise<string> {
    if (!this.config.IPAddress) throw new MoorError('IP address is not set');
    return this.config.IPAddress;
  }

  async url(): Promise<string> {
    if ((await this.state()) !== 'Running') throw new HostNotRunningError();
    const ip = await this.ip();
    const host = ip.includes(':') ? `[${ip}]` : ip;
    return `tcp://${host}:${this.config.EnginePort || DEFAULT_ENGINE_PORT}`;
  }

  async sshTarget(): Promise<SshTarget> {
    const recorded = this.config.SSHKeyPath;
    let keyPath = this.host ? relocate(recorded, this.host, this.ctx.storePath) : recorded;
    // A machine whose key copy is gone (e.g. a hand-edited store) still has the original key.
    if (
      keyPath &&
      !(await fs.stat(keyPath).then(
        () => true,
        () => false,
      )) &&
      this.config.SSHKey
    ) {
      keyPath = this.config.SSHKey;
    }
    return {
      host: this.config.IPAddress,
      port: this.config.SSHPort || 22,
      user: this.config.SSHUser || 'root',
      keyPath,
      keyLabel:
        keyPath && this.config.SSHKey && keyPath !== this.config.SSHKey
          ? `${keyPath} (a copy of ${this.config.SSHKey})`
          : undefined,
      knownHostsPath: path.join(this.ctx.machineDir, 'known_hosts'),
      machineName: this.config.MachineName,
    };
  }
}

export default generic;
