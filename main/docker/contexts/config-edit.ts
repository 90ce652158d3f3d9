import { type Node, parseTree } from 'jsonc-parser';

/**
 * The one edit Moor makes to the docker CLI's config.json, as a pure function on its text. The
 * JSON parser gives the byte offsets of each top-level member; the text is cut and joined at
 * those offsets so nothing else in the file changes (a general JSON editor re-formats
 * neighbouring members, which would rewrite users' files).
 */

/**
 * Pure: `text` (a valid JSON object, or blank) with its top-level `currentContext` set to `name`,
 * or removed when `name` is null. Everything outside that member is kept byte for byte; a new
 * member follows the file's own indentation, separators and line endings. Returns null when the
 * text already says so (nothing to write).
 */
export function withCurrentContext(text: string, name: string | null): string | null {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const value = name === null ? null : JSON.stringify(name);
  const root = text.trim() === '' ? undefined : parseTree(text);
  if (!root) {
    // No file (or a blank one): what the docker CLI would write, tab-indented.
    return value === null ? null : `{${eol}\t"currentContext": ${value}${eol}}`;
  }
  if (root.type !== 'object') throw new Error('config.json does not hold a JSON object');
  const members = root.children ?? [];
  const matches = members.filter((m) => m.children?.[0]?.value === 'currentContext');

  if (value !== null && matches.length > 0) {
    // Replace the value(s) in place; with duplicate keys JSON readers take the last, set them all.
    let out = text;
    let same = true;
    for (const member of [...matches].reverse()) {
      const node = member.children?.[1];
      if (!node) continue;
      if (out.slice(node.offset, node.offset + node.length) !== value) same = false;
      out = out.slice(0, node.offset) + value + out.slice(node.offset + node.length);
    }
    return same ? null : out;
  }

  if (value === null) {
    if (matches.length === 0) return null;
    let out = text;
    for (const member of [...matches].reverse()) out = removeMember(out, root, member);
    return out;
  }

  return insertMember(text, root, members, value, eol);
}

/** Cuts one member and the comma that joined it to its neighbour. */
function removeMember(text: string, object: Node, member: Node): string {
  const members = object.children ?? [];
  const i = members.indexOf(member);
  const previous = members[i - 1];
  const next = members[i + 1];
  if (previous)
    return text.slice(0, previous.offset + previous.length) + text.slice(member.offset + member.length);
  if (next) return text.slice(0, member.offset) + text.slice(next.offset);
  return `${text.slice(0, object.offset + 1)}${text.slice(object.offset + object.length - 1)}`;
}

/** Appends `"currentContext": value` after the last member, in the file's own style. */
function insertMember(text: string, object: Node, members: Node[], value: string, eol: string): string {
  const last = members[members.length - 1];
  if (!last) {
    const inside = `${eol}\t"currentContext": ${value}${eol}`;
    return `${text.slice(0, object.offset + 1)}${inside}${text.slice(object.offset + object.length - 1)}`;
  }
  const key = last.children?.[0];
  const val = last.children?.[1];
  const colon = key && val ? text.slice(key.offset + key.length, val.offset) : ': ';
  const first = members[0]!;
  const lineStart = text.lastIndexOf('\n', first.offset) + 1;
  const lead = text.slice(lineStart, first.offset);
  // One member per line (the usual layout): a new line with the same indentation. Else inline.
  const separator = lineStart > object.offset && /^[ \t]*$/.test(lead) ? `,${eol}${lead}` : ', ';
  const at = last.offset + last.length;
  return `${text.slice(0, at)}${separator}"currentContext"${colon}${value}${text.slice(at)}`;
}
