/**
 * Swarm mode across Moor's machines: `moor swarm init/join/ls/leave`, `create --swarm-join` and the
 * leave before `rm`. Everything goes through each machine's own TLS engine API; SSH is used only to
 * find a node's address and to check, from the joining node, that the manager answers. Join tokens
 * move from the manager's answer into the node's request and nowhere else.
 */
import { errorMessage, MoorError } from '../../base/errors.js';
import { type ProgressReporter, silentProgress } from '../../base/progress.js';
import { cancellableSleep } from '../../base/sleep.js';
import { readEngineTls } from '../../docker/engine.js';
import {
  type Engine,
  initSwarm as engineInitSwarm,
  joinSwarm as engineJoinSwarm,
  leaveSwarm as engineLeaveSwarm,
  inspectNode,
  listNodes,
  type NodeRole,
  removeNode,
  runningTasksOn,
  type SwarmInfo,
  type SwarmNode,
  swarmInfo,
  updateNode,
} from '../../docker/swarm.js';
import type { SshSession } from '../../ssh/types.js';
import type { HostConfig } from '../../store/config.js';
import { authPaths } from '../../store/paths.js';
import type { Store } from '../../store/store.js';
import { driverFor } from '../driver-context.js';
import { advertiseAddress, checkManagerReachable } from './address.js';

