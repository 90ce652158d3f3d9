import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `provision`: re-runs the whole provisioning (install Docker if absent, certs, engine config). */
export function register(program: Command, cli: CliContext): void {
  program
    .command('provision')
    .summary('Re-provision existing machines')
    .description(
      'Re-provision existing machines: detect the OS, install Docker if it is missing, regenerate the server ' +
        'certificate, configure and restart the engine. Safe to repeat; finishes an interrupted create.',
    )
    .argument('[names...]')
    .action(async (names: string[]) => {
      const { forEachMachine } = await import('../machine-runner.js');
      const { provisionMachine } = await import('../../provision/index.js');
      await forEachMachine(cli, names, async (host) => {
        const progress = cli.progress(host.Name);
        const { driver } = await cli.driverFor(host, progress);
        await provisionMachine({ store: cli.store, host, driver, progress });
      });
    });
}
