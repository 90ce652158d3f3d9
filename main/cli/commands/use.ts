import { type Command, Option } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';

/**
 * `moor use NAME` / `moor use --default`: switches the active Docker host for every terminal at
 * once through the docker CLI's current context (what `docker context use` does), creating or
 * refreshing the machine's context first.
 */
export function register(program: Command, cli: CliContext): void {
  program
    .command('use')
    .description('Make a machine the active Docker host for every terminal (through Docker contexts)')
    .usage('[OPTIONS] [arg...]')
    .argument('[name]', 'machine to make active (a machine named "default" wins over --default)')
    .addOption(
      new Option('--default', 'Switch back to the default context (DOCKER_HOST or the local engine)'),
    )
    .action(async (name: string | undefined, options: { default?: boolean }) => {
      if (name !== undefined && options.default) {
        throw new MoorError('Error: Expected either a machine name or --default, not both');
      }
      if (name === undefined && !options.default) {
        throw new MoorError('Error: Expected one machine name as an argument (or --default)');
      }
      const { contextOverrides, overrideWarning, switchActiveHost } = await import(
        '../../docker/contexts/index.js'
      );
      const result = await switchActiveHost(cli.store, options.default ? null : (name ?? null), {
        env: cli.env,
      });
      if (result.notice) cli.errln(result.notice);
      if (result.machine === null) {
        cli.println('Active host is now the default Docker context');
      } else if (result.context === result.machine) {
        cli.println(`Active host is now "${result.machine}"`);
      } else {
        cli.println(`Active host is now "${result.machine}" (Docker context "${result.context}")`);
      }
      for (const variable of contextOverrides(cli.env)) {
        cli.errln(overrideWarning(variable, result.context, cli.programName));
      }
    });
}
