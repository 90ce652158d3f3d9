import { randomBytes } from 'node:crypto';
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
  type DoSnapshot,
  type DoSshKey,
  type DropletCreateRequest,
  isNotFound,
  mayHaveCommitted,
} from './api.js';
import {
  type DigitalOceanConfig,
  type Hibernation,
  imageParam,
  isHibernated,
  SNAPSHOT_USD_PER_GB_MONTH,
} from './config.js';
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
    const h = c.Hibernation;
    if (h) {
      // A hibernation snapshot (found by id, else by its recorded name) and the droplet it was
      // taken of, if a hibernate was interrupted before destroying it.
      const api = await this.api(false);
      if (h.DropletID > 0 && h.DropletID !== c.DropletID) {
        await api.deleteDroplet(h.DropletID).then(
          () => this.ctx.progress.log(`Deleted droplet ${h.DropletID}`),
          (err: unknown) => {
            if (!isNotFound(err)) throw err;
          },
        );
      }
      if (!(c.DropletID > 0) && h.WakeTag) {
        for (const d of await api.listDropletsTagged(h.WakeTag)) {
          await api.deleteDroplet(d.id);
          this.ctx.progress.log(`Deleted droplet ${d.id}`);
        }
      }
      const snapshot =
        h.SnapshotID > 0
          ? { id: h.SnapshotID }
          : (await api.listSnapshots()).find((x) => x.name === h.SnapshotName);
      if (snapshot) await this.deleteSnapshot(api, snapshot.id);
    }
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

  /**
   * Hibernate: power off (a graceful shutdown, then power_off if it does not finish), a snapshot
   * named `moor-hibernate-<machine>-<id>` (its name recorded before the request), the snapshot
   * seen and verified (its id recorded), and only then the droplet destroyed. Run again after a
   * kill -9, it goes on from the recorded step: an existing snapshot of that name is used, never
   * a second one requested while the first may be in progress.
   */
  async hibernate(): Promise<void> {
    const c = this.config;
    const { progress } = this.ctx;
    if (isHibernated(c)) return;
    if (c.Hibernation?.Phase === 'waking') {
      throw new MoorError(`"${this.name}" is being woken: run "moor wake ${this.name}" to finish that first`);
    }
    const h: Hibernation = c.Hibernation ?? {
      Phase: 'snapshotting',
      SnapshotName: `moor-hibernate-${this.name}-${randomBytes(4).toString('hex')}`,
      SnapshotID: 0,
      SnapshotGigabytes: 0,
      DropletID: this.requireDroplet(),
      WakeTag: '',
      Since: new Date().toISOString(),
    };
    if (!c.Hibernation) {
      c.Hibernation = h;
      await this.checkpoint();
    }
    // Not cancellable past this point: each step must be recorded once its request was sent.
    const api = await this.api(false);
    if (h.Phase === 'snapshotting') {
      let snapshot = await this.findSnapshot(api, h);
      if (!snapshot) {
        await this.powerOff(api, h.DropletID);
        progress.step('snapshot', `Taking snapshot ${h.SnapshotName} of droplet ${h.DropletID}...`);
        const action = await api.snapshotAction(h.DropletID, h.SnapshotName);
        await this.waitAction(api, action, 'snapshot', h.DropletID);
        snapshot = await this.findSnapshot(api, h);
        if (!snapshot) {
          throw new MoorError(
            `DigitalOcean reported snapshot ${h.SnapshotName} of droplet ${h.DropletID} done, but the droplet has no such snapshot: the droplet is kept`,
          );
        }
      }
      // Verified by id (an image that exists and is not pending) before anything is destroyed.
      const image = await api.getImage(snapshot.id);
      if (image.status && image.status !== 'available') {
        throw new MoorError(
          `snapshot ${snapshot.id} of droplet ${h.DropletID} is ${image.status}, not available: the droplet is kept; run "moor hibernate ${this.name}" again later`,
        );
      }
      h.SnapshotID = snapshot.id;
      h.SnapshotGigabytes = image.size_gigabytes ?? snapshot.size_gigabytes ?? 0;
      h.Phase = 'destroying';
      await this.checkpoint();
    }
    if (h.Phase === 'destroying') {
      progress.step('destroy', `Snapshot ${h.SnapshotID} verified; destroying droplet ${h.DropletID}...`);
      try {
        await api.deleteDroplet(h.DropletID);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      c.DropletID = 0;
      h.Phase = 'hibernated';
      await this.checkpoint();
      progress.log(
        `Droplet ${h.DropletID} destroyed; snapshot ${h.SnapshotID} (${h.SnapshotGigabytes} GB) keeps the machine`,
      );
    }
  }

  /**
   * The hibernation snapshot by its recorded name, on the droplet (while it exists), else among
   * the account's snapshots. Waits first while the droplet has an action in progress: a snapshot
   * requested before a kill may still be being taken.
   */
  /** Deletes a snapshot, one already gone included (rm and the end of a wake). */
  private async deleteSnapshot(api: DigitalOceanApi, id: number): Promise<void> {
    try {
      await api.deleteSnapshot(id);
      this.ctx.progress.log(`Deleted snapshot ${id}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.ctx.progress.log(`Snapshot ${id} doesn't exist, assuming it is already deleted`);
    }
  }

  private async findSnapshot(api: DigitalOceanApi, h: Hibernation): Promise<DoSnapshot | undefined> {
    if (h.SnapshotID > 0) {
      try {
        return await api.getImage(h.SnapshotID);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    }
    const deadline = Date.now() + this.t.waitMs;
    for (;;) {
      let droplet: DoDroplet;
      try {
        droplet = await api.getDroplet(h.DropletID);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        return (await api.listSnapshots()).find((x) => x.name === h.SnapshotName);
      }
      if (!droplet.locked) {
        return (await api.listDropletSnapshots(h.DropletID)).find((x) => x.name === h.SnapshotName);
      }
      if (Date.now() > deadline) {
        throw new MoorError(
          `droplet ${h.DropletID} still has an action in progress after ${Math.round(this.t.waitMs / 1000)}s`,
        );
      }
      await sleep(this.t.pollMs);
    }
  }

  /** A graceful shutdown; power_off when it fails or the droplet is still on after it. */
  private async powerOff(api: DigitalOceanApi, id: number): Promise<void> {
    if ((await api.getDroplet(id)).status === 'off') return;
    this.ctx.progress.step('shutdown', `Shutting down droplet ${id}...`);
    try {
      await this.waitAction(api, await api.dropletAction(id, 'shutdown'), 'shutdown', id);
    } catch (err) {
      this.ctx.progress.log(`Shutdown of droplet ${id} failed (${errorMessage(err)}): powering it off`);
    }
    if ((await api.getDroplet(id)).status === 'off') return;
    await this.waitAction(api, await api.dropletAction(id, 'power_off'), 'power_off', id);
    const status = (await api.getDroplet(id)).status;
    if (status !== 'off') throw new MoorError(`droplet ${id} is still "${status}" after power_off`);
  }

  /**
   * Wake: a droplet from the hibernation snapshot with the original region, size, SSH key and
   * tags plus a create tag recorded before the request; after a kill the droplet carrying that
   * tag is adopted (only it: never a second droplet). Waits for its public IPv4. The snapshot
   * stays until finishWake, called once the machine answers SSH and TLS. A hibernate that was
   * interrupted before the droplet was destroyed is undone instead (the droplet powered on).
   */
  async wake(): Promise<void> {
    const c = this.config;
    const h = c.Hibernation;
    const { progress } = this.ctx;
    if (!h) throw new MoorError(`Machine "${this.name}" is not hibernated.`);
    const api = await this.api(false);
    if (h.Phase === 'snapshotting' || h.Phase === 'destroying') {
      let droplet: DoDroplet | undefined;
      try {
        droplet = await api.getDroplet(h.DropletID);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (droplet) {
        progress.log(
          `The hibernate of "${this.name}" was interrupted; droplet ${h.DropletID} still exists: using it`,
        );
        c.DropletID = h.DropletID;
        if (droplet.status === 'off')
          await this.waitAction(
            api,
            await api.dropletAction(h.DropletID, 'power_on'),
            'power_on',
            h.DropletID,
          );
        await this.refreshAddress();
        return; // finishWake deletes the snapshot the interrupted hibernate took, if any
      }
      if (!(h.SnapshotID > 0)) {
        throw new MoorError(
          `droplet ${h.DropletID} of "${this.name}" is gone and no verified snapshot was recorded; look for snapshot ${h.SnapshotName} in your DigitalOcean account`,
        );
      }
      c.DropletID = 0;
      h.Phase = 'hibernated';
      await this.checkpoint();
    }
    if (!h.WakeTag) {
      h.WakeTag = `moor-create-${randomBytes(6).toString('hex')}`;
      h.Phase = 'waking';
      await this.checkpoint();
    }
    let droplet: DoDroplet | undefined;
    if (c.DropletID > 0) {
      droplet = await api.getDroplet(c.DropletID);
    } else {
      const tagged = await api.listDropletsTagged(h.WakeTag);
      droplet = tagged[0];
      for (const extra of tagged.slice(1)) await api.deleteDroplet(extra.id).catch(() => undefined);
      if (droplet) {
        progress.log(`Droplet ${droplet.id} (tagged ${h.WakeTag}) was already created: using it`);
      } else {
        progress.step('droplet', `Creating a droplet from snapshot ${h.SnapshotID}...`);
        const request: DropletCreateRequest = {
          name: c.MachineName,
          region: c.Region,
          size: c.Size,
          image: h.SnapshotID,
          ssh_keys: c.SSHKeyID > 0 ? [c.SSHKeyID] : [],
          backups: c.Backups,
          ipv6: c.IPv6,
          private_networking: c.PrivateNetworking,
          monitoring: c.Monitoring,
          tags: [...parseDigitalOceanTags(c.Tags), h.WakeTag],
        };
        try {
          droplet = await api.createDroplet(request);
        } catch (err) {
          if (!mayHaveCommitted(err)) throw err;
          const found = await api.listDropletsTagged(h.WakeTag);
          if (found.length === 0) throw err;
          droplet = found[0]!;
          progress.log(
            `The droplet create failed (${errorMessage(err)}) but droplet ${droplet.id} (tagged ${h.WakeTag}) was created: using it`,
          );
        }
      }
      c.DropletID = droplet.id;
      await this.checkpoint();
    }
    progress.step('wait-ip', `Waiting for droplet ${c.DropletID} to be active with an IP address...`);
    const deadline = Date.now() + this.t.waitMs;
    while (!(droplet.status === 'active' && publicIPv4(droplet))) {
      if (Date.now() > deadline) {
        throw new MoorError(
          `droplet ${c.DropletID} did not become active with a public IPv4 address within ${Math.round(this.t.waitMs / 1000)}s (status "${droplet.status}"); "moor wake ${this.name}" waits again`,
        );
      }
      await sleep(this.t.pollMs, this.ctx.signal);
      droplet = await api.getDroplet(c.DropletID);
    }
    c.IPAddress = publicIPv4(droplet);
    await this.checkpoint();
  }

  hibernation(): 'hibernated' | 'interrupted' | null {
    if (isHibernated(this.config)) return 'hibernated';
    return this.config.Hibernation ? 'interrupted' : null;
  }

  /** The woken machine answered: the snapshot (and the record of the hibernation) can go. */
  async finishWake(): Promise<void> {
    const c = this.config;
    const h = c.Hibernation;
    if (!h || !(c.DropletID > 0)) return;
    const api = await this.api(false);
    const snapshot = await this.findSnapshot(api, h);
    if (snapshot) await this.deleteSnapshot(api, snapshot.id);
    delete c.Hibernation;
    await this.checkpoint();
  }

  /** Runs until DigitalOcean reports the action completed (bounded). */
  private async waitAction(api: DigitalOceanApi, first: DoAction, type: string, id: number): Promise<void> {
    let action = first;
    const deadline = Date.now() + this.t.waitMs;
    while (action.status === 'in-progress') {
      if (Date.now() > deadline) {
        throw new MoorError(
          `DigitalOcean action ${type} (${action.id}) on droplet ${id} did not complete within ${Math.round(this.t.waitMs / 1000)}s`,
        );
      }
      await sleep(this.t.pollMs);
      action = await api.getAction(action.id);
    }
    if (action.status !== 'completed') {
      throw new MoorError(`DigitalOcean action ${type} (${action.id}) on droplet ${id} ${action.status}`);
    }
  }

  private requireDroplet(): number {
    if (isHibernated(this.config)) {
      throw new MoorError(`machine "${this.name}" is hibernated: run "moor wake ${this.name}"`);
    }
    if (!(this.config.DropletID > 0)) {
      throw new MoorError(`machine "${this.name}" has no droplet (DropletID is not set)`);
    }
    return this.config.DropletID;
  }

  async state(): Promise<MachineState> {
    if (isHibernated(this.config)) return 'Hibernated';
    const droplet = await (await this.api()).getDroplet(this.requireDroplet());
    return mapDropletStatus(droplet.status);
  }

  /** DigitalOcean bills a powered-off droplet as a running one (only a destroyed one stops billing). */
  async price(): Promise<HostPrice> {
    const h = this.config.Hibernation;
    if (h && isHibernated(this.config)) {
      // Only the snapshot bills: $0.06 per GB-month of its size_gigabytes.
      const monthly = Math.round(h.SnapshotGigabytes * SNAPSHOT_USD_PER_GB_MONTH * 10_000) / 10_000;
      return {
        size: `snapshot ${h.SnapshotGigabytes} GB`,
        hourly: Number((monthly / 672).toFixed(6)),
        monthly,
        currency: 'USD',
        billedWhileStopped: true,
        createdAt: Date.parse(h.Since) || undefined,
      };
    }
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
    if (isHibernated(this.config)) {
      throw new MoorError(
        `machine "${this.name}" is hibernated (no droplet, no address): run "moor wake ${this.name}"`,
      );
    }
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
