/**
 * Details' Schedule and Cost cards. The schedule is edited as day toggles and times, checked by
 * the CLI's own validation (schedule-model.ts) and saved through the contract; the cost is what
 * main got from the provider (ScheduleInfo.cost), never computed here.
 */
import { useEffect, useMemo, useState } from 'react';
import type { MachineSummary, ScheduleInfo } from '../../../main/api/contract.js';
import { isToday } from '../../../main/schedule/format.js';
import type { Weekday } from '../../../main/schedule/spec.js';
import { Button, Icon } from '../components.js';
import {
  costFacts,
  formFromSchedule,
  lastRunText,
  nextEventText,
  type ScheduleForm,
  scheduleLimits,
  scheduleRequest,
  type TimeRow,
  WEEKDAY_LABELS,
  WEEKDAYS,
} from '../schedule-model.js';
import { attempt, putSchedule, reloadSchedule, useAppState } from '../store.js';

function systemZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Every IANA zone the browser knows, for the zone field's suggestions. */
function knownZones(): string[] {
  const intl = Intl as { supportedValuesOf?: (key: string) => string[] };
  return intl.supportedValuesOf?.('timeZone') ?? [];
}

function DayToggles({
  row,
  label,
  disabled,
  onChange,
}: {
  row: TimeRow;
  label: 'start' | 'stop';
  disabled: boolean;
  onChange: (days: Weekday[]) => void;
}) {
  return (
    // biome-ignore lint/a11y/useSemanticElements: a row of toggle buttons, not a form fieldset
    <div className="day-toggles" role="group" aria-label={`Days to ${label}`}>
      {WEEKDAYS.map((d) => {
        const on = row.days.includes(d);
        return (
          <button
            key={d}
            type="button"
            className={`day${on ? ' on' : ''}`}
            aria-pressed={on}
            disabled={disabled}
            onClick={() => onChange(on ? row.days.filter((x) => x !== d) : [...row.days, d])}
            data-testid={`schedule-${label}-day-${d}`}
          >
            {WEEKDAY_LABELS[d - 1]}
          </button>
        );
      })}
    </div>
  );
}

function TimeLine({
  label,
  row,
  disabled,
  onChange,
}: {
  label: 'start' | 'stop';
  row: TimeRow;
  disabled: boolean;
  onChange: (row: TimeRow) => void;
}) {
  return (
    <div className="schedule-line">
      <span className="schedule-label">{label === 'start' ? 'Start' : 'Stop'}</span>
      <DayToggles
        row={row}
        label={label}
        disabled={disabled}
        onChange={(days) => onChange({ ...row, days })}
      />
      <input
        type="time"
        className="sched-input"
        aria-label={`${label === 'start' ? 'Start' : 'Stop'} time`}
        value={row.time}
        disabled={disabled}
        onChange={(e) => onChange({ ...row, time: e.target.value })}
        data-testid={`schedule-${label}-time`}
      />
      {row.time && !disabled ? (
        <button
          type="button"
          className="link small"
          onClick={() => onChange({ ...row, time: '' })}
          data-testid={`schedule-${label}-none`}
        >
          none
        </button>
      ) : null}
    </div>
  );
}

