/**
 * The engine's configuration as pure functions: what the host's docker.service looks like, the
 * systemd drop-in that makes dockerd listen with TLS, and the daemon.json keys that would clash
 * with the drop-in's flags. docker-machine hard-coded `/usr/bin/dockerd` and `-H unix://`; on
 * Debian's docker.io (/usr/sbin/dockerd, socket-activated with -H fd://) that never came up.
 */
import { parseJsonText } from '../base/json-text.js';

/** docker-machine's drop-in file: both tools overwrite the same one, so either can re-provision. */
export const DROP_IN_DIR = '/etc/systemd/system/docker.service.d';
export const DROP_IN_PATH = `${DROP_IN_DIR}/10-machine.conf`;
export const REMOTE_CERT_DIR = '/etc/docker';
export const REMOTE_CA = `${REMOTE_CERT_DIR}/ca.pem`;
export const REMOTE_SERVER_CERT = `${REMOTE_CERT_DIR}/server.pem`;
export const REMOTE_SERVER_KEY = `${REMOTE_CERT_DIR}/server-key.pem`;
export const DAEMON_JSON = `${REMOTE_CERT_DIR}/daemon.json`;

/** The vendor's docker.service as `systemctl cat docker.service` shows it (our drop-in ignored). */
export interface UnitShape {
  /** The program the unit starts, e.g. /usr/sbin/dockerd; '' when the unit has no ExecStart. */
  program: string;
  /** The ExecStart arguments after the program, as written in the unit (unexpanded). */
  args: string[];
  /** The unit takes its API socket from docker.socket (`-H fd://`). */
  socketActivated: boolean;
}

/**
 * Reads the effective vendor ExecStart out of `systemctl cat` output: files are introduced by
 * `# /path` comment lines; an empty `ExecStart=` resets the list, as systemd does. Our own
 * drop-in is skipped so re-provisioning sees the distribution's unit, not our previous edit.
 */
export function parseDockerUnit(systemctlCat: string, socketUnitExists: boolean): UnitShape {
  let execStart: string[] = [];
  let inOurDropIn = false;
  let inService = false;
  const lines = joinContinuations(systemctlCat.split(/\r?\n/));
  for (const line of lines) {
    const header = /^#\s+(\/\S+)\s*$/.exec(line);
    if (header) {
      inOurDropIn = header[1] === DROP_IN_PATH;
      inService = false;
      continue;
    }
    const trimmed = line.trim();
    if (trimmed.startsWith('[')) {
      inService = trimmed === '[Service]';
      continue;
    }
    if (inOurDropIn || !inService) continue;
    const m = /^ExecStart\s*=\s*(.*)$/.exec(trimmed);
    if (!m) continue;
    const value = m[1]!.trim();
    if (value === '') execStart = [];
    else execStart.push(value);
  }
  const last = execStart.at(-1);
  if (!last) return { program: '', args: [], socketActivated: false };
  const [program = '', ...args] = splitUnitWords(last.replace(/^[-@+!:]+/, ''));
  const socketActivated = socketUnitExists && hostValues(args).includes('fd://');
  return { program, args, socketActivated };
}

function joinContinuations(lines: string[]): string[] {
  const out: string[] = [];
  let pending = '';
  for (const line of lines) {
    if (line.endsWith('\\') && !line.startsWith('#')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    out.push(pending + line);
    pending = '';
  }
  if (pending) out.push(pending);
  return out;
}

/** Splits an ExecStart value into words, keeping each word's raw text (quotes included). */
export function splitUnitWords(value: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quote) {
      word += c;
      if (c === '\\' && i + 1 < value.length) word += value[++i];
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
      word += c;
    } else if (/\s/.test(c)) {
      if (word) words.push(word);
      word = '';
    } else {
      word += c;
    }
  }
  if (word) words.push(word);
  return words;
}

const HOST_FLAG = /^(?:-H|--host)(?:=(.*))?$/;

/** The values of -H/--host arguments (all spellings: `-H x`, `-H=x`, `--host x`, `--host=x`). */
function hostValues(args: string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = HOST_FLAG.exec(args[i]!);
    if (!m) continue;
    if (m[1] !== undefined) values.push(m[1]);
    else if (i + 1 < args.length) values.push(args[++i]!);
  }
  return values;
}

/**
 * Vendor arguments worth keeping (e.g. Debian's `--containerd=/run/containerd/containerd.sock`,
 * Flatcar's `$DOCKER_SELINUX`): everything but the listeners, which Moor sets, and
 * `$DOCKER_OPTS` (/etc/default/docker), where old docker-machine installs left a second TLS
 * listener that would make dockerd fail with "address already in use".
 */
export function keptVendorArgs(args: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const host = HOST_FLAG.exec(arg);
    if (host) {
      if (host[1] === undefined) i++;
      continue;
    }
    if (/^\$\{?DOCKER_OPTS\}?$/.test(arg)) continue;
    kept.push(arg);
  }
  return kept;
}

/** The docker-machine engine options (config.json HostOptions.EngineOptions) a drop-in needs. */
export interface EngineSettings {
  port: number;
  /** --engine-opt values, `flag=value` or `flag`. */
  arbitraryFlags: string[];
  env: string[];
  labels: string[];
  insecureRegistries: string[];
  registryMirrors: string[];
  storageDriver: string;
  /** The driver name, added as the label provider=<driver> like docker-machine. */
  provider: string;
}

