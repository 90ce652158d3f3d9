/**
 * The create form's SSH helpers (issue 11 item 4): key path fields with Browse… (the system's
 * file picker, through the contract) and a key check as the user types or picks, and "Test
 * connection" for the generic driver, step by step, before anything is created.
 */
import { useEffect, useState } from 'react';
import type { ConnectionTestResult, KeyFileCheck } from '../../../main/api/contract.js';
import { Button, Icon, Spinner } from '../components.js';
import type { FieldModel, FormValues } from '../form.js';

/** A key field's check: its result, or 'checking' while main reads the file. */
export type KeyCheckState = KeyFileCheck | 'checking';

/** How long typing must pause before the file is checked. */
const CHECK_DELAY_MS = 250;

/**
 * Checks every key path field with a value (main reads the file: exists, regular, readable, a
 * private key, not passphrase-protected), again whenever one changes. Keyed by flag name.
 */
export function useKeyChecks(
  fields: readonly FieldModel[],
  values: FormValues,
): Record<string, KeyCheckState> {
  const keyFields = fields.filter((f) => f.flag.file === 'ssh-private-key').map((f) => f.flag.name);
  const wanted = keyFields.map((name) => [name, String(values[name] ?? '').trim()] as const);
  const signature = JSON.stringify(wanted);
  const [checks, setChecks] = useState<Record<string, KeyCheckState>>({});
  useEffect(() => {
    let live = true;
    const entries = JSON.parse(signature) as Array<[string, string]>;
    setChecks(Object.fromEntries(entries.flatMap(([name, path]) => (path ? [[name, 'checking']] : []))));
    const timer = setTimeout(() => {
      for (const [name, path] of entries) {
        if (!path) continue;
        window.moor.checkKeyFile({ path }).then(
          (check) => {
            if (live) setChecks((prev) => ({ ...prev, [name]: check }));
          },
          (err: unknown) => {
            if (!live) return;
            const message = err instanceof Error ? err.message : String(err);
            const failed: KeyFileCheck = {
              ok: false,
              kind: 'unreadable',
              message,
              keyType: '',
              fingerprint: '',
            };
            setChecks((prev) => ({ ...prev, [name]: failed }));
          },
        );
      }
    }, CHECK_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [signature]);
  return checks;
}

/** The form errors the key checks add: a key that cannot log in blocks the create. */
export function keyCheckErrors(checks: Record<string, KeyCheckState>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(checks).flatMap(([name, c]) => (c !== 'checking' && !c.ok ? [[name, c.message]] : [])),
  );
}

/** A key path input with Browse… and the check's verdict under it. */
export function KeyFileInput({
  id,
  label,
  value,
  placeholder,
  check,
  disabled,
  onChange,
}: {
  id: string;
  label: string;
  value: string;
  placeholder: string;
  check: KeyCheckState | undefined;
  disabled: boolean;
  onChange: (value: string) => void;
}) {
  const [pickError, setPickError] = useState('');
  const browse = async () => {
    setPickError('');
    try {
      const { path } = await window.moor.pickFile({
        title: `Choose: ${label}`,
        ...(value.trim() ? { defaultPath: value.trim() } : {}),
      });
      if (path !== null) onChange(path);
    } catch (err) {
      setPickError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <>
      <div className="key-input">
        <input
          id={id}
          type="text"
          value={value}
          placeholder={placeholder}
          onChange={(e) => onChange(e.target.value)}
          disabled={disabled}
          autoComplete="off"
          spellCheck={false}
          data-testid={id}
        />
        <Button icon="folder" onClick={() => void browse()} disabled={disabled} testId={`${id}-browse`}>
          Browse…
        </Button>
      </div>
      {check === 'checking' ? (
        <div className="key-check" data-testid={`${id}-check`} data-kind="checking">
          <Spinner /> Checking the key…
        </div>
      ) : check?.ok ? (
        <div
          className="key-check key-ok"
          data-testid={`${id}-check`}
          data-kind={check.kind}
          title={check.message}
        >
          <Icon name="check" size={13} /> <span className="ellipsis">{check.message}</span>
        </div>
      ) : null}
      {pickError ? <div className="field-error">{pickError}</div> : null}
    </>
  );
}

/** The generic driver's fields the test uses. */
const IP = 'generic-ip-address';
const PORT = 'generic-ssh-port';
const USER = 'generic-ssh-user';
const KEY = 'generic-ssh-key';

/**
 * "Test connection" for a generic host: TCP, SSH banner, host key, login, remote system, each
 * with what it found or why it failed. Disabled while a field it needs is wrong.
 */
export function TestConnection({
  values,
  errors,
  disabled,
}: {
  values: FormValues;
  /** The form's current errors (all of them, touched or not). */
  errors: Record<string, string>;
  disabled: boolean;
}) {
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<ConnectionTestResult | null>(null);
  const [callError, setCallError] = useState('');
  const ip = String(values[IP] ?? '').trim();
  const port = Number(String(values[PORT] ?? '').trim() || 22);
  const user = String(values[USER] ?? '').trim() || 'root';
  const keyPath = String(values[KEY] ?? '').trim();
  const blocked = [IP, PORT, USER, KEY].find((f) => errors[f]);
  const run = async () => {
    setRunning(true);
    setResult(null);
    setCallError('');
    try {
      setResult(await window.moor.testConnection({ ip, port, user, keyPath }));
    } catch (err) {
      setCallError(err instanceof Error ? err.message : String(err));
    } finally {
      setRunning(false);
    }
  };
  return (
    <div className="connection-test" data-testid="connection-test">
      <div className="connection-test-head">
        <Button
          icon="bolt"
          onClick={() => void run()}
          disabled={disabled || running || !ip || Boolean(blocked)}
          title={blocked ? `Fix ${blocked} first` : !ip ? 'Enter the IP address first' : undefined}
          testId="test-connection"
        >
          Test connection
        </Button>
        <span className="subtle">
          {running ? (
            <>
              <Spinner /> Trying {user}@{ip}:{port}…
            </>
          ) : result ? (
            <span className={result.ok ? 'test-ok' : 'test-failed'} data-testid="connection-verdict">
              {result.ok ? 'The host is ready for create' : 'The host is not reachable as given'}
            </span>
          ) : (
            'Checks the address, SSH, the host key and the login before creating.'
          )}
        </span>
      </div>
      {result ? (
        <ol className="steps connection-steps" data-testid="connection-steps">
          {result.steps.map((s) => (
            <li
              key={s.step}
              className={`step ${s.ok ? 'step-done' : 'step-failed'}`}
              data-step={s.step}
              data-ok={String(s.ok)}
            >
              <span className="step-icon">
                <Icon name={s.ok ? 'check' : 'x'} size={14} />
              </span>
              <span className="step-msg">
                {s.label}
                <span className="step-detail">{s.detail}</span>
              </span>
              <span />
            </li>
          ))}
        </ol>
      ) : null}
      {callError ? (
        <div className="banner banner-error" data-testid="connection-error">
          <Icon name="alert" /> {callError}
        </div>
      ) : null}
    </div>
  );
}
