import type { Command } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';
import { buildCreateCommand, findDriverFlag } from '../create-command.js';
import { incorrectUsage } from '../options.js';

/**
 * `create` parses twice, like docker-machine: this outer command takes the raw arguments, finds
 * the driver (-d/--driver or $MACHINE_DRIVER), loads it, and hands the arguments to the inner
 * command that has the driver's flags (see ../create-command.ts).
 */
export function register(program: Command, cli: CliContext): void {
  const outer = program
    .command('create')
    .summary('Create a machine')
    .description(
      `Create a machine. Run '${cli.programName} create --driver name --help' for a driver's flags.`,
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (_args: string[], _opts: unknown, command: Command) => {
      const raw = command.args;
      const { DRIVER_NAMES, loadDriver } = await import('../../drivers/registry.js');
      const wantsHelp = raw.some((a) => a === '-h' || a === '--help');
      const driverName = findDriverFlag(raw) || cli.env.MACHINE_DRIVER || defaultDriver(DRIVER_NAMES);
      if (!driverName && !wantsHelp) {
        throw new MoorError(
          `Error: no driver given. docker-machine defaulted to "virtualbox", which Moor does not have; choose one with -d/--driver (or $MACHINE_DRIVER): ${DRIVER_NAMES.join(', ')}`,
        );
      }
      const driver = driverName ? await loadDriver(driverName) : null;
      const inner = buildCreateCommand(cli.programName, driver, cli.env, async (parsed) => {
        if (!driver) return;
        const { createMachine } = await import('../../core/create.js');
        const { hostOptionsFromFlags, legacySwarmWarning, swarmJoinFromFlags } = await import(
          '../../core/create-flags.js'
        );
        const { engine, swarm, tlsSans } = hostOptionsFromFlags(parsed.sharedValues);
        const swarmJoin = swarmJoinFromFlags(parsed.sharedValues);
        if (parsed.swarmFlagsGiven.length > 0) {
          cli.errln(legacySwarmWarning(parsed.swarmFlagsGiven, parsed.name));
        }
        const g = cli.globals;
        const controller = new AbortController();
        // Ctrl-C rolls the create back (driver resources and machine directory) before exiting; a
        // second Ctrl-C exits at once. `on`, not `once`: proper-lockfile's signal-exit re-raises a
        // signal that no other listener handles, which would kill the process before the rollback.
        let signals = 0;
        const onSignal = () => {
          signals++;
          if (signals > 1) process.exit(130);
          cli.errln(`Cancelling the create of "${parsed.name}"...`);
          controller.abort();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        try {
          await createMachine({
            store: cli.store,
            name: parsed.name,
            driverName: driver.name,
            flagValues: parsed.driverValues,
            flagSources: parsed.driverSources,
            engine,
            swarm,
            swarmJoin,
            tlsSans,
            tlsPaths: {
              CaCertPath: g.tlsCaCert,
              CaPrivateKeyPath: g.tlsCaKey,
              ClientCertPath: g.tlsClientCert,
              ClientKeyPath: g.tlsClientKey,
            },
            keepOnFailure: parsed.keepOnFailure,
            progress: cli.progress(parsed.name),
            signal: controller.signal,
            env: cli.env,
          });
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        cli.println(
          `To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: ${cli.programName} env ${parsed.name}`,
        );
      });
      const usage = `${cli.programName} create`;
      inner.configureOutput({ outputError: (message, write) => write(incorrectUsage(message, usage)) });
      await inner.parseAsync(raw, { from: 'user' });
    });
  // `moor help create` shows the shared flags (a driver's are listed with `create -d NAME --help`).
  outer.helpInformation = () =>
    buildCreateCommand(cli.programName, null, cli.env, async () => {}).helpInformation();
}

/** docker-machine's default driver was virtualbox; used only if Moor has it. */
function defaultDriver(names: readonly string[]): string {
  return names.includes('virtualbox') ? 'virtualbox' : '';
}
