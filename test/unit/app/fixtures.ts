import type { DriverCapabilities, MachineSummary } from '../../../main/api/contract.js';
import digitalocean from '../../../main/drivers/digitalocean/index.js';
import generic from '../../../main/drivers/generic/index.js';
import none from '../../../main/drivers/none/index.js';
import type { ShellChannel } from '../../../main/ssh/types.js';

/** The capabilities each real driver module declares. */
export const DRIVER_CAPABILITIES: Record<string, DriverCapabilities> = Object.fromEntries(
  [digitalocean, generic, none].map((m) => [m.name, m.capabilities]),
);

/** A machine row; its capabilities are those its driver (default digitalocean: every action) declares. */
export function machine(name: string, patch: Partial<MachineSummary> = {}): MachineSummary {
  const driver = patch.driver ?? 'digitalocean';
  return {
    name,
    driver,
    state: 'Running',
    url: `tcp://10.0.0.1:2376`,
    dockerVersion: '24.0.7',
    error: '',
    reason: null,
    active: false,
    busy: null,
    stoppedByUser: false,
    capabilities: DRIVER_CAPABILITIES[driver]!,
    ...patch,
  };
}

/** An in-memory ShellChannel (our own interface, not ssh2): records calls, lets tests push output. */
export class FakeShell implements ShellChannel {
  written: string[] = [];
  sizes: Array<[number, number]> = [];
  paused = false;
  pauseCalls = 0;
  resumeCalls = 0;
  closed = false;
  private dataListeners: Array<(chunk: Buffer) => void> = [];
  private closeListeners: Array<(code: number | null) => void> = [];

  write(data: string | Buffer): void {
    this.written.push(data.toString());
  }
  resize(rows: number, cols: number): void {
    this.sizes.push([rows, cols]);
  }
  onData(listener: (chunk: Buffer) => void): void {
    this.dataListeners.push(listener);
  }
  onClose(listener: (code: number | null) => void): void {
    this.closeListeners.push(listener);
  }
  pause(): void {
    this.paused = true;
    this.pauseCalls++;
  }
  resume(): void {
    this.paused = false;
    this.resumeCalls++;
  }
  close(): void {
    this.closed = true;
  }
  /** Remote output. */
  emit(data: string | Buffer): void {
    const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data);
    for (const l of this.dataListeners) l(chunk);
  }
  exit(code: number | null): void {
    for (const l of this.closeListeners) l(code);
  }
}
