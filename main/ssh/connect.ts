import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { debug } from '../base/debug.js';
import { MoorError } from '../base/errors.js';
import type { SshTarget } from '../drivers/types.js';
import {
  describeTarget,
  HostKeyChangedError,
  HostKeyUnknownError,
  SshAuthError,
  SshConnectError,
  SshConnectionLostError,
  SshKeyError,
} from './errors.js';
import { checkHostKey } from './host-keys.js';
import { fingerprint, keyBlobType, readPrivateKey } from './keys.js';
import { addHostKey, hostKeyAlgorithmsFor, type PinnedKey, pinnedHostKeys } from './known-hosts.js';
import { ChannelLimiter } from './limiter.js';
import type {
  ConnectOptions,
  ExecOptions,
  ExecResult,
  ShellChannel,
  ShellOptions,
  SshSession,
} from './types.js';

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const KEEPALIVE_INTERVAL_MS = 15_000;
const KEEPALIVE_COUNT_MAX = 4;
/** sshd's MaxSessions is 10 by default; stay well below it (the sftp channel counts too). */
export const DEFAULT_MAX_CHANNELS = 6;
const RETRY_PAUSE_MS = 1_000;

/** Moor's additions to the contract's ConnectOptions (all optional). */
export interface ConnectOptionsExt extends ConnectOptions {
  /** Channels open at once on this connection (default 6). */
  maxChannels?: number;
  /** TCP_NODELAY on the socket (default true; false only for the benchmark's baseline). */
  noDelay?: boolean;
}

type AuthMethod = ssh2.AnyAuthMethod;

interface Credentials {
  methods: AuthMethod[];
  /** How each method is named in an auth error ("key /path", "ssh-agent", "password"). */
  labels: string[];
}

/** The machine name used in host key messages: given, or the machine directory's name. */
export function machineNameOf(target: SshTarget): string {
  return target.machineName || path.basename(path.dirname(target.knownHostsPath));
}

async function loadCredentials(target: SshTarget, options: ConnectOptions): Promise<Credentials> {
  const methods: AuthMethod[] = [];
  const labels: string[] = [];
  const username = target.user;
  const agentSock = options.agent !== false ? process.env.SSH_AUTH_SOCK : undefined;
  if (target.keyPath) {
    try {
      methods.push({ type: 'publickey', username, key: await readPrivateKey(target.keyPath) });
      labels.push(`key ${target.keyLabel ?? target.keyPath}`);
    } catch (err) {
      // An encrypted key can still be used through the agent that holds it.
      if (!(err instanceof SshKeyError && /encrypted/.test(err.message) && agentSock)) throw err;
    }
  }
  if (agentSock) {
    methods.push({ type: 'agent', username, agent: agentSock });
    labels.push(`ssh-agent (${agentSock})`);
  }
  if (!target.keyPath && !agentSock) {
    // Like the ssh binary: fall back to the user's default identities.
    for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
      const file = path.join(os.homedir(), '.ssh', name);
      const key = await readPrivateKey(file).catch(() => undefined);
      if (key) {
        methods.push({ type: 'publickey', username, key });
        labels.push(`key ${file}`);
      }
    }
  }
  if (options.password !== undefined) {
    methods.push({ type: 'password', username, password: options.password });
    labels.push('password');
  }
  return { methods, labels };
}

function abortError(): MoorError {
  return new MoorError('ssh: operation aborted');
}

/**
 * Opens an SSH connection to a machine (the contract's Connect). Retries refused/unreachable/auth
 * failures until `retryForMs` passes (booting hosts); never retries a host key mismatch.
 */
export async function connect(target: SshTarget, options: ConnectOptionsExt = {}): Promise<SshSession> {
  if (!target.knownHostsPath) throw new Error('SshTarget.knownHostsPath is required (host keys are pinned)');
  const deadline = Date.now() + (options.retryForMs ?? 0);
  const credentials = await loadCredentials(target, options);
  for (;;) {
    if (options.signal?.aborted) throw abortError();
    const started = Date.now();
    try {
      const pinned = await pinnedHostKeys(target.knownHostsPath, target.host, target.port);
      debug('ssh', () => `connecting to ${describeTarget(target)} (${credentials.labels.join(', ')})`);
      const session = await connectOnce(target, options, credentials, pinned);
      debug('ssh', () => `connected to ${describeTarget(target)} in ${Date.now() - started} ms`);
      return session;
    } catch (err) {
      const retryable = err instanceof SshConnectError || err instanceof SshAuthError;
      const remaining = deadline - Date.now();
      debug(
        'ssh',
        () =>
          `connect to ${describeTarget(target)} failed after ${Date.now() - started} ms: ${(err as Error).message}`,
      );
      if (!retryable || remaining <= 0) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_PAUSE_MS, remaining)));
    }
  }
}

