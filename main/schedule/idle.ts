/**
 * Idle stop: a machine with no running containers and no Docker API or SSH connection for N
 * minutes is stopped. Pure: the activity probe's output parsed, and the decision.
 */

/** What a probe saw on the host. */
export interface Activity {
  runningContainers: number;
  /** Established TCP connections to the engine and SSH ports, the probe's own SSH session excluded. */
  connections: number;
}

/**
 * The probe's shell command: running containers, then established connections to the engine and
 * SSH ports. `docker ps` needs root or the docker group: sudo -n is tried second (no password
 * prompt); a host where neither works counts as busy (never stop what we cannot see).
 */
export function probeCommand(enginePort: number, sshPort: number): string {
  const ps = '(docker ps -q 2>/dev/null || sudo -n docker ps -q 2>/dev/null || echo unknown)';
  const ss = `ss -Htn state established '( sport = :${enginePort} or sport = :${sshPort} )'`;
  return `sh -c "${ps} | wc -l; ${ps} | grep -c unknown; ${ss} | wc -l"`;
}

/** Parses probeCommand's three numbers; anything else is an error naming what came back. */
export function parseActivity(stdout: string): Activity {
  const numbers = stdout.trim().split(/\s+/).map(Number);
  if (numbers.length !== 3 || numbers.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`unexpected activity probe output: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const [lines, unknown, connections] = numbers as [number, number, number];
  if (unknown > 0) throw new Error('cannot list containers (docker ps failed, also with sudo -n)');
  // Minus the probe's own SSH connection.
  return { runningContainers: lines, connections: Math.max(0, connections - 1) };
}

export function isIdle(a: Activity): boolean {
  return a.runningContainers === 0 && a.connections === 0;
}

/**
 * Given what the probe saw now: since when the machine has been idle (undefined: it is busy), and
 * whether it is time to stop it.
 */
export function idleDecision(
  idleStopMinutes: number,
  idleSince: number | undefined,
  activity: Activity,
  now: number,
): { idleSince: number | undefined; stop: boolean } {
  if (!isIdle(activity)) return { idleSince: undefined, stop: false };
  const since = idleSince ?? now;
  return { idleSince: since, stop: now - since >= idleStopMinutes * 60_000 };
}

/** "30", "30m", "2h", "1h30m" → minutes; 0 or "" turns idle stop off. */
export function parseIdleMinutes(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === '' || t === '0' || t === 'off') return 0;
  const m = /^(?:(\d+)h)?(?:(\d+)m?)?$/.exec(t);
  if (!m || (m[1] === undefined && m[2] === undefined)) {
    throw new Error(
      `"${text}" is not a duration: use minutes ("30", "30m"), hours ("2h") or "1h30m"; 0 turns it off`,
    );
  }
  const minutes = Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
  if (minutes > 7 * 24 * 60) throw new Error(`"${text}" is longer than a week`);
  return minutes;
}
