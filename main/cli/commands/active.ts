import type { Command } from 'commander';
import { MoorError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { DEFAULT_TIMEOUT_SECONDS, timeoutOption } from '../options.js';

export function register(program: Command, cli: CliContext): void {
  program
    .command('active')
    .summary('Print which machine is active')
    .description(
      'Print which machine is active: the one $DOCKER_HOST points at, else the one the Docker context selects (moor use).',
    )
    .argument('[args...]')
    .addOption(timeoutOption())
    .action(async (args: string[], options: { timeout?: number }) => {
      if (args.length > 0) throw new MoorError('Error: Too many arguments given');
      if (!cli.env.DOCKER_HOST) {
        // No DOCKER_HOST: the machine the Docker context selects (moor use), as docker itself would.
        const { activeMachineFromContext } = await import('../../docker/contexts/resolve.js');
        const fromContext = await activeMachineFromContext(cli.store.root, cli.env);
        if (fromContext) return cli.println(fromContext);
      }
      const { findActiveMachine } = await import('../../core/machines.js');
      cli.println(
        await findActiveMachine({
          store: cli.store,
          timeoutMs: (options.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
          env: cli.env,
        }),
      );
    });
}
