import { useEffect, useMemo, useRef, useState } from 'react';
import type { DriverCatalog, ProgressEvent } from '../../../main/api/contract.js';
import type { Navigate } from '../App.js';
import { Button, Icon, Spinner } from '../components.js';
import { type FieldModel, type FormValues, formFields, initialValues, toRequest, validate } from '../form.js';
import { attempt, type OperationView, useAppState, viewingOperation } from '../store.js';
import { openTerminal } from '../terminals.js';

function Field({
  field,
  value,
  error,
  onChange,
  disabled,
}: {
  field: FieldModel;
  value: string | boolean;
  error?: string;
  onChange: (v: string | boolean) => void;
  disabled: boolean;
}) {
  const id = `flag-${field.flag.name}`;
  const hint = (
    <div className="field-hint">
      {field.flag.help}
      {field.flag.envVar ? (
        <span
          className={`env ${field.fromEnv ? 'env-set' : ''}`}
          title={field.fromEnv ? 'Set in the environment' : 'Environment variable'}
        >
          {field.fromEnv ? `✓ from $${field.flag.envVar}` : `$${field.flag.envVar}`}
        </span>
      ) : null}
      <span className="flag-name">--{field.flag.name}</span>
    </div>
  );
  if (field.input === 'checkbox') {
    return (
      <div className="field field-check">
        <label htmlFor={id}>
          <input
            id={id}
            type="checkbox"
            checked={value === true}
            onChange={(e) => onChange(e.target.checked)}
            disabled={disabled}
            data-testid={id}
          />
          {field.label}
        </label>
        {hint}
      </div>
    );
  }
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>
        {field.label}
        {field.required ? <span className="req">*</span> : null}
      </label>
      {field.input === 'lines' ? (
        <textarea
          id={id}
          rows={2}
          value={String(value)}
          placeholder="one per line"
          onChange={(e) => onChange(e.target.value)}
          disabled={disabled}
          data-testid={id}
        />
      ) : field.input === 'multiline' ? (
        <textarea
          id={id}
          rows={4}
          value={String(value)}
          placeholder="a file path, or the text itself (#cloud-config ...)"
          onChange={(e) => onChange(e.target.value)}
          disabled={disabled}
          spellCheck={false}
          data-testid={id}
        />
      ) : (
        <input
          id={id}
          type={field.input === 'password' ? 'password' : 'text'}
          inputMode={field.input === 'number' ? 'numeric' : undefined}
          value={String(value)}
          placeholder={
            field.fromEnv
              ? `from $${field.flag.envVar}`
              : field.flag.default !== undefined && field.flag.default !== ''
                ? String(field.flag.default)
                : ''
          }
          onChange={(e) => onChange(e.target.value)}
          disabled={disabled}
          autoComplete="off"
          spellCheck={false}
          data-testid={id}
        />
      )}
      {error ? <div className="field-error">{error}</div> : hint}
    </div>
  );
}

function FieldList({
  fields,
  values,
  errors,
  disabled,
  onChange,
}: {
  fields: readonly FieldModel[];
  values: FormValues;
  errors: Record<string, string>;
  disabled: boolean;
  onChange: (flag: string, value: string | boolean) => void;
}) {
  return (
    <div className="fields">
      {fields.map((f) => (
        <Field
          key={f.flag.name}
          field={f}
          value={values[f.flag.name] ?? ''}
          error={errors[f.flag.name]}
          disabled={disabled}
          onChange={(v) => onChange(f.flag.name, v)}
        />
      ))}
    </div>
  );
}

/** The form's starting values for one driver: its flags and the common ones, at their defaults. */
function driverDefaults(catalog: DriverCatalog, driver: string): FormValues {
  const d = catalog.drivers.find((x) => x.name === driver);
  return initialValues([...(d?.flags ?? []), ...catalog.commonFlags]);
}

