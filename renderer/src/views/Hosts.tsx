import { useState } from 'react';
import type { MachineSummary, SwarmClusterInfo, SwarmNodeInfo } from '../../../main/api/contract.js';
import type { Navigate } from '../App.js';
import { clusterTitle, hostRows, nodeBadges } from '../cluster-model.js';
import { Button, Empty, Icon, StatePill } from '../components.js';
import { firstLine, type HostActionItem, hostActions, menuActions, primaryAction } from '../host-actions.js';
import { runHostAction } from '../host-commands.js';
import { ActionMenu } from '../menu.js';
import { costFacts, hourlyBadge } from '../schedule-model.js';
import { useAppState } from '../store.js';

const ICONS: Partial<Record<HostActionItem['action'], string>> = {
  start: 'play',
  stop: 'stop',
  restart: 'restart',
  kill: 'bolt',
  terminal: 'terminal',
  use: 'target',
  details: 'info',
  'leave-swarm': 'x',
  remove: 'trash',
};

/** One action as a button; its accessible name says which host ("Stop web"). */
export function HostActionButton({
  item,
  machine,
  navigate,
  kind,
}: {
  item: HostActionItem;
  machine: MachineSummary;
  navigate: Navigate;
  kind?: 'primary' | 'default' | 'danger';
}) {
  const label = item.action === 'use' ? 'Use' : item.label.replace('…', '');
  return (
    <Button
      small
      kind={kind}
      icon={ICONS[item.action]}
      disabled={!item.enabled}
      ariaLabel={`${item.action === 'use' ? 'Use as active host:' : label} ${machine.name}`}
      title={item.action === 'use' ? 'Make this the active Docker host' : undefined}
      onClick={() => void runHostAction(item.action, machine, navigate)}
      testId={`${item.action}-${machine.name}`}
    >
      {item.action === 'remove' ? 'Remove…' : label}
    </Button>
  );
}

/** Every action the driver offers, as buttons (the Details header). */
export function MachineActions({
  machine,
  node = null,
  navigate,
}: {
  machine: MachineSummary;
  node?: SwarmNodeInfo | null;
  navigate: Navigate;
}) {
  const items = hostActions(machine, node).filter((i) => i.action !== 'details' && i.action !== 'remove');
  return (
    <div className="actions">
      {items.map((item) => (
        <HostActionButton key={item.action} item={item} machine={machine} navigate={navigate} />
      ))}
    </div>
  );
}

/** The row's actions: one primary button and the ⋯ menu with the rest. */
function RowActions({
  machine,
  node,
  navigate,
}: {
  machine: MachineSummary;
  node: SwarmNodeInfo | null;
  navigate: Navigate;
}) {
  const primary = primaryAction(machine);
  return (
    <div className="row-actions">
      {primary.action === 'details' ? null : (
        <HostActionButton item={primary} machine={machine} navigate={navigate} />
      )}
      <ActionMenu
        label={`More actions for ${machine.name}`}
        items={menuActions(machine, node)}
        onChoose={(item) => void runHostAction(item.action, machine, navigate)}
        testId={`more-${machine.name}`}
        itemTestId={(item) => `${item.action}-${machine.name}`}
      />
    </div>
  );
}

