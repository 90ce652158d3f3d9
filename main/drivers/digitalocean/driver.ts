import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseDigitalOceanTags } from '../../base/cloud-values.js';
import { errorMessage, HostNotRunningError, MoorError } from '../../base/errors.js';
import { sleep } from '../../base/sleep.js';
import type { MachineState } from '../../base/state.js';
import type { HostPrice } from '../../schedule/cost.js';
import {
  AppOnlySecretError,
  commitSecret,
  deleteSecret,
  plainTextWarning,
  readSecret,
} from '../../secrets/index.js';
import { DEFAULT_ENGINE_PORT } from '../../store/config.js';
import { loadUserData } from '../cloud-flags.js';
import { machineSshTarget, recordedAddress } from '../machine-ssh.js';
import type {
  CleanupOutcome,
  Driver,
  DriverContext,
  JournalEntry,
  JournalRecord,
  SshTarget,
} from '../types.js';
import {
  DigitalOceanApi,
  type DoAction,
  type DoDroplet,
  type DoRegion,
  type DoSshKey,
  type DropletCreateRequest,
  isNotFound,
  mayHaveCommitted,
} from './api.js';
import { type DigitalOceanConfig, imageParam } from './config.js';
import { generateRsaKeyPair, md5Fingerprint } from './keys.js';

/** Knobs for tests and slow accounts (environment; seconds / milliseconds as named). */
export function timings(env: NodeJS.ProcessEnv) {
  const num = (name: string, fallback: number) => {
    const v = Number(env[name]);
    return env[name] && Number.isFinite(v) && v >= 0 ? v : fallback;
  };
  return {
    /** Bound on waiting for the droplet's IP, and for a power action to complete. */
    waitMs: num('MOOR_DIGITALOCEAN_WAIT_SECONDS', 300) * 1000,
    pollMs: num('MOOR_DIGITALOCEAN_POLL_MS', 1000),
    retryBaseMs: num('MOOR_DIGITALOCEAN_RETRY_BASE_MS', 500),
  };
}

const STATES: Record<string, MachineState> = { new: 'Starting', active: 'Running', off: 'Stopped' };

export function mapDropletStatus(status: string): MachineState {
  return STATES[status] ?? '';
}

export function publicIPv4(droplet: DoDroplet): string {
  return droplet.networks?.v4?.find((n) => n.type === 'public')?.ip_address ?? '';
}

/**
 * Why the token of the create running in a context will be kept in plain text: warned about when
 * the droplet is really being created, not before a pre-create check that may still fail.
 */
export const deferredPlainTextWarnings = new WeakMap<DriverContext, string>();

export class DigitalOceanDriver implements Driver {
  private readonly t: ReturnType<typeof timings>;

  constructor(
    readonly config: DigitalOceanConfig,
    private readonly ctx: DriverContext,
  ) {
    this.t = timings(ctx.env);
  }

  private get name(): string {
    return this.config.MachineName;
  }

  /**
   * The token: config.json (docker-machine files), else the keychain item, else the env var.
   * During create it is named by where the user gave it (the flag or its environment variable):
   * config.json and the keychain item do not hold it yet, and are not what the user should check.
   */
  private async token(): Promise<{ token: string; source: string }> {
    const c = this.config;
    const given = this.ctx.flagSources;
    if (given) {
      const source = given['digitalocean-access-token'] ?? '--digitalocean-access-token';
      if (c.AccessToken) return { token: c.AccessToken, source };
      if (c.AccessTokenRef) {
        const token = await readSecret(c.AccessTokenRef, { env: this.ctx.env, injected: this.ctx.secrets });
        return { token, source };
      }
    }
    if (c.AccessToken)
      return { token: c.AccessToken, source: `the AccessToken in config.json of "${this.name}"` };
    const envToken = this.ctx.env.DIGITALOCEAN_ACCESS_TOKEN?.trim();
    if (c.AccessTokenRef) {
      try {
        const token = await readSecret(c.AccessTokenRef, { env: this.ctx.env, injected: this.ctx.secrets });
        return { token, source: `the keychain item ${c.AccessTokenRef}` };
      } catch (err) {
        if (envToken) return { token: envToken, source: '$DIGITALOCEAN_ACCESS_TOKEN' };
        if (err instanceof AppOnlySecretError) {
          throw new MoorError(
            `the DigitalOcean access token of machine "${this.name}" is kept by the Moor app's safe storage ` +
              `(${c.AccessTokenRef}); run the command from the app or set DIGITALOCEAN_ACCESS_TOKEN`,
          );
        }
        throw new MoorError(
          `no DigitalOcean access token for machine "${this.name}": ${errorMessage(err)}. Set DIGITALOCEAN_ACCESS_TOKEN.`,
        );
      }
    }
    if (envToken) return { token: envToken, source: '$DIGITALOCEAN_ACCESS_TOKEN' };
    throw new MoorError(
      `no DigitalOcean access token for machine "${this.name}": config.json has none; set DIGITALOCEAN_ACCESS_TOKEN`,
    );
  }

