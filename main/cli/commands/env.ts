import type { Command } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';
import { detectShell, envText, NO_SHELL_NOTE, noProxyFor } from '../env-text.js';

interface EnvOptions {
  swarm?: boolean;
  shell?: string;
  unset?: boolean;
  /** commander turns `--no-proxy` into proxy=false. */
  proxy?: boolean;
}

export function register(program: Command, cli: CliContext): void {
  program
    .command('env')
    .summary('Display the commands to set up the environment for the Docker client')
    .description(
      'Display the commands to set up the environment for the Docker client. Argument is a machine name.',
    )
    .argument('[name...]')
    .option('--swarm', 'Display the Swarm config instead of the Docker daemon')
    .option(
      '--shell <shell>',
      'Force environment to be configured for a specified shell: [fish, cmd, powershell, tcsh, emacs], default is auto-detect',
    )
    .option('-u, --unset', 'Unset variables instead of setting them')
    .option('--no-proxy', 'Add machine IP to NO_PROXY environment variable')
    .action(async (names: string[], options: EnvOptions) => {
      // Only the eval-able text goes to stdout; everything else to stderr (as docker-machine does).
      const shell = () => {
        const detected = detectShell(options.shell, cli.env);
        if (detected !== null) return detected;
        cli.errln(NO_SHELL_NOTE);
        return 'sh';
      };
      const commandLine = [cli.programName, ...cli.args];
      if (options.unset) {
        if (names.length > 0)
          throw new MoorError('Error: Expected no machine name when the -u flag is present');
        const noProxy = options.proxy === false ? noProxyFor(cli.env, null) : undefined;
        cli.out(envText({ shell: shell(), values: null, noProxy, commandLine }));
        return;
      }
      if (names.length > 1) throw new MoorError('Error: Expected one machine name as an argument');
      const host = await cli.loadHost(names);
      const dockerHost = await cli.checkedDockerHost(host, options.swarm, 'Error checking TLS connection: ');
      const userShell = shell();
      let noProxy: { name: string; value: string } | undefined;
      if (options.proxy === false) {
        const { driver } = await cli.driverFor(host);
        let ip: string;
        try {
          ip = await driver.ip();
        } catch (err) {
          throw new MoorError(`Error getting host IP: ${(err as Error).message}`);
        }
        noProxy = noProxyFor(cli.env, ip);
      }
      cli.out(
        envText({
          shell: userShell,
          values: {
            dockerHost,
            certPath: cli.store.machineDir(host.Name),
            machineName: host.Name,
          },
          noProxy,
          composeWindowsPaths: process.platform === 'win32',
          commandLine,
        }),
      );
    });
}
