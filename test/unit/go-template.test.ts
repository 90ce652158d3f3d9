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
    // Read from a map, Go sees an interface {} (docker-machine 0.16.2 `inspect -f`, verified).
    expect(() => renderGoTemplate('{{.Name.First}}', host)).toThrow(
      `template: :1:7: executing "" at <.Name.First>: can't evaluate field First in type interface {}`,
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

describe('Go template variables', () => {
  const labels = '.HostOptions.EngineOptions.Labels';

  it('declares a variable without printing anything', () => {
    expect(renderGoTemplate('{{$n := .Name}}{{$n}}/{{$n}}', host)).toBe('foo/foo');
    expect(renderGoTemplate('{{$url:=.Driver.URL}}[{{$url}}]', host)).toBe('[tcp://127.0.0.1:2376]');
    expect(renderGoTemplate('{{$d := .Driver.Missing}}{{$d}}', host)).toBe('<no value>');
    expect(renderGoTemplate('{{$n := .Name | len}}{{$n}}', host)).toBe('3');
  });

  it('assigns to a declared variable, also from inside a range (Go 1.11+)', () => {
    expect(renderGoTemplate('{{$n := .Name}}{{$n = .DriverName}}{{$n}}', host)).toBe('none');
    expect(
      renderGoTemplate(`{{$last := "none"}}{{range ${labels}}}{{$last = .}}{{end}}{{$last}}`, host),
    ).toBe('c=d');
    expect(
      renderGoTemplate('{{$found := false}}{{with .Driver}}{{$found = true}}{{end}}{{$found}}', host),
    ).toBe('true');
  });

  it('ranges with one variable (the element) and two (index or sorted map key, element)', () => {
    expect(renderGoTemplate(`{{range $l := ${labels}}}[{{$l}}]{{end}}`, host)).toBe('[a=b][c=d]');
    expect(renderGoTemplate(`{{range $i, $l := ${labels}}}{{$i}}={{$l}};{{end}}`, host)).toBe('0=a=b;1=c=d;');
    expect(renderGoTemplate('{{range $v := .Driver}}{{$v}};{{end}}', host)).toBe(
      '1.23456789e+08;127.0.0.1:2376;0;tcp://127.0.0.1:2376;',
    );
    expect(renderGoTemplate('{{range $k, $v := .Driver}}{{$k}}={{$v}} {{end}}', host)).toBe(
      'DropletID=1.23456789e+08 IPAddress=127.0.0.1:2376 SSHPort=0 URL=tcp://127.0.0.1:2376 ',
    );
    // Dot is still the element; $ is still the data.
    expect(renderGoTemplate(`{{range $i, $l := ${labels}}}{{.}}@{{$.Name}} {{end}}`, host)).toBe(
      'a=b@foo c=d@foo ',
    );
    // An empty range runs {{else}}, where the variable holds the (empty) collection, as in Go.
    expect(
      renderGoTemplate('{{range $s := .HostOptions.AuthOptions.ServerCertSANs}}x{{else}}{{$s}}{{end}}', host),
    ).toBe('[]');
  });

  it('declares in with and if, visible in their else branches', () => {
    expect(renderGoTemplate('{{with $d := .Driver}}{{$d.URL}} {{.IPAddress}}{{end}}', host)).toBe(
      'tcp://127.0.0.1:2376 127.0.0.1:2376',
    );
    expect(renderGoTemplate('{{if $ip := .Driver.IPAddress}}ip={{$ip}}{{else}}none{{end}}', host)).toBe(
      'ip=127.0.0.1:2376',
    );
    expect(renderGoTemplate('{{if $p := .Driver.SSHPort}}{{$p}}{{else}}port {{$p}}{{end}}', host)).toBe(
      'port 0',
    );
    expect(renderGoTemplate('{{if $x := .Missing}}x{{else if $d := .DriverName}}{{$d}}{{end}}', host)).toBe(
      'none',
    );
  });

  it('scopes a variable to the end of its control structure', () => {
    expect(() => GoTemplate.parse('{{with $d := .Driver}}{{end}}{{$d}}')).toThrow(
      'template: :1: undefined variable "$d"',
    );
    expect(() => GoTemplate.parse('{{range .L}}{{$x := .}}{{end}}{{$x}}')).toThrow(
      'template: :1: undefined variable "$x"',
    );
    expect(() => GoTemplate.parse('{{if .Name}}\n{{$a := 1}}{{end}}\n{{$a}}')).toThrow(
      'template: :3: undefined variable "$a"',
    );
    expect(() => GoTemplate.parse('{{$x}}{{$x := 1}}')).toThrow('template: :1: undefined variable "$x"');
    // An inner declaration shadows an outer one until its {{end}}.
    expect(
      renderGoTemplate('{{$x := "outer"}}{{with .Driver}}{{$x := "inner"}}{{$x}}{{end}} {{$x}}', host),
    ).toBe('inner outer');
    // A body declaration is re-made each iteration.
    expect(renderGoTemplate(`{{range ${labels}}}{{$l := .}}{{$l}};{{end}}`, host)).toBe('a=b;c=d;');
  });

  it('reads fields through a variable', () => {
    expect(renderGoTemplate('{{$h := .}}{{with .Driver}}{{$h.Name}}@{{$h.Driver.URL}}{{end}}', host)).toBe(
      'foo@tcp://127.0.0.1:2376',
    );
    expect(renderGoTemplate('{{$e := .HostOptions.EngineOptions}}{{$e.TlsVerify}} {{$e.Nope}}', host)).toBe(
      'true <no value>',
    );
    expect(() => renderGoTemplate('{{$h := .}}{{$h.Name.First}}', host)).toThrow(
      `template: :1:15: executing "" at <$h.Name.First>: can't evaluate field First in type interface {}`,
    );
  });

  it('passes variables as function arguments and pipeline inputs', () => {
    const vars = '{{$driver := .DriverName}}{{$name := .Name}}';
    expect(renderGoTemplate(`${vars}{{printf "%s-%s" $driver $name}}`, host)).toBe('none-foo');
    expect(renderGoTemplate(`${vars}{{if eq $driver "none"}}local{{end}}`, host)).toBe('local');
    expect(renderGoTemplate(`${vars}{{$name | len}} {{len $name}} {{json $name}}`, host)).toBe('3 3 "foo"');
    expect(renderGoTemplate(`{{$l := ${labels}}}{{index $l 1}}`, host)).toBe('c=d');
    expect(() => renderGoTemplate(`${vars}{{$name 1}}`, host)).toThrow(
      "can't give argument to non-function $name",
    );
  });

  it('reports declaration errors like text/template', () => {
    expect(() => GoTemplate.parse('{{$a, $b := .Name}}')).toThrow(
      'template: :1: too many declarations in command',
    );
    expect(() => GoTemplate.parse('{{range $a, $b, $c := .L}}{{end}}')).toThrow(
      'template: :1: too many declarations in range',
    );
    expect(() => GoTemplate.parse('{{range $k, .}}{{end}}')).toThrow(
      'template: :1: range can only initialize variables',
    );
    expect(() => GoTemplate.parse('{{range $k, $v}}{{end}}')).toThrow(
      'template: :1: undefined variable "$v"',
    );
    expect(() => GoTemplate.parse('{{$x := }}')).toThrow('template: :1: missing value for command');
    expect(() => GoTemplate.parse('{{$x : 1}}')).toThrow('template: :1: expected :=');
    expect(() => GoTemplate.parse('{{$x := 1}}{{with $x.Y := 3}}{{end}}')).toThrow(
      'template: :1: unexpected ":=" in operand',
    );
    // As in Go, these parse but fail when run: the variable is not on the stack there.
    expect(() => renderGoTemplate('{{$z = 1}}', host)).toThrow('undefined variable: $z');
    expect(() => renderGoTemplate('{{if .Missing}}{{$y := 1}}{{else}}{{$y}}{{end}}', host)).toThrow(
      'executing "" at <$y>: undefined variable: $y',
    );
  });
});

// Issue 9, item 20: execution errors carry Go's `template: :LINE:COL: ` prefix, the column being
// where Go's parser puts the node (a chain at its second element, a call at its command), and
// what ran before the error is kept. Expected texts are docker-machine 0.16.2's (inspect -f).
describe('Go template execution errors', () => {
  const fails = (source: string) => {
    try {
      renderGoTemplate(source, host);
    } catch (err) {
      return { message: (err as GoTemplateError).message, partial: (err as GoTemplateError).partial };
    }
    throw new Error(`${source} did not fail`);
  };

  it('names line and column of the failing node', () => {
    expect(fails('{{.Driver.IPAddress.X}}').message).toBe(
      `template: :1:9: executing "" at <.Driver.IPAddress.X>: can't evaluate field X in type interface {}`,
    );
    expect(fails('ab\n  {{ $x := .Name.Y }}').message).toBe(
      `template: :2:16: executing "" at <.Name.Y>: can't evaluate field Y in type interface {}`,
    );
    expect(fails('{{if .Name.Y}}{{end}}').message).toMatch(/^template: :1:10: executing "" at <.Name.Y>/);
  });

  it("puts a function's error at its command, with the command's text", () => {
    expect(fails('ab {{index .HostOptions 3}}')).toEqual({
      message:
        'template: :1:5: executing "" at <index .HostOptions 3>: error calling index: value has type int; should be string',
      partial: 'ab ',
    });
    expect(fails('{{.Name | len | printf "%d" | index 3}}').message).toBe(
      `template: :1:30: executing "" at <index 3>: error calling index: can't index item of type int`,
    );
  });
});