/** One machine of the list: its node role when it is in a swarm (workers indented), its price. */
function MachineRow({
  m,
  node,
  depth,
  navigate,
}: {
  m: MachineSummary;
  node: SwarmNodeInfo | null;
  depth: 0 | 1;
  navigate: Navigate;
}) {
  const cost = useAppState((s) => s.schedules[m.name]?.cost ?? null);
  const open = () => navigate({ view: 'details', machine: m.name });
  return (
    <tr
      data-testid={`host-${m.name}`}
      className={[m.active ? 'is-active' : '', node ? 'swarm-node' : '', depth ? 'depth-1' : '']
        .filter(Boolean)
        .join(' ')}
      // The whole row opens Details; its buttons and menu stop the click.
      onClick={(e) => {
        if (!(e.target as HTMLElement).closest('button, a, input')) open();
      }}
    >
      <td className="cell-name">
        <button
          type="button"
          className="link name"
          onClick={open}
          data-testid={`open-${m.name}`}
          title={`Details of ${m.name}`}
        >
          <span className="name-text">{m.name}</span>
          {m.active ? (
            <span className="badge badge-active" title="The active Docker host">
              active
            </span>
          ) : null}
          {node ? (
            <span
              className={`badge-role role-${node.role}`}
              title={`Swarm ${node.role}`}
              data-testid={`role-${m.name}`}
            >
              {nodeBadges(node).role}
            </span>
          ) : null}
          {cost ? (
            <span
              className="badge badge-cost"
              title={`${cost.size}: ${costFacts(cost)
                .map((f) => `${f.label} ${f.value}`)
                .join('; ')}`}
              data-testid={`cost-${m.name}`}
            >
              {hourlyBadge(cost)}
            </span>
          ) : null}
        </button>
        <div className="row-sub">
          {node ? (
            <span
              className={`node-status${nodeBadges(node).attention ? ' attention' : ''}`}
              data-testid={`swarm-${m.name}`}
            >
              {nodeBadges(node).status}
            </span>
          ) : null}
          {explained(m) ? (
            <span
              className="row-error row-reason"
              title={m.error ? `${m.reason?.text}\n${m.error}` : m.reason?.text}
              data-testid={`reason-${m.name}`}
            >
              <Icon name="alert" size={12} />
              <span className="ellipsis">{m.reason?.text}</span>
            </span>
          ) : m.error ? (
            <span className="row-error" title={m.error} data-testid={`error-${m.name}`}>
              <Icon name="alert" size={12} />
              <span className="ellipsis">{firstLine(m.error)}</span>
            </span>
          ) : (
            <span className="row-facts mono">
              <span className="narrow-only">{m.driver || '—'} · </span>
              {m.url || (m.state === 'Running' ? '' : 'no URL while not running')}
            </span>
          )}
        </div>
      </td>
      <td className="col-driver">
        <span className="tag">{m.driver || '—'}</span>
      </td>
      <td>
        <StatePill machine={m} />
        {m.stoppedByUser && m.state === 'Stopped' ? (
          <span className="hint" title="Stopped from Moor: nothing starts it again by itself">
            {' '}
            by you
          </span>
        ) : null}
      </td>
      <td className="mono url col-url ellipsis" title={m.url}>
        {m.url || <span className="subtle">—</span>}
      </td>
      <td className="mono col-docker ellipsis" title={m.dockerVersion}>
        {m.dockerVersion || <span className="subtle">—</span>}
      </td>
      <td className="right">
        <RowActions machine={m} node={node} navigate={navigate} />
      </td>
    </tr>
  );
}

/**
 * The cells of a row that spans the table: one per column (a colSpan would count the columns a
 * narrow window hides and widen the table), the first one's content running over the others.
 */
function SpanningCells({ children, className }: { children: React.ReactNode; className: string }) {
  return (
    <>
      <td className={className}>{children}</td>
      <td className="col-driver" />
      <td />
      <td className="col-url" />
      <td className="col-docker" />
      <td />
    </>
  );
}

function ClusterHead({ cluster }: { cluster: SwarmClusterInfo }) {
  return (
    <tr className="cluster-head" data-testid={`cluster-${cluster.manager}`}>
      <SpanningCells className="spill">
        <span className="cluster-title">
          <Icon name="server" size={13} />
          <span>{clusterTitle(cluster)}</span>
        </span>
      </SpanningCells>
    </tr>
  );
}

