import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseGceLabels } from '../../base/cloud-values.js';
import { errorMessage, HostNotRunningError, MoorError } from '../../base/errors.js';
import { sleep } from '../../base/sleep.js';
import type { MachineState } from '../../base/state.js';
import { DEFAULT_ENGINE_PORT } from '../../store/config.js';
import { loadUserData } from '../cloud-flags.js';
import { generateRsaKeyPair } from '../digitalocean/keys.js';
import { machineSshTarget, recordedAddress } from '../machine-ssh.js';
import type { Driver, DriverContext, SshTarget } from '../types.js';
import {
  ComputeApi,
  type GceFirewall,
  type GceInstance,
  type GceOperation,
  GoogleApiError,
  isConflict,
  isNotFound,
} from './api.js';
import { TokenSource } from './auth.js';
import {
  CREATE_ID_LABEL,
  FIREWALL_RULE,
  FIREWALL_TARGET_TAG,
  type GoogleConfig,
  instanceTags,
  regionOf,
  splitPortProto,
} from './config.js';

/** Knobs for tests and slow projects (environment; seconds / milliseconds as named). */
export function timings(env: Record<string, string | undefined>) {
  const num = (name: string, fallback: number) => {
    const v = Number(env[name]);
    return env[name] && Number.isFinite(v) && v >= 0 ? v : fallback;
  };
  return {
    /** Bound on waiting for one operation (insert, start, stop, delete, firewall). */
    waitMs: num('MOOR_GOOGLE_WAIT_SECONDS', 300) * 1000,
    pollMs: num('MOOR_GOOGLE_POLL_MS', 1000),
    retryBaseMs: num('MOOR_GOOGLE_RETRY_BASE_MS', 500),
  };
}

const STATES: Record<string, MachineState> = {
  PROVISIONING: 'Starting',
  STAGING: 'Starting',
  RUNNING: 'Running',
  STOPPING: 'Stopping',
  SUSPENDING: 'Stopping',
  STOPPED: 'Stopped',
  SUSPENDED: 'Stopped',
  TERMINATED: 'Stopped',
  REPAIRING: 'Error',
};

export function mapInstanceStatus(status: string): MachineState {
  return STATES[status] ?? '';
}

/** The address Moor talks to: the external NAT IP, or the internal one with --google-use-internal-ip. */
export function instanceAddress(instance: GceInstance, useInternalIP: boolean): string {
  const nic = instance.networkInterfaces?.[0];
  if (useInternalIP) return nic?.networkIP ?? '';
  return nic?.accessConfigs?.[0]?.natIP ?? '';
}

/** The ports the firewall rule must allow: the engine's, the swarm master's, --google-open-port. */
export function portsUsed(c: GoogleConfig): string[] {
  const ports = [`${DEFAULT_ENGINE_PORT}/tcp`];
  if (c.SwarmMaster && c.SwarmHost) {
    const port = /:(\d+)\/?$/.exec(c.SwarmHost)?.[1];
    if (port) ports.push(`${port}/tcp`);
  }
  for (const spec of c.OpenPorts ?? []) {
    const { port, proto } = splitPortProto(spec);
    ports.push(`${port}/${proto}`);
  }
  return [...new Set(ports)];
}

/** Ports of `wanted` the rule does not allow yet, by protocol (docker-machine's missingOpenedPorts). */
export function missingPorts(rule: GceFirewall | null, wanted: string[]): Map<string, string[]> {
  const opened = new Set(
    (rule?.allowed ?? []).flatMap((a) => (a.ports ?? []).map((p) => `${p}/${a.IPProtocol}`)),
  );
  const missing = new Map<string, string[]>();
  for (const spec of wanted) {
    if (opened.has(spec)) continue;
    const { port, proto } = splitPortProto(spec);
    missing.set(proto, [...(missing.get(proto) ?? []), port]);
  }
  return missing;
}

/** The `ssh-keys` metadata line the guest agent turns into an account with sudo. */
export function sshKeysLine(user: string, publicKey: string): string {
  return `${user}:${publicKey.trim()} ${user}`;
}

export class GoogleDriver implements Driver {
  private readonly t: ReturnType<typeof timings>;
  private readonly tokens: TokenSource;

  constructor(
    readonly config: GoogleConfig,
    private readonly ctx: DriverContext,
  ) {
    this.t = timings(ctx.env);
    this.tokens = new TokenSource(ctx.env, ctx.signal);
  }

