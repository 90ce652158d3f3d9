/**
 * The engine's Swarm mode API (the calls `docker swarm` and `docker node` make), over the machine's
 * mutual TLS. Join tokens are read from a manager and handed to the joining engine in one request
 * body: they are never returned to callers that print, and never logged.
 */
import { type EngineTls, engineRequest } from './engine.js';

/** How a swarm call may take: joins wait for the raft log, so far longer than a ping. */
const SWARM_TIMEOUT_MS = 60_000;
const QUERY_TIMEOUT_MS = 10_000;

/** The swarm part of GET /info. */
export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: 'inactive' | 'pending' | 'active' | 'error' | 'locked' | string;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: { NodeID: string; Addr: string }[] | null;
  Cluster?: { ID: string } | null;
}

export type NodeRole = 'worker' | 'manager';
export type NodeAvailability = 'active' | 'pause' | 'drain';

export interface NodeSpec {
  Role: NodeRole;
  Availability: NodeAvailability;
  Labels?: Record<string, string>;
  Name?: string;
}

/** One entry of GET /nodes (the fields Moor reads). */
export interface SwarmNode {
  ID: string;
  Version: { Index: number };
  Spec: NodeSpec;
  Description: { Hostname: string; Engine?: { EngineVersion?: string } };
  Status: { State: string; Addr?: string; Message?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
}

/** The engine endpoint of one machine: its URL and TLS credentials. */
export interface Engine {
  url: string;
  tls: EngineTls;
  signal?: AbortSignal;
}

async function call<T>(
  engine: Engine,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  timeoutMs = QUERY_TIMEOUT_MS,
): Promise<T> {
  const text = await engineRequest(engine.url, path, engine.tls, {
    method,
    body,
    timeoutMs,
    signal: engine.signal,
  });
  return (text.trim() ? JSON.parse(text) : undefined) as T;
}

export async function swarmInfo(engine: Engine, timeoutMs = QUERY_TIMEOUT_MS): Promise<SwarmInfo> {
  const info = await call<{ Swarm: SwarmInfo }>(engine, 'GET', '/info', undefined, timeoutMs);
  return info.Swarm;
}

/** `docker swarm init`: returns the new node's ID. */
export function initSwarm(engine: Engine, advertiseAddr: string): Promise<string> {
  return call<string>(
    engine,
    'POST',
    '/swarm/init',
    { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: advertiseAddr },
    SWARM_TIMEOUT_MS,
  );
}

/**
 * `docker swarm join`, with the token read from `manager` inside this call: the token goes from one
 * engine's answer straight into the other's request.
 */
export async function joinSwarm(
  node: Engine,
  manager: Engine,
  options: { role: NodeRole; advertiseAddr: string; remoteAddrs: string[] },
): Promise<void> {
  const swarm = await call<{ JoinTokens: { Worker: string; Manager: string } }>(manager, 'GET', '/swarm');
  const token = options.role === 'manager' ? swarm.JoinTokens.Manager : swarm.JoinTokens.Worker;
  await call(
    node,
    'POST',
    '/swarm/join',
    {
      ListenAddr: '0.0.0.0:2377',
      AdvertiseAddr: options.advertiseAddr,
      RemoteAddrs: options.remoteAddrs,
      JoinToken: token,
    },
    SWARM_TIMEOUT_MS,
  );
}

export async function leaveSwarm(engine: Engine, force: boolean): Promise<void> {
  await call(engine, 'POST', `/swarm/leave?force=${force}`, undefined, SWARM_TIMEOUT_MS);
}

export function listNodes(manager: Engine): Promise<SwarmNode[]> {
  return call<SwarmNode[]>(manager, 'GET', '/nodes');
}

export function inspectNode(manager: Engine, id: string): Promise<SwarmNode> {
  return call<SwarmNode>(manager, 'GET', `/nodes/${encodeURIComponent(id)}`);
}

/** Changes role or availability; `version` guards against a concurrent update (the engine's rule). */
export async function updateNode(manager: Engine, node: SwarmNode, spec: Partial<NodeSpec>): Promise<void> {
  await call(manager, 'POST', `/nodes/${encodeURIComponent(node.ID)}/update?version=${node.Version.Index}`, {
    ...node.Spec,
    ...spec,
  });
}

export async function removeNode(manager: Engine, id: string): Promise<void> {
  await call(manager, 'DELETE', `/nodes/${encodeURIComponent(id)}?force=true`);
}

/** Tasks the swarm still runs on a node (what a drain waits for). */
export async function runningTasksOn(manager: Engine, nodeId: string): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ node: [nodeId], 'desired-state': ['running'] }));
  const tasks = await call<{ Status?: { State?: string } }[]>(manager, 'GET', `/tasks?filters=${filters}`);
  return tasks.filter((t) => t.Status?.State === 'running').length;
}