/** Steps of an operation: each 'step' event opens one; the last one is live until the end. */
function steps(op: OperationView): {
  at: number;
  message: string;
  status: 'done' | 'running' | 'failed' | 'cancelled';
  elapsed: number;
  /** The running step's latest line (address, attempt, last error while it waits). */
  detail: string;
}[] {
  const stepEvents = op.log.filter((e) => e.level === 'step');
  const status = op.info.status;
  const lastStep = op.log.lastIndexOf(stepEvents.at(-1)!);
  const latest = op.log.slice(lastStep + 1).findLast((e) => e.level !== 'step')?.message ?? '';
  return stepEvents.map((e, i) => {
    const last = i === stepEvents.length - 1;
    const next = stepEvents[i + 1];
    const end = next ? next.elapsedMs : (op.info.endedAt ?? Date.now()) - op.info.startedAt;
    let s: 'done' | 'running' | 'failed' | 'cancelled' = 'done';
    if (last && status === 'running') s = 'running';
    if (last && status === 'failed') s = 'failed';
    if (last && status === 'cancelled') s = 'cancelled';
    return {
      at: e.elapsedMs,
      message: e.message,
      status: s,
      elapsed: Math.max(0, end - e.elapsedMs),
      detail: last && s === 'running' ? latest : '',
    };
  });
}

function LogLine({ e }: { e: ProgressEvent }) {
  return (
    <div className={`log-line log-${e.level}`}>
      <span className="log-time">{(e.elapsedMs / 1000).toFixed(1)}s</span>
      <span className="log-msg">{e.message}</span>
    </div>
  );
}

/** After a create: what people do next with a new host. */
function NextSteps({ machine, navigate }: { machine: string; navigate: Navigate }) {
  const summary = useAppState((s) => s.machines.find((m) => m.name === machine));
  const running = summary?.state === 'Running';
  return (
    <>
      <Button
        kind="primary"
        icon="target"
        disabled={!running || summary?.active}
        onClick={() => void attempt(() => window.moor.setActiveHost({ name: machine }))}
        testId="use-created"
      >
        {summary?.active ? 'Active host' : 'Use as active host'}
      </Button>
      {summary?.capabilities.ssh ? (
        <Button
          icon="terminal"
          disabled={!running}
          onClick={() => {
            openTerminal(machine);
            navigate({ view: 'terminals' });
          }}
          testId="terminal-created"
        >
          Open terminal
        </Button>
      ) : null}
      <Button
        kind="ghost"
        icon="server"
        onClick={() => navigate({ view: 'details', machine })}
        testId="show-created"
      >
        Show {machine}
      </Button>
    </>
  );
}

export function Progress({
  op,
  onCancel,
  onRetry,
  navigate,
}: {
  op: OperationView;
  onCancel: () => void;
  onRetry: () => void;
  navigate: Navigate;
}) {
  const logRef = useRef<HTMLDivElement>(null);
  const list = steps(op);
  const id = op.info.id;
  // Its end shows here: no toast repeats it.
  useEffect(() => viewingOperation(id), [id]);
  const status = op.info.status;
  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  });
  return (
    <section className="card progress" data-testid="create-progress" data-status={status}>
      <div className="card-title">
        <h2>
          {status === 'running' ? <Spinner /> : null}{' '}
          {op.info.kind === 'create' ? 'Creating' : 'Provisioning'}{' '}
          <span className="mono">{op.info.machine}</span>
        </h2>
        <span className={`status status-${status}`} data-testid="create-status">
          {status === 'running' ? 'in progress' : status}
        </span>
      </div>
      <ol className="steps" data-testid="create-steps">
        {list.map((s) => (
          <li key={`${s.at}-${s.message}`} className={`step step-${s.status}`}>
            <span className="step-icon">
              {s.status === 'running' ? (
                <Spinner />
              ) : s.status === 'done' ? (
                <Icon name="check" size={14} />
              ) : (
                <Icon name="x" size={14} />
              )}
            </span>
            <span className="step-msg">
              {s.message}
              {s.detail ? (
                <span className="step-detail" data-testid="step-detail">
                  {s.detail}
                </span>
              ) : null}
            </span>
            <span className="step-time">{(s.elapsed / 1000).toFixed(1)}s</span>
          </li>
        ))}
        {list.length === 0 && status === 'running' ? <li className="step step-running">Starting…</li> : null}
      </ol>
      {op.info.error ? (
        <div className="banner banner-error" data-testid="create-error">
          <Icon name="alert" /> {op.info.error}
          {status === 'cancelled' ? ' — everything created so far was rolled back.' : ''}
        </div>
      ) : null}
      <div className="log" ref={logRef} data-testid="create-log">
        {op.log.map((e, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: log lines are append-only
          <LogLine key={i} e={e} />
        ))}
      </div>
      <div className="form-actions">
        {status === 'running' ? (
          <Button kind="danger" icon="x" onClick={onCancel} testId="cancel-create">
            Cancel and roll back
          </Button>
        ) : null}
        {status === 'failed' || status === 'cancelled' ? (
          <Button kind="primary" icon="restart" onClick={onRetry} testId="retry-create">
            {op.info.machineKept ? 'Retry provisioning' : 'Retry'}
          </Button>
        ) : null}
        {status === 'succeeded' ? <NextSteps machine={op.info.machine} navigate={navigate} /> : null}
      </div>
    </section>
  );
}

