import { describe, expect, it } from 'vitest';
import {
  GO_STRUCT,
  GoTemplate,
  GoTemplateError,
  goFloat,
  goPrint,
  renderGoTemplate,
} from '../../main/cli/go-template.js';

// What Go's template sees for `inspect -f`: config.json unmarshalled into maps.
const host = {
  ConfigVersion: 3,
  Driver: { IPAddress: '127.0.0.1:2376', URL: 'tcp://127.0.0.1:2376', SSHPort: 0, DropletID: 123456789 },
  DriverName: 'none',
  HostOptions: {
    EngineOptions: {
      Labels: ['a=b', 'c=d'],
      Dns: null,
      TlsVerify: true,
      InstallURL: 'https://get.docker.com?x=1&y=<2>',
    },
    AuthOptions: { ServerCertSANs: [] },
  },
  Name: 'foo',
};

describe('Go template subset', () => {
  it('prints field paths', () => {
    expect(renderGoTemplate('{{.Driver.IPAddress}}', host)).toBe('127.0.0.1:2376');
    expect(renderGoTemplate('{{ .DriverName }}/{{.Name}}', host)).toBe('none/foo');
    expect(renderGoTemplate('{{with .Driver}}{{$.Name}} {{.URL}}{{end}}', host)).toBe(
      'foo tcp://127.0.0.1:2376',
    );
    expect(() => renderGoTemplate('{{.Name.First}}', host)).toThrow(
      /can't evaluate field First in type string/,
    );
  });

  it('prints values like fmt %v', () => {
    expect(renderGoTemplate('{{.HostOptions.EngineOptions.Labels}}', host)).toBe('[a=b c=d]');
    expect(renderGoTemplate('{{.HostOptions.EngineOptions.Dns}}', host)).toBe('<nil>');
    expect(renderGoTemplate('{{.HostOptions.EngineOptions.TlsVerify}}', host)).toBe('true');
    expect(renderGoTemplate('{{.Driver.Missing}}', host)).toBe('<no value>');
    expect(renderGoTemplate('{{.HostOptions.AuthOptions}}', host)).toBe('map[ServerCertSANs:[]]');
    // JSON numbers are float64 in Go: large ones print in e-notation.
    expect(renderGoTemplate('{{.Driver.SSHPort}} {{.ConfigVersion}} {{.Driver.DropletID}}', host)).toBe(
      '0 3 1.23456789e+08',
    );
  });

  it('formats floats as Go does', () => {
    expect(goFloat(2376)).toBe('2376');
    expect(goFloat(123456)).toBe('123456');
    expect(goFloat(1e6)).toBe('1e+06');
    expect(goFloat(0.5)).toBe('0.5');
    expect(goFloat(0.00001)).toBe('1e-05');
    expect(goFloat(1.5e300)).toBe('1.5e+300');
  });

  it('has json and prettyjson with sorted map keys and Go escaping', () => {
    expect(renderGoTemplate('{{json .HostOptions.EngineOptions}}', host)).toBe(
      '{"Dns":null,"InstallURL":"https://get.docker.com?x=1\\u0026y=\\u003c2\\u003e","Labels":["a=b","c=d"],"TlsVerify":true}',
    );
    expect(renderGoTemplate('{{prettyjson .HostOptions.AuthOptions}}', host)).toBe(
      '{\n    "ServerCertSANs": []\n}',
    );
    expect(renderGoTemplate('{{.Driver | json}}', { Driver: { b: 1, a: 2 } })).toBe('{"a":2,"b":1}');
  });

  it('keeps struct field order and rejects unknown struct fields', () => {
    const item = { [GO_STRUCT]: 'commands.HostListItem', Name: 'x', B: 1, A: 2 };
    expect(renderGoTemplate('{{json .}}', item)).toBe('{"Name":"x","B":1,"A":2}');
    expect(() => renderGoTemplate('{{.Nope}}', item)).toThrow(
      /can't evaluate field Nope in type commands.HostListItem/,
    );
  });

  it('runs if/else if/else, range, with and functions', () => {
    const t = '{{if eq .DriverName "generic"}}G{{else if eq .DriverName "none"}}N{{else}}?{{end}}';
    expect(renderGoTemplate(t, host)).toBe('N');
    expect(renderGoTemplate('{{range .HostOptions.EngineOptions.Labels}}[{{.}}]{{end}}', host)).toBe(
      '[a=b][c=d]',
    );
    expect(
      renderGoTemplate('{{range .HostOptions.AuthOptions.ServerCertSANs}}x{{else}}none{{end}}', host),
    ).toBe('none');
    expect(renderGoTemplate('{{with .Driver}}{{.URL}}{{end}}', host)).toBe('tcp://127.0.0.1:2376');
    expect(
      renderGoTemplate(
        '{{len .HostOptions.EngineOptions.Labels}} {{index .HostOptions.EngineOptions.Labels 1}}',
        host,
      ),
    ).toBe('2 c=d');
    expect(renderGoTemplate('{{printf "%s:%d %q" .Name 7 .DriverName}}', host)).toBe('foo:7 "none"');
    expect(renderGoTemplate('{{if and .Name (not .Missing)}}ok{{end}}', host)).toBe('ok');
    expect(renderGoTemplate('{{/* comment */}}a  {{- " b" -}}  c', {})).toBe('a bc');
  });

  it('reports parse errors like text/template', () => {
    expect(() => GoTemplate.parse('{{.Name')).toThrow(GoTemplateError);
    expect(() => GoTemplate.parse('{{bogus .Name}}')).toThrow('template: :1: function "bogus" not defined');
    expect(() => GoTemplate.parse('{{if .X}}open')).toThrow(/unexpected EOF/);
    expect(() => GoTemplate.parse('{{end}}')).toThrow(/unexpected \{\{end\}\}/);
  });

  it('goPrint handles every JSON shape', () => {
    expect(goPrint({ b: [1, 'x'], a: { c: null } })).toBe('map[a:map[c:<nil>] b:[1 x]]');
  });
});
