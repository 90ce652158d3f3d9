import { type Command, Option } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';

/**
 * `moor swarm init|join|ls|leave`: Swarm mode across machines (docker-machine's --swarm flags only
 * knew the retired standalone Swarm). The manager's context (`moor use MANAGER`) is the cluster's.
 */
export function register(program: Command, cli: CliContext): void {
  const swarm = program
    .command('swarm')
    .summary('Manage a Docker Swarm mode cluster of machines')
    .description(
      'Manage a Docker Swarm mode cluster made of machines. "moor use MANAGER" then points docker (and docker stack deploy) at the cluster.',
    );
  const context = () => ({ store: cli.store, env: cli.env });

  swarm
    .command('init')
    .description('Make a machine the first manager of a new swarm')
    .argument('<manager>')
    .option('--advertise-addr <addr|interface>', 'Address other nodes reach this one on (default: detected)')
    .action(async (manager: string, options: { advertiseAddr?: string }) => {
      const { initSwarm } = await import('../../core/swarm/index.js');
      const addr = await initSwarm({ ...context(), progress: cli.progress(manager) }, manager, options);
      cli.println(`Swarm initialized on "${manager}", advertised at ${addr.address} (${addr.source}).`);
      cli.println(`Add nodes: ${cli.programName} swarm join --manager ${manager} NODE...`);
      cli.println(`Point docker at the cluster: ${cli.programName} use ${manager}`);
    });

  swarm
    .command('join')
    .description('Join machines to the swarm of a manager')
    .argument('<nodes...>')
    .requiredOption('--manager <manager>', 'A manager of the swarm to join')
    .addOption(
      new Option('--role <role>', 'Role of the new nodes').choices(['worker', 'manager']).default('worker'),
    )
    .option(
      '--advertise-addr <addr|interface>',
      'Address the node is reached on by the others (one node only)',
    )
    .action(
      async (
        nodes: string[],
        options: { manager: string; role: 'worker' | 'manager'; advertiseAddr?: string },
      ) => {
        if (options.advertiseAddr && nodes.length > 1) {
          throw new MoorError("Error: --advertise-addr names one node's address: join one node at a time");
        }
        const { joinSwarm } = await import('../../core/swarm/index.js');
        await joinSwarm(
          { ...context(), progress: cli.progress(options.manager) },
          options.manager,
          nodes,
          options,
        );
      },
    );

  swarm
    .command('ls')
    .description('List the nodes of the swarm(s) the machines form')
    .argument('[manager]')
    .option('-q, --quiet', 'Print only the machine names (hostnames for nodes Moor does not manage)')
    .action(async (manager: string | undefined, options: { quiet?: boolean }) => {
      const { listSwarms } = await import('../../core/swarm/index.js');
      const { swarmTable } = await import('../swarm-format.js');
      const clusters = await listSwarms(context(), manager);
      if (options.quiet) {
        for (const c of clusters) for (const n of c.nodes) cli.println(n.machine || n.hostname);
        return;
      }
      if (clusters.length === 0) {
        cli.errln(`No swarm among the machines. Start one with: ${cli.programName} swarm init MANAGER`);
        return;
      }
      cli.out(swarmTable(clusters));
    });

  swarm
    .command('leave')
    .description('Drain a node, demote it if it is a manager, and make it leave its swarm')
    .argument('<node>')
    .option('-f, --force', 'Let the last manager leave too (this ends the swarm for every node)')
    .action(async (node: string, options: { force?: boolean }) => {
      const { leaveSwarm } = await import('../../core/swarm/index.js');
      await leaveSwarm({ ...context(), progress: cli.progress(node) }, node, options);
    });
}
