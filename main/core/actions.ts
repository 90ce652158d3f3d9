/**
 * start/stop/restart/kill of one machine, and the waits that go with them (docker-machine's
 * semantics: "already running" errors, wait for the state, then for the engine).
 */
import { MoorError, throwIfCancelled } from '../base/errors.js';
import { type ProgressReporter, silentProgress } from '../base/progress.js';
import { cancellableSleep } from '../base/sleep.js';
import type { MachineState } from '../base/state.js';
import { readEngineTls, waitForEngine } from '../docker/engine.js';
import { canPower, unsupportedActionMessage } from '../drivers/capabilities.js';
import type { Driver, PowerAction } from '../drivers/types.js';
import type { SecretStore } from '../secrets/types.js';
import type { HostConfig } from '../store/config.js';
import { authPaths } from '../store/paths.js';
import type { Store } from '../store/store.js';
import { driverFor } from './driver-context.js';

/** docker-machine's mcnutils.WaitFor: 60 tries, 3 s apart. */
export const DEFAULT_WAIT = { tries: 60, intervalMs: 3_000 };

export type MachineAction = PowerAction;

export interface ActionOptions {
  store: Store;
  progress?: ProgressReporter;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** The app's secret store (safeStorage), so drivers can read tokens it keeps. */
  secrets?: SecretStore;
  /** How to wait for the desired state (docker-machine: 60 × 3 s). */
  wait?: { tries: number; intervalMs: number };
}

/**
 * start/stop/restart/kill of one machine with docker-machine's semantics: "already running"
 * errors, a wait for the desired state and, after start/restart, a wait for the engine. The
 * driver's config (an IP that changed on start, ...) is saved when it changed.
 */
export async function runMachineAction(
  name: string,
  action: MachineAction,
  options: ActionOptions,
): Promise<void> {
  const { store } = options;
  const progress = options.progress ?? silentProgress(name);
  const wait = options.wait ?? DEFAULT_WAIT;
  const host = await store.load(name);
  const before = JSON.stringify(host.Driver);
  const ipBefore = host.Driver.IPAddress ?? '';
  // Hibernate and wake save each step as it happens (a kill -9 leaves what the next run needs).
  let opened: Driver | undefined;
  const checkpoint = async () => {
    const config = opened?.config;
    if (!config) return;
    await store.update(name, (c) => {
      c.Driver = config;
    });
  };
  const { module, driver } = await driverFor(store, host, { ...options, progress, checkpoint });
  opened = driver;
  if ((action === 'hibernate' || action === 'wake') && !canPower(module.capabilities, action)) {
    throw new MoorError(unsupportedActionMessage(host.DriverName, action, name));
  }
  const hibernation = driver.hibernation?.() ?? null;
  const inState = async (desired: MachineState) => (await driver.state().catch(() => 'Error')) === desired;
  const forState = async (verb: () => Promise<void>, desired: MachineState) => {
    if (await inState(desired)) {
      throw new MoorError(`Machine "${name}" is already ${desired.toLowerCase()}.`);
    }
    await verb();
    await waitForState(driver, desired, wait, options.signal);
  };

  /** After a power-on: follow the machine to a new IP, then wait for its engine. */
  const untilDockerAnswers = async () => {
    const ipNow = driver.config.IPAddress ?? '';
    if (ipBefore && ipNow && ipNow !== ipBefore) {
      const { followNewAddress } = await import('./new-address.js');
      await followNewAddress({ store, host, driver, ipBefore, ipNow, progress, signal: options.signal });
    }
    await waitForDocker(store, host, driver, ipBefore, options.signal);
  };

  /** Wake: the server again from its snapshot, its new address followed, Docker answering; then the snapshot goes. */
  const wake = async (say = true) => {
    if (say) progress.step('wake', `Waking "${name}"...`);
    await driver.wake!();
    await waitForState(driver, 'Running', wait, options.signal);
    await untilDockerAnswers();
    // Only now: the snapshot is the machine until the new server answered SSH and TLS.
    await driver.finishWake?.();
    progress.done(`Machine "${name}" was woken.`);
  };

  let failure: unknown;
  try {
    switch (action) {
      case 'hibernate':
        if (hibernation === 'hibernated') throw new MoorError(`Machine "${name}" is already hibernated.`);
        progress.step('hibernate', `Hibernating "${name}"...`);
        await driver.hibernate!();
        progress.done(
          `Machine "${name}" was hibernated: its server is gone, a snapshot keeps it (name, keys and certificates stay here). "moor wake ${name}" brings it back.`,
        );
        break;
      case 'wake':
        if (hibernation === null) throw new MoorError(`Machine "${name}" is not hibernated.`);
        await wake();
        break;
      case 'start':
        if (hibernation !== null && driver.wake) {
          progress.step(
            'wake',
            hibernation === 'hibernated'
              ? `Machine "${name}" is hibernated: waking it (a new server from its snapshot).`
              : `Machine "${name}" has an unfinished hibernate or wake: waking it.`,
          );
          await wake(false);
          break;
        }
        progress.step('start', `Starting "${name}"...`);
        await forState(() => driver.start(), 'Running');
        progress.done(`Machine "${name}" was started.`);
        await untilDockerAnswers();
        break;
      case 'stop':
        if (hibernation === 'hibernated') {
          progress.done(`Machine "${name}" is hibernated: no server runs, nothing to stop.`);
          break;
        }
        progress.step('stop', `Stopping "${name}"...`);
        await forState(() => driver.stop(), 'Stopped');
        progress.done(`Machine "${name}" was stopped.`);
        break;
      case 'kill':
        if (hibernation === 'hibernated') {
          progress.done(`Machine "${name}" is hibernated: no server runs, nothing to kill.`);
          break;
        }
        progress.step('kill', `Killing "${name}"...`);
        await forState(() => driver.kill(), 'Stopped');
        progress.done(`Machine "${name}" was killed.`);
        break;
      case 'restart':
        progress.step('restart', `Restarting "${name}"...`);
        if (await inState('Stopped')) {
          progress.step('start', `Starting "${name}"...`);
          await forState(() => driver.start(), 'Running');
          progress.done(`Machine "${name}" was started.`);
        } else if (await inState('Running')) {
          await driver.restart();
          await waitForState(driver, 'Running', wait, options.signal);
        }
        await untilDockerAnswers();
        break;
    }
  } catch (err) {
    failure = err;
  }
  // Saved also when the action failed part-way: a machine that got a new IP keeps it on record.
  if (JSON.stringify(driver.config) !== before) {
    const updated = await store.update(name, (config) => {
      config.Driver = driver.config;
    });
    if (action === 'start' || action === 'restart' || action === 'wake') {
      // A new IP on start: the machine's Docker context must point at it too.
      const { syncMachineContextOrWarn } = await import('../docker/contexts/hooks.js');
      await syncMachineContextOrWarn(updated, store.root, {
        env: options.env,
        driverUrl: () => driver.url(),
        warn: progress.warn,
      });
    }
  }
  if (failure !== undefined) throw failure;
}