  private get name(): string {
    return this.config.MachineName;
  }

  /** A client; `cancellable: false` for cleanup, which must finish even after a cancel. */
  private api(cancellable = true): ComputeApi {
    return new ComputeApi({
      project: this.config.Project,
      token: () => this.tokens.token(),
      credentialsSource: () => this.tokens.source,
      // Test-only: the emulator in test/emulators/google.
      baseUrl: this.ctx.env.MOOR_GOOGLE_COMPUTE_URL,
      signal: cancellable ? this.ctx.signal : undefined,
      retryBaseMs: this.t.retryBaseMs,
      onRetry: (message) => this.ctx.progress.log(message),
    });
  }

  private async wait(api: ComputeApi, op: GceOperation): Promise<GceOperation> {
    return api.waitFor(op, Date.now() + this.t.waitMs, this.t.pollMs);
  }

  private async checkpoint(): Promise<void> {
    await this.ctx.checkpoint?.();
  }

  async preCreateCheck(): Promise<void> {
    const c = this.config;
    await loadUserData('google', c);
    const api = this.api();
    this.ctx.progress.log('Check that the project exists');
    try {
      await api.getProject();
    } catch (err) {
      if (err instanceof GoogleApiError && (err.status === 404 || err.status === 403)) {
        throw new MoorError(
          `Project with ID "${c.Project}" not found (or not visible to these credentials): ${err.message}`,
        );
      }
      throw err;
    }
    if (!c.UseExisting) {
      try {
        await api.getImage(c.MachineImage);
      } catch (err) {
        if (isNotFound(err)) {
          throw new MoorError(
            `machine image "${c.MachineImage}" not found (--google-machine-image takes PROJECT/global/images/NAME or PROJECT/global/images/family/FAMILY)`,
          );
        }
        throw err;
      }
    }
    this.ctx.progress.log('Check if the instance already exists');
    const instance = await this.findInstance(api);
    if (c.UseExisting && !instance) {
      throw new MoorError(`unable to find instance "${this.name}" in zone "${c.Zone}"`);
    }
    if (!c.UseExisting && instance) {
      throw new MoorError(`instance "${this.name}" already exists in zone "${c.Zone}"`);
    }
    if (!c.UseExisting) {
      // The insert would fail on it after the firewall work; say so now, with what to do.
      const disk = await api.getDisk(c.Zone, this.diskName).catch((err: unknown) => {
        if (isNotFound(err)) return null;
        throw err;
      });
      if (disk) {
        const users = (disk.users ?? []).map((u) => u.split('/').pop()).join(', ');
        throw new MoorError(
          `a disk named "${this.diskName}" already exists in zone "${c.Zone}"` +
            (users
              ? ` (attached to ${users})`
              : ' (not attached to any instance: delete it or choose another machine name)'),
        );
      }
    }
  }