/** A node Moor does not manage (joined by hand): listed, without actions. */
function ForeignNodeRow({ node }: { node: SwarmNodeInfo }) {
  const badges = nodeBadges(node);
  return (
    <tr className={`foreign-node${node.role === 'worker' ? ' depth-1' : ''}`}>
      <SpanningCells className="spill">
        <span className="name-text subtle">{node.hostname}</span>
        <span className={`badge-role role-${node.role}`}>{badges.role}</span>
        <div className="row-sub">
          <span className={`node-status${badges.attention ? ' attention' : ''}`}>{badges.status}</span> · not
          a Moor machine
        </div>
      </SpanningCells>
    </tr>
  );
}

/** Name, driver or state contains the filter text (case-insensitive). */
/**
 * Whether the row's line says why the host is not simply Running (its SSH port, its engine, a
 * query that timed out): that names the address and what happened, which the raw error does not.
 */
function explained(m: MachineSummary): boolean {
  const kind = m.reason?.kind;
  return kind === 'ssh-port' || kind === 'engine' || kind === 'timeout';
}

export function matchesFilter(m: MachineSummary, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (!f) return true;
  return [m.name, m.driver, m.state, m.busy ?? ''].some((v) => v.toLowerCase().includes(f));
}

export function HostsView({ navigate }: { navigate: Navigate }) {
  const machines = useAppState((s) => s.machines);
  const ready = useAppState((s) => s.ready);
  const [filter, setFilter] = useState('');
  const shown = machines.filter((m) => matchesFilter(m, filter));
  const running = machines.filter((m) => m.state === 'Running').length;
  const clusters = useAppState((s) => s.clusters);

  return (
    <div className="view">
      <header className="view-header">
        <div>
          <h1>Docker hosts</h1>
          <p className="subtle">
            {machines.length} host{machines.length === 1 ? '' : 's'} · {running} running
          </p>
        </div>
        <div className="header-tools">
          <label className="search">
            <Icon name="search" size={14} />
            <input
              aria-label="Filter hosts by name, driver or state"
              placeholder="Filter hosts"
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
              data-testid="host-filter"
            />
          </label>
          <Button kind="primary" icon="plus" onClick={() => navigate({ view: 'create' })} testId="new-host">
            Create host
          </Button>
        </div>
      </header>

      {ready && machines.length === 0 ? (
        <Empty title="No Docker hosts yet">
          <p className="subtle">Create one on a server you can reach over SSH, or in the cloud.</p>
          <Button kind="primary" icon="plus" onClick={() => navigate({ view: 'create' })}>
            Create host
          </Button>
        </Empty>
      ) : (
        <div className="card table-card">
          <table className="hosts" data-testid="host-list">
            <colgroup>
              <col className="col-name" />
              <col className="col-driver" />
              <col className="col-state" />
              <col className="col-url" />
              <col className="col-docker" />
              <col className="col-actions" />
            </colgroup>
            <thead>
              <tr>
                <th>Name</th>
                <th className="col-driver">Driver</th>
                <th>State</th>
                <th className="col-url">URL</th>
                <th className="col-docker">Docker</th>
                <th className="right">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {hostRows(shown, clusters).map((row) =>
                row.kind === 'cluster' ? (
                  <ClusterHead key={`cluster-${row.cluster.clusterId}`} cluster={row.cluster} />
                ) : row.kind === 'foreign' ? (
                  <ForeignNodeRow key={`node-${row.node.nodeId}`} node={row.node} />
                ) : (
                  <MachineRow
                    key={row.machine.name}
                    m={row.machine}
                    node={row.node}
                    depth={row.depth}
                    navigate={navigate}
                  />
                ),
              )}
            </tbody>
          </table>
          {shown.length === 0 && machines.length > 0 ? (
            <div className="empty-filter" data-testid="empty-filter">
              <p>
                No host matches “<strong>{filter}</strong>”.
              </p>
              <Button small onClick={() => setFilter('')}>
                Clear filter
              </Button>
            </div>
          ) : null}
        </div>
      )}
    </div>
  );
}
