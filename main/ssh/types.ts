import type { SshTarget } from '../drivers/types.js';

/**
 * The contract of Moor's SSH layer (implemented in main/ssh/ on ssh2). Provisioning, drivers,
 * `moor ssh/scp` and the app's terminals use only this.
 */
export interface ExecOptions {
  /**
   * Written to the command's stdin, then stdin is closed (e.g. a provisioning script for `sh -s`).
   * A stream is piped (e.g. `moor ssh NAME -- cmd < file`); stdin closes when it ends.
   */
  stdin?: string | Buffer | NodeJS.ReadableStream;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  signal?: AbortSignal;
  /** Request a pty (some sudo setups need one). */
  pty?: boolean;
}

export interface ExecResult {
  code: number;
  signal?: string;
  stdout: string;
  stderr: string;
}

export interface ShellOptions {
  rows: number;
  cols: number;
  /** Defaults to xterm-256color. */
  term?: string;
}

/** An interactive pty session (the app's terminal tabs). */
export interface ShellChannel {
  write(data: string | Buffer): void;
  resize(rows: number, cols: number): void;
  onData(listener: (chunk: Buffer) => void): void;
  onClose(listener: (code: number | null) => void): void;
  /** Flow control: stop reading from the remote until resume() (the channel's window fills). */
  pause(): void;
  resume(): void;
  close(): void;
}

export interface SshSession {
  readonly target: SshTarget;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  upload(localPath: string, remotePath: string, mode?: number): Promise<void>;
  /** Write bytes to a remote file over SFTP (no shell quoting involved). */
  writeFile(remotePath: string, data: string | Buffer, mode?: number): Promise<void>;
  download(remotePath: string, localPath: string): Promise<void>;
  shell(options: ShellOptions): Promise<ShellChannel>;
  close(): void;
  /** Resolves when the connection closes (e.g. the host rebooted). */
  readonly closed: Promise<void>;
}

export interface ConnectOptions {
  /** Per-attempt TCP+handshake timeout. */
  readyTimeoutMs?: number;
  /** Keep retrying until this deadline (waiting for a booting host); 0 = one attempt. */
  retryForMs?: number;
  /**
   * Host key policy: 'pin' (default) trusts and records the key on first contact and refuses a
   * changed key with HostKeyChangedError; 'strict' refuses unknown keys too.
   */
  hostKeyPolicy?: 'pin' | 'strict';
  password?: string;
  /** Use $SSH_AUTH_SOCK when no key file is given (default true). */
  agent?: boolean;
  signal?: AbortSignal;
}

export type Connect = (target: SshTarget, options?: ConnectOptions) => Promise<SshSession>;