function connectOnce(
  target: SshTarget,
  options: ConnectOptionsExt,
  credentials: Credentials,
  pinned: PinnedKey[],
): Promise<SshSession> {
  const address = describeTarget(target);
  const readyTimeout = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const client = new ssh2.Client();
  let presented: Buffer | undefined;
  let hostKeyError: Error | undefined;
  let authStarted = false;
  let diagnosing = false;

  return new Promise<SshSession>((resolve, reject) => {
    let settled = false;
    const onAbort = () => fail(abortError());
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      client.end();
      client.destroy();
      reject(err);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    client.on('ready', () => {
      if (settled) return;
      const done = () => {
        if (settled) return; // the connection failed while the host key was being recorded
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        resolve(new Ssh2Session(client, target, options.maxChannels ?? DEFAULT_MAX_CHANNELS));
      };
      if (!presented || pinned.length > 0) return done();
      // Trust on first contact: pin the key this host proved it holds.
      addHostKey(target.knownHostsPath, target.host, target.port, presented).then(done, (err) =>
        fail(new MoorError(`ssh: cannot record the host key in ${target.knownHostsPath}: ${err.message}`)),
      );
    });
    /**
     * A handshake that fails before the host showed a key, while only the pinned key type was
     * offered, usually means the host no longer has a key of that type (sshd may just drop the
     * connection): check what it presents now, and report a changed key as such.
     */
    const failHandshake = (plain: SshConnectError) => {
      if (!pinned.length || presented || diagnosing) return fail(plain);
      diagnosing = true;
      checkHostKey(target, machineNameOf(target)).then(
        (changed) => fail(changed ?? plain),
        () => fail(plain),
      );
    };
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (diagnosing) return;
      if (err.level === 'agent') return; // an unusable agent: the next method is tried
      if (hostKeyError) return fail(hostKeyError);
      if (err.level === 'client-authentication') return fail(new SshAuthError(address, credentials.labels));
      if (err.level === 'client-timeout') {
        return fail(new SshConnectError(address, `no SSH handshake within ${readyTimeout} ms`, 'ETIMEDOUT'));
      }
      if (err.code === 'ECONNREFUSED') {
        return fail(
          new SshConnectError(address, 'connection refused (is sshd running on that port?)', err.code),
        );
      }
      if (err.code === 'ETIMEDOUT' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') {
        return fail(new SshConnectError(address, err.message, err.code));
      }
      failHandshake(new SshConnectError(address, err.message, err.code));
    });
    client.on('close', () => {
      if (diagnosing) return;
      if (hostKeyError) return fail(hostKeyError);
      if (authStarted)
        return fail(new SshConnectError(address, 'the server closed the connection during login'));
      failHandshake(new SshConnectError(address, 'the connection closed before login'));
    });

    // ssh2 asks for one method at a time; each attempt offers the whole list again (shift() below
    // empties this copy, never the caller's list, so a retry after a refused login still has keys).
    const methods = [...credentials.methods];
    const pinnedTypes = pinned.map((k) => k.type);
    client.connect({
      host: target.host,
      port: target.port,
      username: target.user,
      readyTimeout,
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      // Offer only the pinned key types, so a host with several keys presents the pinned one.
      ...(pinned.length ? { algorithms: { serverHostKey: hostKeyAlgorithmsFor(pinnedTypes) as never } } : {}),
      authHandler: (_left, _partial, next) => {
        authStarted = true;
        const method = methods.shift();
        if (!method) return false;
        next(method);
      },
      hostVerifier: (key: Buffer) => {
        presented = key;
        if (pinned.length === 0) {
          if (options.hostKeyPolicy !== 'strict') return true;
          hostKeyError = new HostKeyUnknownError(
            machineNameOf(target),
            `${target.host}:${target.port}`,
            fingerprint(key),
            target.knownHostsPath,
          );
          return false;
        }
        if (pinned.some((k) => k.blob.equals(key))) return true;
        hostKeyError = new HostKeyChangedError(
          machineNameOf(target),
          `${target.host}:${target.port}`,
          pinned.map((k) => `${k.type} ${k.fingerprint}`),
          fingerprint(key),
          keyBlobType(key),
          target.knownHostsPath,
        );
        return false;
      },
    });
    // Right after connect (Node applies it once the socket connects): 5x faster exec round trips.
    if (options.noDelay !== false) client.setNoDelay(true);
  });
}

