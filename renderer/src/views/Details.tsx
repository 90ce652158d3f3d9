import { useEffect, useState } from 'react';
import type { MachineDetails } from '../../../main/api/contract.js';
import type { Navigate } from '../App.js';
import { nodeBadges, nodeOfMachine } from '../cluster-model.js';
import { Button, Icon, Spinner, StatePill } from '../components.js';
import { driverFacts, engineGroups } from '../details-model.js';
import { hostActions } from '../host-actions.js';
import { attempt, openTasks, useAppState } from '../store.js';
import { HostActionButton, MachineActions } from './Hosts.js';
import { CostCard, ScheduleCard } from './Schedule.js';

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="kv">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function DetailsView({ name, navigate }: { name: string; navigate: Navigate }) {
  const machine = useAppState((s) => s.machines.find((m) => m.name === name));
  const schedule = useAppState((s) => s.schedules[name]);
  const node = useAppState((s) => nodeOfMachine(s.clusters, name));
  const [details, setDetails] = useState<MachineDetails | null>(null);
  const [error, setError] = useState('');
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

  const groups = engineGroups(details?.engineOptions);
  const facts = driverFacts(machine.driver, details?.config);

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
          <MachineActions machine={machine} node={node} navigate={navigate} />
          <Button
            small
            icon="folder"
            title="Show this machine's config.json in the file manager"
            onClick={() => void attempt(() => window.moor.revealInFolder({ name }))}
            testId="reveal-folder"
          >
            Reveal in folder
          </Button>
        </div>
      </header>
      {machine.reason && machine.reason.text !== machine.error ? (
        <div className="banner banner-error" data-testid="details-reason">
          <Icon name="alert" /> <span className="pre-wrap">{machine.reason.text}</span>
        </div>
      ) : null}
      {machine.error ? (
        <div className="banner banner-error" data-testid="details-error">
          <Icon name="alert" /> <span className="pre-wrap">{machine.error}</span>
        </div>
      ) : null}
      {/* A config that did not load fails inspect with the same words: say it once. */}
      {error && !machine.error && machine.busy !== 'creating' ? (
        <div className="banner banner-error">{error}</div>
      ) : null}
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
          {lastOp.info.status === 'failed' && lastOp.info.machineKept && machine.capabilities.ssh ? (
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
          {lastOp.info.status === 'running' ? (
            <Button
              small
              kind="danger"
              icon="x"
              onClick={() => void attempt(() => window.moor.cancelCreate({ operationId: lastOp.info.id }))}
              testId="cancel-operation"
            >
              Cancel
            </Button>
          ) : null}
          <button
            type="button"
            className="link"
            onClick={() => openTasks(lastOp.info.id)}
            data-testid="operation-show-task"
          >
            Show log
          </button>
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
            {node ? (
              <Row label="Swarm">
                <span data-testid="details-swarm">
                  <span className={`badge-role role-${node.role}`}>{nodeBadges(node).role}</span>{' '}
                  <span className="subtle small">{nodeBadges(node).status}</span>
                </span>
              </Row>
            ) : null}
          </dl>
        </section>

        <section className="card" data-testid="engine-options">
          {facts.length ? (
            <>
              <h2>{machine.driver} host</h2>
              <dl data-testid="driver-facts">
                {facts.map((f) => (
                  <Row key={f.field} label={f.label}>
                    <span className="mono small" title={`config.json Driver.${f.field}`}>
                      {f.value}
                    </span>
                  </Row>
                ))}
              </dl>
            </>
          ) : null}
          <h2>Docker engine</h2>
          {groups.length === 0 ? (
            <p className="subtle small">Docker's defaults: nothing was changed at create.</p>
          ) : null}
          {groups.map((g) => (
            <div key={g.title} className="fact-group">
              <h3 className="fact-title">{g.title}</h3>
              <dl>
                {g.facts.map((f) => (
                  <Row key={f.field} label={f.label}>
                    <span className="mono small" title={`config.json HostOptions.EngineOptions.${f.field}`}>
                      {f.value}
                    </span>
                  </Row>
                ))}
              </dl>
            </div>
          ))}
        </section>
      </div>

      <div className={`schedule-grid${schedule?.cost || schedule?.costError ? ' with-cost' : ''}`}>
        <ScheduleCard key={machine.name} machine={machine} />
        <CostCard info={schedule} />
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
            {machine.capabilities.ssh ? (
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
            <p className="subtle" data-testid="removes-what">
              {machine.capabilities.actions.includes('kill')
                ? 'Kill powers the host off without a clean shutdown. '
                : ''}
              {machine.capabilities.removes
                ? `Remove deletes ${machine.capabilities.removes}, and Moor's local record of it.`
                : "Remove deletes only Moor's local record (configuration, certificates, keys); the host itself is left as it is."}
            </p>
          </div>
          <div className="actions">
            {hostActions(machine)
              .filter((i) => i.action === 'kill' || i.action === 'remove')
              .map((item) => (
                <HostActionButton
                  key={item.action}
                  item={item}
                  machine={machine}
                  navigate={navigate}
                  kind={item.action === 'remove' ? 'danger' : 'default'}
                />
              ))}
          </div>
        </div>
      </section>
    </div>
  );
}
