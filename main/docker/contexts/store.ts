import { promises as fs } from 'node:fs';
import { errorMessage, MoorError } from '../../base/errors.js';
import { parseJsonText } from '../../base/json-text.js';
import { writeFileAtomic } from '../../store/atomic.js';
import type { ContextLayout } from './layout.js';

/**
 * The docker CLI's context store on disk (docker/cli cli/context/store), read and written in
 * exactly its layout so `docker context ls/use/inspect` see what Moor writes and vice versa:
 *   contexts/meta/<sha256(name)>/meta.json          dir 0755, file 0644
 *   contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem   dirs 0700, files 0600
 */

export interface DockerEndpointMeta {
  Host: string;
  SkipTLSVerify: boolean;
  [extra: string]: unknown;
}

/** `Metadata` of a docker CLI context: the description plus any extra fields (kept by the CLI). */
export interface ContextMetadata {
  Description?: string;
  [extra: string]: unknown;
}

export interface ContextMeta {
  Name: string;
  Metadata: ContextMetadata | null;
  Endpoints: { docker?: DockerEndpointMeta; [endpoint: string]: unknown };
}

/** The client side of the docker endpoint's TLS: what the CLI presents and trusts. */
export interface ContextTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

const TLS_FILES = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Parses one meta.json; a broken one is an error naming the file (never silently ignored). */
export function parseContextMeta(text: string, file: string): ContextMeta {
  const json = parseJsonText(text);
  if (!json.ok) throw new MoorError(`Docker context metadata ${file} is not valid JSON: ${json.problem}`);
  const parsed = json.value;
  const meta = parsed as Partial<ContextMeta> | null;
  if (!meta || typeof meta !== 'object' || Array.isArray(meta) || typeof meta.Name !== 'string') {
    throw new MoorError(`Docker context metadata ${file} has no "Name"`);
  }
  return {
    ...meta,
    Name: meta.Name,
    Metadata: meta.Metadata && typeof meta.Metadata === 'object' ? meta.Metadata : null,
    Endpoints: meta.Endpoints && typeof meta.Endpoints === 'object' ? meta.Endpoints : {},
  };
}

/** The context called `name`, or null when there is none. */
export async function readContextMeta(layout: ContextLayout, name: string): Promise<ContextMeta | null> {
  const file = layout.metaFile(name);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return null;
    throw new MoorError(`Cannot read Docker context metadata ${file}: ${errorMessage(err)}`);
  }
  return parseContextMeta(text, file);
}

export async function contextExists(layout: ContextLayout, name: string): Promise<boolean> {
  return fs.stat(layout.metaFile(name)).then(
    () => true,
    () => false,
  );
}

/** One entry of the meta directory: a context, or why its meta.json could not be read. */
export type ContextEntry =
  | { dir: string; meta: ContextMeta; error?: undefined }
  | { dir: string; meta?: undefined; error: string };

/** Every context in the store (the docker CLI's `context ls` minus `default`), unordered. */
export async function listContextMetas(layout: ContextLayout): Promise<ContextEntry[]> {
  let dirs: string[];
  try {
    dirs = await fs.readdir(layout.metaRoot);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  const entries = await Promise.all(
    dirs.map(async (dir): Promise<ContextEntry | null> => {
      const file = `${layout.metaRoot}/${dir}/meta.json`;
      try {
        return { dir, meta: parseContextMeta(await fs.readFile(file, 'utf8'), file) };
      } catch (err) {
        if (isNotFound(err)) return null; // a stray directory (or a context being removed)
        return { dir, error: errorMessage(err) };
      }
    }),
  );
  return entries.filter((e): e is ContextEntry => e !== null);
}

/** The docker endpoint's TLS files of a context, or null when it has none. */
export async function readContextTls(layout: ContextLayout, name: string): Promise<ContextTls | null> {
  const dir = layout.dockerTlsDir(name);
  try {
    const [ca, cert, key] = await Promise.all(
      Object.values(TLS_FILES).map((file) => fs.readFile(`${dir}/${file}`)),
    );
    return { ca: ca!, cert: cert!, key: key! };
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

async function sameBytes(file: string, data: Buffer): Promise<boolean> {
  try {
    return (await fs.readFile(file)).equals(data);
  } catch {
    return false;
  }
}

/**
 * Creates or updates a context (TLS first, then meta.json, so the CLI never sees a context whose
 * TLS files are missing). Each file is replaced atomically; unchanged files are not rewritten.
 * `tls: null` removes any TLS material. Resolves with whether anything changed on disk.
 */
export async function writeContext(
  layout: ContextLayout,
  meta: ContextMeta,
  tls: ContextTls | null,
): Promise<boolean> {
  let changed = false;
  // config.json (credentials) lives in this directory: create it private, as the CLI does.
  await fs.mkdir(layout.configDir, { recursive: true, mode: 0o700 });
  if (tls) {
    const dir = layout.dockerTlsDir(meta.Name);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    for (const [field, file] of Object.entries(TLS_FILES) as [keyof ContextTls, string][]) {
      const target = `${dir}/${file}`;
      if (await sameBytes(target, tls[field])) continue;
      await writeFileAtomic(target, tls[field], { mode: 0o600 });
      changed = true;
    }
  } else if (
    await fs.stat(layout.tlsDir(meta.Name)).then(
      () => true,
      () => false,
    )
  ) {
    await fs.rm(layout.tlsDir(meta.Name), { recursive: true, force: true });
    changed = true;
  }
  const metaFile = layout.metaFile(meta.Name);
  const text = Buffer.from(JSON.stringify(meta));
  if (!(await sameBytes(metaFile, text))) {
    await fs.mkdir(layout.metaDir(meta.Name), { recursive: true, mode: 0o755 });
    await writeFileAtomic(metaFile, text, { mode: 0o644 });
    changed = true;
  }
  return changed;
}

/** Removes a context: metadata first (it disappears from `docker context ls` at once), then TLS. */
export async function deleteContext(layout: ContextLayout, name: string): Promise<void> {
  await fs.rm(layout.metaDir(name), { recursive: true, force: true });
  await fs.rm(layout.tlsDir(name), { recursive: true, force: true });
}
