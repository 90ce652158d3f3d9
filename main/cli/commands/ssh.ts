import type { Command } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';

export function register(program: Command, cli: CliContext): void {
  program
    .command('ssh')
    .summary('Log into or run a command on a machine with SSH.')
    .description(
      'Log into or run a command on a machine with SSH: `moor ssh NAME` opens a shell, `moor ssh NAME -- CMD...` ' +
        'runs one command and exits with its status. Uses the system `ssh` (your ~/.ssh/config and agent apply) ' +
        "with the machine's key, port and pinned host key; the built-in client when `ssh` is missing or with " +
        '--native-ssh / MACHINE_NATIVE_SSH.',
    )
    .usage('[--native-ssh] [NAME] [SSH-OPTIONS] [-- COMMAND [ARG...]]')
    .option('--native-ssh', 'Use the built-in SSH client instead of the system ssh')
    .argument('[name]', 'machine name ("default" when omitted)')
    .argument(
      '[args...]',
      'command to run instead of a shell; leading options go to the system ssh (e.g. -L)',
    )
    .passThroughOptions()
    .allowUnknownOption()
    .action(async (name: string | undefined, command: string[], options: { nativeSsh?: boolean }) => {
      const host = await cli.loadHost(name === '--' ? undefined : name);
      const { driver } = await cli.driverFor(host);
      const state = await driver.state();
      if (state !== 'Running') {
        throw new MoorError(`Error: Cannot run SSH command: Host "${host.Name}" is not running`);
      }
      const target = await driver.sshTarget();
      if (!target) {
        throw new MoorError(
          `Error: Cannot run SSH command: machine "${host.Name}" (driver ${host.DriverName}) has no SSH access`,
        );
      }
      const { runSsh } = await import('../ssh-run.js');
      const native = Boolean(options.nativeSsh) || cli.globals.nativeSsh;
      process.exitCode = await runSsh(target, command, { machine: host.Name, native, env: cli.env });
    });
}
