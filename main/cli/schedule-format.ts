/** Text of `moor schedule ls` and `moor schedule NAME` (Moor-only output: no docker-machine format to keep). */
import type { ScheduleOverview } from '../core/schedule.js';
import { formatMoney } from '../schedule/cost.js';
import { formatIdleMinutes, formatWhen } from '../schedule/format.js';
import { tabwrite } from './tabwriter.js';

export { formatWhen };

function nextText(row: ScheduleOverview): string {
  if (!row.next) return '-';
  const postponed = row.postponedUntil === row.next.at ? ' (postponed)' : '';
  return `${row.next.action} ${formatWhen(row.next.at, row.zone)}${postponed}`;
}

/** "30m", or "30m (idle since Fri 18:40 +01:00)". */
function idleText(row: ScheduleOverview): string {
  if (!row.idleStopMinutes) return '-';
  const duration = formatIdleMinutes(row.idleStopMinutes);
  return row.idleSince === undefined
    ? duration
    : `${duration} (idle since ${formatWhen(row.idleSince, row.zone)})`;
}

function lastRunText(row: ScheduleOverview): string {
  const r = row.lastRun;
  if (!r) return '-';
  return `${r.action} ${formatWhen(r.ranAt, row.zone)}${r.error ? ` failed: ${r.error}` : ''}`;
}

export function renderScheduleTable(rows: readonly ScheduleOverview[], _now: number): string {
  const lines = [
    'NAME\tSTART\tSTOP\tIDLE STOP\tZONE\tNEXT\tPRICE/H\tMONTH SO FAR\tPROJECTED\tLAST RUN\tERRORS',
  ];
  for (const row of rows) {
    const c = row.cost;
    lines.push(
      [
        row.name,
        row.start || '-',
        row.stop || '-',
        idleText(row),
        row.zone || '-',
        nextText(row),
        c ? formatMoney(c.hourly, c.currency, 5) : '-',
        c ? formatMoney(c.soFar, c.currency) : '-',
        c ? formatMoney(c.projected, c.currency) : '-',
        lastRunText(row),
        row.error || row.costError || '',
      ].join('\t'),
    );
  }
  return tabwrite(`${lines.join('\n')}\n`);
}

/** `moor schedule NAME`: one machine, one field a line. */
export function describeSchedule(row: ScheduleOverview): string {
  const lines: Array<[string, string]> = [['Name', row.name]];
  if (!row.zone) lines.push(['Schedule', 'none']);
  else {
    lines.push(['Time zone', row.zone], ['Start', row.start || '-'], ['Stop', row.stop || '-']);
    lines.push(['Idle stop', idleText(row)]);
    if (row.hibernate)
      lines.push(['Stop means', 'hibernate (a snapshot, the server destroyed); start wakes']);
    lines.push(['Next', nextText(row)], ['Last run', lastRunText(row)]);
  }
  const c = row.cost;
  if (c) {
    lines.push([
      'Price',
      `${formatMoney(c.hourly, c.currency, 5)}/h (${c.size}, at most ${formatMoney(c.monthly, c.currency)} a month)`,
    ]);
    lines.push([
      'This month',
      `${formatMoney(c.soFar, c.currency)} so far, ${formatMoney(c.projected, c.currency)} projected${c.note ? ` (${c.note})` : ''}`,
    ]);
  }
  if (row.costError) lines.push(['Price', `unknown: ${row.costError}`]);
  return lines.map(([k, v]) => `${`${k}:`.padEnd(12)}${v}\n`).join('');
}
