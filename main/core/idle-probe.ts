/**
 * The idle probe over SSH: one short command on the host counts running containers and the
 * established connections to its engine and SSH ports (schedule/idle.ts parses the answer).
 */
import { MoorError } from '../base/errors.js';
import { type Activity, parseActivity, probeCommand } from '../schedule/idle.js';
import { DEFAULT_ENGINE_PORT } from '../store/config.js';
import type { Store } from '../store/store.js';
import { driverFor } from './driver-context.js';
import type { ActivityProbe } from './schedule.js';

export function sshActivityProbe(store: Store, options: { env?: NodeJS.ProcessEnv } = {}): ActivityProbe {
  return async (name: string): Promise<Activity> => {
    const host = await store.load(name);
    const { driver } = await driverFor(store, host, { env: options.env });
    const target = await driver.sshTarget();
    if (!target) throw new MoorError(`Machine "${name}" has no SSH access: its activity cannot be seen`);
    const enginePort = Number((host.Driver as { EnginePort?: number }).EnginePort) || DEFAULT_ENGINE_PORT;
    const { connect } = await import('../ssh/connect.js');
    const session = await connect(target, { readyTimeoutMs: 10_000 });
    try {
      const r = await session.exec(probeCommand(enginePort, target.port));
      if (r.code !== 0)
        throw new MoorError(`the activity probe on "${name}" failed (exit ${r.code}): ${r.stderr.trim()}`);
      return parseActivity(r.stdout);
    } finally {
      session.close();
    }
  };
}

/** Whether the driver reports the machine running. */
export function driverIsRunning(store: Store, options: { env?: NodeJS.ProcessEnv } = {}) {
  return async (name: string): Promise<boolean> => {
    const host = await store.load(name);
    const { driver } = await driverFor(store, host, { env: options.env });
    return (await driver.state().catch(() => 'Error')) === 'Running';
  };
}