  /** An API client; `cancellable: false` for cleanup, which must finish even after a cancel. */
  private async api(cancellable = true): Promise<DigitalOceanApi> {
    const { token, source } = await this.token();
    return new DigitalOceanApi({
      token,
      tokenSource: source,
      baseUrl: this.ctx.env.DIGITALOCEAN_API_URL,
      signal: cancellable ? this.ctx.signal : undefined,
      retryBaseMs: this.t.retryBaseMs,
      onRetry: (message) => this.ctx.progress.log(message),
    });
  }

  private async checkpoint(): Promise<void> {
    await this.ctx.checkpoint?.();
  }

  async preCreateCheck(): Promise<void> {
    const c = this.config;
    await loadUserData('digitalocean', c);
    if (c.SSHKey) {
      if (!c.SSHKeyFingerprint) {
        throw new MoorError(
          '--digitalocean-ssh-key-path needs --digitalocean-ssh-key-fingerprint (the key already in your DigitalOcean account)',
        );
      }
      try {
        await fs.access(c.SSHKey);
      } catch {
        throw new MoorError(`SSH key does not exist: "${c.SSHKey}"`);
      }
    }
    const api = await this.api();
    const regions = await api.listRegions();
    const region = regions.find((r: DoRegion) => r.slug === c.Region);
    if (!region) {
      const known = regions.map((r) => r.slug).join(', ');
      throw new MoorError(`digitalocean requires a valid region: "${c.Region}" is not one of ${known}`);
    }
    if (region.available === false) {
      throw new MoorError(`digitalocean region "${c.Region}" is not accepting new droplets`);
    }
    if (Array.isArray(region.sizes) && region.sizes.length > 0 && !region.sizes.includes(c.Size)) {
      throw new MoorError(`digitalocean size "${c.Size}" is not available in region "${c.Region}"`);
    }
    if (c.SSHKeyFingerprint) await this.existingKey(api);
  }

  private async existingKey(api: DigitalOceanApi) {
    try {
      return await api.getKey(this.config.SSHKeyFingerprint);
    } catch (err) {
      if (isNotFound(err)) {
        throw new MoorError(
          `Digital Ocean SSH key with fingerprint ${this.config.SSHKeyFingerprint} doesn't exist`,
        );
      }
      throw err;
    }
  }

