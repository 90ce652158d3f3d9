import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function register(program: Command, cli: CliContext): void {
  program
    .command('status')
    .summary('Get the status of a machine')
    .description('Get the status of a machine. Argument is a machine name.')
    .argument('[name...]')
    .action(async (names: string[]) => {
      const host = await cli.loadHost(names);
      const { hostState } = await import('../../core/list.js');
      cli.println(await hostState(cli.store, host, { env: cli.env }));
    });
}
