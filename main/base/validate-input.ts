/**
 * Pure checks of what a user types (CLI flags, the app's create form): host addresses, ports,
 * engine URLs, machine names. No Node APIs, so main/ and the sandboxed renderer share this one
 * module. Each `…Problem` function returns why a value is wrong, or null when it is fine; the
 * `validate…` forms throw that reason as a MoorError.
 */
import {
  diskSizeProblem,
  parseDigitalOceanTags,
  parseEc2Tags,
  parseGceLabels,
  parseGceNetworkTags,
  problemOf,
  userDataValueProblem,
} from './cloud-values.js';
import { MoorError } from './errors.js';

/** docker-machine's rule (libmachine/host/host.go ValidateHostName). */
const MACHINE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9\-.]*$/;
const HOSTNAME_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/**
 * The longest name whose store entries all fit in one file name (255 bytes): the lock beside the
 * machine's directory is `.NAME.lock`. Longer names made a directory whose lock could not be
 * taken (ENAMETOOLONG), so the machine could never be removed.
 */
export const MAX_MACHINE_NAME_LENGTH = 255 - '..lock'.length;

export function machineNameProblem(name: string): string | null {
  if (!MACHINE_NAME.test(name))
    return 'Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -';
  return name.length > MAX_MACHINE_NAME_LENGTH
    ? `the name is ${name.length} characters long; a machine name has at most ${MAX_MACHINE_NAME_LENGTH}`
    : null;
}

/** Dotted-quad IPv4 with every part 0–255 (no leading zeros: Go's net.ParseIP refuses them). */
function ipv4Problem(value: string): string | null {
  const parts = value.split('.');
  if (parts.length !== 4) return `"${value}" is not an IPv4 address (it needs 4 numbers separated by dots)`;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return `"${value}" is not an IPv4 address ("${part}" is not a number)`;
    if (part.length > 1 && part.startsWith('0'))
      return `"${value}" is not an IPv4 address ("${part}" has a leading zero)`;
    if (Number(part) > 255) return `"${value}" is not an IPv4 address (${part} is more than 255)`;
  }
  return null;
}

function ipv6Problem(value: string): string | null {
  const address = value.replace(/%[\w.-]+$/, ''); // a zone (fe80::1%eth0)
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (tail && ipv4Problem(tail[1]!)) return `"${value}" is not an IPv6 address`;
  const groups = (tail ? `${address.slice(0, -tail[1]!.length)}0:0` : address).split('::');
  if (groups.length > 2) return `"${value}" is not an IPv6 address ("::" may appear only once)`;
  const words = groups.flatMap((g) => (g === '' ? [] : g.split(':')));
  if (words.some((w) => !/^[0-9a-fA-F]{1,4}$/.test(w))) return `"${value}" is not an IPv6 address`;
  if (groups.length === 1 ? words.length !== 8 : words.length > 7) return `"${value}" is not an IPv6 address`;
  return null;
}

/**
 * An IP address or DNS name to reach a host at (`--generic-ip-address`): IPv4, IPv6 (bare or in
 * brackets) or a hostname. A port, a scheme or a path is refused with what to use instead.
 */
export function hostAddressProblem(value: string): string | null {
  const v = value.trim();
  if (!v) return 'the address is empty';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    return `"${v}" is a URL: give only the host's IP address or name (without ${v.split('://')[0]}://)`;
  }
  if (/\s/.test(v)) return `"${v}" contains a space`;
  const bracketed = /^\[(.*)\]$/.exec(v);
  if (bracketed) return ipv6Problem(bracketed[1]!);
  if (v.includes(':')) {
    // host:port is the usual mistake; a bare IPv6 address has at least two colons.
    if (/^[^:]+:\d+$/.test(v)) return `"${v}" includes a port: give the port with its own flag`;
    return ipv6Problem(v);
  }
  if (/^[\d.]+$/.test(v)) return ipv4Problem(v);
  if (v.includes('/')) return `"${v}" contains "/": give only the host's IP address or name`;
  const name = v.endsWith('.') ? v.slice(0, -1) : v;
  if (name.length > 253) return `"${v}" is longer than a host name may be (253 characters)`;
  for (const label of name.split('.')) {
    if (!HOSTNAME_LABEL.test(label)) {
      return label === ''
        ? `"${v}" is not a host name (empty part between dots)`
        : `"${v}" is not a host name ("${label}": letters, digits and inner hyphens only, at most 63)`;
    }
  }
  return null;
}

