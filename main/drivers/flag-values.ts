import type { FlagValues } from './types.js';

/**
 * Readers for parsed flag values (`FlagValues`), shared by drivers and the shared create flags.
 * Tolerant on purpose: values come from commander, env vars or the app's form.
 */
type Value = FlagValues[string] | unknown;

export function flagString(v: Value, fallback = ''): string {
  if (v === undefined || v === null) return fallback;
  return Array.isArray(v) ? v.join(',') : String(v);
}

export function flagBool(v: Value): boolean {
  return v === true || v === 'true' || v === '1';
}

export function flagList(v: Value): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}
