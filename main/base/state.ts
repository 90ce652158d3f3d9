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