  /**
   * Key, droplet, address — each recorded in config.json (checkpoint) the moment it exists, so
   * a failure, a cancel or a kill -9 at any point leaves what `remove` needs to clean up.
   */
  async create(): Promise<void> {
    const c = this.config;
    const { progress, signal } = this.ctx;
    const api = await this.api();
    await this.storeToken();
    // Said only now that the pre-create check passed (configFromFlags deferred it).
    const plainText = deferredPlainTextWarnings.get(this.ctx);
    if (plainText !== undefined) {
      deferredPlainTextWarnings.delete(this.ctx);
      progress.warn(plainTextWarning('The DigitalOcean access token', plainText));
    }

    const userData = (await loadUserData('digitalocean', c))?.toString('utf8') ?? '';
    const machineKey = path.join(this.ctx.machineDir, 'id_rsa');
    if (c.SSHKeyFingerprint) {
      const key = await this.existingKey(api);
      c.SSHKeyID = key.id;
      if (c.SSHKey) {
        progress.log('Importing SSH key...');
        await fs.copyFile(c.SSHKey, machineKey);
        await fs.chmod(machineKey, 0o600);
        await fs.copyFile(`${c.SSHKey}.pub`, `${machineKey}.pub`).catch(() => undefined);
        c.SSHKeyPath = machineKey;
      } else {
        progress.log('Assuming Digital Ocean private SSH is located at ~/.ssh/id_rsa');
        c.SSHKeyPath = '';
      }
    } else {
      progress.step('ssh-key', 'Creating SSH key...');
      const pair = await generateRsaKeyPair();
      await fs.writeFile(machineKey, pair.privateKey, { mode: 0o600 });
      await fs.writeFile(`${machineKey}.pub`, pair.publicKey, { mode: 0o600 });
      c.SSHKeyPath = machineKey;
      signal?.throwIfAborted();
      const fingerprint = md5Fingerprint(pair.publicKey);
      const entry = await this.ctx.journal?.intend('ssh-key', { fingerprint });
      const key = await this.uploadKey(api, pair.publicKey).catch(async (err: unknown) => {
        if (entry && !mayHaveCommitted(err)) await this.ctx.journal?.refused(entry);
        throw err;
      });
      c.SSHKeyID = key.id;
      if (entry) await this.ctx.journal?.created(entry, String(key.id));
      await this.checkpoint();
    }
    signal?.throwIfAborted();

    progress.step('droplet', 'Creating Digital Ocean droplet...');
    const request: DropletCreateRequest = {
      name: c.MachineName,
      region: c.Region,
      size: c.Size,
      image: imageParam(c.Image),
      ssh_keys: [c.SSHKeyID],
      backups: c.Backups,
      ipv6: c.IPv6,
      private_networking: c.PrivateNetworking,
      monitoring: c.Monitoring,
      ...(userData ? { user_data: userData } : {}),
      // This create's tag: the only way a droplet is recognised as ours after a lost answer.
      tags: [...parseDigitalOceanTags(c.Tags), ...(this.ctx.journal ? [this.ctx.journal.tag] : [])],
    };
    const entry = await this.ctx.journal?.intend(
      'droplet',
      this.ctx.journal ? { tag: this.ctx.journal.tag } : {},
    );
    const droplet = await this.createDroplet(api, request).catch(async (err: unknown) => {
      if (entry && !mayHaveCommitted(err)) await this.ctx.journal?.refused(entry);
      throw err;
    });
    c.DropletID = droplet.id;
    if (entry) await this.ctx.journal?.created(entry, String(droplet.id));
    await this.checkpoint();
    signal?.throwIfAborted();

    progress.step('wait-ip', 'Waiting for IP address to be assigned to the Droplet...');
    const deadline = Date.now() + this.t.waitMs;
    let current = droplet;
    // docker-machine polled forever; a droplet that never comes up must fail the create (and roll back).
    while (!(current.status === 'active' && publicIPv4(current))) {
      if (Date.now() > deadline) {
        throw new MoorError(
          `droplet ${c.DropletID} did not become active with a public IPv4 address within ${Math.round(this.t.waitMs / 1000)}s (status "${current.status}")`,
        );
      }
      await sleep(this.t.pollMs, signal);
      current = await api.getDroplet(c.DropletID);
    }
    c.IPAddress = publicIPv4(current);
    await this.checkpoint();
    progress.log(`Created droplet ${c.DropletID} (${c.IPAddress})`);
  }

  /**
   * POST /v2/account/keys is not repeated either (see createDroplet). After an ambiguous failure
   * the key may exist; it was generated just now, so its fingerprint identifies it: found, it is
   * adopted (recorded by the caller like an uploaded key, then used or rolled back); a 404 means
   * the upload did not happen, and the create fails with the upload's error.
   */
  private async uploadKey(api: DigitalOceanApi, publicKey: string): Promise<DoSshKey> {
    try {
      return await api.createKey(this.name, publicKey);
    } catch (err) {
      if (!mayHaveCommitted(err)) throw err;
      const fingerprint = md5Fingerprint(publicKey);
      let key: DoSshKey;
      try {
        // Not cancellable: a cancel here would leave a key that may exist without a record.
        key = await (await this.api(false)).getKey(fingerprint);
      } catch (lookupErr) {
        if (isNotFound(lookupErr)) throw err;
        throw new MoorError(
          `${errorMessage(err)}; checking whether the SSH key was created anyway failed too ` +
            `(${errorMessage(lookupErr)}): if your DigitalOcean account has a key with fingerprint ` +
            `${fingerprint}, delete it`,
        );
      }
      this.ctx.progress.log(
        `The SSH key upload failed (${errorMessage(err)}) but key ${key.id} was created: using it`,
      );
      return key;
    }
  }

