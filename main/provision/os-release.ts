/**
 * /etc/os-release, parsed as the shell-compatible file it is (os-release(5)): values may be
 * unquoted, "double-quoted" (with \" \\ \$ \` escapes) or 'single-quoted', and may contain "=".
 * docker-machine skipped any line with a second "=" and only stripped a leading double quote.
 */
export interface OsRelease {
  id: string;
  /** ID_LIKE, split on spaces: e.g. ["rhel", "centos", "fedora"]. */
  idLike: string[];
  versionId: string;
  name: string;
  prettyName: string;
  /** Every variable of the file, unquoted. */
  fields: Record<string, string>;
}

export function parseOsRelease(text: string): OsRelease {
  const fields: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    fields[key] = unquote(line.slice(eq + 1));
  }
  const id = (fields.ID ?? '').toLowerCase();
  return {
    id,
    idLike: (fields.ID_LIKE ?? '')
      .toLowerCase()
      .split(/\s+/)
      .filter((s) => s.length > 0),
    versionId: fields.VERSION_ID ?? '',
    name: fields.NAME ?? 'Linux',
    prettyName: fields.PRETTY_NAME ?? fields.NAME ?? 'Linux',
    fields,
  };
}

/** Shell-style unquoting of one assignment's value (no expansion: os-release has none). */
function unquote(value: string): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length && '"\\$`'.includes(value[i + 1]!)) i++;
        out += value[i];
        i++;
      }
      i++; // closing quote
    } else if (c === "'") {
      i++;
      while (i < value.length && value[i] !== "'") out += value[i++];
      i++;
    } else if (c === '\\' && i + 1 < value.length) {
      out += value[i + 1];
      i += 2;
    } else if (c === '#' && (out === '' || /\s$/.test(out))) {
      break; // a trailing comment
    } else {
      // Unquoted whitespace is invalid shell here; keep it rather than lose the rest of the value.
      out += c;
      i++;
    }
  }
  return out.trim();
}
