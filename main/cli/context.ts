import path from 'node:path';
import type { Command } from 'commander';
import { debugEnabled } from '../base/debug.js';
import { errorMessage, MoorError } from '../base/errors.js';
import { type ProgressEvent, type ProgressReporter, progressReporter } from '../base/progress.js';
import type { Driver, DriverModule } from '../drivers/types.js';
import type { HostConfig } from '../store/config.js';
import { defaultStoragePath } from '../store/paths.js';
import { Store } from '../store/store.js';

/** The global options, resolved from flags and their MACHINE_* environment variables. */
export interface GlobalOptions {
  debug: boolean;
  storagePath: string;
  tlsCaCert: string;
  tlsCaKey: string;
  tlsClientCert: string;
  tlsClientKey: string;
  nativeSsh: boolean;
  githubApiToken: string;
}

/** docker-machine's name for a machine used when a command gets no name (commands.go targetHost). */
export const DEFAULT_MACHINE_NAME = 'default';

/** Go's strconv.ParseBool, which docker-machine applies to MACHINE_DEBUG (and its boolean flags' variables). */
export function parseGoBool(value: string, source: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new MoorError(
    `Error parsing boolean value from ${source}: strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`,
  );
}

function ignoringParseErrors(read: () => boolean): boolean {
  try {
    return read();
  } catch {
    return false;
  }
}

/** Elapsed time as progress lines show it: `0.4s`, `12.3s`, `2m05.0s`. */
export function formatElapsed(ms: number): string {
  const tenths = Math.max(0, Math.round(ms / 100));
  const minutes = Math.floor(tenths / 600);
  const seconds = ((tenths % 600) / 10).toFixed(1);
  return minutes > 0 ? `${minutes}m${seconds.padStart(4, '0')}s` : `${seconds}s`;
}

/**
 * What every command gets besides its own options: the store, the global options, output
 * helpers and the "which machine" rule. Created before parsing; the getters are valid inside
 * actions (after commander has parsed the global options).
 */
export class CliContext {
  private storeInstance: Store | undefined;

