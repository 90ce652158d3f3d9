/**
 * Named crash points, so the integration tests can kill -9 a real `moor` process, stop it, or
 * make a write fail as on a full disk at one exact moment (a crash there is otherwise a matter of
 * luck). Off unless MOOR_FAULT is set: `MOOR_FAULT="point=action[,point=action…]"` with action
 *   kill       SIGKILL this process (what a crash or `kill -9` does)
 *   stop       SIGSTOP this process (the test looks at the store, then sends SIGCONT)
 *   enospc     throw the error a full disk gives
 *   delay:MS   wait MS milliseconds (a slow disk or CPU)
 * Each point fires every time it is reached. Unset, a point costs one environment lookup.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function faultPoint(point: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const spec = env.MOOR_FAULT;
  if (!spec) return;
  const action = faultAction(spec, point);
  if (!action) return;
  if (action === 'kill') process.kill(process.pid, 'SIGKILL');
  else if (action === 'stop') process.kill(process.pid, 'SIGSTOP');
  else if (action === 'enospc') throw noSpaceError(point);
  else if (action.startsWith('delay:')) await sleep(Number(action.slice(6)) || 0);
  else throw new Error(`MOOR_FAULT: unknown action "${action}" for ${point}`);
}

/** The action MOOR_FAULT sets for `point`, or undefined (pure; unit-tested). */
export function faultAction(spec: string, point: string): string | undefined {
  for (const entry of spec.split(',')) {
    const at = entry.lastIndexOf('=');
    if (at > 0 && entry.slice(0, at).trim() === point) return entry.slice(at + 1).trim();
  }
  return undefined;
}

/** An error shaped like Node's own for a full disk (code ENOSPC, errno -28). */
export function noSpaceError(what: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`ENOSPC: no space left on device, write '${what}'`);
  err.code = 'ENOSPC';
  err.errno = -28;
  err.syscall = 'write';
  return err;
}
