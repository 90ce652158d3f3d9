import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function register(program: Command, cli: CliContext): void {
  program
    .command('url')
    .summary('Get the URL of a machine')
    .description('Get the URL of a machine. Argument is a machine name.')
    .argument('[name...]')
    .action(async (names: string[]) => {
      const host = await cli.loadHost(names);
      const { driver } = await cli.driverFor(host);
      cli.println(await driver.url());
    });
}
