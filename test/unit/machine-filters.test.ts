import { describe, expect, it } from 'vitest';
import {
  matchesHostFilters,
  matchesStateFilter,
  naturalCompare,
  parseFilters,
} from '../../main/core/machine-filters.js';
import { baseDriverConfig, type HostConfig, newHostConfig } from '../../main/store/config.js';

function host(
  name: string,
  driverName: string,
  labels: string[] = [],
  swarm: Partial<HostConfig['HostOptions']['SwarmOptions']> = {},
) {
  return newHostConfig({
    name,
    storePath: '/s',
    driverName,
    driver: baseDriverConfig(name, '/s'),
    engine: { Labels: labels },
    swarm,
  });
}

describe('ls filters', () => {
  it('parses keys case-insensitively and rejects bad syntax/keys', () => {
    const f = parseFilters(['DRIVER=none', 'name=^a', 'label=env=prod', 'state=running']);
    expect(f.DriverName).toEqual(['none']);
    expect(f.Labels).toEqual(['env=prod']);
    expect(() => parseFilters(['driver'])).toThrow('Unsupported filter syntax');
    expect(() => parseFilters(['color=red'])).toThrow("Unsupported filter key 'color'");
    expect(() => parseFilters(['name=('])).toThrow(/error parsing regexp/);
  });

  it('ORs values of one key and ANDs different keys', () => {
    const masters = new Map<string, string>();
    const a = host('alpha', 'none', ['env=prod']);
    const b = host('beta', 'generic', ['env=dev']);
    const both = parseFilters(['driver=none', 'driver=GENERIC']);
    expect([a, b].filter((h) => matchesHostFilters(h, both, masters)).map((h) => h.Name)).toEqual([
      'alpha',
      'beta',
    ]);
    const and = parseFilters(['driver=none', 'name=^b']);
    expect([a, b].filter((h) => matchesHostFilters(h, and, masters))).toEqual([]);
    const label = parseFilters(['label=env=PROD']);
    expect([a, b].filter((h) => matchesHostFilters(h, label, masters)).map((h) => h.Name)).toEqual(['alpha']);
    const name = parseFilters(['name=et']);
    expect([a, b].filter((h) => matchesHostFilters(h, name, masters)).map((h) => h.Name)).toEqual(['beta']);
  });

  it('matches swarm by the master of the host discovery', () => {
    const master = host('m', 'none', [], { Master: true, Discovery: 'token://x' });
    const agent = host('a', 'none', [], { Discovery: 'token://x' });
    const other = host('o', 'none');
    const masters = new Map([['token://x', 'm']]);
    const f = parseFilters(['swarm=M']);
    expect(
      [master, agent, other].filter((h) => matchesHostFilters(h, f, masters)).map((h) => h.Name),
    ).toEqual(['m', 'a']);
  });

  it('matches state case-insensitively', () => {
    expect(matchesStateFilter('Running', parseFilters(['state=running']))).toBe(true);
    expect(matchesStateFilter('Stopped', parseFilters(['state=running', 'state=timeout']))).toBe(false);
  });

  it('sorts names naturally', () => {
    expect(['bar10', 'bar9', 'a', 'bar09x', 'B'].map((s) => s.toLowerCase()).sort(naturalCompare)).toEqual([
      'a',
      'b',
      'bar9',
      'bar09x',
      'bar10',
    ]);
  });
});
