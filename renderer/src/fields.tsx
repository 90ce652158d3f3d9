/**
 * The create form's driver fields: plain inputs generated from the flags, a searchable combobox
 * for flags whose values the provider lists (regions, sizes with prices, images), and the
 * common / advanced grouping. The label is the human one; the flag name and env var stay visible
 * as secondary text.
 */
import { type KeyboardEvent, useEffect, useId, useMemo, useState } from 'react';
import type { FlagChoice } from '../../main/api/contract.js';
import { Spinner } from './components.js';
import {
  choiceAvailability,
  credentialsOf,
  type FieldModel,
  type FormValues,
  filterChoices,
  groupFields,
} from './form.js';
import { type KeyCheckState, KeyFileInput } from './views/SshHostCheck.js';

interface FieldProps {
  field: FieldModel;
  value: string | boolean;
  error?: string;
  onChange: (v: string | boolean) => void;
  disabled: boolean;
  keyCheck?: KeyCheckState;
}

function FieldHint({ field }: { field: FieldModel }) {
  return (
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
}

function placeholderOf(field: FieldModel): string {
  if (field.fromEnv) return `from $${field.flag.envVar}`;
  const d = field.flag.default;
  return d !== undefined && d !== '' ? String(d) : '';
}

export function Field({ field, value, error, onChange, disabled, keyCheck }: FieldProps) {
  const id = `flag-${field.flag.name}`;
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
        <FieldHint field={field} />
      </div>
    );
  }
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>
        {field.label}
        {field.required ? <span className="req">*</span> : null}
      </label>
      {field.flag.file === 'ssh-private-key' ? (
        <KeyFileInput
          id={id}
          label={field.label}
          value={String(value)}
          placeholder={field.fromEnv ? `from $${field.flag.envVar}` : ''}
          check={keyCheck}
          disabled={disabled}
          onChange={onChange}
        />
      ) : field.input === 'lines' ? (
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
          placeholder={placeholderOf(field)}
          onChange={(e) => onChange(e.target.value)}
          disabled={disabled}
          autoComplete="off"
          spellCheck={false}
          data-testid={id}
        />
      )}
      {error ? <div className="field-error">{error}</div> : <FieldHint field={field} />}
    </div>
  );
}

type ChoicesState =
  | { status: 'idle' }
  | { status: 'loading'; key: string }
  | { status: 'ready'; key: string; choices: FlagChoice[] }
  | { status: 'failed'; key: string; error: string };

/**
 * A combobox (ARIA 1.2 "list autocomplete"): the text is the flag's value, so anything may be
 * typed; the list the provider gave is filtered by it. Arrow keys move, Enter picks, Escape closes.
 * The list is fetched when first opened, with the token the form holds (main caches it).
 */
