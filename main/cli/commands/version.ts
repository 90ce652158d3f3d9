import type { Command } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';

export function register(program: Command, cli: CliContext): void {
  program
    .command('version')
    .summary('Show the Moor version or a machine docker version')
    .description('Show the Moor version, or with a machine name the version of its Docker engine.')
    .argument('[name...]')
    .action(async (names: string[]) => {
      if (names.length === 0) {
        cli.println(program.version());
        return;
      }
      if (names.length > 1) throw new MoorError('Error: Expected one machine name as an argument');
      const host = await cli.store.load(names[0]!);
      const { engineVersion, readEngineTls } = await import('../../docker/engine.js');
      const { authPaths } = await import('../../store/paths.js');
      const { driver } = await cli.driverFor(host);
      try {
        const url = await driver.url();
        cli.println(await engineVersion(url, await readEngineTls(authPaths(host, cli.store.root)), 30_000));
      } catch (err) {
        throw new MoorError(`Unable to query docker version: ${(err as Error).message}`);
      }
    });
}
