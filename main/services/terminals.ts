/**
 * Terminal sessions: one SSH shell channel each, with end-to-end flow control, batched output and
 * a bounded replay buffer. A session outlives its view (tab or window closed → detached) until the
 * user ends it or the remote shell exits.
 */
import { randomUUID } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import {
  type MoorEvents,
  TERMINAL_HIGH_WATERMARK,
  TERMINAL_LOW_WATERMARK,
  type TerminalAttachResult,
  type TerminalInfo,
} from '../api/contract.js';
import { MoorError } from '../base/errors.js';
import type { OpenShell } from './backend.js';

/** Output is sent at most once per frame (~16 ms), not one message per SSH packet. */
export const FLUSH_INTERVAL_MS = 16;
/** Characters of recent output kept per session for replay on reattach. */
export const REPLAY_LIMIT = 256 * 1024;

type Emit = <E extends keyof MoorEvents>(event: E, payload: MoorEvents[E]) => void;

/** Keeps the last `limit` characters written, as a list of chunks trimmed from the front. */
export class RingBuffer {
  private chunks: string[] = [];
  private size = 0;
  /** Set once output was dropped from the front: the first line may start mid escape sequence. */
  private trimmed = false;

  constructor(private readonly limit: number) {}

  push(text: string): void {
    if (!text) return;
    if (text.length >= this.limit) {
      this.chunks = [text.slice(text.length - this.limit)];
      this.size = this.limit;
      this.trimmed = true;
      return;
    }
    this.chunks.push(text);
    this.size += text.length;
    while (this.size > this.limit) {
      this.trimmed = true;
      const first = this.chunks[0]!;
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.slice(excess);
        this.size -= excess;
      }
    }
  }

  /**
   * The kept output. Once the front was dropped, replay starts after the first line break, so a
   * terminal never begins in the middle of an escape sequence or a surrogate pair.
   */
  text(): string {
    if (this.chunks.length > 1) this.chunks = [this.chunks.join('')];
    const all = this.chunks[0] ?? '';
    if (!this.trimmed) return all;
    const newline = all.indexOf('\n');
    return newline >= 0 && newline < 4096 ? all.slice(newline + 1) : all;
  }

  get length(): number {
    return this.size;
  }
}

export class TerminalSession {
  readonly id = randomUUID();
  readonly startedAt = Date.now();
  attached = true;
  exitCode: number | null = null;
  /** Characters sent to the view and not yet acknowledged as written. */
  unacked = 0;
  paused = false;
  readonly replay = new RingBuffer(REPLAY_LIMIT);
  private pending: string[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    readonly machine: string,
    readonly title: string,
    private readonly open: OpenShell,
    private readonly emit: Emit,
    private readonly onExit: (session: TerminalSession) => void,
  ) {
    open.shell.onData((chunk) => this.receive(this.decoder.write(chunk)));
    open.shell.onClose((code) => this.exited(code ?? -1));
  }

  info(): TerminalInfo {
    return {
      id: this.id,
      machine: this.machine,
      title: this.title,
      startedAt: this.startedAt,
      attached: this.attached,
      exitCode: this.exitCode,
    };
  }

  private receive(text: string): void {
    if (!text) return;
    this.replay.push(text);
    if (!this.attached) return; // detached: only the replay buffer keeps it
    this.pending.push(text);
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_INTERVAL_MS);
  }

  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.pending.length) return;
    const data = this.pending.join('');
    this.pending = [];
    this.emit('terminalData', { id: this.id, data });
    this.unacked += data.length;
    if (!this.paused && this.unacked > TERMINAL_HIGH_WATERMARK) {
      this.paused = true;
      this.open.shell.pause();
    }
  }

  ack(chars: number): void {
    this.unacked = Math.max(0, this.unacked - chars);
    if (this.paused && this.unacked < TERMINAL_LOW_WATERMARK) this.resumeReading();
  }

  private resumeReading(): void {
    this.paused = false;
    this.open.shell.resume();
  }

  /** A view shows this session again: it paints the replay, then live data continues. */
  attach(rows: number, cols: number): TerminalAttachResult {
    this.pending = [];
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.attached = true;
    this.unacked = 0;
    if (this.paused) this.resumeReading();
    if (this.exitCode === null) this.open.shell.resize(rows, cols);
    return { info: this.info(), replay: this.replay.text() };
  }

  /** The view went away: keep reading (into the replay buffer) so the remote never blocks on us. */
  detach(): void {
    this.attached = false;
    this.pending = [];
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.unacked = 0;
    if (this.paused) this.resumeReading();
  }

  write(data: string): void {
    if (this.exitCode !== null) throw new MoorError('This terminal session has ended');
    this.open.shell.write(data);
  }

  resize(rows: number, cols: number): void {
    if (this.exitCode === null) this.open.shell.resize(rows, cols);
  }

  private exited(code: number): void {
    if (this.exitCode !== null) return;
    const tail = this.decoder.end();
    if (tail) this.receive(tail);
    this.flush();
    this.exitCode = code;
    this.emit('terminalExit', { id: this.id, exitCode: code });
    this.onExit(this);
  }

  /** Ends the session: closes the shell and its connection. */
  close(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.pending = [];
    if (this.exitCode === null) this.exitCode = -1;
    this.open.close();
  }
}
