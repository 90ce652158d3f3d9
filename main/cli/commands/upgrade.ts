import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `upgrade`: upgrades the installed engine package (docker-ce, docker.io, ...) and restarts it. */
export function register(program: Command, cli: CliContext): void {
  program
    .command('upgrade')
    .summary('Upgrade a machine to the latest version of Docker')
    .description(
      "Upgrade a machine to the latest version of Docker its package source offers (the distribution's " +
        "package or Docker's repository, whichever installed it), then restart the engine.",
    )
    .argument('[names...]')
    .action(async (names: string[]) => {
      const { forEachMachine } = await import('../machine-runner.js');
      const { upgradeEngine } = await import('../../provision/index.js');
      await forEachMachine(cli, names, async (host) => {
        const progress = cli.progress(host.Name);
        const { driver } = await cli.driverFor(host, progress);
        if ((await driver.state().catch(() => 'Error')) !== 'Running') {
          progress.step('start', `Starting "${host.Name}"...`);
          await driver.start();
        }
        progress.step('upgrade', 'Upgrading docker...');
        await upgradeEngine({ store: cli.store, host, driver, progress });
      });
    });
}
