/**
 * The inner `create` command of docker-machine's two-pass parsing: once the driver is known, its
 * flags (declared as data in the driver's folder) join the shared flags, sorted by name, and the
 * create arguments are parsed again. Flag values come from the command line, then the flag's
 * environment variable, then its default — as codegangsta/cli did.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { MoorError } from '../base/errors.js';
import { flagValueFromEnv, isLegacySwarmFlag, SHARED_CREATE_FLAGS } from '../core/create-flags.js';
import type { DriverModule, FlagSpec, FlagValue, FlagValues } from '../drivers/types.js';

/** docker-machine's flagHackLookup: -d x, --driver x, -d=x, --driver=x anywhere in the arguments. */
export function findDriverFlag(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (arg === '-d' || arg === '--driver') return args[i + 1] ?? '';
    const m = /^(?:-d|--driver)=(.*)$/.exec(arg);
    if (m) return m[1]!;
  }
  return '';
}

const DRIVER_FLAG: FlagSpec = {
  name: 'driver',
  type: 'string',
  help: 'Driver to create machine with.',
  envVar: 'MACHINE_DRIVER',
};

export interface ParsedCreate {
  name: string;
  driverValues: FlagValues;
  sharedValues: FlagValues;
  /** Driver flags whose value came from their environment variable: name → `$VAR`. */
  driverSources: Record<string, string>;
  /** The `--swarm*` flags given on the command line (legacy Swarm: stored, not acted on). */
  swarmFlagsGiven: string[];
  keepOnFailure: boolean;
}

/**
 * Builds the commander command for `create` with `driver`'s flags (or only the shared ones when
 * the driver is unknown, for help). `onParsed` receives the validated values.
 */
export function buildCreateCommand(
  programName: string,
  driver: DriverModule | null,
  env: NodeJS.ProcessEnv,
  onParsed: (parsed: ParsedCreate) => Promise<void>,
): Command {
  const command = new Command(`${programName} create`)
    .usage('[OPTIONS] [arg...]')
    .description(
      driver
        ? `Create a machine with the ${driver.name} driver: ${driver.description}`
        : `Create a machine. Run '${programName} create --driver name --help' to include the create flags for that driver in the help text.`,
    )
    .argument('[name...]')
    .helpOption('-h, --help', 'Show help')
    .exitOverride();

  const specs = [DRIVER_FLAG, ...SHARED_CREATE_FLAGS, ...(driver?.flags ?? [])].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const attribute = new Map<string, string>();
  for (const spec of specs) {
    const option = optionFor(spec);
    attribute.set(spec.name, option.attributeName());
    command.addOption(option);
  }
  command.addOption(
    new Option(
      '--keep-on-failure',
      'Keep the machine (directory and driver resources) when create fails, for debugging',
    ),
  );

  command.action(async (names: string[], opts: Record<string, FlagValue | undefined>) => {
    if (names.length > 1) {
      throw new MoorError(`Invalid command line. Found extra arguments [${names.slice(1).join(' ')}]`);
    }
    if (names.length === 0) {
      command.outputHelp();
      throw new MoorError('Error: No machine name specified');
    }
    const flagValue = (spec: FlagSpec) => resolveValue(spec, opts[attribute.get(spec.name)!], env);
    const driverValues: FlagValues = {};
    const driverSources: Record<string, string> = {};
    for (const spec of driver?.flags ?? []) {
      driverValues[spec.name] = flagValue(spec);
      const given = opts[attribute.get(spec.name)!] !== undefined;
      if (!given && spec.envVar && flagValueFromEnv(spec, env) !== undefined) {
        driverSources[spec.name] = `$${spec.envVar}`;
      }
    }
    const sharedValues: FlagValues = {};
    for (const spec of SHARED_CREATE_FLAGS) sharedValues[spec.name] = flagValue(spec);
    const swarmFlagsGiven = SHARED_CREATE_FLAGS.filter(
      (spec) => isLegacySwarmFlag(spec.name) && opts[attribute.get(spec.name)!] !== undefined,
    ).map((spec) => spec.name);
    await onParsed({
      name: names[0]!,
      driverValues,
      driverSources,
      sharedValues,
      swarmFlagsGiven,
      keepOnFailure: opts.keepOnFailure === true,
    });
  });
  return command;
}

function optionFor(spec: FlagSpec): Option {
  const flags = spec.name === 'driver' ? '-d, --driver <driver>' : `--${spec.name}`;
  // Defaults are applied in resolveValue (after the environment), so they are shown in the text.
  const shownDefault =
    spec.default !== undefined && spec.default !== '' && spec.type !== 'bool' && !Array.isArray(spec.default)
      ? ` (default: ${JSON.stringify(spec.default)})`
      : '';
  const envNote = `${shownDefault}${spec.envVar ? ` [$${spec.envVar}]` : ''}`;
  switch (spec.type) {
    case 'bool':
      return new Option(flags, `${spec.help}${envNote}`);
    case 'int':
      return new Option(`${flags} <n>`, `${spec.help}${envNote}`).argParser((v: string) =>
        parseGoInt(v, spec.name),
      );
    case 'string[]':
      return new Option(`${flags} <value>`, `${spec.help}${envNote}`).argParser(
        (v: string, previous: string[] | undefined) => [...(previous ?? []), v],
      );
    default:
      return new Option(spec.name === 'driver' ? flags : `${flags} <value>`, `${spec.help}${envNote}`);
  }
}

function parseGoInt(value: string, name: string): number {
  if (!/^[-+]?\d+$/.test(value.trim())) {
    throw new InvalidArgumentError(`invalid value "${value}" for flag -${name}: parse error`);
  }
  return Number.parseInt(value, 10);
}

/** Command line, else the environment variable (parsed for the flag's type), else the default. */
export function resolveValue(
  spec: FlagSpec,
  given: FlagValue | undefined,
  env: NodeJS.ProcessEnv,
): FlagValue {
  if (given !== undefined) return given;
  const fromEnv = flagValueFromEnv(spec, env);
  if (fromEnv !== undefined) return fromEnv;
  if (spec.default !== undefined) return Array.isArray(spec.default) ? [...spec.default] : spec.default;
  return spec.type === 'bool' ? false : spec.type === 'string[]' ? [] : spec.type === 'int' ? 0 : '';
}