  private async findInstance(api: ComputeApi): Promise<GceInstance | null> {
    try {
      return await api.getInstance(this.config.Zone, this.name);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * SSH key, create id (write-ahead: recorded before anything is requested), firewall rule,
   * instance — each recorded in config.json (checkpoint) before and after it is asked for, so
   * that a failure, a cancel or a kill -9 at any point leaves what `remove` needs.
   */
  async create(): Promise<void> {
    const c = this.config;
    const { progress, signal } = this.ctx;
    progress.step('ssh-key', 'Generating SSH Key');
    const machineKey = path.join(this.ctx.machineDir, 'id_rsa');
    const pair = await generateRsaKeyPair();
    await fs.writeFile(machineKey, pair.privateKey, { mode: 0o600 });
    await fs.writeFile(`${machineKey}.pub`, pair.publicKey, { mode: 0o600 });
    c.SSHKeyPath = machineKey;
    c.CreateID = randomUUID();
    await this.checkpoint();
    signal?.throwIfAborted();

    const api = this.api();
    progress.step('firewall', 'Opening firewall ports');
    await this.openFirewallPorts(api);
    signal?.throwIfAborted();

    let instance: GceInstance;
    if (c.UseExisting) {
      progress.step('instance', 'Configuring instance');
      instance = await this.configureInstance(api, pair.publicKey);
    } else {
      progress.step('instance', 'Creating instance');
      instance = await this.createInstance(api, pair.publicKey);
    }
    c.IPAddress = instanceAddress(instance, c.UseInternalIP);
    if (!c.IPAddress) {
      throw new MoorError(
        `instance "${this.name}" has no ${c.UseInternalIP ? 'internal' : 'external'} IP address` +
          (c.UseExisting && !c.UseInternalIP
            ? ' (use --google-use-internal-ip for an instance without one)'
            : ''),
      );
    }
    await this.checkpoint();
    progress.log(`Created instance ${this.name} (${c.IPAddress})`);
  }

  private async openFirewallPorts(api: ComputeApi): Promise<void> {
    const c = this.config;
    let rule: GceFirewall | null = null;
    try {
      rule = await api.getFirewall(FIREWALL_RULE);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const missing = missingPorts(rule, portsUsed(c));
    if (missing.size === 0) return;
    const allowed = [...missing].map(([IPProtocol, ports]) => ({ IPProtocol, ports }));
    if (!rule) {
      const network = c.Network.includes('/networks/')
        ? c.Network
        : `projects/${c.Project}/global/networks/${c.Network}`;
      const fresh: GceFirewall = {
        name: FIREWALL_RULE,
        // Ties the rule to this create: only this machine's removal may delete it (and only unused).
        description: `Docker engine ports of docker-machine hosts (made by Moor for "${this.name}", create ${c.CreateID})`,
        network,
        sourceRanges: ['0.0.0.0/0'],
        targetTags: [FIREWALL_TARGET_TAG],
        allowed,
      };
      try {
        await this.wait(api, await api.insertFirewall(fresh));
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Another create made it meanwhile: add the ports to theirs.
        rule = await api.getFirewall(FIREWALL_RULE);
        const still = missingPorts(rule, portsUsed(c));
        if (still.size === 0) return;
        allowed.splice(
          0,
          allowed.length,
          ...[...still].map(([IPProtocol, ports]) => ({ IPProtocol, ports })),
        );
      }
    }
    const updated: GceFirewall = { ...rule, allowed: [...(rule.allowed ?? []), ...allowed] };
    await this.wait(api, await api.updateFirewall(updated));
  }

  private async staticAddress(api: ComputeApi): Promise<string> {
    const address = this.config.Address;
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return address;
    try {
      return (await api.getAddress(regionOf(this.config.Zone), address)).address;
    } catch (err) {
      if (isNotFound(err)) {
        throw new MoorError(
          `--google-address "${address}" is neither an IPv4 address nor a reserved address in region ${regionOf(this.config.Zone)}`,
        );
      }
      throw err;
    }
  }

  /** The boot disk's name (docker-machine's): deleted with the instance (autoDelete). */
  get diskName(): string {
    return `${this.name}-disk`;
  }

  instanceRequest(publicKey: string, natIP: string, userData = '') {
    const c = this.config;
    const network = c.Network.includes('/networks/')
      ? c.Network
      : `projects/${c.Project}/global/networks/${c.Network}`;
    const subnetwork = c.Subnetwork.includes('/subnetworks/')
      ? c.Subnetwork
      : c.Subnetwork
        ? `projects/${c.Project}/regions/${regionOf(c.Zone)}/subnetworks/${c.Subnetwork}`
        : undefined;
    return {
      name: this.name,
      description: 'docker host vm',
      machineType: `zones/${c.Zone}/machineTypes/${c.MachineType}`,
      disks: [
        {
          boot: true,
          autoDelete: true,
          type: 'PERSISTENT',
          mode: 'READ_WRITE',
          initializeParams: {
            diskName: this.diskName,
            sourceImage: `projects/${c.MachineImage}`,
            diskSizeGb: String(c.DiskSize),
            diskType: `zones/${c.Zone}/diskTypes/${c.DiskType}`,
          },
        },
      ],
      networkInterfaces: [
        {
          network,
          ...(subnetwork ? { subnetwork } : {}),
          accessConfigs: c.UseInternalIPOnly
            ? []
            : [{ type: 'ONE_TO_ONE_NAT', name: 'External NAT', ...(natIP ? { natIP } : {}) }],
        },
      ],
      tags: { items: instanceTags(c.Tags) },
      serviceAccounts: [{ email: c.ServiceAccount, scopes: c.Scopes.split(',').filter(Boolean) }],
      // Preemptible VMs must not restart automatically (the API refuses otherwise).
      scheduling: c.Preemptible
        ? { preemptible: true, automaticRestart: false, onHostMaintenance: 'TERMINATE' }
        : { preemptible: false },
      labels: { ...parseGceLabels(c.Labels ?? ''), [CREATE_ID_LABEL]: c.CreateID },
      // In the insert itself (docker-machine set it after boot): the account exists from the first boot.
      metadata: {
        items: [
          { key: 'ssh-keys', value: sshKeysLine(c.SSHUser, publicKey) },
          // cloud-init's GCE datasource (and Container-Optimized OS) read this key.
          ...(userData ? [{ key: 'user-data', value: userData }] : []),
        ],
      },
    };
  }

  /**
   * instances.insert with the create id as requestId (repeats are safe) and label. After an answer
   * that leaves it open whether the instance was made, the instance of this name is adopted only
   * when it carries this create's label — never someone else's instance of the same name.
   */
  private async createInstance(api: ComputeApi, publicKey: string): Promise<GceInstance> {
    const c = this.config;
    const natIP = c.Address && !c.UseInternalIPOnly ? await this.staticAddress(api) : '';
    const userData = (await loadUserData('google', c))?.toString('utf8') ?? '';
    const request = this.instanceRequest(publicKey, natIP, userData);
    let op: GceOperation | null = null;
    try {
      op = await api.insertInstance(c.Zone, request, c.CreateID!);
    } catch (err) {
      if (err instanceof GoogleApiError && err.status < 500 && !isConflict(err)) throw err;
      const existing = await this.adoptable(err);
      this.ctx.progress.log(
        `The instance insert failed (${errorMessage(err)}) but instance ${existing.id} of this create exists: using it`,
      );
    }
    if (op?.targetId) {
      c.InstanceID = op.targetId;
      await this.checkpoint();
    }
    this.ctx.progress.log('Waiting for Instance');
    if (op) await this.wait(api, op);
    const deadline = Date.now() + this.t.waitMs;
    for (;;) {
      const instance = await api.getInstance(c.Zone, this.name);
      c.InstanceID = instance.id;
      if (instance.status === 'RUNNING') return instance;
      if (Date.now() > deadline) {
        throw new MoorError(
          `instance "${this.name}" is ${instance.status}, not RUNNING, ${Math.round(this.t.waitMs / 1000)}s after its insert`,
        );
      }
      await sleep(this.t.pollMs, this.ctx.signal);
    }
  }

  /** The instance of this name if it carries this create's label; else the insert's own error. */
  private async adoptable(insertError: unknown): Promise<GceInstance> {
    let instance: GceInstance | null;
    try {
      instance = await this.findInstance(this.api(false));
    } catch (lookupErr) {
      throw new MoorError(
        `${errorMessage(insertError)}; checking whether the instance was created anyway failed too ` +
          `(${errorMessage(lookupErr)}): if project ${this.config.Project} has an instance "${this.name}" in zone ` +
          `${this.config.Zone} with label ${CREATE_ID_LABEL}=${this.config.CreateID}, delete it`,
      );
    }
    if (instance && instance.labels?.[CREATE_ID_LABEL] === this.config.CreateID) return instance;
    if (instance && isConflict(insertError)) {
      throw new MoorError(
        `instance "${this.name}" already exists in zone "${this.config.Zone}" and was not made by this create: left alone`,
      );
    }
    throw insertError;
  }

  /** --google-use-existing: the firewall tag and this machine's SSH key on an instance the user made. */
  private async configureInstance(api: ComputeApi, publicKey: string): Promise<GceInstance> {
    const c = this.config;
    let instance = await api.getInstance(c.Zone, this.name);
    const tags = instance.tags?.items ?? [];
    if (!tags.includes(FIREWALL_TARGET_TAG)) {
      this.ctx.progress.log('Adding tag for the firewall rule');
      await this.wait(
        api,
        await api.setTags(c.Zone, this.name, {
          items: [...tags, FIREWALL_TARGET_TAG],
          fingerprint: instance.tags?.fingerprint,
        }),
      );
    }
    this.ctx.progress.log('Uploading SSH Key');
    // docker-machine replaced all metadata with its key; the instance's other items are kept here.
    const items = instance.metadata?.items ?? [];
    const keys = items.find((i) => i.key === 'ssh-keys')?.value ?? '';
    const line = sshKeysLine(c.SSHUser, publicKey);
    const others = items.filter((i) => i.key !== 'ssh-keys');
    await this.wait(
      api,
      await api.setMetadata(c.Zone, this.name, {
        fingerprint: instance.metadata?.fingerprint,
        items: [...others, { key: 'ssh-keys', value: keys ? `${keys.trimEnd()}\n${line}` : line }],
      }),
    );
    instance = await api.getInstance(c.Zone, this.name);
    c.InstanceID = instance.id;
    return instance;
  }

  /**
   * Deletes the instance this machine's create made (by name, checked against its create id: an
   * instance of the same name made by anyone else is left alone) and the firewall rule if this
   * create made it and no other docker-machine host uses it. An instance of --google-use-existing
   * is the user's: it stays (docker-machine deleted it). 404 = already gone. Runs to the end even after a cancelled create.
   */
  async remove(): Promise<void> {
    const c = this.config;
    const { progress } = this.ctx;
    if (!c.Project) return;
    const api = this.api(false);
    if (c.UseExisting) {
      progress.log(`Instance "${this.name}" was not made by Moor (--google-use-existing): left as it is`);
      if (c.CreateID) await this.removeFirewallIfOurs(api);
      return;
    }
    const instance = await this.findInstance(api);
    if (!instance) {
      progress.log(`Instance "${this.name}" doesn't exist in zone ${c.Zone}, assuming it is already deleted`);
    } else if (c.CreateID && instance.labels?.[CREATE_ID_LABEL] !== c.CreateID) {
      progress.warn(
        `instance "${this.name}" in zone ${c.Zone} was not made by this machine's create ` +
          `(its ${CREATE_ID_LABEL} label is "${instance.labels?.[CREATE_ID_LABEL] ?? ''}", not ${c.CreateID}): left alone`,
      );
    } else {
      progress.log('Deleting instance.');
      try {
        await this.wait(api, await api.deleteInstance(c.Zone, this.name));
        progress.log(`Deleted instance ${this.name}`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        progress.log(`Instance "${this.name}" doesn't exist, assuming it is already deleted`);
      }
    }
    if (c.CreateID) await this.removeFirewallIfOurs(api);
  }

  private async removeFirewallIfOurs(api: ComputeApi): Promise<void> {
    let rule: GceFirewall;
    try {
      rule = await api.getFirewall(FIREWALL_RULE);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (!rule.description?.includes(`create ${this.config.CreateID}`)) return;
    const users = (await api.listAllInstances()).filter(
      (i) =>
        i.labels?.[CREATE_ID_LABEL] !== this.config.CreateID &&
        (i.tags?.items ?? []).some((t) => rule.targetTags?.includes(t)),
    );
    if (users.length > 0) {
      this.ctx.progress.log(
        `Firewall rule ${FIREWALL_RULE} is still used by ${users.map((u) => u.name).join(', ')}: kept`,
      );
      return;
    }
    try {
      await this.wait(api, await api.deleteFirewall(FIREWALL_RULE));
      this.ctx.progress.log(`Deleted firewall rule ${FIREWALL_RULE}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async start(): Promise<void> {
    await this.power('start');
    await this.refreshAddress();
  }

  async stop(): Promise<void> {
    await this.power('stop');
  }

  /** docker-machine's restart: stop, then start (a clean shutdown; an ephemeral IP may change). */
  async restart(): Promise<void> {
    await this.power('stop');
    await this.power('start');
    await this.refreshAddress();
  }

  /** Compute Engine has no power-off other than stop (docker-machine's kill). */
  async kill(): Promise<void> {
    await this.power('stop');
  }

  private async power(action: 'start' | 'stop'): Promise<void> {
    const api = this.api();
    this.ctx.progress.log(`Waiting for instance to ${action}.`);
    await this.wait(api, await api.instanceAction(this.config.Zone, this.name, action));
  }

  private async refreshAddress(): Promise<void> {
    const instance = await this.api().getInstance(this.config.Zone, this.name);
    const ip = instanceAddress(instance, this.config.UseInternalIP);
    if (ip) this.config.IPAddress = ip;
  }

  async state(): Promise<MachineState> {
    const instance = await this.findInstance(this.api());
    return instance ? mapInstanceStatus(instance.status) : '';
  }

  async ip(): Promise<string> {
    return recordedAddress(this.config);
  }

  async url(): Promise<string> {
    if ((await this.state()) !== 'Running') throw new HostNotRunningError();
    return `tcp://${await this.ip()}:${DEFAULT_ENGINE_PORT}`;
  }

  async sshTarget(): Promise<SshTarget> {
    return machineSshTarget(this.config, this.ctx.machineDir, 'docker-user');
  }
}