export interface SwarmContext {
  store: Store;
  env?: NodeJS.ProcessEnv;
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

/** A machine with its engine endpoint and a lazily opened SSH session. */
interface MachineHandle {
  host: HostConfig;
  engine: Engine;
  ssh(): Promise<SshSession>;
  close(): void;
}

async function openMachine(ctx: SwarmContext, name: string): Promise<MachineHandle> {
  const host = await ctx.store.load(name);
  const { driver, module } = await driverFor(ctx.store, host, { env: ctx.env, signal: ctx.signal });
  const [url, tls] = await Promise.all([driver.url(), readEngineTls(authPaths(host, ctx.store.root))]);
  let session: Promise<SshSession> | undefined;
  return {
    host,
    engine: { url, tls, signal: ctx.signal },
    ssh() {
      if (!module.capabilities.ssh) {
        throw new MoorError(`"${name}" (driver ${host.DriverName}) cannot be reached over SSH`);
      }
      session ??= (async () => {
        const target = await driver.sshTarget();
        if (!target) throw new MoorError(`"${name}" has no SSH access`);
        const { connect } = await import('../../ssh/index.js');
        return connect(target, { signal: ctx.signal });
      })();
      return session;
    },
    close() {
      session?.then((s) => s.close()).catch(() => undefined);
    },
  };
}

async function withMachines<T>(
  ctx: SwarmContext,
  names: string[],
  use: (machines: MachineHandle[]) => Promise<T>,
): Promise<T> {
  const machines = await Promise.all(names.map((n) => openMachine(ctx, n)));
  try {
    return await use(machines);
  } finally {
    for (const m of machines) m.close();
  }
}

function isManager(info: SwarmInfo): boolean {
  return info.LocalNodeState === 'active' && info.ControlAvailable;
}

/**
 * Whether `manager` manages the swarm `node` is in. Only managers report their cluster ID; a worker
 * knows its swarm by the managers it talks to.
 */
export function managesSwarmOf(manager: SwarmInfo, node: SwarmInfo): boolean {
  if (!isManager(manager) || manager.NodeID === node.NodeID) return false;
  if (node.Cluster?.ID) return node.Cluster.ID === manager.Cluster?.ID;
  return (node.RemoteManagers ?? []).some((m) => m.NodeID === manager.NodeID);
}

/** `moor swarm init MANAGER`: the machine becomes the first manager of a new swarm. */
export async function initSwarm(
  ctx: SwarmContext,
  managerName: string,
  options: { advertiseAddr?: string } = {},
): Promise<{ address: string; source: string }> {
  const progress = ctx.progress ?? silentProgress(managerName);
  return withMachines(ctx, [managerName], async ([manager]) => {
    const info = await swarmInfo(manager!.engine);
    if (info.LocalNodeState !== 'inactive') {
      throw new MoorError(
        isManager(info)
          ? `"${managerName}" is already a swarm manager`
          : `"${managerName}" is already part of a swarm (state ${info.LocalNodeState}): run "moor swarm leave ${managerName}" first`,
      );
    }
    const addr = await advertiseAddress(manager!.host, options.advertiseAddr, manager!.ssh);
    progress.step('swarm-init', `Initializing a swarm on "${managerName}", advertised at ${addr.address}...`);
    await engineInitSwarm(manager!.engine, addr.address);
    progress.done(`"${managerName}" is now the manager of a new swarm.`);
    return addr;
  });
}

/** The manager's own info, checked to be a manager (the error says how to make one). */
async function managerInfo(manager: MachineHandle): Promise<SwarmInfo> {
  const info = await swarmInfo(manager.engine);
  if (!isManager(info)) {
    throw new MoorError(
      `"${manager.host.Name}" is not a swarm manager: run "moor swarm init ${manager.host.Name}" first`,
    );
  }
  return info;
}

/** Fails fast, before a create spends anything, when the manager to join is not one. */
export async function checkCanJoin(ctx: SwarmContext, managerName: string): Promise<void> {
  await withMachines(ctx, [managerName], async ([manager]) => {
    await managerInfo(manager!);
  });
}

/** `moor swarm join --manager MANAGER [--role R] NODE...`, one node after the other. */
export async function joinSwarm(
  ctx: SwarmContext,
  managerName: string,
  nodeNames: string[],
  options: { role?: NodeRole; advertiseAddr?: string } = {},
): Promise<void> {
  const role = options.role ?? 'worker';
  if (nodeNames.includes(managerName)) throw new MoorError(`"${managerName}" is the manager itself`);
  await withMachines(ctx, [managerName, ...nodeNames], async ([manager, ...nodes]) => {
    const mgr = await managerInfo(manager!);
    const remote = mgr.NodeAddr.includes(':') ? mgr.NodeAddr : `${mgr.NodeAddr}:2377`;
    for (const node of nodes) {
      const name = node.host.Name;
      const progress = ctx.progress ?? silentProgress(name);
      const info = await swarmInfo(node.engine);
      if (info.LocalNodeState === 'active') {
        if (managesSwarmOf(mgr, info)) {
          progress.done(`"${name}" is already in the swarm of "${managerName}".`);
          continue;
        }
        throw new MoorError(
          `"${name}" is already part of another swarm: run "moor swarm leave ${name}" first`,
        );
      }
      const addr = await advertiseAddress(node.host, options.advertiseAddr, node.ssh);
      progress.step(
        'swarm-join',
        `Joining "${name}" (${addr.address}) to the swarm of "${managerName}" (${remote}) as a ${role}...`,
      );
      await checkManagerReachable(await node.ssh(), name, managerName, remote);
      try {
        await engineJoinSwarm(node.engine, manager!.engine, {
          role,
          advertiseAddr: addr.address,
          remoteAddrs: [remote],
        });
      } catch (err) {
        throw new MoorError(`"${name}" could not join the swarm of "${managerName}": ${engineText(err)}`);
      }
      progress.done(`"${name}" joined the swarm of "${managerName}" as a ${role}.`);
    }
  });
}

function engineText(err: unknown): string {
  const message = (err as { engineMessage?: string }).engineMessage;
  return message || errorMessage(err);
}

// ---------------------------------------------------------------------------------------------
// Listing

export interface SwarmNodeRow {
  /** The Moor machine that is this node, or '' for a node Moor does not manage. */
  machine: string;
  hostname: string;
  nodeId: string;
  role: NodeRole;
  /** The engine's node state: ready, down, unknown, disconnected. */
  status: string;
  availability: string;
  /** Leader / Reachable / Unreachable for managers, '' for workers. */
  managerStatus: string;
  engineVersion: string;
  address: string;
}

export interface SwarmCluster {
  clusterId: string;
  /** The machine the cluster was queried through (its context is the one `moor use` selects). */
  manager: string;
  nodes: SwarmNodeRow[];
}

/** Swarm info of every given machine at once, bounded: a dead host is simply not in a swarm here. */
async function infoOfMachines(
  ctx: SwarmContext,
  names: string[],
  timeoutMs: number,
): Promise<Map<string, SwarmInfo>> {
  const entries = await Promise.all(
    names.map(async (name) => {
      try {
        const m = await openMachine(ctx, name);
        return [name, await swarmInfo(m.engine, timeoutMs)] as const;
      } catch {
        return undefined;
      }
    }),
  );
  return new Map(entries.filter((e): e is readonly [string, SwarmInfo] => e !== undefined));
}

/** Pure: the rows of one cluster, nodes matched to machines by node ID. */
export function clusterRows(nodes: SwarmNode[], machineByNodeId: Map<string, string>): SwarmNodeRow[] {
  return nodes
    .map((n) => ({
      machine: machineByNodeId.get(n.ID) ?? '',
      hostname: n.Description.Hostname,
      nodeId: n.ID,
      role: n.Spec.Role,
      status: n.Status.State,
      availability: n.Spec.Availability,
      managerStatus: n.ManagerStatus?.Leader ? 'Leader' : capitalize(n.ManagerStatus?.Reachability ?? ''),
      engineVersion: n.Description.Engine?.EngineVersion ?? '',
      address: n.Status.Addr ?? '',
    }))
    .sort(
      (a, b) =>
        Number(b.role === 'manager') - Number(a.role === 'manager') ||
        (a.machine || a.hostname).localeCompare(b.machine || b.hostname),
    );
}

function capitalize(s: string): string {
  return s ? s[0]!.toUpperCase() + s.slice(1) : s;
}

/**
 * `moor swarm ls [MANAGER]`: the nodes of MANAGER's swarm, or of every swarm a manager among the
 * machines belongs to (each cluster listed once, through one of its managers).
 */
export async function listSwarms(
  ctx: SwarmContext,
  managerName?: string,
  timeoutMs = 3_000,
): Promise<SwarmCluster[]> {
  const names = await ctx.store.names();
  const infos = await infoOfMachines(ctx, names, timeoutMs);
  if (managerName) {
    // Asked again without the bound when the listing could not reach it: the error is then the real one.
    const info = infos.get(managerName) ?? (await swarmInfo((await openMachine(ctx, managerName)).engine));
    if (!isManager(info)) throw new MoorError(`"${managerName}" is not a swarm manager`);
  }
  const machineByNodeId = new Map([...infos].filter(([, i]) => i.NodeID).map(([n, i]) => [i.NodeID, n]));
  const clusters: SwarmCluster[] = [];
  const seen = new Set<string>();
  const managers = managerName
    ? [managerName]
    : names.filter((n) => infos.has(n) && isManager(infos.get(n)!));
  for (const name of managers) {
    const clusterId = infos.get(name)?.Cluster?.ID ?? '';
    if (seen.has(clusterId)) continue;
    seen.add(clusterId);
    const m = await openMachine(ctx, name);
    clusters.push({
      clusterId,
      manager: name,
      nodes: clusterRows(await listNodes(m.engine), machineByNodeId),
    });
  }
  return clusters;
}

// ---------------------------------------------------------------------------------------------
// Leaving

const DRAIN_WAIT_MS = 60_000;

/**
 * `moor swarm leave NODE`: drain it (its tasks move to other nodes), demote it if it is a manager,
 * make it leave, and remove it from the manager's node list. The last manager of a swarm that still
 * has other nodes leaves only with `force` (that ends the swarm for everyone).
 */
export async function leaveSwarm(
  ctx: SwarmContext,
  nodeName: string,
  options: { force?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const progress = ctx.progress ?? silentProgress(nodeName);
  const node = await openMachine(ctx, nodeName);
  try {
    const info = await swarmInfo(node.engine);
    if (info.LocalNodeState === 'inactive') throw new MoorError(`"${nodeName}" is not part of a swarm`);
    const others = (await ctx.store.names()).filter((n) => n !== nodeName);
    const infos = await infoOfMachines(ctx, others, options.timeoutMs ?? 3_000);
    const otherManager = [...infos].find(([, i]) => managesSwarmOf(i, info))?.[0];
    // Through another manager when there is one: a node cannot drain or demote itself and stay up.
    const via = otherManager ? await openMachine(ctx, otherManager) : isManager(info) ? node : undefined;
    let nodeEntry: SwarmNode | undefined;
    if (via) {
      const nodes = await listNodes(via.engine);
      nodeEntry = nodes.find((n) => n.ID === info.NodeID);
      const otherNodes = nodes.filter((n) => n.ID !== info.NodeID);
      if (isManager(info) && !otherManager && otherNodes.length > 0 && !options.force) {
        throw new MoorError(
          `"${nodeName}" is the only swarm manager Moor knows of and ${otherNodes.length} other node(s) still depend on it: ` +
            `promote another machine first ("moor swarm join --manager ${nodeName} --role manager NODE"), or force it (this ends the swarm for every node)`,
        );
      }
      if (nodeEntry && otherNodes.length > 0) {
        progress.step('swarm-drain', `Draining "${nodeName}" (its tasks move to other nodes)...`);
        await updateNode(via.engine, nodeEntry, { Availability: 'drain' });
        await waitForDrain(via.engine, info.NodeID, ctx.signal);
        if (isManager(info) && otherManager) {
          progress.step('swarm-demote', `Demoting "${nodeName}" to a worker...`);
          await updateNode(via.engine, await inspectNode(via.engine, info.NodeID), { Role: 'worker' });
        }
      }
    }
    progress.step('swarm-leave', `"${nodeName}" is leaving the swarm...`);
    await engineLeaveSwarm(node.engine, !otherManager);
    if (via && via !== node && nodeEntry) {
      await removeNodeWhenDown(via.engine, info.NodeID, ctx.signal);
    }
    progress.done(`"${nodeName}" left the swarm.`);
  } finally {
    node.close();
  }
}

async function waitForDrain(manager: Engine, nodeId: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + DRAIN_WAIT_MS;
  while ((await runningTasksOn(manager, nodeId)) > 0) {
    if (Date.now() > deadline) {
      throw new MoorError(`Tasks are still running on the node after ${DRAIN_WAIT_MS / 1000} s of draining`);
    }
    await cancellableSleep(500, signal);
  }
}

/** The manager keeps a left node as "down" until it is removed; a forced remove does not wait for that. */
async function removeNodeWhenDown(manager: Engine, nodeId: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const node = await inspectNode(manager, nodeId).catch(() => undefined);
    if (!node) return;
    if (node.Status.State === 'down' || Date.now() > deadline) break;
    await cancellableSleep(300, signal);
  }
  await removeNode(manager, nodeId);
}

/**
 * Before `rm`: a machine that is in a swarm leaves it (and is removed from the manager's list),
 * so the cluster does not keep a dead node. A host that cannot be asked is reported, not fatal.
 */
export async function leaveSwarmBeforeRemove(
  ctx: SwarmContext,
  name: string,
  options: { force?: boolean; warn: (message: string) => void },
): Promise<void> {
  let info: SwarmInfo;
  try {
    const m = await openMachine(ctx, name);
    info = await swarmInfo(m.engine, 3_000);
  } catch (err) {
    options.warn(`Could not check whether "${name}" is in a swarm (${errorMessage(err)}); not leaving one.`);
    return;
  }
  if (info.LocalNodeState === 'inactive') return;
  await leaveSwarm(ctx, name, { force: options.force });
}