  /**
   * POST /v2/droplets is not repeated after a 5xx or a dropped connection (a repeat could make a
   * second droplet). Such an answer is ambiguous — the droplet may exist — so Moor looks for the
   * droplet carrying this create's tag and adopts it: recorded, it is either used or rolled back,
   * never orphaned. A droplet without the tag (another client's, even of the same name) is never
   * taken. Without a journal (no tag) nothing is adopted: the create fails, and the rollback finds
   * nothing to delete.
   */
  private async createDroplet(api: DigitalOceanApi, request: DropletCreateRequest): Promise<DoDroplet> {
    try {
      return await api.createDroplet(request);
    } catch (err) {
      const tag = this.ctx.journal?.tag;
      if (!mayHaveCommitted(err) || !tag) throw err;
      let found: DoDroplet[] = [];
      try {
        // Not cancellable: a cancel here would leave a droplet that may exist without a record.
        found = await (await this.api(false)).listDropletsTagged(tag);
      } catch (lookupErr) {
        throw new MoorError(
          `${errorMessage(err)}; checking whether the droplet was created anyway failed too ` +
            `(${errorMessage(lookupErr)}): the next "moor ls" looks again for the droplet tagged ${tag}`,
        );
      }
      if (found.length !== 1) throw err;
      this.ctx.progress.log(
        `The droplet create failed (${errorMessage(err)}) but droplet ${found[0]!.id} (tagged ${tag}) was created: using it`,
      );
      return found[0]!;
    }
  }

  /** Writes the planned keychain item; if the keychain refuses, falls back to plain text (with a warning). */
  private async storeToken(): Promise<void> {
    const ref = this.config.AccessTokenRef;
    if (!ref) return;
    const result = await commitSecret(ref, { env: this.ctx.env, injected: this.ctx.secrets });
    if (result.ok) return;
    this.config.AccessToken = result.secret;
    delete this.config.AccessTokenRef;
    this.ctx.progress.warn(plainTextWarning('The DigitalOcean access token', result.reason));
    await this.checkpoint();
  }

  /**
   * A failed or killed create: each journaled droplet by its id, else by the create's tag; each
   * uploaded key by its id, else by its fingerprint. Reports only what the API confirmed; the
   * keychain item goes once everything is verified (it is needed to try again otherwise).
   */
  async cleanUpCreate(record: JournalRecord): Promise<CleanupOutcome[]> {
    const outcomes: CleanupOutcome[] = [];
    let api: DigitalOceanApi | undefined;
    // Droplets first: they are what costs money.
    const ordered = [...record.entries].sort(
      (a, b) => Number(b.kind === 'droplet') - Number(a.kind === 'droplet'),
    );
    for (const entry of ordered) {
      try {
        api ??= await this.api(false);
        outcomes.push(await this.cleanUpEntry(api, entry));
      } catch (err) {
        outcomes.push({ entry, result: 'could not check', detail: errorMessage(err) });
      }
    }
    if (outcomes.every((o) => o.result !== 'could not check')) await this.deleteToken();
    return outcomes;
  }

  private async cleanUpEntry(api: DigitalOceanApi, entry: JournalEntry): Promise<CleanupOutcome> {
    const gone = (): CleanupOutcome => ({ entry, result: 'already gone' });
    const deleted = async (del: () => Promise<void>, id: string): Promise<CleanupOutcome> => {
      try {
        await del();
        return { entry, result: 'deleted', detail: id };
      } catch (err) {
        if (isNotFound(err)) return gone();
        throw err;
      }
    };
    if (entry.kind === 'droplet') {
      if (entry.id) return deleted(() => api.deleteDroplet(Number(entry.id)), entry.id);
      if (!entry.find.tag) return gone(); // untagged (no journal then): nothing can be found
      const found = await api.listDropletsTagged(entry.find.tag);
      if (found.length === 0) return gone();
      for (const d of found)
        await api.deleteDroplet(d.id).catch((err) => {
          if (!isNotFound(err)) throw err;
        });
      return { entry, result: 'deleted', detail: found.map((d) => d.id).join(', ') };
    }
    if (entry.kind === 'ssh-key') {
      if (entry.id) return deleted(() => api.deleteKey(Number(entry.id)), entry.id);
      let key: DoSshKey;
      try {
        key = await api.getKey(entry.find.fingerprint ?? '');
      } catch (err) {
        if (isNotFound(err)) return gone();
        throw err;
      }
      return deleted(() => api.deleteKey(key.id), String(key.id));
    }
    return { entry, result: 'could not check', detail: `unknown resource kind "${entry.kind}"` };
  }

