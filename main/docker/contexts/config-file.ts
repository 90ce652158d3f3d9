import { promises as fs } from 'node:fs';
import { type Node, parseTree } from 'jsonc-parser';
import { errorMessage, MoorError } from '../../core/errors.js';
import { writeFileAtomic } from '../../store/atomic.js';
import { type ContextLayout, DEFAULT_CONTEXT_NAME } from './layout.js';

/**
 * `currentContext` in the docker CLI's config.json. The file also holds the user's registry
 * credentials, credential helpers, formats and plugin settings, so Moor changes nothing but that
 * one member: the rest of the file stays byte for byte as it was (the docker CLI itself
 * re-marshals the whole file and drops keys it does not know; Moor does not).
 */

/** config.json exists but cannot be used; Moor leaves it untouched and says which file. */
export class DockerConfigError extends MoorError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`Docker config file ${file} ${problem}. Moor did not change it: fix or move it, then try again.`);
    this.name = 'DockerConfigError';
  }
}

interface DockerConfigText {
  /** The file's text ('' when it does not exist). */
  text: string;
  exists: boolean;
  /** '' when absent or empty (both mean `default` to the CLI). */
  currentContext: string;
}

/** Reads config.json (following a symlink) and checks it is a JSON object. */
export async function readDockerConfig(file: string): Promise<DockerConfigText> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { text: '', exists: false, currentContext: '' };
    throw new DockerConfigError(file, `cannot be read (${errorMessage(err)})`);
  }
  // An empty file is what the CLI treats as an empty configuration, not as an error.
  if (text.trim() === '') return { text, exists: true, currentContext: '' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DockerConfigError(file, `is not valid JSON (${errorMessage(err)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new DockerConfigError(file, 'does not hold a JSON object');
  }
  const current = (parsed as { currentContext?: unknown }).currentContext;
  if (current !== undefined && current !== null && typeof current !== 'string') {
    throw new DockerConfigError(file, 'has a "currentContext" that is not a string');
  }
  return { text, exists: true, currentContext: current ?? '' };
}

/** The context config.json selects: its `currentContext`, or `default` when there is none. */
export async function readCurrentContext(layout: ContextLayout): Promise<string> {
  const { currentContext } = await readDockerConfig(layout.configFile);
  return currentContext || DEFAULT_CONTEXT_NAME;
}

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

/**
 * Makes `name` the current context (`default` removes the member), atomically, keeping the file's
 * mode and following a symlinked config.json to where it points. A config.json that is not valid
 * JSON is an error and is left as it is. Resolves with whether the file changed.
 */
export async function writeCurrentContext(layout: ContextLayout, name: string): Promise<boolean> {
  const file = layout.configFile;
  const config = await readDockerConfig(file);
  const next = withCurrentContext(config.text, name === DEFAULT_CONTEXT_NAME ? null : name);
  if (next === null) return false;
  if (!config.exists) await fs.mkdir(layout.configDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, next, config.exists ? {} : { mode: 0o600 });
  return true;
}