/** A command line as debug output shows it: one line, long scripts cut (they come on stdin anyway). */
function commandForLog(command: string, stdin?: ExecOptions['stdin']): string {
  // A provisioning script comes on stdin of `sh -s`: show what it runs, not just `sh -s`.
  const script = typeof stdin === 'string' ? ` <<< ${stdin}` : '';
  const oneLine = `${command}${script}`.replace(/\s*\n\s*/g, '; ').replace(/(; )+/g, '; ');
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine;
}

function channelError(address: string, err: Error): SshConnectError {
  return new SshConnectError(address, `cannot open a channel: ${err.message}`);
}

/** The session's shared SFTP channel (for `moor scp`, which walks directories). */
export function sftpOf(session: SshSession): Promise<ssh2.SFTPWrapper> {
  if (!(session instanceof Ssh2Session)) throw new Error('sftpOf: not a session opened by connect()');
  return session.sftpClient();
}

class Ssh2Session implements SshSession {
  readonly closed: Promise<void>;
  private readonly limiter: ChannelLimiter;
  private readonly address: string;
  private sftpChannel?: Promise<ssh2.SFTPWrapper>;
  private isClosed = false;
  private lastError?: Error;

  constructor(
    private readonly client: ssh2.Client,
    readonly target: SshTarget,
    maxChannels: number,
  ) {
    this.limiter = new ChannelLimiter(maxChannels);
    this.address = describeTarget(target);
    this.client.removeAllListeners('error');
    this.client.removeAllListeners('close');
    // Errors after login (keepalive timeout, reset) end up as a closed session.
    this.client.on('error', (err: Error) => {
      this.lastError = err;
    });
    this.closed = new Promise<void>((resolve) =>
      this.client.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  private lostError(): SshConnectionLostError {
    return new SshConnectionLostError(this.address, this.lastError?.message);
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (options.signal?.aborted) throw abortError();
    const release = await this.limiter.acquire();
    const started = Date.now();
    debug('ssh', () => `exec on ${this.address}: ${commandForLog(command, options.stdin)}`);
    try {
      const result = await new Promise<ExecResult>((resolve, reject) => {
        if (this.isClosed) return reject(this.lostError());
        const execOptions = options.pty ? { pty: { term: 'xterm-256color' } } : {};
        this.client.exec(command, execOptions, (err, channel) => {
          if (err) return reject(this.isClosed ? this.lostError() : channelError(this.address, err));
          const stdout: Buffer[] = [];
          const stderr: Buffer[] = [];
          let code: number | null = null;
          let signal: string | undefined;
          let aborted = false;
          const onAbort = () => {
            aborted = true;
            channel.close();
          };
          options.signal?.addEventListener('abort', onAbort, { once: true });
          channel.on('data', (chunk: Buffer) => {
            stdout.push(chunk);
            options.onStdout?.(chunk);
          });
          channel.stderr.on('data', (chunk: Buffer) => {
            stderr.push(chunk);
            options.onStderr?.(chunk);
          });
          channel.on('exit', (exitCode: number | null, signalName?: string) => {
            code = exitCode;
            signal = signalName ?? undefined;
          });
          channel.on('close', () => {
            options.signal?.removeEventListener('abort', onAbort);
            if (options.stdin && typeof options.stdin === 'object' && !Buffer.isBuffer(options.stdin)) {
              options.stdin.unpipe(channel);
            }
            if (aborted) return reject(abortError());
            if (code === null && signal === undefined && this.isClosed) return reject(this.lostError());
            resolve({
              code: code ?? 255,
              ...(signal ? { signal } : {}),
              stdout: Buffer.concat(stdout).toString('utf8'),
              stderr: Buffer.concat(stderr).toString('utf8'),
            });
          });
          if (options.stdin === undefined) channel.end();
          else if (typeof options.stdin === 'string' || Buffer.isBuffer(options.stdin))
            channel.end(options.stdin);
          else options.stdin.pipe(channel);
        });
      });
      debug(
        'ssh',
        () => `exit ${result.signal ?? result.code} in ${Date.now() - started} ms: ${commandForLog(command)}`,
      );
      return result;
    } finally {
      release();
    }
  }

  /** One SFTP channel per connection, opened on first use and shared by every transfer. */
  private sftp(): Promise<ssh2.SFTPWrapper> {
    if (!this.sftpChannel) {
      const opening = (async () => {
        const release = await this.limiter.acquire();
        return new Promise<ssh2.SFTPWrapper>((resolve, reject) => {
          this.client.sftp((err, sftp) => {
            if (err) {
              release();
              this.sftpChannel = undefined;
              return reject(this.isClosed ? this.lostError() : channelError(this.address, err));
            }
            sftp.on('close', () => {
              release();
              if (this.sftpChannel === opening) this.sftpChannel = undefined;
            });
            resolve(sftp);
          });
        });
      })();
      this.sftpChannel = opening;
    }
    return this.sftpChannel;
  }

  /** Moves a finished temp file into place, replacing the old one in one step. */
  private async placeFile(sftp: ssh2.SFTPWrapper, tmp: string, remotePath: string, mode?: number) {
    if (mode !== undefined) await sftpCall<void>((cb) => sftp.chmod(tmp, mode, cb));
    try {
      await sftpCall<void>((cb) => sftp.ext_openssh_rename(tmp, remotePath, cb));
    } catch {
      // Servers without posix-rename: plain rename refuses to overwrite, so remove first.
      await sftpCall<void>((cb) => sftp.unlink(remotePath, cb)).catch(() => undefined);
      await sftpCall<void>((cb) => sftp.rename(tmp, remotePath, cb));
    }
  }

  private sftpError(op: string, remotePath: string, err: unknown): MoorError {
    if (this.isClosed) return this.lostError();
    const message = err instanceof Error ? err.message : String(err);
    return new MoorError(`ssh: ${op} ${this.target.host}:${remotePath} failed: ${message}`);
  }

  async upload(localPath: string, remotePath: string, mode?: number): Promise<void> {
    debug('ssh', () => `sftp upload ${localPath} to ${this.address}:${remotePath}`);
    const sftp = await this.sftp();
    const tmp = `${remotePath}.moor-${randomBytes(4).toString('hex')}`;
    try {
      await sftpCall<void>((cb) => sftp.fastPut(localPath, tmp, mode === undefined ? {} : { mode }, cb));
      await this.placeFile(sftp, tmp, remotePath, mode);
    } catch (err) {
      await sftpCall<void>((cb) => sftp.unlink(tmp, cb)).catch(() => undefined);
      throw this.sftpError('upload to', remotePath, err);
    }
  }

  async writeFile(remotePath: string, data: string | Buffer, mode?: number): Promise<void> {
    debug('ssh', () => `sftp write ${this.address}:${remotePath} (${Buffer.byteLength(data)} bytes)`);
    const sftp = await this.sftp();
    const tmp = `${remotePath}.moor-${randomBytes(4).toString('hex')}`;
    try {
      await sftpCall<void>((cb) => sftp.writeFile(tmp, data, mode === undefined ? {} : { mode }, cb));
      await this.placeFile(sftp, tmp, remotePath, mode);
    } catch (err) {
      await sftpCall<void>((cb) => sftp.unlink(tmp, cb)).catch(() => undefined);
      throw this.sftpError('write of', remotePath, err);
    }
  }

  async download(remotePath: string, localPath: string): Promise<void> {
    debug('ssh', () => `sftp download ${this.address}:${remotePath} to ${localPath}`);
    const sftp = await this.sftp();
    const tmp = path.join(
      path.dirname(localPath),
      `.${path.basename(localPath)}.moor-${randomBytes(4).toString('hex')}`,
    );
    try {
      await sftpCall<void>((cb) => sftp.fastGet(remotePath, tmp, cb));
      await fs.rename(tmp, localPath);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw this.sftpError('download of', remotePath, err);
    }
  }

  /** The shared SFTP channel, for callers that walk directories (moor scp -r). */
  sftpClient(): Promise<ssh2.SFTPWrapper> {
    return this.sftp();
  }

  async shell(options: ShellOptions): Promise<ShellChannel> {
    const release = await this.limiter.acquire();
    const window = { term: options.term ?? 'xterm-256color', rows: options.rows, cols: options.cols };
    return new Promise<ShellChannel>((resolve, reject) => {
      if (this.isClosed) {
        release();
        return reject(this.lostError());
      }
      this.client.shell({ ...window, width: 0, height: 0 }, (err, stream) => {
        if (err) {
          release();
          return reject(this.isClosed ? this.lostError() : channelError(this.address, err));
        }
        let exitCode: number | null = null;
        let closed = false;
        const closeListeners: Array<(code: number | null) => void> = [];
        stream.on('exit', (code: number | null) => {
          exitCode = code;
        });
        stream.on('close', () => {
          closed = true;
          release();
          for (const listener of closeListeners) listener(exitCode);
        });
        resolve({
          write: (data) => {
            if (!closed) stream.write(data);
          },
          resize: (rows, cols) => {
            if (!closed) stream.setWindow(rows, cols, 0, 0);
          },
          onData: (listener) => {
            stream.on('data', listener);
            stream.stderr.on('data', listener);
          },
          onClose: (listener) => {
            if (closed) listener(exitCode);
            else closeListeners.push(listener);
          },
          pause: () => stream.pause(),
          resume: () => stream.resume(),
          close: () => {
            if (!closed) stream.close();
          },
        });
      });
    });
  }

  close(): void {
    this.client.end();
  }
}

function sftpCall<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}
