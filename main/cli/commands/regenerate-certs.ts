import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/**
 * `regenerate-certs`: a new server certificate pushed to the engine, which is restarted; with
 * --client-certs the machine also gets a new CA and client certificate of its own, so the old
 * client certificate stops working there. No package installs (docker-machine re-provisioned).
 */
export function register(program: Command, cli: CliContext): void {
  program
    .command('regenerate-certs')
    .summary('Regenerate TLS Certificates for a machine')
    .description(
      'Regenerate TLS Certificates for a machine: a new server certificate, pushed to the engine, which is ' +
        'restarted. With --client-certs the machine also gets its own new CA and client certificate ' +
        '(in machines/NAME/certs/): the old client certificate is refused by it from then on.',
    )
    .argument('[names...]')
    .option('-f, --force', 'Force rebuild and do not prompt')
    .option('--client-certs', 'Also regenerate client certificates and CA.')
    .action(async (names: string[], options: { force?: boolean; clientCerts?: boolean }) => {
      if (
        !options.force &&
        !(await cli.confirm('Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): '))
      ) {
        return;
      }
      const { forEachMachine } = await import('../machine-runner.js');
      const { regenerateCerts } = await import('../../provision/index.js');
      await forEachMachine(cli, names, async (host) => {
        const progress = cli.progress(host.Name);
        progress.step('regenerate', 'Regenerating TLS certificates');
        const { driver } = await cli.driverFor(host, progress);
        await regenerateCerts({ store: cli.store, host, driver, progress, clientCerts: options.clientCerts });
      });
    });
}
