/**
 * A subset of Go's text/template, enough for docker-machine's `--format` flags (`ls`, `inspect`):
 * field paths ({{.Driver.IPAddress}}, {{$.Name}}), pipelines ({{.X | json}}), variables
 * ({{$x := …}}, {{$x = …}}, {{range $i, $e := …}}, scoped to the {{end}} of their control structure),
 * the functions json, prettyjson, len, index, print, printf, println, eq, ne, lt, le, gt, ge, not,
 * and, or, and the actions if/else if/else, range, with, end, comments and {{- -}} trimming. Values
 * print like Go's fmt %v (maps as map[k:v] with sorted keys, nil as <nil>, a missing map key as
 * <no value>).
 *
 * Hand-written on purpose: no maintained npm package implements Go template semantics (the few
 * ports are unmaintained and differ in printing and error behaviour), and this subset is small.
 */

/** Marks an object as a Go struct: fields keep their order in json, unknown fields are errors. */
export const GO_STRUCT = Symbol.for('moor.goStruct');
/** An optional custom %v rendering of a value (e.g. a Go struct pointer's "&{...}"). */
export const GO_FORMAT = Symbol.for('moor.goFormat');

export interface GoStructMarked {
  [GO_STRUCT]?: string;
  [GO_FORMAT]?: () => string;
}

export class GoTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoTemplateError';
  }
}

// ------------------------------------------------------------------------------- lexing/parsing

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline; pos: string }
  | { kind: 'if' | 'with'; pipe: Pipeline; body: Node[]; else: Node[] }
  | { kind: 'range'; pipe: Pipeline; body: Node[]; else: Node[] };

type Operand =
  | { kind: 'field'; path: string[]; text: string }
  | { kind: 'var'; name: string; path: string[]; text: string }
  | { kind: 'literal'; value: unknown; text: string }
  | { kind: 'func'; name: string }
  | { kind: 'paren'; pipe: Pipeline; path: string[] };

type Command = Operand[];

/** `$a, $b := cmd | cmd`: the declared (or, with isAssign, assigned) variables and the commands. */
interface Pipeline {
  decl: string[];
  isAssign: boolean;
  commands: Command[];
}

interface RawAction {
  body: string;
  line: number;
}

type Piece = { text: string } | { action: RawAction };

function split(source: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let line = 1;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    if (open < 0) {
      pieces.push({ text: source.slice(i) });
      break;
    }
    let text = source.slice(i, open);
    let bodyStart = open + 2;
    if (
      source.startsWith('- ', bodyStart) ||
      source.startsWith('-\t', bodyStart) ||
      source.startsWith('-\n', bodyStart)
    ) {
      text = text.replace(/\s+$/, '');
      bodyStart += 1;
    }
    pieces.push({ text });
    line += countLines(source.slice(i, open));
    const close = findClose(source, bodyStart);
    if (close < 0) throw new GoTemplateError(`template: :${line}: unclosed action`);
    let bodyEnd = close;
    let next = close + 2;
    if (/\s-$/.test(source.slice(bodyStart, close))) {
      bodyEnd = close - 1;
      while (next < source.length && /\s/.test(source[next]!)) next++;
    }
    pieces.push({ action: { body: source.slice(bodyStart, bodyEnd).trim(), line } });
    line += countLines(source.slice(open, close));
    i = next;
  }
  return pieces;
}

function countLines(s: string): number {
  return s.split('\n').length - 1;
}

/** The `}}` closing an action, skipping string literals inside it. */
function findClose(source: string, from: number): number {
  let i = from;
  while (i < source.length) {
    const c = source[i];
    if (c === '"') {
      i++;
      while (i < source.length && source[i] !== '"') i += source[i] === '\\' ? 2 : 1;
    } else if (c === '`') {
      i = source.indexOf('`', i + 1);
      if (i < 0) return -1;
    } else if (source.startsWith('}}', i)) {
      return i;
    }
    i++;
  }
  return -1;
}

