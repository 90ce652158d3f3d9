import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function register(program: Command, cli: CliContext): void {
  program
    .command('config')
    .summary('Print the connection config for machine')
    .description('Print the connection config for machine. Argument is a machine name.')
    .argument('[name...]')
    .option('--swarm', 'Display the Swarm config instead of the Docker daemon')
    .action(async (names: string[], options: { swarm?: boolean }) => {
      const host = await cli.loadHost(names.slice(0, 1));
      const dockerHost = await cli.checkedDockerHost(
        host,
        options.swarm,
        'Error running connection boilerplate: ',
      );
      const dir = cli.store.machineDir(host.Name);
      // Go's %q quoting of the paths.
      cli.out(
        `--tlsverify\n--tlscacert=${JSON.stringify(`${dir}/ca.pem`)}\n--tlscert=${JSON.stringify(`${dir}/cert.pem`)}\n` +
          `--tlskey=${JSON.stringify(`${dir}/key.pem`)}\n-H=${dockerHost}\n`,
      );
    });
}
