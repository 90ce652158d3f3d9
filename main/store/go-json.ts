/**
 * JSON exactly as Go's json.MarshalIndent(v, "", "    ") writes it, so files we save are
 * byte-identical to docker-machine's: 4-space indent, no trailing newline, and Go's HTML-safe
 * escaping of <, >, & and the JS line separators inside strings.
 */
const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

export function goMarshalIndent(value: unknown): string {
  // These characters can only occur inside string literals of JSON.stringify's output.
  return JSON.stringify(value, null, 4).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}