type Token =
  | { t: 'field'; v: string }
  | { t: 'var'; v: string }
  | { t: 'ident'; v: string }
  | { t: 'string'; v: string; raw: string }
  | { t: 'number'; v: number; raw: string }
  | { t: 'declare' }
  | { t: 'assign' }
  | { t: 'comma' }
  | { t: 'pipe' }
  | { t: 'lparen' }
  | { t: 'rparen' }
  | { t: 'dot' };

function tokenize(body: string, line: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new GoTemplateError(`template: :${line}: ${msg}`);
  };
  while (i < body.length) {
    const c = body[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '|') {
      tokens.push({ t: 'pipe' });
      i++;
    } else if (c === ':') {
      if (body[i + 1] !== '=') fail('expected :=');
      tokens.push({ t: 'declare' });
      i += 2;
    } else if (c === '=') {
      tokens.push({ t: 'assign' });
      i++;
    } else if (c === ',') {
      tokens.push({ t: 'comma' });
      i++;
    } else if (c === '(') {
      tokens.push({ t: 'lparen' });
      i++;
    } else if (c === ')') {
      tokens.push({ t: 'rparen' });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < body.length && body[j] !== '"') j += body[j] === '\\' ? 2 : 1;
      if (j >= body.length) fail('unterminated quoted string');
      try {
        const raw = body.slice(i, j + 1);
        tokens.push({ t: 'string', v: JSON.parse(raw) as string, raw });
      } catch {
        fail(`bad string ${body.slice(i, j + 1)}`);
      }
      i = j + 1;
    } else if (c === '`') {
      const j = body.indexOf('`', i + 1);
      if (j < 0) fail('unterminated raw quoted string');
      tokens.push({ t: 'string', v: body.slice(i + 1, j), raw: body.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '.' && !/[A-Za-z_]/.test(body[i + 1] ?? '')) {
      tokens.push({ t: 'dot' });
      i++;
    } else if (c === '.') {
      const m = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(body.slice(i))!;
      tokens.push({ t: 'field', v: m[0] });
      i += m[0].length;
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*((\.[A-Za-z_][A-Za-z0-9_]*)*)/.exec(body.slice(i))!;
      tokens.push({ t: 'var', v: m[0] });
      i += m[0].length;
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][-+]?\d+)?)/.exec(body.slice(i));
      if (!m) fail(`bad number syntax: ${body.slice(i, i + 5)}`);
      tokens.push({ t: 'number', v: Number(m![0]), raw: m![0] });
      i += m![0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i))!;
      tokens.push({ t: 'ident', v: m[0] });
      i += m[0].length;
    } else {
      fail(`unexpected "${c}" in command`);
    }
  }
  return tokens;
}

const TOKEN_TEXT: Partial<Record<Token['t'], string>> = { declare: ':=', assign: '=', comma: ',' };

/**
 * Parses one action's pipeline. `vars` are the variables in scope (Go's parser keeps the same
 * list): a declaration adds to it before its commands are parsed, and the caller trims it at the
 * {{end}} of the enclosing control structure. `context` names the pipeline in errors, as Go does.
 */