/** A TCP port 1–65535, as a number or the text of one. */
export function portProblem(value: unknown): string | null {
  const text = String(value).trim();
  const n = Number(text);
  if (text === '' || !/^\d+$/.test(text) || !Number.isInteger(n) || n < 1 || n > 65535) {
    return `"${String(value)}" is not a port number (1-65535)`;
  }
  return null;
}

/**
 * An engine URL for the `none` driver (`--url`): `tcp://HOST:PORT` (docker-machine accepted any
 * URL and failed later; `tcp://` with no host made a machine nobody could reach).
 */
export function engineUrlProblem(value: string): string | null {
  const v = value.trim();
  if (!v) return 'the URL is empty';
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i.exec(v);
  if (!m) return `"${v}" is not a URL (expected tcp://host:port)`;
  const [, scheme, authority, rest] = m;
  if (scheme!.toLowerCase() !== 'tcp') return `"${v}" is not a tcp:// URL (expected tcp://host:port)`;
  if (!authority) return `"${v}" has no host (expected tcp://host:port)`;
  if (rest && rest !== '/') return `"${v}" has a path; expected only tcp://host:port`;
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority);
  const host = hp?.[1] ?? '';
  if (!host) return `"${v}" has no host (expected tcp://host:port)`;
  const hostProblem = hostAddressProblem(host);
  if (hostProblem) return `"${v}": ${hostProblem}`;
  if (hp?.[2] === undefined) return null; // the docker client's default port
  const port = portProblem(hp[2]);
  return port ? `"${v}": ${port}` : null;
}

function orThrow(problem: string | null, what: string): void {
  if (problem) throw new MoorError(`${what}: ${problem}`);
}

export function validateHostAddress(value: string, what = 'invalid address'): void {
  orThrow(hostAddressProblem(value), what);
}

export function validateEngineUrl(value: string, what = 'invalid URL'): void {
  orThrow(engineUrlProblem(value), what);
}

/**
 * A value rule a flag declares (FlagSpec.check): a host address (IPv4/IPv6/DNS name), a TCP port,
 * or one of the shared cloud flags' provider rules (main/base/cloud-values.ts).
 */
export type FlagCheck =
  | 'host-address'
  | 'port'
  | 'digitalocean-user-data'
  | 'amazonec2-user-data'
  | 'google-user-data'
  | 'digitalocean-tags'
  | 'amazonec2-tags'
  | 'google-labels'
  | 'google-network-tags'
  | 'amazonec2-disk-size'
  | 'google-disk-size';

/** Why a flag's value breaks the rule its FlagSpec declares (`check`), or null. */
export function flagValueProblem(check: FlagCheck, value: unknown): string | null {
  const text = String(value);
  switch (check) {
    case 'host-address':
      return hostAddressProblem(text);
    case 'port':
      return portProblem(value);
    case 'digitalocean-user-data':
      return userDataValueProblem('digitalocean', text);
    case 'amazonec2-user-data':
      return userDataValueProblem('amazonec2', text);
    case 'google-user-data':
      return userDataValueProblem('google', text);
    case 'digitalocean-tags':
      return problemOf(parseDigitalOceanTags, text);
    case 'amazonec2-tags':
      return problemOf(parseEc2Tags, text);
    case 'google-labels':
      return problemOf(parseGceLabels, text);
    case 'google-network-tags':
      return problemOf(parseGceNetworkTags, text);
    case 'amazonec2-disk-size':
      return diskSizeProblem('amazonec2', value);
    case 'google-disk-size':
      return diskSizeProblem('google', value);
  }
}
