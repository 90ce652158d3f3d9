import { useEffect, useState } from 'react';
import type { JsonValue, MachineDetails } from '../../../main/api/contract.js';
import type { Navigate } from '../App.js';
import { Button, Icon, Spinner, StatePill } from '../components.js';
import { attempt, useAppState } from '../store.js';
import { MachineActions } from './Hosts.js';

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="kv">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function display(value: JsonValue): string {
  if (value === null) return '—';
  if (Array.isArray(value)) return value.length ? value.map((v) => display(v)).join(', ') : '—';
  if (typeof value === 'object') return JSON.stringify(value);
  if (value === '') return '—';
  return String(value);
}

export function DetailsView({ name, navigate }: { name: string; navigate: Navigate }) {
  const machine = useAppState((s) => s.machines.find((m) => m.name === name));
  const [details, setDetails] = useState<MachineDetails | null>(null);
  const [error, setError] = useState('');
  const [confirmRemove, setConfirmRemove] = useState(false);
  const stateKey = `${machine?.state}|${machine?.url}|${machine?.busy}`;
  // The latest operation on this machine (regenerate-certs, or its create), with its last line.
  const lastOp = useAppState(
    (s) =>
      Object.values(s.operations)
        .filter((o) => o.info.machine === name)
        .sort((a, b) => b.info.startedAt - a.info.startedAt)[0],
  );

  useEffect(() => {
    let live = true;
    void stateKey;
    window.moor.inspect({ name }).then(
      (d) => {
        if (!live) return;
        setDetails(d);
        setError('');
      },
      (err: unknown) => {
        if (live) setError(err instanceof Error ? err.message : String(err));
      },
    );
    return () => {
      live = false;
    };
  }, [name, stateKey]);

  if (!machine) {
    return (
      <div className="view">
        <header className="view-header">
          <h1>{name}</h1>
        </header>
        <p className="subtle">This host no longer exists.</p>
        <Button icon="back" onClick={() => navigate({ view: 'hosts' })}>
          Back to hosts
        </Button>
      </div>
    );
  }

  const engine = details?.engineOptions;
  const engineEntries =
    engine && typeof engine === 'object' && !Array.isArray(engine) ? Object.entries(engine) : [];

  return (
    <div className="view" data-testid="details">
      <header className="view-header">
        <div>
          <button type="button" className="link back" onClick={() => navigate({ view: 'hosts' })}>
            <Icon name="back" size={14} /> Hosts
          </button>
          <h1>
            {machine.name} <StatePill machine={machine} />
            {machine.active ? <span className="badge">active</span> : null}
          </h1>
        </div>
        <div className="header-tools">
          <MachineActions machine={machine} navigate={navigate} />
        </div>
      </header>
      {machine.error ? (
        <div className="banner banner-error">
          <Icon name="alert" /> {machine.error}
        </div>
      ) : null}
      {error ? <div className="banner banner-error">{error}</div> : null}
      {lastOp && (lastOp.info.status === 'running' || lastOp.info.status === 'failed') ? (
        <div
          className={`banner ${lastOp.info.status === 'failed' ? 'banner-error' : 'banner-info'}`}
          data-testid="operation-banner"
        >
          {lastOp.info.status === 'running' ? <Spinner /> : <Icon name="alert" />}
          <span>
            {lastOp.info.status === 'failed'
              ? lastOp.info.error
              : (lastOp.log.filter((e) => e.level === 'step').at(-1)?.message ?? 'Working…')}
          </span>
          {lastOp.info.status === 'failed' && lastOp.info.machineKept && machine.canSsh ? (
            <Button
              small
              kind="primary"
              icon="restart"
              disabled={machine.busy !== null}
              onClick={() => void attempt(() => window.moor.provisionMachine({ name }))}
              testId="provision-again-banner"
            >
              Provision again
            </Button>
          ) : null}
        </div>
      ) : null}

      <div className="grid2">
        <section className="card">
          <h2>Overview</h2>
          <dl>
            <Row label="Driver">{machine.driver}</Row>
            <Row label="URL">
              <span className="mono">{machine.url || '—'}</span>
            </Row>
            <Row label="Docker">{machine.dockerVersion || '—'}</Row>
            <Row label="IP address">
              <span className="mono">{details?.ip || '—'}</span>
            </Row>
            <Row label="SSH">
              <span className="mono">
                {details?.sshUser ? `${details.sshUser}@${details.ip}:${details.sshPort}` : '—'}
              </span>
            </Row>
            <Row label="SSH key">
              <span className="mono small">{details?.sshKeyPath || '—'}</span>
            </Row>
          </dl>
        </section>

        <section className="card">
          <h2>Engine options</h2>
          <dl>
            {engineEntries.map(([k, v]) => (
              <Row key={k} label={k}>
                <span className="mono small">{display(v)}</span>
              </Row>
            ))}
          </dl>
        </section>
      </div>

      <section className="card">
        <div className="card-title">
          <h2>Certificates</h2>
          <div className="actions">
            <Button
              small
              icon="key"
              disabled={machine.busy !== null || machine.state !== 'Running'}
              onClick={() => void attempt(() => window.moor.regenerateCerts({ name }))}
            >
              Regenerate
            </Button>
            {machine.canSsh ? (
              <Button
                small
                icon="restart"
                disabled={machine.busy !== null || machine.state !== 'Running'}
                onClick={() => void attempt(() => window.moor.provisionMachine({ name }))}
                testId="provision-again"
              >
                Provision again
              </Button>
            ) : null}
          </div>
        </div>
        <table className="certs">
          <thead>
            <tr>
              <th>Certificate</th>
              <th>Subject</th>
              <th>Expires</th>
              <th>Names</th>
            </tr>
          </thead>
          <tbody>
            {(details?.certificates ?? []).map((c) => (
              <tr key={c.label}>
                <td>
                  <strong>{c.label}</strong>
                  <div className="mono small subtle" title={c.path}>
                    {c.path}
                  </div>
                </td>
                <td className="small">
                  {c.exists ? c.subject : <span className="danger-text">missing</span>}
                </td>
                <td className="small">{c.notAfter ? new Date(c.notAfter).toLocaleDateString() : '—'}</td>
                <td className="mono small">{c.sans || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section className="card">
        <details>
          <summary>config.json</summary>
          <pre className="code">{details ? JSON.stringify(details.config, null, 2) : ''}</pre>
        </details>
      </section>

      <section className="card danger-zone">
        <div className="card-title">
          <div>
            <h2>Danger zone</h2>
            <p className="subtle">
              Kill stops the host without a clean shutdown. Remove deletes the host and its resources.
            </p>
          </div>
          <div className="actions">
            <Button
              small
              icon="bolt"
              disabled={machine.busy !== null || machine.state !== 'Running'}
              onClick={() => void attempt(() => window.moor.kill({ name }))}
            >
              Kill
            </Button>
            {confirmRemove ? (
              <>
                <Button
                  small
                  kind="danger"
                  icon="trash"
                  onClick={() =>
                    // Leave the view only once the host is gone; a failure shows and keeps it.
                    void attempt(async () => {
                      await window.moor.remove({ name });
                      navigate({ view: 'hosts' });
                    })
                  }
                  testId="confirm-remove"
                >
                  Remove {name}
                </Button>
                <Button small kind="ghost" onClick={() => setConfirmRemove(false)}>
                  Cancel
                </Button>
              </>
            ) : (
              <Button
                small
                kind="danger"
                icon="trash"
                disabled={machine.busy !== null}
                onClick={() => setConfirmRemove(true)}
                testId="remove"
              >
                Remove…
              </Button>
            )}
          </div>
        </div>
      </section>
    </div>
  );
}
