import type { Command } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';
import { DEFAULT_TIMEOUT_SECONDS, timeoutOption } from '../options.js';

export function register(program: Command, cli: CliContext): void {
  program
    .command('active')
    .summary('Print which machine is active')
    .description(
      'Print which machine is active: the running machine $DOCKER_HOST points at, else the one the Docker context selects (moor use).',
    )
    .argument('[args...]')
    .addOption(timeoutOption())
    .action(async (args: string[], options: { timeout?: number }) => {
      if (args.length > 0) throw new MoorError('Error: Too many arguments given');
      const timeoutMs = (options.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
      if (!cli.env.DOCKER_HOST) {
        // No DOCKER_HOST: the machine the Docker context selects (moor use), as docker itself would.
        const { activeMachineFromContext } = await import('../../docker/contexts/resolve.js');
        const fromContext = await activeMachineFromContext(cli.store.root, cli.env);
        if (fromContext) return cli.println(await runningMachine(cli, fromContext, timeoutMs));
      }
      const { findActiveMachine } = await import('../../core/list.js');
      cli.println(await findActiveMachine({ store: cli.store, timeoutMs, env: cli.env }));
    });
}

/**
 * docker-machine's active reports a host only while its state is Running, and a host whose state
 * query timed out as a timeout; the same rule for the machine the context selects.
 */
async function runningMachine(cli: CliContext, name: string, timeoutMs: number): Promise<string> {
  const { queryHost } = await import('../../core/list.js');
  const host = await cli.store.load(name).catch(() => undefined); // a broken machine is not active
  const state = host ? (await queryHost(cli.store, host, timeoutMs, cli.env)).State : '';
  if (state === 'Running') return name;
  if (state === 'Timeout') throw new MoorError('Error getting active host: timeout');
  throw new MoorError('No active host found');
}
