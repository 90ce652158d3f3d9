/**
 * `ls --filter` (docker-machine's parseFilters/filterHost), pure. The same key given twice is
 * OR, different keys are AND; keys are case-insensitive, values compare case-insensitively except
 * `name`, which is a regular expression searched in the machine name.
 */

import { MoorError } from '../base/errors.js';
import type { HostConfig } from '../store/config.js';

export interface FilterOptions {
  SwarmName: string[];
  DriverName: string[];
  State: string[];
  Name: RegExp[];
  Labels: string[];
}

export function emptyFilters(): FilterOptions {
  return { SwarmName: [], DriverName: [], State: [], Name: [], Labels: [] };
}

export function parseFilters(filters: readonly string[]): FilterOptions {
  const options = emptyFilters();
  for (const filter of filters) {
    const eq = filter.indexOf('=');
    if (eq < 0) throw new MoorError('Unsupported filter syntax');
    const key = filter.slice(0, eq).toLowerCase();
    const value = filter.slice(eq + 1);
    switch (key) {
      case 'swarm':
        options.SwarmName.push(value);
        break;
      case 'driver':
        options.DriverName.push(value);
        break;
      case 'state':
        options.State.push(value);
        break;
      case 'name':
        options.Name.push(compileGoRegexp(value));
        break;
      case 'label':
        options.Labels.push(value);
        break;
      default:
        throw new MoorError(`Unsupported filter key '${key}'`);
    }
  }
  return options;
}

/** Go's RE2 syntax and JavaScript's agree on everything a machine-name filter uses. */
function compileGoRegexp(source: string): RegExp {
  try {
    return new RegExp(source, 'u');
  } catch (err) {
    throw new MoorError(
      `error parsing regexp: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`,
    );
  }
}

export function hasFilters(f: FilterOptions): boolean {
  return f.SwarmName.length + f.DriverName.length + f.State.length + f.Name.length + f.Labels.length > 0;
}

const equalFold = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Every filter but `state` (which needs the live state): decided from config.json alone. */
export function matchesHostFilters(
  host: HostConfig,
  f: FilterOptions,
  swarmMasters: ReadonlyMap<string, string>,
): boolean {
  const swarm =
    f.SwarmName.length === 0 ||
    f.SwarmName.some((n) =>
      equalFold(n, swarmMasters.get(host.HostOptions.SwarmOptions?.Discovery ?? '') ?? ''),
    );
  const driver = f.DriverName.length === 0 || f.DriverName.some((n) => equalFold(host.DriverName, n));
  const name = f.Name.length === 0 || f.Name.some((r) => r.test(host.Name));
  return swarm && driver && name && matchesLabels(host, f.Labels);
}

function matchesLabels(host: HostConfig, labels: readonly string[]): boolean {
  if (labels.length === 0) return true;
  const engineLabels = new Map<string, string>();
  for (const label of host.HostOptions.EngineOptions?.Labels ?? []) {
    const eq = label.indexOf('=');
    if (eq >= 0) engineLabels.set(label.slice(0, eq), label.slice(eq + 1));
  }
  return labels.some((l) => {
    const eq = l.indexOf('=');
    const key = eq < 0 ? l : l.slice(0, eq);
    const value = eq < 0 ? '' : l.slice(eq + 1);
    const actual = engineLabels.get(key);
    return actual !== undefined && equalFold(actual, value);
  });
}

export function matchesStateFilter(state: string, f: FilterOptions): boolean {
  return f.State.length === 0 || f.State.some((s) => equalFold(s, state));
}

/**
 * Natural order ("bar9" before "bar10"), as docker-machine's table uses: digit runs compare as
 * numbers, other runs as strings.
 */
export function naturalCompare(a: string, b: string): number {
  const chunksA = a.match(/\d+|\D+/g) ?? [];
  const chunksB = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(chunksA.length, chunksB.length); i++) {
    const x = chunksA[i]!;
    const y = chunksB[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const diff = Number(x) - Number(y);
      if (diff !== 0) return diff < 0 ? -1 : 1;
      return x.length - y.length; // "01" after "1"
    }
    return x < y ? -1 : 1;
  }
  return chunksA.length - chunksB.length;
}
