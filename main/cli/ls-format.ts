/** `ls` output: docker-machine's default table, `--format` templates and tabwriter alignment. Pure. */
import type { HostListItem } from '../core/list.js';
import { GO_POINTER, GO_STRUCT, GoTemplate, GoTemplateError } from './go-template.js';
import { tabwrite } from './tabwriter.js';

export const LS_DEFAULT_FORMAT =
  'table {{ .Name }}\t{{ .Active }}\t{{ .DriverName}}\t{{ .State }}\t{{ .URL }}\t{{ .Swarm }}\t{{ .DockerVersion }}\t{{ .Error}}';

/** The header row's values (docker-machine's `headers` map). */
export const LS_HEADERS: Record<string, string> = {
  Name: 'NAME',
  Active: 'ACTIVE',
  ActiveHost: 'ACTIVE_HOST',
  ActiveSwarm: 'ACTIVE_SWARM',
  DriverName: 'DRIVER',
  State: 'STATE',
  URL: 'URL',
  SwarmOptions: 'SWARM_OPTIONS',
  Swarm: 'SWARM',
  EngineOptions: 'ENGINE_OPTIONS',
  Error: 'ERRORS',
  DockerVersion: 'DOCKER',
  ResponseTime: 'RESPONSE',
};

/** parseFormat: a leading "table" means header + alignment; literal \t and \n become real ones. */
export function parseLsFormat(format: string | undefined): { template: GoTemplate; table: boolean } {
  let source = format || LS_DEFAULT_FORMAT;
  let table = false;
  if (source.startsWith('table')) {
    table = true;
    source = source.slice('table'.length);
  }
  source = source
    .replace(/^ +| +$/g, '')
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n');
  return { template: GoTemplate.parse(`${source}\n`), table };
}

/**
 * The `ls` text. A template that fails on an item throws a GoTemplateError whose `partial` is
 * what docker-machine has printed by then (the rows before it and the failing row's beginning).
 */
export function renderLs(items: readonly HostListItem[], format?: string): string {
  const { template, table } = parseLsFormat(format);
  let text = '';
  try {
    if (table) text += template.execute(LS_HEADERS);
    for (const item of items) text += template.execute(goHostListItem(item));
  } catch (err) {
    if (err instanceof GoTemplateError) {
      text += err.partial;
      err.partial = table ? tabwrite(text, 5, 3) : text;
    }
    throw err;
  }
  return table ? tabwrite(text, 5, 3) : text;
}

/** The item as Go's template sees it: a struct (unknown fields are errors), durations as Go prints them. */
function goHostListItem(item: HostListItem): Record<string | symbol, unknown> {
  // The core's rows also carry the app's `reason`: not a field of docker-machine's struct.
  const { reason: _appOnly, ...fields } = item as HostListItem & { reason?: unknown };
  return {
    [GO_STRUCT]: 'commands.HostListItem',
    ...fields,
    SwarmOptions: goStructPointer('swarm.Options', SWARM_FIELDS, item.SwarmOptions),
    EngineOptions: goStructPointer('engine.Options', ENGINE_FIELDS, item.EngineOptions),
    ResponseTime: goDuration(item.ResponseTime),
  };
}

/**
 * docker-machine's engine.Options and swarm.Options: Go field name, its config.json key (when
 * another) and its Go zero value, in the struct's order. Templates see the Go names
 * (`.EngineOptions.TLSVerify`, `.EngineOptions.DNS`); a nil slice prints `[]`.
 */
type GoField = readonly [goName: string, zero: unknown, jsonKey?: string];
const ENGINE_FIELDS: readonly GoField[] = [
  ['ArbitraryFlags', []],
  ['DNS', [], 'Dns'],
  ['GraphDir', ''],
  ['Env', []],
  ['Ipv6', false],
  ['InsecureRegistry', []],
  ['Labels', []],
  ['LogLevel', ''],
  ['StorageDriver', ''],
  ['SelinuxEnabled', false],
  ['TLSVerify', false, 'TlsVerify'],
  ['RegistryMirror', []],
  ['InstallURL', ''],
];
const SWARM_FIELDS: readonly GoField[] = [
  ['IsSwarm', false],
  ['Address', ''],
  ['Discovery', ''],
  ['Agent', false],
  ['Master', false],
  ['Host', ''],
  ['Image', ''],
  ['Strategy', ''],
  ['Heartbeat', 0],
  ['Overcommit', 0],
  ['ArbitraryFlags', []],
  ['ArbitraryJoinFlags', []],
  ['Env', []],
  ['IsExperimental', false],
];

/** A `*pkg.Type` as the template sees it: `{{.X}}` prints `{…}`, `printf "%v"` prints `&{…}`. */
function goStructPointer(type: string, fields: readonly GoField[], value: object | null): unknown {
  if (!value) return null;
  const json = value as Record<string, unknown>;
  const struct: Record<string | symbol, unknown> = { [GO_STRUCT]: type, [GO_POINTER]: true };
  for (const [goName, zero, jsonKey = goName] of fields) struct[goName] = json[jsonKey] ?? zero;
  return struct;
}

/** Go's time.Duration.String() for whole milliseconds. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${Number(s.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}