/** Polls the driver until the machine is in `desired` (mcnutils.WaitFor + MachineInState). */
export async function waitForState(
  driver: Driver,
  desired: MachineState,
  wait: { tries: number; intervalMs: number } = DEFAULT_WAIT,
  signal?: AbortSignal,
): Promise<void> {
  for (let i = 0; i < wait.tries; i++) {
    throwIfCancelled(signal);
    if ((await driver.state().catch(() => 'Error')) === desired) return;
    if (i < wait.tries - 1) await cancellableSleep(wait.intervalMs, signal);
  }
  throw new MoorError(`Maximum number of retries (${wait.tries}) exceeded`);
}

/**
 * docker-machine's WaitForDocker, fixed: it polled `netstat` over SSH for port 2376 whatever the
 * engine port; here the engine itself is asked over TLS, at the machine's real URL.
 */
async function waitForDocker(
  store: Store,
  host: HostConfig,
  driver: Driver,
  ipBefore: string,
  signal?: AbortSignal,
): Promise<void> {
  const ipNow = driver.config.IPAddress ?? '';
  const ipChanged = ipBefore !== '' && ipNow !== '' && ipNow !== ipBefore;
  const tries = 10;
  const url = await driver.url();
  const tls = await readEngineTls(authPaths(host, store.root));
  const result = await waitForEngine(url, tls, {
    tries,
    intervalMs: 3_000,
    pingTimeoutMs: 3_000,
    signal,
    retryOn: (err) => err instanceof MoorError,
  });
  if (!result.up && ipChanged) {
    // The server certificate names the old IP, so TLS to the new one fails (docker-machine too).
    throw new MoorError(
      `Unable to verify the Docker daemon is listening: "${host.Name}" came back with a new IP address ` +
        `(${ipBefore}, now ${ipNow}) and its server certificate names the old one: ` +
        `run "moor regenerate-certs ${host.Name}" to issue one for the new address`,
    );
  }
  if (!result.up) {
    throw new MoorError(
      `Unable to verify the Docker daemon is listening: Maximum number of retries (${tries}) exceeded`,
    );
  }
}
