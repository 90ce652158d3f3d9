import { useState } from 'react';
import type { MachineSummary } from '../../../main/api/contract.js';
import { machineActions } from '../../../main/app/tray-template.js';
import type { Navigate } from '../App.js';
import { Button, Empty, Icon, StatePill } from '../components.js';
import { attempt, useAppState } from '../store.js';
import { openTerminal } from '../terminals.js';

export function MachineActions({ machine, navigate }: { machine: MachineSummary; navigate: Navigate }) {
  const can = machineActions(machine);
  const moor = window.moor;
  const name = machine.name;
  return (
    <div className="actions">
      {can.start || machine.state !== 'Running' ? (
        <Button
          small
          icon="play"
          disabled={!can.start}
          title="Start"
          onClick={() => void attempt(() => moor.start({ name }))}
          testId={`start-${name}`}
        >
          Start
        </Button>
      ) : (
        <Button
          small
          icon="stop"
          disabled={!can.stop}
          title="Stop"
          onClick={() => void attempt(() => moor.stop({ name }))}
          testId={`stop-${name}`}
        >
          Stop
        </Button>
      )}
      <Button
        small
        icon="restart"
        disabled={!can.restart}
        title="Restart"
        onClick={() => void attempt(() => moor.restart({ name }))}
      >
        Restart
      </Button>
      <Button
        small
        icon="terminal"
        title="Open an SSH terminal"
        disabled={!can.terminal}
        onClick={() => {
          openTerminal(name);
          navigate({ view: 'terminals' });
        }}
        testId={`terminal-${name}`}
      >
        Terminal
      </Button>
      <Button
        small
        icon="star"
        kind={machine.active ? 'primary' : 'default'}
        title={machine.active ? 'This is the active Docker host' : 'Make this the active Docker host'}
        disabled={machine.active || machine.state !== 'Running' || machine.busy !== null}
        onClick={() => void attempt(() => moor.setActiveHost({ name }))}
        testId={`use-${name}`}
      >
        {machine.active ? 'Active' : 'Use'}
      </Button>
    </div>
  );
}

export function HostsView({ navigate }: { navigate: Navigate }) {
  const machines = useAppState((s) => s.machines);
  const ready = useAppState((s) => s.ready);
  const [filter, setFilter] = useState('');
  const shown = machines.filter((m) => m.name.toLowerCase().includes(filter.toLowerCase()));
  const running = machines.filter((m) => m.state === 'Running').length;

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
            <input placeholder="Filter hosts" value={filter} onChange={(e) => setFilter(e.target.value)} />
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
            <thead>
              <tr>
                <th>Name</th>
                <th>Driver</th>
                <th>State</th>
                <th>URL</th>
                <th>Docker</th>
                <th className="right">Actions</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((m) => (
                <tr key={m.name} data-testid={`host-${m.name}`} className={m.active ? 'is-active' : ''}>
                  <td>
                    <button
                      type="button"
                      className="link name"
                      onClick={() => navigate({ view: 'details', machine: m.name })}
                    >
                      {m.active ? (
                        <span className="active-mark" title="Active Docker host">
                          <Icon name="star" size={13} />
                        </span>
                      ) : (
                        <span className="active-mark placeholder" />
                      )}
                      {m.name}
                    </button>
                    {m.error ? (
                      <div className="row-error" title={m.error}>
                        <Icon name="alert" size={12} /> {m.error}
                      </div>
                    ) : null}
                  </td>
                  <td>
                    <span className="tag">{m.driver || '—'}</span>
                  </td>
                  <td>
                    <StatePill machine={m} />
                    {m.stoppedByUser && m.state === 'Stopped' ? <span className="hint"> by you</span> : null}
                  </td>
                  <td className="mono url">{m.url || <span className="subtle">—</span>}</td>
                  <td className="mono">{m.dockerVersion || <span className="subtle">—</span>}</td>
                  <td className="right">
                    <MachineActions machine={m} navigate={navigate} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