  constructor(
    private readonly program: Command,
    /** The program name as invoked (used in hints such as env's "eval $(moor env foo)"). */
    readonly programName: string,
    /** The command-line arguments after the program (process.argv.slice(2)). */
    readonly args: readonly string[],
    readonly env: NodeJS.ProcessEnv = process.env,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  get globals(): GlobalOptions {
    const o = this.program.opts<{
      debug?: boolean;
      storagePath?: string;
      tlsCaCert?: string;
      tlsCaKey?: string;
      tlsClientCert?: string;
      tlsClientKey?: string;
      nativeSsh?: boolean;
      githubApiToken?: string;
    }>();
    const envBool = (name: string) => {
      const value = this.env[name];
      return value ? parseGoBool(value, name) : false;
    };
    return {
      debug: Boolean(o.debug) || envBool('MACHINE_DEBUG'),
      storagePath: path.resolve(o.storagePath || defaultStoragePath(this.env)),
      tlsCaCert: o.tlsCaCert ?? '',
      tlsCaKey: o.tlsCaKey ?? '',
      tlsClientCert: o.tlsClientCert ?? '',
      tlsClientKey: o.tlsClientKey ?? '',
      // As urfave/cli in docker-machine: a boolean flag's variable that does not parse is ignored.
      nativeSsh: Boolean(o.nativeSsh) || ignoringParseErrors(() => envBool('MACHINE_NATIVE_SSH')),
      githubApiToken: o.githubApiToken ?? '',
    };
  }

  get store(): Store {
    this.storeInstance ??= new Store(this.globals.storagePath);
    return this.storeInstance;
  }

  /** Opens a stored machine's driver with this CLI's environment (tokens and MACHINE_* variables). */
  async driverFor(
    host: HostConfig,
    progress?: ProgressReporter,
  ): Promise<{ module: DriverModule; driver: Driver }> {
    const { driverFor } = await import('../core/driver-context.js');
    return driverFor(this.store, host, { progress, env: this.env });
  }

  /**
   * The machine's DOCKER_HOST after docker-machine's TLS check (env and config dial the engine
   * before printing anything); a failure is prefixed like docker-machine's message for the command.
   */
  async checkedDockerHost(
    host: HostConfig,
    swarm: boolean | undefined,
    errorPrefix: string,
  ): Promise<string> {
    const { checkedDockerHost } = await import('../core/list.js');
    try {
      return await checkedDockerHost(this.store, host, {
        swarm,
        programName: this.programName,
        env: this.env,
      });
    } catch (err) {
      throw new MoorError(`${errorPrefix}${errorMessage(err)}`);
    }
  }

  /** Writes text to stdout as-is. */
  out(text: string): void {
    this.stdout.write(text);
  }

  /** One line to stdout (docker-machine's log.Info goes to stdout). */
  println(line = ''): void {
    this.stdout.write(`${line}\n`);
  }

  /** One line to stderr (errors and warnings). */
  errln(line: string): void {
    this.stderr.write(`${line}\n`);
  }

  /** A line to stderr, only with -D/--debug (or MACHINE_DEBUG). */
  debug(line: string): void {
    if (this.globals.debug || debugEnabled()) this.stderr.write(`${line}\n`);
  }

  /**
   * Progress of a long operation (create, provision, ...) printed like docker-machine's log:
   * steps and results on stdout, each followed by the time since the operation started; warnings
   * and errors on stderr; free-form logs only with -D.
   * `toStderr` is for commands whose stdout is meant for eval (env, config).
   */
  progress(machine: string, options: { toStderr?: boolean } = {}): ProgressReporter {
    return progressReporter(machine, (e: ProgressEvent) => {
      switch (e.level) {
        case 'step':
        case 'done': {
          // docker-machine's text first (scripts match on it), the time since the start after it.
          const line = `${e.message} (${formatElapsed(e.elapsedMs)})`;
          if (options.toStderr) this.errln(line);
          else this.println(line);
          break;
        }
        case 'log':
          this.debug(`(${machine}) ${e.message}`);
          break;
        case 'warn':
        case 'error':
          this.errln(e.message);
          break;
      }
    });
  }

  /**
   * docker-machine's targetHost rule: the one name given, or "default" if that machine exists,
   * else `Error: No machine name(s) specified and no "default" machine exists`.
   */
  async targetName(names: readonly string[]): Promise<string> {
    if (names.length > 1) throw new MoorError('Error: Expected one machine name as an argument');
    const [name] = names;
    if (name !== undefined) return name;
    if (await this.store.exists(DEFAULT_MACHINE_NAME)) return DEFAULT_MACHINE_NAME;
    throw new MoorError(
      `Error: No machine name(s) specified and no "${DEFAULT_MACHINE_NAME}" machine exists`,
    );
  }

  /** Names for commands taking several machines (start, stop, ip, ...), with the same default rule. */
  async targetNames(names: readonly string[]): Promise<string[]> {
    if (names.length > 0) return [...names];
    return [await this.targetName([])];
  }

  /** Loads one machine by the default-machine rule. */
  async loadHost(names: readonly string[] | string | undefined): Promise<HostConfig> {
    const list = typeof names === 'string' ? [names] : (names ?? []);
    return this.store.load(await this.targetName(list));
  }

  /**
   * Asks a yes/no question on stdout and reads one line from stdin, like Go's fmt.Scanln:
   * an answer starting with y/Y is yes; anything else, an empty line or EOF is no.
   */
  async confirm(question: string, input: NodeJS.ReadableStream = process.stdin): Promise<boolean> {
    this.out(question);
    const line = await readLine(input);
    return /^[yY]/.test(line.trim());
  }
}

function readLine(input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let buffered = '';
    const finish = () => {
      input.off('data', onData);
      input.off('end', finish);
      input.off('error', finish);
      input.pause();
      resolve(buffered.split('\n')[0] ?? '');
    };
    const onData = (chunk: Buffer | string) => {
      buffered += chunk.toString();
      if (buffered.includes('\n')) finish();
    };
    input.on('data', onData);
    input.on('end', finish);
    input.on('error', finish);
    input.resume();
  });
}
