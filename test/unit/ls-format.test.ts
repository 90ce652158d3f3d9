import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GoTemplateError } from '../../main/cli/go-template.js';
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

// Issue 9, item 20: `ls --format` sees docker-machine's Go structs: Go field names (DNS,
// TLSVerify), a *Options prints `{…}` in an action and `&{…}` through printf, errors are Go's.
// Expected texts are what docker-machine 0.16.2 prints for the fixture store's "gen" machine.
describe('ls --format with Go struct fields', () => {
  const fixture = JSON.parse(
    readFileSync(
      new URL('../fixtures/docker-machine-0.16.2-store/machines/gen/config.json', import.meta.url),
      'utf8',
    ),
  );
  const gen = item({
    Name: 'gen',
    EngineOptions: fixture.HostOptions.EngineOptions,
    SwarmOptions: fixture.HostOptions.SwarmOptions,
  });

  it('reads engine options by their Go names', () => {
    expect(
      renderLs([gen], '{{.EngineOptions.TLSVerify}} {{.EngineOptions.DNS}} {{.EngineOptions.Env}}'),
    ).toBe('true [] [TEST=VALUE]\n');
  });

  it('prints a struct pointer as Go does: {…} in an action, &{…} through printf', () => {
    const swarm = '{false   false false tcp://0.0.0.0:3376 swarm:latest spread 0 0 [] [] [] false}';
    expect(renderLs([gen], '{{.SwarmOptions}}')).toBe(`${swarm}\n`);
    expect(renderLs([gen], '{{printf "%v" .SwarmOptions}}')).toBe(`&${swarm}\n`);
    expect(renderLs([gen], '{{.EngineOptions}}')).toBe(
      '{[log-driver=none] []  [TEST=VALUE] false [registry.myco.com] [spam=eggs]   false true [https://mirror.example.com] https://get.docker.com}\n',
    );
  });

  it("fails with Go's positioned error and keeps what was printed before it", () => {
    const run = (format: string) => {
      try {
        renderLs([item({ Name: 'foo' }), gen], format);
      } catch (err) {
        return { message: (err as GoTemplateError).message, partial: (err as GoTemplateError).partial };
      }
      throw new Error('no error');
    };
    expect(run('{{.Name}}{{if .EngineOptions}}{{.EngineOptions.Dns}}{{end}}').message).toBe(
      `template: :1:46: executing "" at <.EngineOptions.Dns>: can't evaluate field Dns in type *engine.Options`,
    );
    expect(run('{{.Name}} {{if eq .Name "gen"}}{{.Foo}}{{end}}')).toEqual({
      message: `template: :1:33: executing "" at <.Foo>: can't evaluate field Foo in type commands.HostListItem`,
      partial: 'foo \ngen ',
    });
    expect(run('table {{.Name}} {{.Foo}}').partial).toBe('NAME <no value>\nfoo ');
  });
});
