import { describe, expect, it } from 'vitest';
import { goDuration, renderLs } from '../../main/cli/ls-format.js';
import { tabwrite } from '../../main/cli/tabwriter.js';
import type { HostListItem } from '../../main/core/list.js';

function item(over: Partial<HostListItem>): HostListItem {
  return {
    Name: 'x',
    Active: '-',
    ActiveHost: false,
    ActiveSwarm: false,
    DriverName: 'none',
    State: 'Running',
    URL: 'tcp://127.0.0.1:2376',
    SwarmOptions: null,
    Swarm: '',
    EngineOptions: null,
    Error: '',
    DockerVersion: 'v20.10.24',
    ResponseTime: 12,
    ...over,
  };
}

describe('tabwriter', () => {
  it('aligns cells like Go tabwriter(minwidth 5, padding 3)', () => {
    expect(tabwrite('a\tbb\tlast\nccc\td\t\n')).toBe('a     bb   last\nccc   d    \n');
    expect(tabwrite('NAME\tX\nlongername\tY\n')).toBe('NAME         X\nlongername   Y\n');
  });

  it('handles column blocks of different lengths', () => {
    // A line without a cell in a column ends that column's block; the next block is sized anew.
    expect(tabwrite('a\tb\tc\nxx\nlonger\t2\n')).toBe('a    b    c\nxx\nlonger   2\n');
  });
});

describe('ls output', () => {
  it('prints the default table', () => {
    const out = renderLs([
      item({ Name: 'foo', Active: '*', ActiveHost: true }),
      item({
        Name: 'broken',
        Active: '',
        DriverName: 'not found',
        State: 'Error',
        URL: '',
        DockerVersion: '',
        Error: 'open /s/config.json: no such file or directory',
        ResponseTime: 0,
      }),
      item({ Name: 'slow', Active: '', State: 'Timeout', URL: '', DockerVersion: '', ResponseTime: 1000 }),
    ]);
    expect(out).toBe(
      'NAME     ACTIVE   DRIVER      STATE     URL                    SWARM   DOCKER      ERRORS\n' +
        'foo      *        none        Running   tcp://127.0.0.1:2376           v20.10.24   \n' +
        'broken            not found   Error                                                open /s/config.json: no such file or directory\n' +
        'slow              none        Timeout                                              \n',
    );
  });

  it('runs --format without table (no header, no alignment)', () => {
    expect(
      renderLs([item({ Name: 'a' }), item({ Name: 'b', State: 'Stopped' })], '{{.Name}}\\t{{.State}}'),
    ).toBe('a\tRunning\nb\tStopped\n');
    expect(renderLs([item({ ResponseTime: 1500 })], '{{.ResponseTime}} {{.ActiveHost}}')).toBe(
      '1.5s false\n',
    );
  });

  it('prints a header row for table formats from the header names', () => {
    expect(renderLs([item({ Name: 'a' })], 'table {{.Name}}\t{{.DockerVersion}}\t{{.ResponseTime}}')).toBe(
      'NAME   DOCKER      RESPONSE\na      v20.10.24   12ms\n',
    );
  });

  it('rejects unknown fields like Go (HostListItem is a struct)', () => {
    expect(() => renderLs([item({})], '{{.Bogus}}')).toThrow(/can't evaluate field Bogus/);
  });

  it('formats durations like Go', () => {
    expect(goDuration(0)).toBe('0s');
    expect(goDuration(999)).toBe('999ms');
    expect(goDuration(10_000)).toBe('10s');
    expect(goDuration(61_500)).toBe('1m1.5s');
  });
});
