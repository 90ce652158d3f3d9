/** `ls` output: docker-machine's default table, `--format` templates and tabwriter alignment. Pure. */
import type { HostListItem } from '../core/list.js';
import { GO_FORMAT, GO_STRUCT, GoTemplate } from './go-template.js';
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

export function renderLs(items: readonly HostListItem[], format?: string): string {
  const { template, table } = parseLsFormat(format);
  let text = table ? template.execute(LS_HEADERS) : '';
  for (const item of items) text += template.execute(goHostListItem(item));
  return table ? tabwrite(text, 5, 3) : text;
}

/** The item as Go's template sees it: a struct (unknown fields are errors), durations as Go prints them. */
function goHostListItem(item: HostListItem): Record<string | symbol, unknown> {
  return {
    [GO_STRUCT]: 'commands.HostListItem',
    ...item,
    SwarmOptions: goStructPointer(item.SwarmOptions, 'swarm.Options'),
    EngineOptions: goStructPointer(item.EngineOptions, 'engine.Options'),
    ResponseTime: goDuration(item.ResponseTime),
  };
}

function goStructPointer(value: object | null, type: string): unknown {
  if (!value) return null;
  const struct: Record<string | symbol, unknown> = { [GO_STRUCT]: type, ...value };
  struct[GO_FORMAT] = () =>
    `&{${Object.values(value)
      .map((v) => (Array.isArray(v) ? `[${v.join(' ')}]` : v === null ? '[]' : String(v)))
      .join(' ')}}`;
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
