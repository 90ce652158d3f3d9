import { describe, expect, it } from 'vitest';
import { swarmTable } from '../../main/cli/swarm-format.js';
import { defaultRouteAddress } from '../../main/core/swarm/address.js';
import { clusterRows, managesSwarmOf } from '../../main/core/swarm/index.js';
import type { SwarmInfo, SwarmNode } from '../../main/docker/swarm.js';

describe('defaultRouteAddress (what a node advertises without --advertise-addr)', () => {
  it("takes the default route's interface address", () => {
    const probe = [
      'default via 172.18.0.1 dev eth0',
      '---',
      '1: lo    inet 127.0.0.1/8 scope host lo',
      '5: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0',
      '7: eth0    inet 172.18.0.5/16 brd 172.18.255.255 scope global eth0\\       valid_lft forever',
    ].join('\n');
    expect(defaultRouteAddress(probe)).toBe('172.18.0.5');
  });

  it('prefers a route that names its source address', () => {
    const probe =
      'default via 10.0.0.1 dev ens3 proto dhcp src 10.0.0.9 metric 100\n---\n2: ens3 inet 10.0.0.8/24 scope global ens3';
    expect(defaultRouteAddress(probe)).toBe('10.0.0.9');
  });

  it('has no answer without a default route or without an address on its interface', () => {
    expect(defaultRouteAddress('---\n2: eth0    inet 10.1.1.1/24 scope global eth0')).toBeUndefined();
    expect(
      defaultRouteAddress(
        'default via 10.0.0.1 dev eth1\n---\n2: eth0    inet 10.1.1.1/24 scope global eth0',
      ),
    ).toBeUndefined();
    expect(defaultRouteAddress('')).toBeUndefined();
  });
});

const info = (over: Partial<SwarmInfo>): SwarmInfo => ({
  NodeID: '',
  NodeAddr: '',
  LocalNodeState: 'active',
  ControlAvailable: false,
  Error: '',
  RemoteManagers: null,
  Cluster: null,
  ...over,
});

describe('managesSwarmOf', () => {
  const manager = info({ NodeID: 'm1', ControlAvailable: true, Cluster: { ID: 'c1' } });

  it('matches a second manager by cluster ID', () => {
    expect(
      managesSwarmOf(manager, info({ NodeID: 'm2', ControlAvailable: true, Cluster: { ID: 'c1' } })),
    ).toBe(true);
    expect(
      managesSwarmOf(manager, info({ NodeID: 'm3', ControlAvailable: true, Cluster: { ID: 'c2' } })),
    ).toBe(false);
  });

  it('matches a worker (which reports no cluster ID) by the managers it talks to', () => {
    const worker = info({ NodeID: 'w1', RemoteManagers: [{ NodeID: 'm1', Addr: '172.18.0.5:2377' }] });
    expect(managesSwarmOf(manager, worker)).toBe(true);
    expect(
      managesSwarmOf(manager, info({ NodeID: 'w2', RemoteManagers: [{ NodeID: 'mX', Addr: 'x:2377' }] })),
    ).toBe(false);
  });

  it('is false for a worker asked as manager, a node outside any swarm and the manager itself', () => {
    const worker = info({ NodeID: 'w1', RemoteManagers: [{ NodeID: 'm1', Addr: 'a:2377' }] });
    expect(managesSwarmOf(worker, manager)).toBe(false);
    expect(managesSwarmOf(manager, info({ NodeID: 'x', LocalNodeState: 'inactive' }))).toBe(false);
    expect(managesSwarmOf(manager, manager)).toBe(false);
    expect(
      managesSwarmOf(
        info({ ...manager, LocalNodeState: 'inactive' }),
        info({ NodeID: 'm2', Cluster: { ID: 'c1' } }),
      ),
    ).toBe(false);
  });
});

const node = (
  id: string,
  hostname: string,
  role: 'manager' | 'worker',
  over: Partial<SwarmNode> = {},
): SwarmNode => ({
  ID: id,
  Version: { Index: 1 },
  Spec: { Role: role, Availability: 'active' },
  Description: { Hostname: hostname, Engine: { EngineVersion: '20.10.24' } },
  Status: { State: 'ready', Addr: `10.0.0.${id.length}` },
  ...over,
});

describe('clusterRows and swarmTable', () => {
  const nodes = [
    node('w1', 'h-w1', 'worker'),
    node('m2', 'h-m2', 'manager', { ManagerStatus: { Reachability: 'unreachable' } }),
    node('zz', 'stranger', 'worker', { Status: { State: 'down' } }),
    node('m1', 'h-m1', 'manager', { ManagerStatus: { Leader: true, Reachability: 'reachable' } }),
  ];
  const machines = new Map([
    ['w1', 'web'],
    ['m2', 'beta'],
    ['m1', 'alpha'],
  ]);

  it('lists managers first, then by machine (or host) name; manager status as the docker CLI says it', () => {
    const rows = clusterRows(nodes, machines);
    expect(rows.map((r) => [r.machine, r.role, r.managerStatus, r.status])).toEqual([
      ['alpha', 'manager', 'Leader', 'ready'],
      ['beta', 'manager', 'Unreachable', 'ready'],
      ['', 'worker', '', 'down'],
      ['web', 'worker', '', 'ready'],
    ]);
  });

  it('prints one table per cluster; a node Moor does not manage shows its host name in parentheses', () => {
    const text = swarmTable([
      { clusterId: 'abcdef0123456789', manager: 'alpha', nodes: clusterRows(nodes, machines) },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Swarm abcdef012345 (manager context: alpha)');
    expect(lines[1]).toMatch(/^MACHINE +ROLE +STATUS +AVAILABILITY +MANAGER STATUS +ENGINE +ADDRESS$/);
    expect(lines[2]).toMatch(/^alpha +manager +ready +active +Leader +20\.10\.24 +10\.0\.0\.2$/);
    expect(lines[4]).toMatch(/^\(stranger\) +worker +down +active +20\.10\.24 *$/);
  });
});
