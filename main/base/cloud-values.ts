/**
 * The shared cloud flags' value rules (user-data, tags/labels, disk sizes), as each provider
 * documents them. Pure and without Node APIs: the drivers (main/drivers/cloud-flags.ts) and the
 * app's create form (renderer/src/form.ts, through flagValueProblem) use the same rules. Each
 * `…Problem` returns why a value is wrong, or null; parsers throw that reason as an Error.
 */

/** The clouds with the shared flags. */
export type CloudProvider = 'digitalocean' | 'amazonec2' | 'google';

/**
 * The largest user-data each provider takes, in bytes of the text as given: DigitalOcean 64 KiB
 * (`user_data`), EC2 16 KiB before base64 (`UserData`), GCE 256 KiB (one metadata value).
 */
export const USER_DATA_LIMITS: Readonly<Record<CloudProvider, number>> = {
  digitalocean: 64 * 1024,
  amazonec2: 16 * 1024,
  google: 256 * 1024,
};

/**
 * A `--*-userdata` value is the user-data itself when it holds a line break or starts like a
 * cloud-init document (`#cloud-config`, `#!` script, `#include`, …); anything else is a file path,
 * as docker-machine took it.
 */
export function isInlineUserData(value: string): boolean {
  return (
    /[\r\n]/.test(value) || /^#(cloud-config|cloud-boothook|include|!|part-handler|upstart-job)/.test(value)
  );
}

function kib(n: number): string {
  return n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`;
}

/** Why user-data of `bytes` bytes is too large for the provider, or null. */
export function userDataSizeProblem(provider: CloudProvider, bytes: number, what: string): string | null {
  const limit = USER_DATA_LIMITS[provider];
  if (bytes === 0) return `${what} is empty`;
  return bytes > limit
    ? `${what} is ${bytes} bytes; ${PROVIDER_NAMES[provider]} takes at most ${kib(limit)} of user-data`
    : null;
}

const PROVIDER_NAMES: Record<CloudProvider, string> = {
  digitalocean: 'DigitalOcean',
  amazonec2: 'Amazon EC2',
  google: 'Google Compute Engine',
};

/** The user-data rule the form can check: inline text within the limit (a path is checked on create). */
export function userDataValueProblem(provider: CloudProvider, value: string): string | null {
  if (!isInlineUserData(value)) return value.trim() === '' ? 'the user-data file path is empty' : null;
  return userDataSizeProblem(provider, new TextEncoder().encode(value).length, 'the inline user-data');
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

// --- DigitalOcean tags ------------------------------------------------------------------------

/** DigitalOcean: letters, digits, colons, dashes and underscores, at most 255 characters. */
const DO_TAG = /^[a-zA-Z0-9_:-]{1,255}$/;

/** `--digitalocean-tags a,b` → ["a","b"] (docker-machine's comma-separated string). */
export function parseDigitalOceanTags(text: string): string[] {
  const tags = splitList(text);
  for (const tag of tags) {
    if (!DO_TAG.test(tag)) {
      throw new Error(
        tag.length > 255
          ? `--digitalocean-tags: the tag "${tag.slice(0, 20)}…" is ${tag.length} characters long; a DigitalOcean tag has at most 255`
          : `--digitalocean-tags: "${tag}" is not a DigitalOcean tag name (letters, digits, ":", "-" and "_" only)`,
      );
    }
  }
  return [...new Set(tags)];
}

// --- EC2 tags ---------------------------------------------------------------------------------

/** Keys Moor sets itself on every instance (the name, and this create's journal tag). */
export const EC2_RESERVED_TAG_KEYS = ['Name', 'moor-create'];
/** EC2 allows 50 tags per resource; Moor's own take the rest. */
export const EC2_MAX_USER_TAGS = 50 - EC2_RESERVED_TAG_KEYS.length;

/**
 * `--amazonec2-tags k1,v1,k2,v2` → [{Key,Value}] (docker-machine's format), with EC2's limits:
 * keys 1–128 characters, not `aws:…`, unique; values at most 256 characters.
 */
export function parseEc2Tags(tags: string): Array<{ Key: string; Value: string }> {
  if (tags.trim() === '') return [];
  const parts = tags.split(',').map((t) => t.trim());
  if (parts.length % 2 !== 0) {
    throw new Error(
      `--amazonec2-tags "${tags}" must be key,value pairs (an even number of comma-separated items)`,
    );
  }
  const out: Array<{ Key: string; Value: string }> = [];
  for (let i = 0; i < parts.length; i += 2) {
    const Key = parts[i]!;
    const Value = parts[i + 1]!;
    if (!Key) throw new Error(`--amazonec2-tags "${tags}" has an empty key`);
    if ([...Key].length > 128)
      throw new Error(`--amazonec2-tags: the key "${Key}" is longer than 128 characters`);
    if ([...Value].length > 256)
      throw new Error(`--amazonec2-tags: the value of "${Key}" is longer than 256 characters`);
    if (/^aws:/i.test(Key))
      throw new Error(`--amazonec2-tags: "${Key}": keys starting with "aws:" are AWS's own`);
    if (EC2_RESERVED_TAG_KEYS.includes(Key))
      throw new Error(
        `--amazonec2-tags: "${Key}" is set by Moor itself (the machine name, the create's tag)`,
      );
    if (out.some((t) => t.Key === Key)) throw new Error(`--amazonec2-tags: the key "${Key}" is given twice`);
    out.push({ Key, Value });
  }
  if (out.length > EC2_MAX_USER_TAGS) {
    throw new Error(
      `--amazonec2-tags has ${out.length} tags; at most ${EC2_MAX_USER_TAGS} (EC2's 50 less Moor's own)`,
    );
  }
  return out;
}

