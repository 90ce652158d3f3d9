/**
 * Pure helpers over what drivers can do (DriverCapabilities, declared by each driver module): the
 * window, the tray and the CLI's help offer only these. No driver code is imported here.
 */
import type { DriverCapabilities, PowerAction } from './types.js';

/** A machine whose driver is unknown or whose config did not load: nothing can be done to it. */
export const NO_CAPABILITIES: DriverCapabilities = Object.freeze({
  actions: Object.freeze([]) as readonly PowerAction[],
  ssh: false,
  removes: '',
  restartReboots: false,
});

export function canPower(capabilities: DriverCapabilities, action: PowerAction): boolean {
  return capabilities.actions.includes(action);
}

/** Why a power action is refused up front: the driver cannot do it (said before anything runs). */
export function unsupportedActionMessage(driver: string, action: PowerAction, machine: string): string {
  if (!driver) return `Can't ${action} "${machine}": its configuration did not load (see its error)`;
  const why =
    driver === 'generic'
      ? 'Moor did not make this host and cannot power it off or on; restart reboots it over SSH'
      : driver === 'none'
        ? 'Moor only knows its URL'
        : 'the driver does not support it';
  return `Can't ${action} "${machine}": the ${driver} driver cannot ${action} a machine (${why})`;
}

/** The CLI help line of a power action: which drivers perform it, from their declared capabilities. */
export function powerActionHelp(
  action: PowerAction,
  drivers: ReadonlyArray<{ name: string; capabilities: DriverCapabilities }>,
): string {
  const yes = drivers.filter((d) => canPower(d.capabilities, action)).map((d) => d.name);
  const no = drivers.filter((d) => !canPower(d.capabilities, action)).map((d) => d.name);
  const lines = [`Drivers that can ${action}: ${yes.length ? yes.join(', ') : 'none'}.`];
  if (no.length) lines.push(`Not available for: ${no.join(', ')} (the command fails for their machines).`);
  return lines.join('\n');
}
