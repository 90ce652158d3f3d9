import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function register(program: Command, cli: CliContext): void {
  program
    .command('ip')
    .summary('Get the IP address of a machine')
    .description('Get the IP address of a machine. Argument(s) are one or more machine names.')
    .argument('[names...]')
    .action(async (names: string[]) => {
      const { forEachMachine } = await import('../machine-runner.js');
      // Looked up in parallel, printed in argument order (docker-machine printed in completion order).
      const ips: string[] = [];
      await forEachMachine(
        cli,
        names,
        async (host, index) => {
          const { driver } = await cli.driverFor(host);
          try {
            ips[index] = await driver.ip();
          } catch (err) {
            throw new Error(`Error getting IP address: ${(err as Error).message}`);
          }
        },
        () => {
          for (const ip of ips) if (ip !== undefined) cli.println(ip);
        },
      );
    });
}