export function ChoiceField({
  field,
  value,
  error,
  onChange,
  disabled,
  driver,
  credentials,
  values,
}: FieldProps & { driver: string; credentials: Record<string, string>; values: FormValues }) {
  const id = `flag-${field.flag.name}`;
  const listId = `${useId()}-list`;
  const text = String(value);
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState(false);
  const [active, setActive] = useState(-1);
  const [state, setState] = useState<ChoicesState>({ status: 'idle' });
  const key = JSON.stringify(credentials);

  const load = (refresh: boolean) => {
    setState({ status: 'loading', key });
    window.moor
      .driverChoices({ driver, flag: field.flag.name, credentials, ...(refresh ? { refresh } : {}) })
      .then(
        (answer) => setState({ status: 'ready', key, choices: answer.choices }),
        (err: unknown) =>
          setState({ status: 'failed', key, error: err instanceof Error ? err.message : String(err) }),
      );
  };
  // Opened with other credentials than the list was fetched with (a token typed since): fetch again.
  const stale = state.status === 'idle' || (state.status !== 'loading' && state.key !== key);
  // biome-ignore lint/correctness/useExhaustiveDependencies: load is recreated every render; `stale` and `open` decide
  useEffect(() => {
    if (open && stale) load(false);
  }, [open, stale]);

  const fetched = state.status === 'ready' ? state.choices : null;
  // Judged with the form's other values: a size not offered in the chosen region cannot be picked.
  const choices = useMemo(
    () =>
      (fetched ?? []).map((c) => {
        const { available, why } = choiceAvailability(c, values);
        return why ? { ...c, available, detail: `${c.detail} · ${why}` } : c;
      }),
    [fetched, values],
  );
  const shown = useMemo(() => filterChoices(choices, typed ? text : ''), [choices, typed, text]);
  const selected = choices.find((c) => c.value === text.trim());
  const optionId = (i: number) => `${listId}-${i}`;

  const openList = () => {
    if (disabled) return;
    setTyped(false);
    setOpen(true);
    setActive(-1);
  };
  const choose = (c: FlagChoice) => {
    if (!c.available) return;
    onChange(c.value);
    setTyped(false);
    setOpen(false);
  };
  const move = (by: number) => {
    if (!open) {
      openList();
      return;
    }
    if (!shown.length) return;
    setActive((i) => (i + by + shown.length) % shown.length);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      move(e.altKey ? 0 : 1);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      move(-1);
    } else if (e.key === 'Enter' && open) {
      // Enter picks the highlighted choice; without one it closes the list (no submit meanwhile).
      e.preventDefault();
      const c = shown[active];
      if (c) choose(c);
      else setOpen(false);
    } else if (e.key === 'Escape' && open) {
      e.preventDefault();
      setOpen(false);
    }
  };

  const sourceName = field.flag.choices ?? 'values';
  // A failed fetch shows below the field instead (with its retry): no empty popup.
  const expanded = open && state.status !== 'failed';
  return (
    <div className={`field combo${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>
        {field.label}
        {field.required ? <span className="req">*</span> : null}
      </label>
      <div className="combo-box">
        <input
          id={id}
          type="text"
          role="combobox"
          aria-expanded={expanded}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={expanded && shown[active] ? optionId(active) : undefined}
          value={text}
          placeholder={placeholderOf(field) || `search ${sourceName}`}
          onChange={(e) => {
            onChange(e.target.value);
            setTyped(true);
            setOpen(true);
            setActive(0);
          }}
          onFocus={openList}
          onClick={() => (open ? undefined : openList())}
          onBlur={() => setOpen(false)}
          onKeyDown={onKeyDown}
          disabled={disabled}
          autoComplete="off"
          spellCheck={false}
          data-testid={id}
        />
        <button
          type="button"
          className="combo-toggle"
          tabIndex={-1}
          aria-label={`${expanded ? 'Hide' : 'Show'} the list of ${sourceName}`}
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => {
            if (expanded) setOpen(false);
            else {
              document.getElementById(id)?.focus();
              openList();
              if (state.status === 'failed') load(true);
            }
          }}
          disabled={disabled}
          data-testid={`${id}-toggle`}
        >
          <span aria-hidden="true">{expanded ? '▴' : '▾'}</span>
        </button>
        {expanded ? (
          <div className="combo-popup" data-testid={`${id}-list`}>
            {state.status === 'loading' || state.status === 'idle' ? (
              <div className="combo-status">
                <Spinner /> Loading {sourceName}…
              </div>
            ) : null}
            {state.status === 'ready' && shown.length === 0 ? (
              <div className="combo-status">
                No {sourceName} match “{text}”: it is sent as typed.
              </div>
            ) : null}
            <div role="listbox" id={listId} aria-label={field.label} className="combo-list">
              {shown.map((c, i) => (
                // biome-ignore lint/a11y/useKeyWithClickEvents: the input's keys drive the list (combobox pattern)
                <div
                  key={c.value}
                  id={optionId(i)}
                  role="option"
                  tabIndex={-1}
                  aria-selected={c.value === text.trim()}
                  aria-disabled={!c.available || undefined}
                  className={`combo-option${i === active ? ' active' : ''}${c.available ? '' : ' unavailable'}`}
                  onMouseDown={(e) => e.preventDefault()}
                  onMouseEnter={() => setActive(i)}
                  onClick={() => choose(c)}
                  data-value={c.value}
                >
                  <span className="combo-label">{c.label}</span>
                  <span className="combo-detail">{c.detail}</span>
                </div>
              ))}
            </div>
          </div>
        ) : null}
      </div>
      {state.status === 'failed' ? (
        <div className="field-error combo-error" role="alert" data-testid={`${id}-error`}>
          <span>
            Could not list {sourceName}: {state.error}. You can still type a value.
          </span>
          <button type="button" className="link" onClick={() => load(true)} data-testid={`${id}-retry`}>
            Retry
          </button>
        </div>
      ) : null}
      {error ? <div className="field-error">{error}</div> : null}
      {selected && !error ? (
        <div className="combo-selected" data-testid={`${id}-selected`}>
          {selected.label} <span className="combo-detail">{selected.detail}</span>
        </div>
      ) : null}
      {error ? null : <FieldHint field={field} />}
    </div>
  );
}

export function FieldList({
  fields,
  values,
  errors,
  disabled,
  onChange,
  driver,
  credentials = {},
  keyChecks = {},
}: {
  fields: readonly FieldModel[];
  values: FormValues;
  errors: Record<string, string>;
  disabled: boolean;
  onChange: (flag: string, value: string | boolean) => void;
  driver: string;
  credentials?: Record<string, string>;
  keyChecks?: Record<string, KeyCheckState>;
}) {
  return (
    <div className="fields">
      {fields.map((f) => {
        const props = {
          field: f,
          value: values[f.flag.name] ?? '',
          error: errors[f.flag.name],
          disabled,
          onChange: (v: string | boolean) => onChange(f.flag.name, v),
          keyCheck: keyChecks[f.flag.name],
        };
        return f.choices ? (
          <ChoiceField
            key={f.flag.name}
            {...props}
            driver={driver}
            credentials={credentials}
            values={values}
          />
        ) : (
          <Field key={f.flag.name} {...props} />
        );
      })}
    </div>
  );
}

/** A driver's fields: the common ones, then the advanced ones behind a toggle (open on an error). */
export function DriverFields({
  driver,
  fields,
  values,
  errors,
  disabled,
  onChange,
  keyChecks,
}: {
  driver: string;
  fields: readonly FieldModel[];
  values: FormValues;
  errors: Record<string, string>;
  disabled: boolean;
  onChange: (flag: string, value: string | boolean) => void;
  keyChecks?: Record<string, KeyCheckState>;
}) {
  const [show, setShow] = useState(false);
  const { common, advanced } = groupFields(fields);
  const credentials = credentialsOf(fields, values);
  const advancedError = advanced.some((f) => errors[f.flag.name]);
  const open = show || advancedError;
  const list = (group: readonly FieldModel[]) => (
    <FieldList
      fields={group}
      values={values}
      errors={errors}
      disabled={disabled}
      onChange={onChange}
      driver={driver}
      credentials={credentials}
      keyChecks={keyChecks}
    />
  );
  return (
    <>
      {list(common)}
      {advanced.length ? (
        <>
          <button
            type="button"
            className="link advanced-toggle"
            aria-expanded={open}
            onClick={() => setShow(!open)}
            data-testid="toggle-driver-advanced"
          >
            {open ? '▾' : '▸'} More {driver} options ({advanced.length})
          </button>
          {open ? list(advanced) : null}
        </>
      ) : null}
    </>
  );
}