// --- GCE labels and network tags --------------------------------------------------------------

const GCE_LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const GCE_LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
/** The label Moor puts on every instance it creates (main/drivers/google/config.ts). */
export const GCE_RESERVED_LABELS = ['moor-create-id'];

/**
 * `--google-labels env=dev,team=infra` → {env: "dev", team: "infra"}: GCE's rules (keys start
 * with a lowercase letter; keys and values lowercase letters, digits, `_` and `-`, at most 63
 * characters; at most 64 labels, one of them Moor's).
 */
export function parseGceLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of splitList(text)) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (!GCE_LABEL_KEY.test(key)) {
      throw new Error(
        `--google-labels: "${key}" is not a label key (a lowercase letter, then lowercase letters, digits, "_" or "-"; at most 63)`,
      );
    }
    if (!GCE_LABEL_VALUE.test(value)) {
      throw new Error(
        `--google-labels: the value "${value}" of "${key}" is not a label value (lowercase letters, digits, "_" or "-"; at most 63)`,
      );
    }
    if (GCE_RESERVED_LABELS.includes(key)) throw new Error(`--google-labels: "${key}" is set by Moor itself`);
    if (key in out) throw new Error(`--google-labels: the key "${key}" is given twice`);
    out[key] = value;
  }
  if (Object.keys(out).length > 64 - GCE_RESERVED_LABELS.length) {
    throw new Error(
      `--google-labels has ${Object.keys(out).length} labels; GCE allows 64, one of them Moor's`,
    );
  }
  return out;
}

const GCE_NETWORK_TAG = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `--google-tags a,b` (network tags): GCE's RFC 1035 names, at most 64 per instance (one is docker-machine's). */
export function parseGceNetworkTags(text: string): string[] {
  const tags = splitList(text);
  for (const tag of tags) {
    if (!GCE_NETWORK_TAG.test(tag)) {
      throw new Error(
        `--google-tags: "${tag}" is not a network tag (lowercase letters, digits and inner "-", starting with a letter; at most 63)`,
      );
    }
  }
  if (new Set(tags).size > 63)
    throw new Error(`--google-tags has more than 63 tags (GCE allows 64, one is docker-machine's)`);
  return tags;
}

// --- Disk sizes -------------------------------------------------------------------------------

/** Root/boot disk sizes in GB each provider accepts: EBS 1–16384 GiB, GCE persistent disks 10–65536 GB. */
export const DISK_SIZE_RANGES: Readonly<Record<'amazonec2' | 'google', { min: number; max: number }>> = {
  amazonec2: { min: 1, max: 16384 },
  google: { min: 10, max: 65536 },
};

export function diskSizeProblem(provider: 'amazonec2' | 'google', value: unknown): string | null {
  const text = String(value).trim();
  const { min, max } = DISK_SIZE_RANGES[provider];
  if (!/^\d+$/.test(text)) return `"${String(value)}" is not a size in GB (a whole number)`;
  const n = Number(text);
  return n < min || n > max ? `${n} GB is outside ${PROVIDER_NAMES[provider]}'s ${min}–${max} GB` : null;
}

/** Adapts a throwing parser to a `…Problem` function. */
export function problemOf(parse: (text: string) => unknown, text: string): string | null {
  try {
    parse(text);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