export function CreateView({ navigate }: { navigate: Navigate }) {
  const [catalog, setCatalog] = useState<DriverCatalog | null>(null);
  const [loadError, setLoadError] = useState('');
  const [driver, setDriver] = useState('');
  const [name, setName] = useState('');
  const [values, setValues] = useState<FormValues>({});
  const [submitted, setSubmitted] = useState(false);
  const [submitError, setSubmitError] = useState('');
  const [operationId, setOperationId] = useState<string | null>(null);
  const [showAdvanced, setShowAdvanced] = useState(false);
  const op = useAppState((s) => (operationId ? s.operations[operationId] : undefined));

  useEffect(() => {
    let live = true;
    Promise.all([window.moor.listDrivers(), window.moor.settings()]).then(
      ([c, { settings }]) => {
        if (!live) return;
        setCatalog(c);
        // The driver chosen in Settings (generic unless changed).
        const first = c.drivers.find((d) => d.name === settings.defaultDriver) ?? c.drivers[0];
        if (first) {
          setDriver(first.name);
          setValues(driverDefaults(c, first.name));
        }
      },
      (err: unknown) => {
        if (live) setLoadError(err instanceof Error ? err.message : String(err));
      },
    );
    return () => {
      live = false;
    };
  }, []);

  const fields = useMemo(
    () => (catalog ? formFields(catalog, driver) : { driverFields: [], commonFields: [] }),
    [catalog, driver],
  );
  const all = useMemo(() => [...fields.driverFields, ...fields.commonFields], [fields]);
  const running = op?.info.status === 'running';
  const existing = useAppState((s) => s.machines).map((m) => m.name);
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const touch = (field: string) => setTouched((prev) => (prev.has(field) ? prev : new Set([...prev, field])));
  // As the user types: a field's error shows once it was edited; all of them after a submit.
  const allErrors = validate(name, all, values, existing);
  const errors = submitted
    ? allErrors
    : Object.fromEntries(Object.entries(allErrors).filter(([field]) => touched.has(field)));

  const chooseDriver = (next: string) => {
    if (!catalog) return;
    setDriver(next);
    setValues(driverDefaults(catalog, next));
    setSubmitted(false);
    setTouched(new Set());
  };
  const setValue = (flag: string, value: string | boolean) => {
    touch(flag);
    setValues((prev) => ({ ...prev, [flag]: value }));
  };

  const submit = async () => {
    const found = validate(name, all, values, existing);
    setSubmitted(true);
    setSubmitError('');
    if (Object.keys(found).length) return;
    try {
      const { operationId: id } = await window.moor.createMachine(toRequest(name, driver, all, values));
      setOperationId(id);
    } catch (err) {
      setSubmitError(err instanceof Error ? err.message : String(err));
    }
  };

  // The form still holds what was submitted: retry submits it again as a new operation. A create
  // that kept its machine (provisioning failed after the host was changed) is finished instead.
  const retry = async () => {
    if (op?.info.machineKept) {
      setSubmitError('');
      try {
        const { operationId: id } = await window.moor.provisionMachine({ name: op.info.machine });
        setOperationId(id);
      } catch (err) {
        setSubmitError(err instanceof Error ? err.message : String(err));
      }
      return;
    }
    setOperationId(null);
    void submit();
  };

  const driverInfo = catalog?.drivers.find((d) => d.name === driver);

  // After a success the form starts over (the progress stays, with its next steps).
  const succeeded = op?.info.status === 'succeeded';
  useEffect(() => {
    if (!succeeded || !catalog) return;
    setName('');
    setValues(driverDefaults(catalog, driver));
    setTouched(new Set());
    setSubmitted(false);
  }, [succeeded, catalog, driver]);

  return (
    <div className="view">
      <header className="view-header">
        <div>
          <button type="button" className="link back" onClick={() => navigate({ view: 'hosts' })}>
            <Icon name="back" size={14} /> Hosts
          </button>
          <h1>Create a Docker host</h1>
          <p className="subtle">
            Moor creates the machine, installs Docker over SSH and secures it with TLS certificates.
          </p>
        </div>
      </header>
      {loadError ? <div className="banner banner-error">{loadError}</div> : null}
      <div className={op ? 'create-grid with-progress' : 'create-grid'}>
        <form
          className="card create-form"
          data-testid="create-form"
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <h2>Driver</h2>
          <div className="drivers">
            {catalog?.drivers.map((d) => (
              <button
                type="button"
                key={d.name}
                className={`driver-card${d.name === driver ? ' selected' : ''}`}
                onClick={() => chooseDriver(d.name)}
                disabled={running}
                data-testid={`driver-${d.name}`}
              >
                <strong>{d.name}</strong>
                <span>{d.description}</span>
              </button>
            ))}
          </div>

          <div className={`field${errors.name ? ' has-error' : ''}`}>
            <label htmlFor="machine-name">
              Name<span className="req">*</span>
            </label>
            <input
              id="machine-name"
              value={name}
              onChange={(e) => {
                touch('name');
                setName(e.target.value);
              }}
              placeholder="e.g. staging"
              disabled={running}
              autoComplete="off"
              spellCheck={false}
              data-testid="machine-name"
            />
            {errors.name ? (
              <div className="field-error">{errors.name}</div>
            ) : (
              <div className="field-hint">Letters, digits, “.” and “-”.</div>
            )}
          </div>

          {fields.driverFields.length ? <h2>{driverInfo?.name} options</h2> : null}
          <FieldList
            fields={fields.driverFields}
            values={values}
            errors={errors}
            disabled={running}
            onChange={setValue}
          />

          {fields.commonFields.length ? (
            <>
              <button
                type="button"
                className="link advanced-toggle"
                onClick={() => setShowAdvanced(!showAdvanced)}
                data-testid="toggle-advanced"
              >
                {showAdvanced ? '▾' : '▸'} Engine and TLS options ({fields.commonFields.length})
              </button>
              {showAdvanced ? (
                <FieldList
                  fields={fields.commonFields}
                  values={values}
                  errors={errors}
                  disabled={running}
                  onChange={setValue}
                />
              ) : null}
            </>
          ) : null}

          {submitError ? (
            <div className="banner banner-error" data-testid="submit-error">
              <Icon name="alert" /> {submitError}
            </div>
          ) : null}
          <div className="form-actions">
            <Button kind="ghost" onClick={() => navigate({ view: 'hosts' })}>
              Cancel
            </Button>
            <Button
              kind="primary"
              type="submit"
              icon="plus"
              disabled={running || !catalog}
              testId="create-submit"
            >
              Create {name || 'host'}
            </Button>
          </div>
        </form>
        {op ? (
          <Progress
            op={op}
            navigate={navigate}
            onCancel={() => void attempt(() => window.moor.cancelCreate({ operationId: op.info.id }))}
            onRetry={() => void retry()}
          />
        ) : null}
      </div>
    </div>
  );
}
