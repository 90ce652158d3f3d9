import type { Command } from 'commander';
import type { MachineAction } from '../../core/actions.js';
import { powerActionHelp } from '../../drivers/capabilities.js';
import type { DriverModule } from '../../drivers/types.js';
import type { CliContext } from '../context.js';

/**
 * The driver modules, loaded only when help is asked for (runCli awaits loadHelpDrivers first):
 * every other command keeps its start-up free of driver code.
 */
let helpDrivers: readonly DriverModule[] = [];

export async function loadHelpDrivers(): Promise<void> {
  const { DRIVER_NAMES, loadDriver } = await import('../../drivers/registry.js');
  helpDrivers = await Promise.all(DRIVER_NAMES.map((n) => loadDriver(n)));
}

const ACTIONS: { name: MachineAction; summary: string; after?: string }[] = [
  {
    name: 'start',
    summary: 'Start a machine',
    after: 'Started machines may have new IP addresses. You may need to re-run the `PROGRAM env` command.',
  },
  { name: 'stop', summary: 'Stop a machine' },
  {
    name: 'restart',
    summary: 'Restart a machine',
    after: 'Restarted machines may have new IP addresses. You may need to re-run the `PROGRAM env` command.',
  },
  { name: 'kill', summary: 'Kill a machine' },
  {
    name: 'hibernate',
    summary: 'Hibernate a cloud machine (snapshot it, destroy its server, keep its record)',
    after:
      'Hibernated machines keep their name, keys and certificates; only the snapshot is billed. `PROGRAM wake` (or `start`) brings them back.',
  },
  {
    name: 'wake',
    summary: 'Wake a hibernated machine (a new server from its snapshot)',
    after: 'Woken machines have new IP addresses. You may need to re-run the `PROGRAM env` command.',
  },
];

/** start, stop, restart, kill, hibernate and wake: one behaviour each in the driver, the same runner here. */
export function register(program: Command, cli: CliContext): void {
  for (const { name, summary, after } of ACTIONS) {
    program
      .command(name)
      .summary(summary)
      .description(`${summary}. Argument(s) are one or more machine names.`)
      .argument('[names...]')
      // Which drivers can do it, from their declared capabilities (generic cannot stop, ...).
      .addHelpText('after', () => (helpDrivers.length ? `\n${powerActionHelp(name, helpDrivers)}` : ''))
      .action(async (names: string[]) => {
        const { forEachMachine } = await import('../machine-runner.js');
        const { runMachineAction } = await import('../../core/actions.js');
        await forEachMachine(cli, names, (host) =>
          runMachineAction(host.Name, name, {
            store: cli.store,
            progress: cli.progress(host.Name),
            env: cli.env,
          }),
        );
        if (after) cli.println(after.replace('PROGRAM', cli.programName));
      });
  }
}
