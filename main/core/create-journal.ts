/**
 * The create journal: a write-ahead record, in the machine directory, of every cloud resource a
 * create is about to request. Each create has a unique id that the driver also puts on the
 * resource itself (a DigitalOcean tag, an EC2 tag, a key name), so that:
 * - after an ambiguous answer (5xx, dropped connection) only a resource carrying this create's id
 *   is adopted, never another client's resource of the same name;
 * - after a kill -9 (the request in flight, the answer never read) the next `ls`/`rm`/`create`
 *   finds the resources by that id, deletes them and reports what it saw.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../base/errors.js';
import type {
  CleanupOutcome,
  CreateJournalHandle,
  Driver,
  JournalEntry,
  JournalRecord,
} from '../drivers/types.js';
import { writeFileAtomic } from '../store/atomic.js';

export type { CleanupOutcome, JournalEntry, JournalRecord };

export const JOURNAL_FILE = '.moor-create-journal.json';

/** The tag (or name part) that marks a resource as made by this create. */
export function createTag(createId: string): string {
  return `moor-create-${createId}`;
}

export function newCreateId(): string {
  return randomBytes(6).toString('hex');
}

/** A user-readable name of a journaled resource: `droplet 123` or `droplet tagged moor-create-…`. */
export function describeEntry(entry: JournalEntry): string {
  if (entry.id) return `${entry.kind} ${entry.id}`;
  const how = Object.entries(entry.find)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${entry.kind} with ${how}`;
}

/** One line per outcome, in the words of the issue: deleted / already gone / delete it yourself. */
export function describeOutcome(o: CleanupOutcome): string {
  const what = describeEntry(o.entry);
  if (o.result === 'deleted') return `deleted ${o.entry.kind} ${o.detail || o.entry.id || ''}`.trim();
  if (o.result === 'already gone') return `${what}: already gone`;
  return `could not check ${what} (${o.detail ?? 'unknown error'}): delete it yourself if it exists`;
}

export function allVerified(outcomes: CleanupOutcome[]): boolean {
  return outcomes.every((o) => o.result !== 'could not check');
}

/** The journal of the create running in this process (DriverContext.journal). */
export class CreateJournal implements CreateJournalHandle {
  private constructor(
    private readonly file: string,
    readonly record: JournalRecord,
  ) {}

  static async begin(machineDir: string, createId = newCreateId()): Promise<CreateJournal> {
    const journal = new CreateJournal(path.join(machineDir, JOURNAL_FILE), {
      createId,
      startedAt: new Date().toISOString(),
      entries: [],
    });
    await journal.save();
    return journal;
  }

  get createId(): string {
    return this.record.createId;
  }

  get tag(): string {
    return createTag(this.createId);
  }

  /**
   * Write-ahead: records, fsynced, that a resource is about to be requested. Call it before the
   * request; a kill -9 at any later point leaves this entry for recovery.
   */
  async intend(kind: string, find: Record<string, string>): Promise<JournalEntry> {
    const entry: JournalEntry = { kind, find };
    this.record.entries.push(entry);
    await this.save();
    return entry;
  }

  /** The answer named the resource: remember its id (cleanup then needs no lookup). */
  async created(entry: JournalEntry, id: string): Promise<void> {
    entry.id = id;
    await this.save();
  }

  /** The request was refused before anything was made (a 4xx): nothing to look for. */
  async refused(entry: JournalEntry): Promise<void> {
    this.record.entries = this.record.entries.filter((e) => e !== entry);
    await this.save();
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify(this.record, null, 2)}\n`, { mode: 0o600 });
  }
}

export async function readJournal(machineDir: string): Promise<JournalRecord | null> {
  let text: string;
  try {
    text = await fs.readFile(path.join(machineDir, JOURNAL_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const r = JSON.parse(text) as Partial<JournalRecord>;
    if (typeof r.createId !== 'string' || !Array.isArray(r.entries)) return null;
    return {
      createId: r.createId,
      startedAt: String(r.startedAt ?? ''),
      entries: r.entries.filter(
        (e): e is JournalEntry => typeof e?.kind === 'string' && typeof e.find === 'object',
      ),
    };
  } catch {
    return null; // written atomically: a torn file cannot happen; a hand-edited one is ignored
  }
}

export async function clearJournal(machineDir: string): Promise<void> {
  await fs.rm(path.join(machineDir, JOURNAL_FILE), { force: true });
}

/**
 * Deletes what a failed or killed create made: the journaled resources through the driver's
 * cleanUpCreate (found by id or by this create's tag), or driver.remove() for a driver without
 * a journal. Throws when something could not be checked, so the caller keeps the record.
 */
export async function removeCreatedResources(
  driver: Pick<Driver, 'remove' | 'cleanUpCreate'>,
  machineDir: string,
  log: (line: string) => void,
): Promise<CleanupOutcome[]> {
  const record = await readJournal(machineDir);
  if (!record || !driver.cleanUpCreate) {
    await driver.remove();
    return [];
  }
  let outcomes: CleanupOutcome[];
  try {
    outcomes = await driver.cleanUpCreate(record);
  } catch (err) {
    outcomes = record.entries.map((entry) => ({
      entry,
      result: 'could not check' as const,
      detail: errorMessage(err),
    }));
  }
  for (const o of outcomes) log(describeOutcome(o));
  if (!allVerified(outcomes)) {
    throw new JournalCleanupError(outcomes);
  }
  return outcomes;
}

export class JournalCleanupError extends Error {
  constructor(readonly outcomes: CleanupOutcome[]) {
    super(
      outcomes
        .filter((o) => o.result === 'could not check')
        .map(describeOutcome)
        .join('; '),
    );
    this.name = 'JournalCleanupError';
  }
}
