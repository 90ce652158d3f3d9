/**
 * What the app's services need from the core, as small interfaces: the default implementation
 * (wiring.ts) binds them to the machine service layer, the SSH layer and the contexts watcher;
 * unit tests pass in-memory ones. No electron here.
 */
import type { ActiveHost, CreateRequest, DriverCatalog, MachineSummary } from '../api/contract.js';
import type { ProgressSink } from '../base/progress.js';
import type { ChoiceSource, FlagChoice, SshTarget } from '../drivers/types.js';
import type { ShellChannel } from '../ssh/types.js';

/** One machine as the core reports it (the services add active/busy/stoppedByUser). */
export type MachineRow = Omit<MachineSummary, 'active' | 'busy' | 'stoppedByUser'>;

export type MachineAction = 'start' | 'stop' | 'restart' | 'kill' | 'hibernate' | 'wake';

export interface MachineBackend {
  /** Every machine with its live state; must not hang on a dead host (bounded by the core's timeout). */
  list(): Promise<MachineRow[]>;
  drivers(): Promise<DriverCatalog>;
  /** A driver's list for a flag, from its provider (DriverModule.choices); absent: no lists at all. */
  choices?(
    driver: string,
    source: ChoiceSource,
    given: Readonly<Record<string, string>>,
  ): Promise<FlagChoice[]>;
  /** Creates and provisions; on abort or failure the core rolls back (no machine dir, no resources). */
  create(request: CreateRequest, progress: ProgressSink, signal: AbortSignal): Promise<void>;
  action(action: MachineAction, name: string): Promise<void>;
  remove(name: string, force: boolean): Promise<void>;
  regenerateCerts(name: string, progress: ProgressSink, signal: AbortSignal): Promise<void>;
  /** Provisions a stored machine again (what `moor provision` does): finishes a kept create. */
  provision(name: string, progress: ProgressSink, signal: AbortSignal): Promise<void>;
  sshTarget(name: string): Promise<SshTarget | null>;
}

export interface ActiveHostBackend {
  /** The active machine (or null) and the current Docker context's name. */
  current(): Promise<ActiveHost>;
  /** Switches to a machine's context, or to the default context for null. */
  use(name: string | null): Promise<void>;
  /** Calls back when the active context changes, also from the docker CLI; returns the unsubscribe. */
  watch(listener: (active: ActiveHost) => void): () => void;
}

export interface OpenShell {
  shell: ShellChannel;
  /** Ends the shell and its SSH connection. */
  close(): void;
}

export type ShellOpener = (
  target: SshTarget,
  size: { rows: number; cols: number; term: string },
) => Promise<OpenShell>;
