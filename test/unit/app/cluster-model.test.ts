import { describe, expect, it } from 'vitest';
import type { SwarmClusterInfo, SwarmNodeInfo } from '../../../main/api/contract.js';
import {
  clusterTitle,
  type HostRow,
  hostRows,
  nodeBadges,
  nodeOfMachine,
} from '../../../renderer/src/cluster-model.js';
import { hostActions, menuActions } from '../../../renderer/src/host-actions.js';
import { machine } from './fixtures.js';

const node = (m: string, role: 'manager' | 'worker', patch: Partial<SwarmNodeInfo> = {}): SwarmNodeInfo => ({
  machine: m,
  hostname: m || 'stranger',
  nodeId: `id-${m || 'stranger'}`,
  role,
  status: 'ready',
  availability: 'active',
  managerStatus: role === 'manager' ? 'Leader' : '',
  engineVersion: '20.10.24',
  address: '10.213.77.2',
  ...patch,
});

const cluster: SwarmClusterInfo = {
  clusterId: 'c0ffee0123456789abcdef',
  manager: 'mgr',
  nodes: [node('mgr', 'manager'), node('', 'worker'), node('w1', 'worker'), node('w2', 'worker')],
};

const shape = (rows: HostRow[]) =>
  rows.map((r) =>
    r.kind === 'cluster'
      ? `[${r.cluster.manager}]`
      : r.kind === 'foreign'
        ? `  (${r.node.hostname})`
        : `${r.depth ? '  ' : ''}${r.machine.name}${r.node ? ` ${r.node.role}` : ''}`,
  );

describe('hostRows', () => {
  const machines = ['alpha', 'mgr', 'w1', 'w2', 'zeta'].map((n) => machine(n));

  it('groups swarm nodes under a heading, managers first and workers indented, then the rest in order', () => {
    expect(shape(hostRows(machines, [cluster]))).toEqual([
      '[mgr]',
      'mgr manager',
      '  (stranger)',
      '  w1 worker',
      '  w2 worker',
      'alpha',
      'zeta',
    ]);
  });

  it('without clusters is the list as it is', () => {
    expect(shape(hostRows(machines, []))).toEqual(['alpha', 'mgr', 'w1', 'w2', 'zeta']);
  });

  it('a filter that leaves some of the nodes keeps their cluster, and drops a cluster with none', () => {
    const shown = machines.filter((m) => m.name === 'w2' || m.name === 'alpha');
    expect(shape(hostRows(shown, [cluster]))).toEqual(['[mgr]', '  (stranger)', '  w2 worker', 'alpha']);
    expect(shape(hostRows([machine('alpha')], [cluster]))).toEqual(['alpha']);
  });

  it('a machine listed by two clusters (a stale node entry) appears once', () => {
    const other = { ...cluster, clusterId: 'other', manager: 'w1', nodes: [node('w1', 'manager')] };
    expect(shape(hostRows(machines, [cluster, other])).filter((r) => r.includes('w1'))).toEqual([
      '  w1 worker',
    ]);
  });
});

describe('node badges and actions', () => {
  it('says the role, the manager status, and the status and availability (flagged when not ready/active)', () => {
    expect(nodeBadges(node('mgr', 'manager'))).toEqual({
      role: 'manager',
      status: 'Leader · ready · active',
      attention: false,
    });
    expect(nodeBadges(node('m2', 'manager', { managerStatus: 'Unreachable' })).attention).toBe(true);
    expect(nodeBadges(node('w1', 'worker', { status: 'down', availability: 'drain' }))).toEqual({
      role: 'worker',
      status: 'down · drain',
      attention: true,
    });
    expect(clusterTitle(cluster)).toBe('Swarm c0ffee012345 · 4 nodes · managed through mgr');
    expect(nodeOfMachine([cluster], 'w2')?.role).toBe('worker');
    expect(nodeOfMachine([cluster], 'alpha')).toBeNull();
  });

  it('a node’s menu offers Leave swarm… (enabled while running and idle); other hosts do not', () => {
    const w1 = machine('w1');
    expect(menuActions(w1, node('w1', 'worker')).find((i) => i.action === 'leave-swarm')).toEqual({
      action: 'leave-swarm',
      label: 'Leave swarm…',
      enabled: true,
    });
    expect(hostActions(machine('w1', { busy: 'stopping' }), node('w1', 'worker')).at(-2)).toMatchObject({
      action: 'leave-swarm',
      enabled: false,
    });
    expect(hostActions(w1).some((i) => i.action === 'leave-swarm')).toBe(false);
  });
});
