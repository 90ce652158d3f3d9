/**
 * `create`: validate, certificates, pre-create check, claim the directory, driver create, wait,
 * provision, context; and the rollback of everything when any of it fails or is cancelled.
 */
import { CancelledError, errorMessage, MoorError, PreCreateError, throwIfCancelled } from '../base/errors.js';
import type { ProgressReporter } from '../base/progress.js';
import { bootstrapCertificates, copyClientCertsToMachine } from '../certs/index.js';
import { loadDriver } from '../drivers/registry.js';
import type { Driver, DriverModule, FlagValues } from '../drivers/types.js';
import type { SecretStore } from '../secrets/types.js';
import {
  type AuthOptions,
  baseDriverConfig,
  type EngineOptions,
  type HostConfig,
  newHostConfig,
  type SwarmOptions,
} from '../store/config.js';
import { type Store, validateMachineName } from '../store/store.js';
import { DEFAULT_WAIT, waitForState } from './actions.js';
import { CreateJournal, clearJournal, removeCreatedResources } from './create-journal.js';
import { driverContext } from './driver-context.js';
import { clearCreateMarker, markCreateInProgress, recoverBeforeCreate } from './interrupted-create.js';

export interface CreateMachineRequest {
  store: Store;
  name: string;
  driverName: string;
  /** Values of the driver's flags, by FlagSpec name (defaults are applied here when missing). */
  flagValues: FlagValues;
  /** Flags whose value came from elsewhere than the flag itself: name → `$ENV_VAR` (for errors). */
  flagSources?: Record<string, string>;
  engine?: Partial<EngineOptions>;
  swarm?: Partial<SwarmOptions>;
  /** --tls-san extras for the server certificate. */
  tlsSans?: string[];
  /** The global --tls-ca-cert & co; empty means the store's certs/. */
  tlsPaths?: Partial<
    Pick<AuthOptions, 'CaCertPath' | 'CaPrivateKeyPath' | 'ClientCertPath' | 'ClientKeyPath'>
  >;
  /** Keep the machine directory (and the driver's resources) when create fails, for debugging. */
  keepOnFailure?: boolean;
  progress: ProgressReporter;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Where a driver keeps credentials (the app's safeStorage adapter); unset: the OS keychain. */
  secrets?: SecretStore;
  /** How to wait for the machine to run before provisioning (docker-machine: 60 × 3 s). */
  wait?: { tries: number; intervalMs: number };
  /** `--swarm-join`: the machine joins this manager's swarm as its last create step. */
  swarmJoin?: { manager: string; role: 'worker' | 'manager' };
}

/** Applies FlagSpec defaults to the values the user gave (the CLI already did; the app may not). */
export function withFlagDefaults(module: DriverModule, values: FlagValues): FlagValues {
  const out: FlagValues = { ...values };
  for (const flag of module.flags) {
    if (out[flag.name] === undefined) {
      out[flag.name] =
        flag.default ?? (flag.type === 'bool' ? false : flag.type === 'string[]' ? [] : undefined);
    }
  }
  return out;
}

/**
 * libmachine's Create: validate, bootstrap the store's certificates, pre-create check, claim the
 * machine directory, save, create, save, then (for drivers that provision) wait for Running and
 * provision over SSH. Any failure or abort after the directory was claimed removes what was
 * created (driver.remove, then the directory) unless `keepOnFailure`: no half-made machines and
 * no orphaned cloud resources (when driver.remove fails, the directory stays as their record).
 */
export async function createMachine(request: CreateMachineRequest): Promise<HostConfig> {
  const { store, name, progress, signal } = request;
  const env = request.env ?? process.env;
  const module = await loadDriver(request.driverName);
  validateMachineName(name);
  const discovery = request.swarm?.Discovery ?? '';
  if (discovery && !/[^:]*:\/\/.*/.test(discovery)) {
    throw new MoorError(
      `Error parsing swarm discovery: Swarm Discovery URL was in the wrong format: ${discovery}`,
    );
  }
  // A killed create of this name is cleaned up first (its resources found by the journal).
  await recoverBeforeCreate(store, name, { env, secrets: request.secrets, progress });
  if (await store.exists(name)) throw new MoorError(`Docker machine "${name}" already exists`);
  if (request.swarmJoin) {
    // Before anything is made: a manager that is not one would leave a machine outside its swarm.
    const { checkCanJoin } = await import('./swarm/index.js');
    await checkCanJoin({ store, env, signal }, request.swarmJoin.manager);
  }

  const ctx = {
    ...driverContext(store, name, { progress, signal, env, secrets: request.secrets }),
    flagSources: request.flagSources ?? {},
  };
  let driverConfig: HostConfig['Driver'];
  try {
    driverConfig = await module.configFromFlags(
      withFlagDefaults(module, request.flagValues),
      baseDriverConfig(name, store.root),
      ctx,
    );
  } catch (err) {
    throw new MoorError(`Error setting machine configuration from flags provided: ${errorMessage(err)}`);
  }
  const host = newHostConfig({
    name,
    storePath: store.root,
    driverName: module.name,
    driver: driverConfig,
    engine: request.engine,
    swarm: request.swarm,
    tlsSans: request.tlsSans,
    tlsPaths: request.tlsPaths,
  });

  throwIfCancelled(signal);
  const auth = host.HostOptions.AuthOptions;
  try {
    await bootstrapCertificates(
      {
        caCert: auth.CaCertPath,
        caKey: auth.CaPrivateKeyPath,
        clientCert: auth.ClientCertPath,
        clientKey: auth.ClientKeyPath,
      },
      progress,
    );
  } catch (err) {
    throw new MoorError(`Error generating certificates: ${errorMessage(err)}`);
  }

  const driver = module.open(host.Driver, ctx, host);
  progress.step('pre-create', 'Running pre-create checks...');
  try {
    throwIfCancelled(signal);
    await driver.preCreateCheck();
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    throw new PreCreateError(errorMessage(err));
  }

  throwIfCancelled(signal);
  // The atomic claim (a concurrent create of this name fails here); the machine's lock is held
  // until this create has succeeded or rolled back, so an `rm` meanwhile cannot remove a machine
  // that the create then brings back (it is refused, or waits).
  return store.claimMachineDir(name, () => createClaimed(request, { module, driver, host, ctx, env }));
}

/** Everything after the claim of the machine directory, holding the machine's lock. */
async function createClaimed(
  request: CreateMachineRequest,
  parts: {
    module: DriverModule;
    driver: Driver;
    host: HostConfig;
    ctx: ReturnType<typeof driverContext> & { flagSources: Record<string, string> };
    env: NodeJS.ProcessEnv;
  },
): Promise<HostConfig> {
  const { store, name, progress, signal } = request;
  const { module, driver, host, ctx, env } = parts;
  const auth = host.HostOptions.AuthOptions;
  // Until this create finishes or rolls back: a kill -9 leaves a marker the next ls/rm acts on.
  await markCreateInProgress(store.machineDir(name)).catch(() => undefined);
  // Write-ahead record of each cloud resource the driver is about to request (create-journal.ts).
  ctx.journal = await CreateJournal.begin(store.machineDir(name)).catch(async (err: unknown) => {
    await store.remove(name).catch(() => undefined); // nothing remote exists yet
    throw new MoorError(`Error creating machine: could not write the create journal: ${errorMessage(err)}`);
  });
  // The driver saves config.json as soon as it has made a cloud resource (droplet/key IDs).
  ctx.checkpoint = () => store.save(host);
  // A driver that seeds the engine at first boot gets the server certificate made now; provisioning
  // then keeps it (it is in the guest already) and only verifies the engine.
  let engineSeeded = false;
  if (module.provisions) {
    ctx.engineSeed = async (enginePort) => {
      const { engineSeedBoothook } = await import('../provision/index.js');
      const script = await engineSeedBoothook({ store, host, driver, progress, signal }, enginePort);
      engineSeeded = true;
      return script;
    };
  }
  let created = false;
  try {
    await store.save(host);
    progress.step('create', 'Creating machine...');
    created = true; // from here on the driver may have made remote resources
    try {
      throwIfCancelled(signal);
      await driver.create();
    } catch (err) {
      // Drivers stop with the signal's own reason (an AbortError): report it as the cancel it is.
      if (err instanceof CancelledError || signal?.aborted) throw new CancelledError();
      throw new MoorError(
        `Error creating machine: Error in driver during machine creation: ${errorMessage(err)}`,
      );
    }
    host.Driver = driver.config;
    await store.save(host);

    if (module.provisions) {
      progress.step('wait-running', 'Waiting for machine to be running, this may take a few minutes...');
      try {
        const wait = request.wait ?? DEFAULT_WAIT;
        if (driver.waitUntilRunning) await driver.waitUntilRunning(wait);
        else await waitForState(driver, 'Running', wait, signal);
      } catch (err) {
        if (err instanceof CancelledError) throw err;
        throw new MoorError(
          `Error creating machine: Error waiting for machine to be running: ${errorMessage(err)}`,
        );
      }
      throwIfCancelled(signal);
      const { provisionMachine } = await import('../provision/index.js');
      try {
        await provisionMachine({ store, host, driver, progress, signal, serverCertReady: engineSeeded });
      } catch (err) {
        if (err instanceof CancelledError || signal?.aborted) throw new CancelledError();
        const message = errorMessage(err);
        const full = message.startsWith('Error creating machine')
          ? message
          : `Error creating machine: ${message}`;
        // A failure before anything changed on the host (wrong key, host key, OS) rolls back as usual.
        const hostTouched = (err as { hostTouched?: boolean }).hostTouched !== false;
        if (module.keepOnProvisionFailure && hostTouched) {
          // Nothing remote to roll back (the host is the user's): keep the machine so that
          // `moor provision` finishes the job without re-typing every flag.
          host.Driver = driver.config;
          await store.save(host);
          await clearCreateMarker(store.machineDir(name)).catch(() => undefined); // kept on purpose
          await clearJournal(store.machineDir(name)).catch(() => undefined);
          throw new MachineKeptError(
            `${full}\nThe machine "${name}" was kept: fix the cause, then run "moor provision ${name}" to finish (or "moor rm ${name}").`,
          );
        }
        throw new MoorError(full);
      }
      host.Driver = driver.config;
      await store.save(host);
    } else {
      // Provisioning copies ca.pem/cert.pem/key.pem into the machine directory, where `env`
      // points DOCKER_CERT_PATH; without this a `none` machine's env was unusable (docker-machine wart).
      await copyClientCertsToMachine(
        { caCert: auth.CaCertPath, clientCert: auth.ClientCertPath, clientKey: auth.ClientKeyPath },
        store.machineDir(name),
      );
    }
    await clearJournal(store.machineDir(name));
    await clearCreateMarker(store.machineDir(name));
    // Every machine gets its Docker context (`moor use NAME`); a failure there is only a warning.
    const { syncMachineContextOrWarn } = await import('../docker/contexts/hooks.js');
    await syncMachineContextOrWarn(host, store.root, {
      env,
      driverUrl: () => driver.url(),
      warn: progress.warn,
    });
    if (request.swarmJoin) await joinAfterCreate(request, request.swarmJoin);
    return host;
  } catch (err) {
    // Every write of this create has settled here (each step awaits its own): the rollback
    // cannot race them. Its own failure is a warning; the user sees the error that stopped create.
    if (!(err instanceof MachineKeptError)) {
      await rollBack(request, driver, created, err).catch((rollbackErr) =>
        progress.warn(`Error removing the partially created machine "${name}": ${errorMessage(rollbackErr)}`),
      );
    }
    throw err;
  }
}

/**
 * The last create step of `--swarm-join`. The machine itself is complete and working by now, so a
 * failed join keeps it (a droplet deleted over a firewall rule helps no one) and says how to retry.
 */
async function joinAfterCreate(
  request: CreateMachineRequest,
  join: { manager: string; role: 'worker' | 'manager' },
): Promise<void> {
  const { store, name, progress, signal } = request;
  const { joinSwarm } = await import('./swarm/index.js');
  try {
    await joinSwarm({ store, env: request.env, progress, signal }, join.manager, [name], { role: join.role });
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    throw new MachineKeptError(
      `${errorMessage(err)}\nThe machine "${name}" was created and kept; fix the cause, then run "moor swarm join --manager ${join.manager} --role ${join.role} ${name}".`,
    );
  }
}

/** A create that failed while provisioning a host Moor did not make: the machine stays in the store. */
export class MachineKeptError extends MoorError {
  constructor(message: string) {
    super(message);
    this.name = 'MachineKeptError';
  }
}

async function rollBack(request: CreateMachineRequest, driver: Driver, created: boolean, cause: unknown) {
  const { store, name, progress } = request;
  if (request.keepOnFailure) {
    await clearCreateMarker(store.machineDir(name)).catch(() => undefined);
    progress.warn(
      `Keeping the machine "${name}" as it is (--keep-on-failure); remove it with "moor rm ${name}".`,
    );
    return;
  }
  progress.warn(
    cause instanceof CancelledError
      ? `Create of "${name}" cancelled; removing what was created...`
      : `Removing the partially created machine "${name}"...`,
  );
  if (created) {
    try {
      // The journal's resources, found by id or by this create's tag (also those never answered).
      await removeCreatedResources(driver, store.machineDir(name), progress.log);
    } catch (err) {
      // config.json (checkpointed by the driver) is the only record of what still exists: keep it,
      // with the create marker, so the next `ls` or `moor rm` retries instead of orphaning it.
      progress.warn(`Error removing the resources of "${name}": ${errorMessage(err)}`);
      progress.warn(
        `Keeping the machine "${name}" so that they can be removed later: run "moor rm ${name}".`,
      );
      return;
    }
  }
  await store.remove(name);
}
