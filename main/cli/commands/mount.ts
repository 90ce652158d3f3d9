import type { Command } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';

export function register(program: Command, cli: CliContext): void {
  const command = program
    .command('mount')
    .summary('Mount or unmount a directory from a machine with SSHFS.')
    .description(
      'Mount or unmount a directory from a machine with SSHFS: `moor mount NAME:PATH [LOCAL]` mounts PATH ' +
        "(relative to the login user's home) at the local directory LOCAL, by default the path as typed; " +
        '`moor mount -u NAME:PATH [LOCAL]` unmounts it. Arguments are [USER@][NAME:][PATH] [LOCAL] ("default" ' +
        "machine without NAME:). Runs sshfs with the machine's key, port and pinned host key; needs sshfs and FUSE " +
        'here (fusermount to unmount).',
    )
    .usage('[-u] [USER@][NAME:][PATH] [LOCAL]')
    .option('-u, --unmount', 'Unmount instead of mount')
    .argument('[args...]')
    .action(async (args: string[], options: { unmount?: boolean }) => {
      if (args.length < 1 || args.length > 2) {
        command.outputHelp({ error: true });
        throw new MoorError('Improper number of arguments');
      }
      const sshfs = await import('../sshfs.js');
      const source = sshfs.parseMountSource(args[0]!);
      const mountPoint = sshfs.mountPointFor(source, args[1]);
      // As docker-machine: the machine must exist for an unmount too.
      const host = await cli.store.load(source.machine);
      if (options.unmount) {
        process.exitCode = await sshfs.unmountSshfs(mountPoint, cli.env);
        return;
      }
      const { driver } = await cli.driverFor(host);
      if ((await driver.state()) !== 'Running') {
        throw new MoorError(`Error: Cannot mount: Host "${host.Name}" is not running`);
      }
      const target = await driver.sshTarget();
      if (!target) {
        throw new MoorError(
          `Error: Cannot mount: machine "${host.Name}" (driver ${host.DriverName}) has no SSH access`,
        );
      }
      process.exitCode = await sshfs.mountWithSshfs(
        { ...target, machineName: target.machineName ?? host.Name },
        source,
        mountPoint,
        cli.env,
      );
    });
}