function parsePipeline(
  tokens: Token[],
  line: number,
  functions: Set<string>,
  vars: string[],
  context: string,
): Pipeline {
  let i = 0;
  const fail = (msg: string): never => {
    throw new GoTemplateError(`template: :${line}: ${msg}`);
  };
  // `$x :=`, `$x =`, and for range `$i, $e :=`; only at the start of a pipeline, as in Go.
  const declarations = (pipe: Pipeline, where: string): void => {
    for (;;) {
      const tok = tokens[i];
      const next = tokens[i + 1];
      if (tok?.t !== 'var' || tok.v.includes('.')) return;
      if (next?.t === 'declare' || next?.t === 'assign') {
        pipe.isAssign = next.t === 'assign';
        pipe.decl.push(tok.v);
        vars.push(tok.v);
        i += 2;
        return;
      }
      if (next?.t !== 'comma') return;
      pipe.decl.push(tok.v);
      vars.push(tok.v);
      i += 2;
      if (where === 'range' && pipe.decl.length < 2) {
        const after = tokens[i];
        if (after === undefined || after.t === 'var' || after.t === 'rparen') continue;
        fail('range can only initialize variables');
      }
      fail(`too many declarations in ${where}`);
    }
  };
  const pipeline = (where: string): Pipeline => {
    const pipe: Pipeline = { decl: [], isAssign: false, commands: [] };
    declarations(pipe, where);
    let command: Command = [];
    while (i < tokens.length) {
      const tok = tokens[i]!;
      if (tok.t === 'rparen') break;
      i++;
      switch (tok.t) {
        case 'pipe':
          if (command.length === 0) fail('missing command');
          pipe.commands.push(command);
          command = [];
          break;
        case 'declare':
        case 'assign':
        case 'comma':
          fail(`unexpected "${TOKEN_TEXT[tok.t]}" in ${command.length > 0 ? 'operand' : where}`);
          break;
        case 'dot':
          command.push({ kind: 'field', path: [], text: '.' });
          break;
        case 'field':
          command.push({ kind: 'field', path: tok.v.slice(1).split('.'), text: tok.v });
          break;
        case 'var': {
          const [name = '$', ...path] = tok.v.split('.');
          if (!vars.includes(name)) fail(`undefined variable "${name}"`);
          command.push({ kind: 'var', name, path, text: tok.v });
          break;
        }
        case 'string':
        case 'number':
          command.push({ kind: 'literal', value: tok.v, text: tok.raw });
          break;
        case 'ident':
          if (tok.v === 'true' || tok.v === 'false')
            command.push({ kind: 'literal', value: tok.v === 'true', text: tok.v });
          else if (tok.v === 'nil') command.push({ kind: 'literal', value: null, text: tok.v });
          else if (functions.has(tok.v)) command.push({ kind: 'func', name: tok.v });
          else fail(`function "${tok.v}" not defined`);
          break;
        case 'lparen': {
          const inner = pipeline('parenthesized pipeline');
          if (tokens[i]?.t !== 'rparen') fail('unclosed left paren');
          i++;
          let path: string[] = [];
          const next = tokens[i];
          if (next?.t === 'field') {
            path = next.v.slice(1).split('.');
            i++;
          }
          command.push({ kind: 'paren', pipe: inner, path });
          break;
        }
      }
    }
    if (command.length > 0) pipe.commands.push(command);
    else if (pipe.commands.length > 0) fail('missing command');
    if (pipe.commands.length === 0) fail(`missing value for ${where}`);
    return pipe;
  };
  const result = pipeline(context);
  if (i < tokens.length) fail('unexpected right paren');
  return result;
}

function parse(source: string, functions: Set<string>): Node[] {
  const pieces = split(source);
  let index = 0;
  // Variables in scope, as in Go's parser: `$` always; a declaration lives to the {{end}} of the
  // control structure it is in (its else branches included), or to the end of the template.
  const vars = ['$'];
  // Parses nodes until one of `stops` ({{else}}, {{end}}); returns the nodes and the stop found.
  const list = (stops: string[]): { nodes: Node[]; stop?: RawAction } => {
    const nodes: Node[] = [];
    while (index < pieces.length) {
      const piece = pieces[index++]!;
      if ('text' in piece) {
        if (piece.text) nodes.push({ kind: 'text', text: piece.text });
        continue;
      }
      const { body, line } = piece.action;
      if (body.startsWith('/*')) {
        if (!body.endsWith('*/')) throw new GoTemplateError(`template: :${line}: unclosed comment`);
        continue;
      }
      const keyword = /^(if|with|range|else|end)\b/.exec(body)?.[1];
      if (keyword === 'end' || keyword === 'else') {
        if (!stops.includes(keyword))
          throw new GoTemplateError(`template: :${line}: unexpected {{${keyword}}}`);
        return { nodes, stop: piece.action };
      }
      if (keyword === 'if' || keyword === 'with' || keyword === 'range') {
        nodes.push(block(keyword, body.slice(keyword.length), line));
        continue;
      }
      if (body === '') throw new GoTemplateError(`template: :${line}: missing value for command`);
      const pipe = parsePipeline(tokenize(body, line), line, functions, vars, 'command');
      nodes.push({ kind: 'action', pipe, pos: body });
    }
    if (stops.length > 0) throw new GoTemplateError('template: :1: unexpected EOF');
    return { nodes };
  };
  const block = (keyword: 'if' | 'with' | 'range', rest: string, line: number): Node => {
    const scope = vars.length;
    const pipe = parsePipeline(tokenize(rest, line), line, functions, vars, keyword);
    const first = list(['else', 'end']);
    let elseNodes: Node[] = [];
    if (first.stop?.body.startsWith('else')) {
      const elseRest = first.stop.body.slice(4).trim();
      if (elseRest.startsWith('if ') && keyword === 'if') {
        // {{else if x}} … is {{else}}{{if x}} … {{end}}{{end}} sharing the one {{end}}.
        elseNodes = [block('if', elseRest.slice(2), first.stop.line)];
      } else {
        const second = list(['end']);
        elseNodes = second.nodes;
      }
    }
    vars.length = scope;
    return keyword === 'range'
      ? { kind: 'range', pipe, body: first.nodes, else: elseNodes }
      : { kind: keyword, pipe, body: first.nodes, else: elseNodes };
  };
  return list([]).nodes;
}

