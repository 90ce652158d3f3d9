import type { FlagSpec } from './types.js';

/** What a redacted value reads as: says that there is one without showing any of it. */
export const REDACTED = '<redacted>';

/**
 * Field names that are credentials whatever the driver declares: a machine of a driver Moor does
 * not know (docker-machine's amazonec2 `SecretKey`, a plugin's `Password`) still hides them.
 */
const SECRET_NAME = /(token|secret|password|passphrase|credential|privatekey$|apikey$)/i;
/** Fields that only point at a credential (a keychain reference, a key file's path). */
const REFERENCE_NAME = /(ref|path|file|id)$/i;

/** The config.json Driver field a flag's value is stored in (docker-machine's naming). */
export function configKeyOf(flag: FlagSpec, driverName: string): string {
  if (flag.configKey) return flag.configKey;
  const bare = flag.name.startsWith(`${driverName}-`) ? flag.name.slice(driverName.length + 1) : flag.name;
  return bare
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** The Driver fields of a machine that hold credentials: its driver's secret flags and look-alikes. */
export function secretDriverFields(
  driver: Record<string, unknown>,
  flags: readonly FlagSpec[],
  driverName: string,
) {
  const declared = new Set(flags.filter((f) => f.secret).map((f) => configKeyOf(f, driverName)));
  return Object.keys(driver).filter(
    (key) => declared.has(key) || (SECRET_NAME.test(key) && !REFERENCE_NAME.test(key)),
  );
}

/**
 * A copy of a config.json object with every credential of the Driver section replaced by
 * REDACTED (an empty value stays empty: "no token in the file" is worth seeing). The input is
 * not changed. For anything that leaves the main process (the app's renderer).
 */
export function redactHostConfig<T extends { DriverName?: unknown; Driver?: unknown }>(
  config: T,
  flags: readonly FlagSpec[],
): T {
  const copy = structuredClone(config);
  const driver = copy.Driver;
  if (typeof driver !== 'object' || driver === null) return copy;
  const fields = driver as Record<string, unknown>;
  for (const key of secretDriverFields(fields, flags, String(copy.DriverName ?? ''))) {
    const value = fields[key];
    if (value !== '' && value !== null && value !== undefined) fields[key] = REDACTED;
  }
  return copy;
}