  private async deleteToken(): Promise<void> {
    const ref = this.config.AccessTokenRef;
    if (!ref) return;
    try {
      await deleteSecret(ref, { env: this.ctx.env, injected: this.ctx.secrets });
    } catch (err) {
      this.ctx.progress.warn(`could not delete ${ref} from the keychain: ${errorMessage(err)}`);
    }
  }

  /**
   * Deletes the droplet and the key Moor uploaded (not a key the user named by fingerprint) and
   * the keychain item. 404 = already gone. Runs to the end even after a cancelled create.
   */
  async remove(): Promise<void> {
    const c = this.config;
    const ownKey = c.SSHKeyID > 0 && !c.SSHKeyFingerprint;
    if (c.DropletID > 0 || ownKey) {
      const api = await this.api(false);
      if (c.DropletID > 0) {
        try {
          await api.deleteDroplet(c.DropletID);
          this.ctx.progress.log(`Deleted droplet ${c.DropletID}`);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          this.ctx.progress.log(`Droplet ${c.DropletID} doesn't exist, assuming it is already deleted`);
        }
      }
      if (ownKey) {
        try {
          await api.deleteKey(c.SSHKeyID);
          this.ctx.progress.log(`Deleted SSH key ${c.SSHKeyID}`);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          this.ctx.progress.log(`SSH key ${c.SSHKeyID} doesn't exist, assuming it is already deleted`);
        }
      }
    }
    await this.deleteToken();
  }

  async start(): Promise<void> {
    await this.powerAction('power_on');
    await this.refreshAddress();
  }

  async stop(): Promise<void> {
    await this.powerAction('shutdown');
  }

  async restart(): Promise<void> {
    await this.powerAction('reboot');
    await this.refreshAddress();
  }

  async kill(): Promise<void> {
    await this.powerAction('power_off');
  }

  /** Runs a droplet action and waits (bounded) until DigitalOcean reports it completed. */
  private async powerAction(type: string): Promise<void> {
    const id = this.requireDroplet();
    const api = await this.api();
    let action: DoAction = await api.dropletAction(id, type);
    const deadline = Date.now() + this.t.waitMs;
    while (action.status === 'in-progress') {
      if (Date.now() > deadline) {
        throw new MoorError(
          `DigitalOcean action ${type} (${action.id}) on droplet ${id} did not complete within ${Math.round(this.t.waitMs / 1000)}s`,
        );
      }
      await sleep(this.t.pollMs, this.ctx.signal);
      action = await api.getAction(action.id);
    }
    if (action.status !== 'completed') {
      throw new MoorError(`DigitalOcean action ${type} (${action.id}) on droplet ${id} ${action.status}`);
    }
  }

  private async refreshAddress(): Promise<void> {
    const droplet = await (await this.api()).getDroplet(this.requireDroplet());
    const ip = publicIPv4(droplet);
    if (ip) this.config.IPAddress = ip;
  }

  private requireDroplet(): number {
    if (!(this.config.DropletID > 0)) {
      throw new MoorError(`machine "${this.name}" has no droplet (DropletID is not set)`);
    }
    return this.config.DropletID;
  }

  async state(): Promise<MachineState> {
    const droplet = await (await this.api()).getDroplet(this.requireDroplet());
    return mapDropletStatus(droplet.status);
  }

  /** DigitalOcean bills a powered-off droplet as a running one (only a destroyed one stops billing). */
  async price(): Promise<HostPrice> {
    const droplet = await (await this.api()).getDroplet(this.requireDroplet());
    const size = droplet.size;
    if (!size || typeof size.price_hourly !== 'number' || typeof size.price_monthly !== 'number') {
      throw new MoorError(`DigitalOcean gave no price for droplet ${droplet.id}`);
    }
    return {
      size: size.slug || droplet.size_slug || this.config.Size,
      hourly: size.price_hourly,
      monthly: size.price_monthly,
      currency: 'USD',
      billedWhileStopped: true,
      createdAt: droplet.created_at ? Date.parse(droplet.created_at) : undefined,
    };
  }

  async ip(): Promise<string> {
    return recordedAddress(this.config);
  }

  async url(): Promise<string> {
    if ((await this.state()) !== 'Running') throw new HostNotRunningError();
    return `tcp://${await this.ip()}:${DEFAULT_ENGINE_PORT}`;
  }

  async sshTarget(): Promise<SshTarget> {
    return machineSshTarget(this.config, this.ctx.machineDir, 'root');
  }
}