// ------------------------------------------------------------------------------------ values

type Fn = (...args: unknown[]) => unknown;

const MISSING = Symbol('no value');

function isObject(v: unknown): v is Record<string | symbol, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's fmt %v for a float64 (all JSON numbers are float64 after Go's json.Unmarshal). */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  // strconv's 'g' with the shortest precision switches to %e below 1e-4 and from 1e6 on
  // (so a droplet ID 123456789 prints as 1.23456789e+08, as in docker-machine).
  if (exp < -4 || exp >= 6)
    return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** fmt.Sprint(v) — how a value prints in a template action. */
export function goPrint(v: unknown): string {
  if (v === MISSING) return '<no value>';
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goPrint).join(' ')}]`;
  if (isObject(v)) {
    const custom = v[GO_FORMAT];
    if (typeof custom === 'function') return (custom as () => string)();
    if (v[GO_STRUCT])
      return `{${Object.keys(v)
        .map((k) => goPrint(v[k]))
        .join(' ')}}`;
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goPrint(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

/** Go maps marshal with sorted keys; structs keep their field order. */
function goJsonValue(v: unknown): unknown {
  if (v === MISSING || v === undefined) return null;
  if (Array.isArray(v)) return v.map(goJsonValue);
  if (isObject(v)) {
    const keys = v[GO_STRUCT] ? Object.keys(v) : Object.keys(v).sort();
    return Object.fromEntries(keys.map((k) => [k, goJsonValue(v[k])]));
  }
  return v;
}

function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function goJson(v: unknown): string {
  return goEscape(JSON.stringify(goJsonValue(v)) ?? 'null');
}

export function goPrettyJson(v: unknown): string {
  return goEscape(JSON.stringify(goJsonValue(v), null, 4) ?? 'null');
}

function truth(v: unknown): boolean {
  if (v === MISSING || v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return v[GO_STRUCT] !== undefined || Object.keys(v).length > 0;
  return true;
}

function goSprintf(format: string, args: unknown[]): string {
  let n = 0;
  return format.replace(/%([-+# 0]*\d*(?:\.\d+)?)([vsdqtfx%])/g, (_whole, _flags: string, verb: string) => {
    if (verb === '%') return '%';
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[n++];
    switch (verb) {
      case 'q':
        return JSON.stringify(typeof arg === 'string' ? arg : goPrint(arg));
      case 'd':
        return typeof arg === 'number' ? String(Math.trunc(arg)) : `%!d(${goPrint(arg)})`;
      case 'f':
        return typeof arg === 'number' ? arg.toFixed(6) : `%!f(${goPrint(arg)})`;
      case 'x':
        return typeof arg === 'number'
          ? Math.trunc(arg).toString(16)
          : Buffer.from(goPrint(arg)).toString('hex');
      default:
        return goPrint(arg);
    }
  });
}

const compare = (name: string, test: (c: number) => boolean) => (a: unknown, b: unknown) => {
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) {
    throw new GoTemplateError(`error calling ${name}: incompatible types for comparison`);
  }
  return test(a < (b as typeof a) ? -1 : a === b ? 0 : 1);
};

const BUILTINS: Record<string, Fn> = {
  json: (v) => goJson(v),
  prettyjson: (v) => goPrettyJson(v),
  len: (v) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (isObject(v)) return Object.keys(v).length;
    throw new GoTemplateError(`error calling len: len of type ${typeof v}`);
  },
  index: (v, ...keys) => {
    let cur = v;
    for (const k of keys) {
      if (Array.isArray(cur) && typeof k === 'number') cur = cur[k];
      else if (isObject(cur) && typeof k === 'string') cur = k in cur ? cur[k] : MISSING;
      else throw new GoTemplateError('error calling index: cannot index');
      if (cur === undefined)
        throw new GoTemplateError(`error calling index: index out of range: ${String(k)}`);
    }
    return cur;
  },
  print: (...args) => args.map(goPrint).join(''),
  println: (...args) => `${args.map(goPrint).join(' ')}\n`,
  printf: (format, ...args) => goSprintf(String(format), args),
  not: (v) => !truth(v),
  and: (...args) => args.find((a) => !truth(a)) ?? args[args.length - 1],
  or: (...args) => args.find((a) => truth(a)) ?? args[args.length - 1],
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: compare('lt', (c) => c < 0),
  le: compare('le', (c) => c <= 0),
  gt: compare('gt', (c) => c > 0),
  ge: compare('ge', (c) => c >= 0),
};

// --------------------------------------------------------------------------------- execution

function field(value: unknown, path: string[], text: string): unknown {
  let cur = value;
  for (const name of path) {
    if (cur === MISSING) return MISSING;
    if (cur === null || cur === undefined) {
      throw new GoTemplateError(`executing "" at <${text}>: nil pointer evaluating interface {}.${name}`);
    }
    if (!isObject(cur)) {
      throw new GoTemplateError(
        `executing "" at <${text}>: can't evaluate field ${name} in type ${goType(cur)}`,
      );
    }
    const structName = cur[GO_STRUCT];
    if (structName !== undefined && !(name in cur)) {
      throw new GoTemplateError(
        `executing "" at <${text}>: can't evaluate field ${name} in type ${structName}`,
      );
    }
    cur = name in cur ? cur[name] : MISSING;
  }
  return cur;
}

