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
/** Marks a Go struct as reached through a pointer: printf's %v shows `&{…}`, an action `{…}`. */
export const GO_POINTER = Symbol.for('moor.goPointer');

export interface GoStructMarked {
  [GO_STRUCT]?: string;
  [GO_POINTER]?: boolean;
}

/**
 * `pos` is the offset in the template source of the node an execution error is about; the
 * template turns it into Go's `template: :LINE:COL: ` prefix.
 */
export class GoTemplateError extends Error {
  /** What an execution had written before it failed (Go's Execute has written it already). */
  partial = '';
  constructor(
    message: string,
    readonly pos?: number,
  ) {
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

/** `pos`: where Go's parser places the node (a field chain: at its second element). */
type Operand =
  | { kind: 'field'; path: string[]; text: string; pos: number }
  | { kind: 'var'; name: string; path: string[]; text: string; pos: number }
  | { kind: 'literal'; value: unknown; text: string; pos: number }
  | { kind: 'func'; name: string; pos: number }
  | { kind: 'paren'; pipe: Pipeline; path: string[]; pos: number };

/** A command's operands, with where it starts and its text (Go's `<index .X 5>` in errors). */
type Command = Operand[] & { pos?: number; text?: string };

/** `$a, $b := cmd | cmd`: the declared (or, with isAssign, assigned) variables and the commands. */
interface Pipeline {
  decl: string[];
  isAssign: boolean;
  commands: Command[];
}

interface RawAction {
  body: string;
  line: number;
  /** Offset of `body` in the template source. */
  offset: number;
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
    if (close < 0) {
      // Go's parser names the line it reached (the end) and, when another, where the action began.
      const end = 1 + countLines(source);
      throw new GoTemplateError(
        `template: :${end}: unclosed action${end === line ? '' : ` started at :${line}`}`,
      );
    }
    let bodyEnd = close;
    let next = close + 2;
    if (/\s-$/.test(source.slice(bodyStart, close))) {
      bodyEnd = close - 1;
      while (next < source.length && /\s/.test(source[next]!)) next++;
    }
    const raw = source.slice(bodyStart, bodyEnd);
    const offset = bodyStart + (raw.length - raw.trimStart().length);
    pieces.push({ action: { body: raw.trim(), line, offset } });
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

type Token = (
  | { t: 'field'; v: string; chainPos: number }
  | { t: 'var'; v: string; chainPos: number }
  | { t: 'ident'; v: string }
  | { t: 'string'; v: string; raw: string }
  | { t: 'number'; v: number; raw: string }
  | { t: 'declare' }
  | { t: 'assign' }
  | { t: 'comma' }
  | { t: 'pipe' }
  | { t: 'lparen' }
  | { t: 'rparen' }
  | { t: 'dot' }
) & { pos: number; end: number };

/**
 * Where Go's parser places `.A.B.C` or `$x.A` (starting at `at`): a chain of two or more
 * elements sits at its second element, a single one at itself. Execution errors point there.
 */
function chainPosition(text: string, at: number): number {
  const second = text.indexOf('.', 1);
  return second < 0 ? at : at + second;
}

/** `base`: the offset of `body` in the template source, so tokens carry source positions. */
function tokenize(body: string, line: number, base = 0): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (token: Record<string, unknown>, start: number) =>
    tokens.push({ ...token, pos: base + start, end: base + i } as Token);
  const fail = (msg: string): never => {
    throw new GoTemplateError(`template: :${line}: ${msg}`);
  };
  while (i < body.length) {
    const c = body[i]!;
    const at = i;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '|') {
      i++;
      push({ t: 'pipe' }, at);
    } else if (c === ':') {
      if (body[i + 1] !== '=') fail('expected :=');
      i += 2;
      push({ t: 'declare' }, at);
    } else if (c === '=') {
      i++;
      push({ t: 'assign' }, at);
    } else if (c === ',') {
      i++;
      push({ t: 'comma' }, at);
    } else if (c === '(') {
      i++;
      push({ t: 'lparen' }, at);
    } else if (c === ')') {
      i++;
      push({ t: 'rparen' }, at);
    } else if (c === '"') {
      let j = i + 1;
      while (j < body.length && body[j] !== '"') j += body[j] === '\\' ? 2 : 1;
      if (j >= body.length) fail('unterminated quoted string');
      try {
        const raw = body.slice(i, j + 1);
        const v = JSON.parse(raw) as string;
        i = j + 1;
        push({ t: 'string', v, raw }, at);
      } catch {
        fail(`bad string ${body.slice(i, j + 1)}`);
      }
    } else if (c === '`') {
      const j = body.indexOf('`', i + 1);
      if (j < 0) fail('unterminated raw quoted string');
      const raw = body.slice(i, j + 1);
      i = j + 1;
      push({ t: 'string', v: raw.slice(1, -1), raw }, at);
    } else if (c === '.' && !/[A-Za-z_]/.test(body[i + 1] ?? '')) {
      i++;
      push({ t: 'dot' }, at);
    } else if (c === '.') {
      const m = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(body.slice(i))!;
      i += m[0].length;
      push({ t: 'field', v: m[0], chainPos: base + chainPosition(m[0], at) }, at);
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*((\.[A-Za-z_][A-Za-z0-9_]*)*)/.exec(body.slice(i))!;
      i += m[0].length;
      push({ t: 'var', v: m[0], chainPos: base + chainPosition(m[0], at) }, at);
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][-+]?\d+)?)/.exec(body.slice(i));
      if (!m) fail(`bad number syntax: ${body.slice(i, i + 5)}`);
      i += m![0].length;
      push({ t: 'number', v: Number(m![0]), raw: m![0] }, at);
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i))!;
      i += m[0].length;
      push({ t: 'ident', v: m[0] }, at);
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
      command.pos ??= tok.pos;
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
          command.push({ kind: 'field', path: [], text: '.', pos: tok.pos });
          break;
        case 'field':
          command.push({ kind: 'field', path: tok.v.slice(1).split('.'), text: tok.v, pos: tok.chainPos });
          break;
        case 'var': {
          const [name = '$', ...path] = tok.v.split('.');
          if (!vars.includes(name)) fail(`undefined variable "${name}"`);
          command.push({ kind: 'var', name, path, text: tok.v, pos: tok.chainPos });
          break;
        }
        case 'string':
        case 'number':
          command.push({ kind: 'literal', value: tok.v, text: tok.raw, pos: tok.pos });
          break;
        case 'ident':
          if (tok.v === 'true' || tok.v === 'false')
            command.push({ kind: 'literal', value: tok.v === 'true', text: tok.v, pos: tok.pos });
          else if (tok.v === 'nil') command.push({ kind: 'literal', value: null, text: tok.v, pos: tok.pos });
          else if (functions.has(tok.v)) command.push({ kind: 'func', name: tok.v, pos: tok.pos });
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
          command.push({ kind: 'paren', pipe: inner, path, pos: tok.pos });
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
      const { body, line, offset } = piece.action;
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
        nodes.push(block(keyword, body.slice(keyword.length), line, offset + keyword.length));
        continue;
      }
      if (body === '') throw new GoTemplateError(`template: :${line}: missing value for command`);
      const pipe = parsePipeline(tokenize(body, line, offset), line, functions, vars, 'command');
      nodes.push({ kind: 'action', pipe, pos: body });
    }
    if (stops.length > 0) throw new GoTemplateError('template: :1: unexpected EOF');
    return { nodes };
  };
  const block = (keyword: 'if' | 'with' | 'range', rest: string, line: number, offset: number): Node => {
    const scope = vars.length;
    const pipe = parsePipeline(tokenize(rest, line, offset), line, functions, vars, keyword);
    const first = list(['else', 'end']);
    let elseNodes: Node[] = [];
    if (first.stop?.body.startsWith('else')) {
      const afterElse = first.stop.body.slice(4);
      const elseRest = afterElse.trim();
      if (elseRest.startsWith('if ') && keyword === 'if') {
        // {{else if x}} … is {{else}}{{if x}} … {{end}}{{end}} sharing the one {{end}}.
        const at = first.stop.offset + 4 + (afterElse.length - afterElse.trimStart().length) + 2;
        elseNodes = [block('if', elseRest.slice(2), first.stop.line, at)];
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
    if (v[GO_STRUCT])
      return `{${Object.keys(v)
        .map((k) => goPrint(v[k]))
        .join(' ')}}`;
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goPrint(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

/**
 * fmt's %v of a function argument: like goPrint, except that a struct pointer keeps its `&`
 * (an action prints the struct it points to; printf gets the pointer itself).
 */
function goFmt(v: unknown): string {
  return isObject(v) && v[GO_POINTER] ? `&${goPrint(v)}` : goPrint(v);
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
        return goFmt(arg);
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
    // Go's messages; an integer key is a template literal, Go's int.
    const keyType = (k: unknown) => (Number.isInteger(k) ? 'int' : goType(k));
    for (const k of keys) {
      if (Array.isArray(cur) && typeof k === 'number') cur = cur[k];
      else if (isObject(cur) && typeof k === 'string') cur = k in cur ? cur[k] : MISSING;
      else if (isObject(cur))
        throw new GoTemplateError(`error calling index: value has type ${keyType(k)}; should be string`);
      else if (Array.isArray(cur))
        throw new GoTemplateError(`error calling index: cannot index slice/array with type ${keyType(k)}`);
      else throw new GoTemplateError(`error calling index: can't index item of type ${keyType(cur)}`);
      if (cur === undefined)
        throw new GoTemplateError(`error calling index: index out of range: ${String(k)}`);
    }
    return cur;
  },
  print: (...args) => args.map(goFmt).join(''),
  println: (...args) => `${args.map(goFmt).join(' ')}\n`,
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

/** An execution error as Go words it: about the node at `pos` whose text is `text`. */
function execError(text: string, message: string, pos?: number): GoTemplateError {
  return new GoTemplateError(`executing "" at <${text}>: ${message}`, pos);
}

function field(value: unknown, path: string[], text: string, pos?: number): unknown {
  let cur = value;
  // A value read from a map is an interface {} to Go, whatever it holds; a struct field has its type.
  let fromMap = false;
  for (const name of path) {
    if (cur === MISSING) return MISSING;
    if (cur === null || cur === undefined) {
      throw execError(text, `nil pointer evaluating interface {}.${name}`, pos);
    }
    if (!isObject(cur)) {
      const type = fromMap ? 'interface {}' : goType(cur);
      throw execError(text, `can't evaluate field ${name} in type ${type}`, pos);
    }
    const structName = cur[GO_STRUCT];
    if (structName !== undefined && !(name in cur)) {
      // Go names a struct reached through a pointer as *pkg.Type.
      const type = cur[GO_POINTER] ? `*${structName}` : structName;
      throw execError(text, `can't evaluate field ${name} in type ${type}`, pos);
    }
    fromMap = structName === undefined;
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

/** The node Go's executor visited last in a pipeline (text, position): where its errors point. */
function lastNode(pipe: Pipeline): { text: string; pos: number } {
  const command = pipe.commands[pipe.commands.length - 1]!;
  const op = command[command.length - 1]!;
  switch (op.kind) {
    case 'paren':
      return op.path.length > 0 ? { text: `(...).${op.path.join('.')}`, pos: op.pos } : lastNode(op.pipe);
    case 'func':
      return { text: op.name, pos: op.pos };
    default:
      return { text: op.text, pos: op.pos };
  }
}

/** Go's CommandNode.String(): the operands joined by spaces (`index .Env 5`). */
function commandText(command: Command): string {
  return command
    .map((op) => {
      switch (op.kind) {
        case 'func':
          return op.name;
        case 'paren':
          return `(${op.pipe.commands.map(commandText).join(' | ')})${op.path.map((p) => `.${p}`).join('')}`;
        default:
          return op.text;
      }
    })
    .join(' ');
}

/** Go's `template: :LINE:COL: ` prefix for an execution error at byte offset `pos` of `source`. */
function positioned(source: string, err: GoTemplateError): GoTemplateError {
  if (err.pos === undefined) return err;
  const before = source.slice(0, err.pos);
  const line = 1 + countLines(before);
  const col = err.pos - (before.lastIndexOf('\n') + 1);
  return new GoTemplateError(`template: :${line}:${col}: ${err.message}`);
}

/** A compiled template: `execute(data)` returns the output text. */
export class GoTemplate {
  private constructor(
    private readonly source: string,
    private readonly nodes: Node[],
    private readonly functions: Record<string, Fn>,
  ) {}

  static parse(source: string, extraFunctions: Record<string, Fn> = {}): GoTemplate {
    const functions = { ...BUILTINS, ...extraFunctions };
    return new GoTemplate(source, parse(source, new Set(Object.keys(functions))), functions);
  }

  /**
   * The output text. An execution error carries Go's `template: :LINE:COL: ` prefix and, as
   * `partial`, what was written before it (Go's Execute has written that much already).
   */
  execute(data: unknown): string {
    const out: string[] = [];
    try {
      this.run(this.nodes, data, [{ name: '$', value: data }], out);
    } catch (err) {
      if (!(err instanceof GoTemplateError)) throw err;
      const positionedErr = positioned(this.source, err);
      positionedErr.partial = out.join('');
      throw positionedErr;
    }
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
              const at = lastNode(node.pipe);
              throw execError(at.text, `range can't iterate over ${goPrint(value)}`, at.pos);
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
      const at = lastNode(pipe);
      throw execError(at.text, `undefined variable: ${name}`, at.pos);
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
          return field(dot, op.path, op.text, op.pos);
        case 'var': {
          // The parser knew the name, but e.g. one declared in an {{if}} body is gone in its {{else}}.
          const variable = vars.findLast((v) => v.name === op.name);
          if (!variable) throw execError(op.text, `undefined variable: ${op.name}`, op.pos);
          return field(variable.value, op.path, op.text, op.pos);
        }
        case 'paren': {
          // Go reports a failed field of (…) at the node it evaluated last inside.
          const at = lastNode(op.pipe);
          return field(this.pipeline(op.pipe, dot, vars), op.path, at.text, at.pos);
        }
        case 'func':
          return this.call(op.name, [], op.name, op.pos);
      }
    };
    if (head?.kind === 'func')
      return this.call(head.name, [...rest.map(operand), ...piped], commandText(command), command.pos);
    if (rest.length > 0 || piped.length > 0) {
      const text = head?.kind === 'field' || head?.kind === 'var' ? head.text : 'value';
      throw execError(commandText(command), `can't give argument to non-function ${text}`, command.pos);
    }
    return operand(head!);
  }

  /** A function's own errors ("error calling index: …") are about the command that called it. */
  private call(name: string, args: unknown[], text: string, pos?: number): unknown {
    const fn = this.functions[name]!;
    try {
      return fn(...args);
    } catch (err) {
      if (err instanceof GoTemplateError && err.pos === undefined) throw execError(text, err.message, pos);
      throw err;
    }
  }
}

/** Parses and runs in one go. */
export function renderGoTemplate(source: string, data: unknown): string {
  return GoTemplate.parse(source).execute(data);
}
