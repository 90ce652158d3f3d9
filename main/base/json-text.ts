/**
 * JSON.parse for text read from a file. V8's SyntaxError quotes the input ("Unexpected token 's',
 * "{"AccessToken": s..." is not valid JSON"), which would print a store's token, or a system file
 * that config.json was symlinked to, into an error. Here a failure is described by position only.
 */
import { createRequire } from 'node:module';
import type { ParseError } from 'jsonc-parser';

/**
 * jsonc-parser, loaded the first time a parse fails: every command reads JSON, almost none reads
 * a broken file, and its UMD bundle costs several ms at start-up (`moor env`/`url`/`active`).
 */
let jsonc: typeof import('jsonc-parser') | undefined;
function jsoncParser(): typeof import('jsonc-parser') {
  jsonc ??= createRequire(import.meta.url)('jsonc-parser') as typeof import('jsonc-parser');
  return jsonc;
}

export type JsonParse = { ok: true; value: unknown } | { ok: false; problem: string };

/** Line and column (both from 1) of a character offset, for messages. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

const WHAT: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'property name expected',
  ValueExpected: 'value expected',
  ColonExpected: '":" expected',
  CommaExpected: '"," expected',
  CloseBraceExpected: '"}" expected',
  CloseBracketExpected: '"]" expected',
  EndOfFileExpected: 'text after the end of the JSON value',
  InvalidCommentToken: 'comment (JSON has none)',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid \\u escape',
  InvalidEscapeCharacter: 'invalid escape',
  InvalidCharacter: 'control character in a string',
};

/** Where and what the first syntax error is, without any of the text ("unexpected character at line 2, column 8"). */
export function jsonSyntaxProblem(text: string): string {
  const { parse, printParseErrorCode } = jsoncParser();
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return 'invalid JSON'; // JSON.parse refused what jsonc-parser accepts: no position to give
  const code = printParseErrorCode(first.error);
  const { line, column } = lineColumn(text, first.offset);
  return `${WHAT[code] ?? code} at line ${line}, column ${column} (offset ${first.offset})`;
}

/** Parses JSON text; a failure says where, never what the text was. */
export function parseJsonText(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, problem: jsonSyntaxProblem(text) };
  }
}
