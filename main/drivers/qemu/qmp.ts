import net from 'node:net';
import type { MachineState } from '../../base/state.js';

/**
 * A QMP client (QEMU Machine Protocol): JSON objects, one per line, over the machine's unix socket.
 * The greeting is read, `qmp_capabilities` leaves negotiation mode, then each command gets one
 * `return` or `error` reply; asynchronous `event` lines are ignored.
 */
export class QmpError extends Error {}

type Reply = { return?: unknown; error?: { class: string; desc: string } };

export class QmpClient {
  private buffer = '';
  private waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private greeted: Promise<void>;
  private closedError: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    let greet: () => void = () => {};
    let fail: (e: Error) => void = () => {};
    this.greeted = new Promise((resolve, reject) => {
      greet = resolve;
      fail = reject;
    });
    let sawGreeting = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if ('QMP' in msg && !sawGreeting) {
          sawGreeting = true;
          greet();
        } else if ('return' in msg || 'error' in msg) {
          this.waiting.shift()?.resolve(msg as Reply);
        }
      }
    });
    const onEnd = (err?: Error) => {
      this.closedError = err ?? new QmpError('QMP connection closed');
      fail(this.closedError);
      for (const w of this.waiting.splice(0)) w.reject(this.closedError);
    };
    socket.on('error', (err) => onEnd(err));
    socket.on('close', () => onEnd());
  }

  /** Connects, reads the greeting and negotiates capabilities (bounded by timeoutMs). */
  static async connect(socketPath: string, timeoutMs = 5_000): Promise<QmpClient> {
    const socket = net.connect(socketPath);
    const client = new QmpClient(socket);
    const timer = setTimeout(
      () => socket.destroy(new QmpError(`QMP did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      await client.greeted;
      await client.execute('qmp_capabilities');
      return client;
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiting.push({
        resolve: (reply) =>
          reply.error
            ? reject(new QmpError(`QMP ${command}: ${reply.error.class}: ${reply.error.desc}`))
            : resolve(reply.return),
        reject,
      });
      this.socket.write(
        `${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`,
      );
    });
  }

  async queryStatus(): Promise<string> {
    const r = (await this.execute('query-status')) as { status?: string };
    return String(r?.status ?? '');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** query-status's RunState → docker-machine's state (libvirt/qemu drivers' mapping). */
export function mapQmpStatus(status: string): MachineState {
  switch (status) {
    case 'running':
      return 'Running';
    case 'paused':
    case 'suspended':
    case 'save-vm':
    case 'restore-vm':
    case 'debug':
    case 'watchdog':
    case 'io-error':
      return 'Paused';
    case 'inmigrate':
    case 'prelaunch':
    case 'finish-migrate':
    case 'postmigrate':
      return 'Starting';
    case 'shutdown':
    case 'guest-panicked':
      return 'Stopped';
    case 'internal-error':
      return 'Error';
    default:
      return '';
  }
}
