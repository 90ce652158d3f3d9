/**
 * A time of the week as users write it: `mon-fri 08:30`, `sat,sun 10:00`, `daily 19:00`,
 * `fri-mon 07:15` (ranges wrap past Sunday). Pure: parsing and formatting only.
 */

/** ISO weekday numbers, as luxon uses them: Monday = 1 … Sunday = 7. */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

export interface TimeOfWeek {
  /** Sorted, without duplicates. */
  days: Weekday[];
  hour: number;
  minute: number;
}

export const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const DAY_ALIASES: Record<string, Weekday[]> = {
  daily: [1, 2, 3, 4, 5, 6, 7],
  weekdays: [1, 2, 3, 4, 5],
  weekends: [6, 7],
};

/** Thrown for a spec that does not parse; the message names the spec and what is wrong. */
export class ScheduleSpecError extends Error {
  constructor(spec: string, problem: string) {
    super(
      `Invalid schedule time "${spec}": ${problem}. Expected e.g. "mon-fri 08:30", "sat,sun 10:00" or "daily 19:00".`,
    );
    this.name = 'ScheduleSpecError';
  }
}

function dayNumber(word: string, spec: string): Weekday {
  const index = DAY_NAMES.indexOf(word.slice(0, 3) as (typeof DAY_NAMES)[number]);
  // "mon", "monday" and "mo" are fine; "mox" is not.
  const full = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'][index];
  if (index < 0 || !full || !full.startsWith(word) || word.length < 2) {
    throw new ScheduleSpecError(spec, `unknown day "${word}"`);
  }
  return (index + 1) as Weekday;
}

function parseDays(text: string, spec: string): Weekday[] {
  const days = new Set<Weekday>();
  for (const part of text.split(',')) {
    const word = part.trim();
    if (!word) throw new ScheduleSpecError(spec, 'an empty day in the list');
    const alias = DAY_ALIASES[word];
    if (alias) {
      for (const d of alias) days.add(d);
      continue;
    }
    const range = word.split('-');
    if (range.length > 2) throw new ScheduleSpecError(spec, `"${word}" is not a day or a range of days`);
    const from = dayNumber(range[0]!, spec);
    const to = range.length === 2 ? dayNumber(range[1]!, spec) : from;
    for (let d = from; ; d = ((d % 7) + 1) as Weekday) {
      days.add(d);
      if (d === to) break;
    }
  }
  return [...days].sort((a, b) => a - b);
}

/** Parses `DAYS HH:MM` (DAYS optional: "08:30" alone means every day). */
export function parseTimeOfWeek(spec: string): TimeOfWeek {
  const text = spec.trim().toLowerCase().replace(/\s+/g, ' ');
  if (!text) throw new ScheduleSpecError(spec, 'it is empty');
  const match = /^(?:(.+) )?(\d{1,2}):(\d{2})$/.exec(text);
  if (!match) throw new ScheduleSpecError(spec, 'it must end with a time of day, HH:MM');
  const hour = Number(match[2]);
  const minute = Number(match[3]);
  if (hour > 23) throw new ScheduleSpecError(spec, `hour ${hour} is not 0-23`);
  if (minute > 59) throw new ScheduleSpecError(spec, `minute ${minute} is not 0-59`);
  const days = match[1] === undefined ? DAY_ALIASES.daily! : parseDays(match[1].replace(/ /g, ''), spec);
  return { days, hour, minute };
}

/** The canonical text of a time of the week: "mon-fri 08:30", "mon,wed 07:00", "daily 19:00". */
export function formatTimeOfWeek(t: TimeOfWeek): string {
  return `${formatDays(t.days)} ${pad(t.hour)}:${pad(t.minute)}`;
}

export function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Runs of consecutive days (Monday-based, no wrap): [1,2,3,4,5] → [[1,5]]; [1,3] → [[1,1],[3,3]]. */
export function dayRuns(days: readonly Weekday[]): Array<[Weekday, Weekday]> {
  const runs: Array<[Weekday, Weekday]> = [];
  for (const d of days) {
    const last = runs.at(-1);
    if (last && d === last[1] + 1) last[1] = d;
    else runs.push([d, d]);
  }
  return runs;
}

function formatDays(days: readonly Weekday[]): string {
  if (days.length === 7) return 'daily';
  return dayRuns(days)
    .map(([a, b]) => {
      const from = DAY_NAMES[a - 1]!;
      const to = DAY_NAMES[b - 1]!;
      if (a === b) return from;
      return b === a + 1 ? `${from},${to}` : `${from}-${to}`;
    })
    .join(',');
}
