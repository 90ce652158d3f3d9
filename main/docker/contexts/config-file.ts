import { promises as fs } from 'node:fs';
import { errorMessage, MoorError } from '../../base/errors.js';
import { parseJsonText } from '../../base/json-text.js';
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
  const json = parseJsonText(text);
  if (!json.ok) throw new DockerConfigError(file, `is not valid JSON (${json.problem})`);
  const parsed = json.value;
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
 * Makes `name` the current context (`default` removes the member), atomically, keeping the file's
 * mode and following a symlinked config.json to where it points. A config.json that is not valid
 * JSON is an error and is left as it is. Resolves with whether the file changed.
 */
export async function writeCurrentContext(layout: ContextLayout, name: string): Promise<boolean> {
  const file = layout.configFile;
  const config = await readDockerConfig(file);
  // The editor (and its JSON parser) loads only when something is written: `moor active` stays lean.
  const { withCurrentContext } = await import('./config-edit.js');
  const next = withCurrentContext(config.text, name === DEFAULT_CONTEXT_NAME ? null : name);
  if (next === null) return false;
  if (!config.exists) await fs.mkdir(layout.configDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, next, config.exists ? {} : { mode: 0o600 });
  return true;
}