export interface DockerdCommand {
  /** The -H arguments (TCP with TLS, plus the local socket). */
  listeners: string[];
  /** Vendor arguments kept as written in the unit (they may reference its variables). */
  vendor: string[];
  /** TLS and the user's engine options. Moor's own words are escaped for systemd when written. */
  options: string[];
}

/** The listener and TLS arguments for dockerd, in docker-machine's order. */
export function dockerdArguments(settings: EngineSettings, unit: UnitShape): DockerdCommand {
  const listeners = [
    '-H',
    `tcp://0.0.0.0:${settings.port}`,
    '-H',
    unit.socketActivated ? 'fd://' : 'unix:///var/run/docker.sock',
  ];
  const options: string[] = [];
  // Only when asked: dockerd picks the best driver itself, and forcing overlay2 (docker-machine's
  // default) breaks hosts where it is unsupported and opts Engine ≥ 29 out of the containerd store.
  if (settings.storageDriver) options.push('--storage-driver', settings.storageDriver);
  options.push(
    '--tlsverify',
    '--tlscacert',
    REMOTE_CA,
    '--tlscert',
    REMOTE_SERVER_CERT,
    '--tlskey',
    REMOTE_SERVER_KEY,
  );
  for (const label of [...settings.labels, `provider=${settings.provider}`]) options.push('--label', label);
  for (const registry of settings.insecureRegistries) options.push('--insecure-registry', registry);
  for (const mirror of settings.registryMirrors) options.push('--registry-mirror', mirror);
  for (const opt of settings.arbitraryFlags) options.push(`--${opt}`);
  return { listeners, vendor: keptVendorArgs(unit.args), options };
}

/**
 * One word of an ExecStart line: `%` is a unit specifier and `$` a variable reference in
 * systemd, so both are doubled; words with blanks or quotes are double-quoted.
 */
export function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (escaped !== '' && !/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Go's %q for the ASCII that env entries hold, with systemd's `%` specifier escaped. */
function quotedEnv(entry: string): string {
  return JSON.stringify(entry).replace(/%/g, '%%');
}

/**
 * The drop-in: `ExecStart=` resets the vendor command (a service may have only one), then ours
 * with the real dockerd path, the vendor's remaining arguments, TLS and the user's options.
 */
export function renderDropIn(settings: EngineSettings, unit: UnitShape, dockerdPath: string): string {
  const { listeners, vendor, options } = dockerdArguments(settings, unit);
  const execStart = [dockerdPath, ...listeners]
    .map(systemdWord)
    .concat(vendor, options.map(systemdWord))
    .join(' ');
  const lines = [
    '# Written by Moor (docker-machine compatible): Docker over TLS. Regenerated on every provision.',
    '[Service]',
    'ExecStart=',
    `ExecStart=${execStart}`,
  ];
  if (settings.env.length > 0) lines.push(`Environment=${settings.env.map(quotedEnv).join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** daemon.json keys for dockerd flags (dockerd refuses a directive given both ways). */
const FLAG_TO_KEY: Record<string, string> = {
  H: 'hosts',
  host: 'hosts',
  label: 'labels',
  'insecure-registry': 'insecure-registries',
  'registry-mirror': 'registry-mirrors',
  'log-opt': 'log-opts',
  'storage-opt': 'storage-opts',
  'exec-opt': 'exec-opts',
  'dns-opt': 'dns-opts',
  'default-ulimit': 'default-ulimits',
  'add-runtime': 'runtimes',
  'authorization-plugin': 'authorization-plugins',
  'default-address-pool': 'default-address-pools',
  'node-generic-resource': 'node-generic-resources',
};

/** The daemon.json keys that the given dockerd arguments also set. */
export function conflictingKeys(args: string[]): Set<string> {
  const keys = new Set<string>();
  for (const arg of args) {
    const m = /^--?([A-Za-z][\w-]*)/.exec(arg.replace(/^"/, ''));
    if (!m) continue;
    const flag = m[1]!;
    keys.add(FLAG_TO_KEY[flag] ?? flag);
  }
  return keys;
}

export type DaemonJsonPlan =
  | { action: 'keep'; warning?: string }
  | { action: 'rewrite'; content: string; removedKeys: string[] };

/**
 * What to do with an existing /etc/docker/daemon.json so dockerd starts with our flags: drop
 * the keys they also set (the old file is kept as daemon.json.moor-backup). A file that is not
 * JSON is left alone with a warning: dockerd will say what is wrong with it.
 */
export function planDaemonJson(existing: string | null, command: DockerdCommand): DaemonJsonPlan {
  if (existing === null || existing.trim() === '') return { action: 'keep' };
  const json = parseJsonText(existing);
  if (!json.ok) return { action: 'keep', warning: `${DAEMON_JSON} is not valid JSON (${json.problem})` };
  const parsed = json.value;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { action: 'keep', warning: `${DAEMON_JSON} does not hold a JSON object` };
  }
  const clashing = conflictingKeys([...command.listeners, ...command.vendor, ...command.options]);
  const object = parsed as Record<string, unknown>;
  const removedKeys = Object.keys(object).filter((k) => clashing.has(k));
  if (removedKeys.length === 0) return { action: 'keep' };
  const kept = Object.fromEntries(Object.entries(object).filter(([k]) => !clashing.has(k)));
  return { action: 'rewrite', content: `${JSON.stringify(kept, null, 2)}\n`, removedKeys };
}
