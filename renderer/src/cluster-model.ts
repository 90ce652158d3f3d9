/**
 * The host list's rows with swarms grouped (pure, unit-tested): each cluster under a heading
 * naming its manager, its managers first and its workers indented beneath, with each node's role,
 * status and availability; then every machine in no swarm, in list order. Nodes Moor does not
 * manage are listed (by hostname) without actions. Clusters come from main (listClusters).
 */
import type { MachineSummary, SwarmClusterInfo, SwarmNodeInfo } from '../../main/api/contract.js';

export type HostRow =
  | { kind: 'cluster'; cluster: SwarmClusterInfo; shown: number }
  /** A machine; `node` when it is in a swarm (depth 1: a worker under its managers). */
  | { kind: 'machine'; machine: MachineSummary; node: SwarmNodeInfo | null; depth: 0 | 1 }
  /** A node of a cluster that is no Moor machine. */
  | { kind: 'foreign'; node: SwarmNodeInfo; clusterId: string };

/**
 * @param machines the list as shown (already filtered: a cluster shows while any of its machines does)
 * @param clusters every swarm among the machines (listClusters)
 */
export function hostRows(
  machines: readonly MachineSummary[],
  clusters: readonly SwarmClusterInfo[],
): HostRow[] {
  const byName = new Map(machines.map((m) => [m.name, m]));
  const placed = new Set<string>();
  const rows: HostRow[] = [];
  for (const cluster of clusters) {
    const members = cluster.nodes.filter((n) => n.machine && byName.has(n.machine) && !placed.has(n.machine));
    if (members.length === 0) continue;
    const group: HostRow[] = [];
    for (const node of cluster.nodes) {
      if (!node.machine) {
        group.push({ kind: 'foreign', node, clusterId: cluster.clusterId });
        continue;
      }
      const machine = byName.get(node.machine);
      if (!machine || placed.has(node.machine)) continue;
      placed.add(node.machine);
      group.push({ kind: 'machine', machine, node, depth: node.role === 'manager' ? 0 : 1 });
    }
    rows.push({ kind: 'cluster', cluster, shown: members.length }, ...group);
  }
  for (const m of machines) {
    if (!placed.has(m.name)) rows.push({ kind: 'machine', machine: m, node: null, depth: 0 });
  }
  return rows;
}

/** Each machine's node, by machine name (for Details and the row menu). */
export function nodeOfMachine(clusters: readonly SwarmClusterInfo[], name: string): SwarmNodeInfo | null {
  for (const c of clusters) {
    const node = c.nodes.find((n) => n.machine === name);
    if (node) return node;
  }
  return null;
}

/** The heading of a cluster: "Swarm 3f2a9c1e0b7d · 3 nodes · managed through mgr". */
export function clusterTitle(cluster: SwarmClusterInfo): string {
  const n = cluster.nodes.length;
  return `Swarm ${cluster.clusterId.slice(0, 12)} · ${n} node${n === 1 ? '' : 's'} · managed through ${cluster.manager}`;
}

/**
 * The role badge ("manager", "worker") and the status line: the manager status (Leader,
 * Reachable), the node's status and its availability, flagged when not simply ready and active.
 */
export function nodeBadges(node: SwarmNodeInfo): { role: string; status: string; attention: boolean } {
  const parts = [node.managerStatus, node.status || 'unknown', node.availability || 'unknown'].filter(
    Boolean,
  );
  const attention =
    node.status !== 'ready' || node.availability !== 'active' || node.managerStatus === 'Unreachable';
  return { role: node.role, status: parts.join(' · '), attention };
}