function goType(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'interface {}';
}

/** A variable on the execution stack; `$` (the data) is always at the bottom. */
interface Variable {
  name: string;
  value: unknown;
}

/** The node Go's executor visited last in a pipeline: where an assignment's error points. */
function lastNodeText(pipe: Pipeline): string {
  const command = pipe.commands[pipe.commands.length - 1]!;
  const op = command[command.length - 1]!;
  switch (op.kind) {
    case 'paren':
      return op.path.length > 0 ? `(...).${op.path.join('.')}` : lastNodeText(op.pipe);
    case 'func':
      return op.name;
    default:
      return op.text;
  }
}

/** A compiled template: `execute(data)` returns the output text. */
export class GoTemplate {
  private constructor(
    private readonly nodes: Node[],
    private readonly functions: Record<string, Fn>,
  ) {}

  static parse(source: string, extraFunctions: Record<string, Fn> = {}): GoTemplate {
    const functions = { ...BUILTINS, ...extraFunctions };
    return new GoTemplate(parse(source, new Set(Object.keys(functions))), functions);
  }

  execute(data: unknown): string {
    const out: string[] = [];
    this.run(this.nodes, data, [{ name: '$', value: data }], out);
    return out.join('');
  }

  // Like Go, `vars` is one stack: a control structure remembers its height and trims it back at
  // its end, so declarations in it (and in its body) go out of scope there.
  private run(nodes: Node[], dot: unknown, vars: Variable[], out: string[]): void {
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          out.push(node.text);
          break;
        case 'action': {
          const value = this.pipeline(node.pipe, dot, vars);
          // {{$x := …}} and {{$x = …}} print nothing.
          if (node.pipe.decl.length === 0) out.push(goPrint(value));
          break;
        }
        case 'if':
        case 'with': {
          const scope = vars.length;
          const value = this.pipeline(node.pipe, dot, vars);
          if (truth(value)) this.run(node.body, node.kind === 'with' ? value : dot, vars, out);
          else this.run(node.else, dot, vars, out);
          vars.length = scope;
          break;
        }
        case 'range':
          this.range(node, dot, vars, out);
          break;
      }
    }
  }

  private range(node: Node & { kind: 'range' }, dot: unknown, vars: Variable[], out: string[]): void {
    const scope = vars.length;
    const value = this.pipeline(node.pipe, dot, vars);
    const entries: [unknown, unknown][] = Array.isArray(value)
      ? value.map((item, i) => [i, item])
      : isObject(value)
        ? Object.keys(value)
            .sort()
            .map((k) => [k, value[k]])
        : truth(value)
          ? (() => {
              throw new GoTemplateError(`range can't iterate over ${goPrint(value)}`);
            })()
          : [];
    const { decl, isAssign } = node.pipe;
    const body = vars.length;
    for (const [key, item] of entries) {
      // One variable gets the element; two get the index (or map key) and the element.
      const targets: [string, unknown][] =
        decl.length > 1
          ? [
              [decl[0]!, key],
              [decl[1]!, item],
            ]
          : decl.length === 1
            ? [[decl[0]!, item]]
            : [];
      targets.forEach(([name, v], i) => {
        if (isAssign) this.setVar(vars, name, v, node.pipe);
        else vars[body - decl.length + i]!.value = v;
      });
      this.run(node.body, item, vars, out);
      vars.length = body;
    }
    if (entries.length === 0) this.run(node.else, dot, vars, out);
    vars.length = scope;
  }

  /** Runs a pipeline, then declares (pushes) or assigns its variables to the result, as Go does. */
  private pipeline(pipe: Pipeline, dot: unknown, vars: Variable[]): unknown {
    let result: unknown = MISSING;
    pipe.commands.forEach((command, i) => {
      const args = i === 0 ? [] : [result];
      result = this.command(command, dot, vars, args);
    });
    for (const name of pipe.decl) {
      if (pipe.isAssign) this.setVar(vars, name, result, pipe);
      else vars.push({ name, value: result });
    }
    return result;
  }

  /** `$x = …` changes the innermost `$x` in scope (Go 1.11+), even one declared outside a range. */
  private setVar(vars: Variable[], name: string, value: unknown, pipe: Pipeline): void {
    const variable = vars.findLast((v) => v.name === name);
    if (!variable) {
      throw new GoTemplateError(`executing "" at <${lastNodeText(pipe)}>: undefined variable: ${name}`);
    }
    variable.value = value;
  }

  private command(command: Command, dot: unknown, vars: Variable[], piped: unknown[]): unknown {
    const [head, ...rest] = command;
    const operand = (op: Operand): unknown => {
      switch (op.kind) {
        case 'literal':
          return op.value;
        case 'field':
          return field(dot, op.path, op.text);
        case 'var': {
          // The parser knew the name, but e.g. one declared in an {{if}} body is gone in its {{else}}.
          const variable = vars.findLast((v) => v.name === op.name);
          if (!variable) {
            throw new GoTemplateError(`executing "" at <${op.text}>: undefined variable: ${op.name}`);
          }
          return field(variable.value, op.path, op.text);
        }
        case 'paren':
          return field(this.pipeline(op.pipe, dot, vars), op.path, `(...).${op.path.join('.')}`);
        case 'func':
          return this.call(op.name, []);
      }
    };
    if (head?.kind === 'func') return this.call(head.name, [...rest.map(operand), ...piped]);
    if (rest.length > 0 || piped.length > 0) {
      throw new GoTemplateError(
        `can't give argument to non-function ${head?.kind === 'field' || head?.kind === 'var' ? head.text : 'value'}`,
      );
    }
    return operand(head!);
  }

  private call(name: string, args: unknown[]): unknown {
    const fn = this.functions[name]!;
    return fn(...args);
  }
}

/** Parses and runs in one go. */
export function renderGoTemplate(source: string, data: unknown): string {
  return GoTemplate.parse(source).execute(data);
}