export function ScheduleCard({ machine }: { machine: MachineSummary }) {
  const name = machine.name;
  const info = useAppState((s) => s.schedules[name]);
  const limits = scheduleLimits(machine);
  const [form, setForm] = useState<ScheduleForm>(() => formFromSchedule(info, systemZone()));
  const [dirty, setDirty] = useState(false);
  const [error, setError] = useState('');
  const [saving, setSaving] = useState(false);
  const zones = useMemo(knownZones, []);

  // Main's copy wins until the user edits (a schedule set from the CLI or the tray shows up here).
  const infoKey = JSON.stringify([
    info?.zone,
    info?.start,
    info?.stop,
    info?.idleStopMinutes,
    info?.hibernate,
  ]);
  useEffect(() => {
    void infoKey;
    if (!dirty) setForm(formFromSchedule(info, systemZone()));
  }, [infoKey, dirty, info]);

  useEffect(() => {
    // Details may open before the list's schedules arrived, or for a host created since.
    if (!info) void attempt(() => reloadSchedule(name));
  }, [info, name]);

  const edit = (patch: Partial<ScheduleForm>) => {
    setForm((f) => ({ ...f, ...patch }));
    setDirty(true);
    setError('');
  };

  const save = async () => {
    const request = scheduleRequest(name, form);
    if ('error' in request) {
      setError(request.error);
      return;
    }
    setSaving(true);
    try {
      putSchedule(await window.moor.setSchedule(request.args));
      setDirty(false);
      setError('');
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setSaving(false);
    }
  };

  const clear = async () => {
    setSaving(true);
    try {
      await window.moor.clearSchedule({ name });
      await reloadSchedule(name);
      setDirty(false);
      setError('');
      setForm(formFromSchedule(undefined, systemZone()));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setSaving(false);
    }
  };

  const unavailable = !limits.canStart && !limits.canStop;
  const next = nextEventText(info);
  const last = lastRunText(info);
  const hasSchedule = Boolean(info?.zone);

  return (
    <section className="card schedule-card" data-testid="schedule-card">
      <div className="card-title">
        <h2>Schedule</h2>
        {hasSchedule ? (
          <div className="actions">
            <span className="subtle small" data-testid="schedule-next">
              {next ? `Next: ${next}` : 'Nothing coming'}
            </span>
            {info?.next && isToday(info.next.at, info.zone, Date.now()) ? (
              <Button
                small
                disabled={saving}
                title="Skip the start and stop times left today; the schedule resumes tomorrow"
                onClick={() =>
                  void attempt(async () => {
                    await window.moor.pauseScheduleToday({ name });
                    await reloadSchedule(name);
                  })
                }
                testId="schedule-pause-today"
              >
                Pause today
              </Button>
            ) : null}
          </div>
        ) : null}
      </div>
      {limits.reason ? (
        <p className="subtle small schedule-note" data-testid="schedule-unavailable">
          <Icon name="info" size={14} />
          <span>{limits.reason}</span>
        </p>
      ) : null}
      {info?.error ? (
        <div className="banner banner-error">
          <Icon name="alert" /> <span>{info.error}</span>
        </div>
      ) : null}
      {unavailable ? null : (
        <form
          className="schedule-form"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <TimeLine
            label="start"
            row={form.start}
            disabled={!limits.canStart || saving}
            onChange={(start) => edit({ start })}
          />
          <TimeLine
            label="stop"
            row={form.stop}
            disabled={!limits.canStop || saving}
            onChange={(stop) => edit({ stop })}
          />
          <div className="schedule-line">
            <label className="schedule-label" htmlFor={`zone-${name}`}>
              Time zone
            </label>
            <input
              id={`zone-${name}`}
              className="sched-input zone-input"
              list="schedule-zones"
              value={form.zone}
              disabled={saving}
              onChange={(e) => edit({ zone: e.target.value })}
              data-testid="schedule-zone"
            />
            <datalist id="schedule-zones">
              {zones.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
          </div>
          <div className="schedule-line">
            <label className="schedule-label" htmlFor={`idle-${name}`}>
              Idle stop
            </label>
            <input
              id={`idle-${name}`}
              className="sched-input idle-input"
              inputMode="numeric"
              placeholder="off"
              value={form.idleMinutes}
              disabled={!limits.canStop || saving}
              onChange={(e) => edit({ idleMinutes: e.target.value })}
              data-testid="schedule-idle"
            />
            <span className="subtle small">
              minutes without running containers or Docker/SSH connections
              {info?.idleStopMinutes && info.idleSince
                ? ` (idle since ${new Date(info.idleSince).toLocaleTimeString()})`
                : ''}
            </span>
          </div>
          {limits.canHibernate ? (
            <div className="schedule-line">
              <label className="schedule-check">
                <input
                  type="checkbox"
                  checked={form.hibernate}
                  disabled={saving}
                  onChange={(e) => edit({ hibernate: e.target.checked })}
                  data-testid="schedule-hibernate"
                />
                Hibernate instead of stopping
              </label>
              <span className="subtle small">
                snapshot, then delete the server (a stopped one still bills); a start wakes it
              </span>
            </div>
          ) : null}
          {error ? (
            <p className="field-error" role="alert" data-testid="schedule-error">
              {error}
            </p>
          ) : null}
          <div className="schedule-actions">
            <Button
              small
              kind="primary"
              type="submit"
              icon="check"
              disabled={saving || (!dirty && hasSchedule)}
              testId="schedule-save"
            >
              Save schedule
            </Button>
            {hasSchedule ? (
              <Button small icon="x" disabled={saving} onClick={() => void clear()} testId="schedule-clear">
                Clear
              </Button>
            ) : null}
            {dirty ? (
              <button
                type="button"
                className="link small"
                onClick={() => {
                  setDirty(false);
                  setError('');
                  setForm(formFromSchedule(info, systemZone()));
                }}
              >
                Undo changes
              </button>
            ) : null}
          </div>
          {last ? (
            <p className="subtle small" data-testid="schedule-last-run">
              Last run: {last}
            </p>
          ) : null}
        </form>
      )}
    </section>
  );
}

/** Hourly price, month so far and projection, when the provider gives a price (else nothing). */
export function CostCard({ info }: { info: ScheduleInfo | undefined }) {
  if (!info || (!info.cost && !info.costError)) return null;
  return (
    <section className="card" data-testid="cost-card">
      <h2>Cost</h2>
      {info.cost ? (
        <dl>
          {costFacts(info.cost).map((f) => (
            <div className="kv" key={f.label}>
              <dt>{f.label}</dt>
              <dd className="mono small" data-testid={`cost-${f.label.split(' ')[0]!.toLowerCase()}`}>
                {f.value}
              </dd>
            </div>
          ))}
        </dl>
      ) : (
        <p className="subtle small">Price unknown: {info.costError}</p>
      )}
    </section>
  );
}
