import { Command, CommanderError, Option } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { debug, debugEnabled, setDebugSink } from '../base/debug.js';
import { errorMessage, MoorError } from '../base/errors.js';
import { defaultStoragePath } from '../store/paths.js';
import { registersFor } from './commands/index.js';
import { CliContext, parseGoBool } from './context.js';
import { incorrectUsage } from './options.js';

/** Injected by scripts/build.mjs (the git commit); "dev" when run from sources. */
declare const __MOOR_BUILD__: string | undefined;
const BUILD = typeof __MOOR_BUILD__ === 'string' ? __MOOR_BUILD__ : 'dev';

export const PROGRAM_NAME = 'moor';

/**
 * The commander program with the global options and the commands of commands/index.ts: with
 * `argv`, only the command it runs when that is a known one (start-up time), else every command.
 */
export function buildProgram(cli: CliContext, program: Command, argv?: readonly string[]): Command {
  program
    .name(PROGRAM_NAME)
    .description('Create and manage machines running Docker.')
    .usage('[OPTIONS] COMMAND [arg...]')
    .version(`${PROGRAM_NAME} version ${pkg.version}, build ${BUILD}`, '-v, --version', 'Print the version')
    .helpOption('-h, --help', 'Show help')
    .helpCommand('help [command]', 'Shows a list of commands or help for one command')
    .configureHelp({ sortSubcommands: true })
    // Global options go before the command, as with docker-machine (and `ssh NAME -v` stays ssh's).
    .enablePositionalOptions()
    .allowExcessArguments(true)
    .addOption(new Option('-D, --debug', 'Enable debug mode (or $MACHINE_DEBUG)'))
    .addOption(
      new Option('-s, --storage-path <path>', 'Configures storage path')
        .env('MACHINE_STORAGE_PATH')
        .default(defaultStoragePath({}), '$HOME/.docker/machine'),
    )
    .addOption(new Option('--tls-ca-cert <file>', 'CA to verify remotes against').env('MACHINE_TLS_CA_CERT'))
    .addOption(
      new Option('--tls-ca-key <file>', 'Private key to generate certificates').env('MACHINE_TLS_CA_KEY'),
    )
    .addOption(
      new Option('--tls-client-cert <file>', 'Client cert to use for TLS').env('MACHINE_TLS_CLIENT_CERT'),
    )
    .addOption(
      new Option('--tls-client-key <file>', 'Private key used in client TLS auth').env(
        'MACHINE_TLS_CLIENT_KEY',
      ),
    )
    .addOption(
      new Option(
        '--github-api-token <token>',
        'Token to use for requests to the Github API (accepted, unused)',
      )
        .env('MACHINE_GITHUB_API_TOKEN')
        .hideHelp(),
    )
    // Not .env(): commander turns a boolean flag on for any value, "false" too; see CliContext.globals.
    .addOption(
      new Option('--native-ssh', 'Use the native (Go-based) SSH implementation (or $MACHINE_NATIVE_SSH)'),
    )
    .addOption(
      new Option('--bugsnag-api-token <token>', 'Accepted for compatibility; Moor sends no crash reports')
        .env('MACHINE_BUGSNAG_API_TOKEN')
        .hideHelp(),
    )
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(incorrectUsage(message, PROGRAM_NAME)) })
    // No command: help on stdout, exit 0. An unknown command: docker-machine's message, exit 1.
    .action(() => {
      const [first] = program.args;
      if (first === undefined) {
        program.outputHelp();
        return;
      }
      throw new MoorError(
        `${PROGRAM_NAME}: '${first}' is not a ${PROGRAM_NAME} command. See '${PROGRAM_NAME} --help'.`,
      );
    });

  const word = argv ? commandWord(program, argv) : undefined;
  // `moor help url` needs url only; `moor help` and `moor` list them all.
  const wanted = word === 'help' ? argv?.[argv.indexOf('help') + 1] : word;
  for (const register of registersFor(wanted)) register(program, cli);
  // Every command shares the error handling and the usage-error wording.
  for (const command of program.commands) {
    const usage = `${PROGRAM_NAME} ${command.name()}`;
    command
      .exitOverride()
      .configureOutput({ outputError: (message, write) => write(incorrectUsage(message, usage)) });
  }
  return program;
}

/**
 * The first word after the global options (the command), or undefined when there is none (`--`
 * first, only options, or an unknown global option that commander will report).
 */
export function commandWord(program: Command, argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (!arg.startsWith('-') || arg === '-') return arg;
    const flag = arg.split('=')[0]!;
    const option = program.options.find((o) => o.short === flag || o.long === flag);
    if (!option) return undefined; // an unknown global option: commander's usage error says so
    if ((option.required || option.optional) && !arg.includes('=')) i++; // its value
  }
  return undefined;
}

/**
 * `moor bogus -u`: commander would parse `-u` as a global option and call it an unknown option;
 * the unknown command is the real mistake.
 */
export function rejectUnknownCommand(program: Command, argv: readonly string[]): void {
  const word = commandWord(program, argv);
  if (word === undefined || word === 'help') return;
  if (program.commands.some((c) => c.name() === word || c.aliases().includes(word))) return;
  throw new MoorError(
    `${PROGRAM_NAME}: '${word}' is not a ${PROGRAM_NAME} command. See '${PROGRAM_NAME} --help'.`,
  );
}

/** Runs the CLI; resolves with the exit code. */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const program = new Command();
  const cli = new CliContext(program, PROGRAM_NAME, argv);
  const started = Date.now();
  try {
    // MACHINE_DEBUG that does not parse fails every command, as in docker-machine.
    if (cli.env.MACHINE_DEBUG) parseGoBool(cli.env.MACHINE_DEBUG, 'MACHINE_DEBUG');
    buildProgram(cli, program, argv);
    rejectUnknownCommand(program, argv);
    if (argv.some((a) => a === '-h' || a === '--help' || a === 'help')) {
      await (await import('./commands/machine-actions.js')).loadHelpDrivers();
    }
    // -D is known once commander has parsed the global options, before any command runs.
    program.hook('preAction', (_program, command) => {
      if (!cli.globals.debug) return;
      setDebugSink((line) => process.stderr.write(`${line}\n`));
      debug(PROGRAM_NAME, () => `${command.name()}: storage path ${cli.globals.storagePath}`);
    });
    await program.parseAsync([...argv], { from: 'user' });
    debug(PROGRAM_NAME, () => `done in ${Date.now() - started} ms`);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    debug(PROGRAM_NAME, () => `failed in ${Date.now() - started} ms`);
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by outputError.
      return err.exitCode === 0 ? 0 : 1;
    }
    if (err instanceof MoorError) {
      if (err.message) process.stderr.write(`${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`${errorMessage(err)}\n`);
    if (debugEnabled() && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  } finally {
    setDebugSink(null);
  }
}
