/** docker-machine's state.State strings (libmachine/state). `None` prints as the empty string. */
export const MACHINE_STATES = [
  '',
  'Running',
  'Paused',
  'Saved',
  'Stopped',
  'Stopping',
  'Starting',
  'Error',
  'Timeout',
  // Moor's: a cloud host kept only as a snapshot (no server), woken by `moor wake` / `start`.
  'Hibernated',
] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

/**
 * Why a host is not simply Running (Stopped, Timeout, Error, or Running with an engine that does
 * not answer), for the app's list and details. `moor ls` keeps docker-machine's ERRORS column.
 */
export interface HostReason {
  /**
   * What failed: the driver's own state check (generic: its SSH port), the engine's TLS port,
   * a query that outlived the list's timeout, the driver (state or URL errors), or the config.
   */
  kind: 'ssh-port' | 'engine' | 'timeout' | 'driver' | 'config';
  /** host:port it was about, '' when none ("127.0.42.9:2376"). */
  address: string;
  /** One line: "127.0.42.9:2376: connection refused", "SSH port 127.0.42.9:22: no answer after 3 s". */
  text: string;
}
