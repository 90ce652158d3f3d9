import type { SwarmCluster } from '../core/swarm/index.js';
import { tabwrite } from './tabwriter.js';

/** `moor swarm ls`: one table per cluster, headed by the manager it was listed through. */
export function swarmTable(clusters: SwarmCluster[]): string {
  return clusters
    .map((cluster) => {
      const header = `Swarm ${cluster.clusterId.slice(0, 12)} (manager context: ${cluster.manager})\n`;
      const rows = [
        'MACHINE\tROLE\tSTATUS\tAVAILABILITY\tMANAGER STATUS\tENGINE\tADDRESS\n',
        ...cluster.nodes.map(
          (n) =>
            `${n.machine || `(${n.hostname})`}\t${n.role}\t${n.status}\t${n.availability}\t${n.managerStatus}\t${n.engineVersion}\t${n.address}\n`,
        ),
      ];
      return header + tabwrite(rows.join(''));
    })
    .join('\n');
}
