import { describe, expect, it } from 'vitest';
import type { ScheduleInfo } from '../../../main/api/contract.js';
import {
  machineActionStates,
  machineActions,
  type TrayItem,
  trayIconState,
  trayTemplate,
} from '../../../main/app/tray-template.js';
import { NO_CAPABILITIES } from '../../../main/drivers/capabilities.js';
import { machine } from './fixtures.js';

const onMachine = (name: string) => ({ machine: name, context: name });
const onDefault = { machine: null, context: 'default' };

const labels = (items: TrayItem[]) => items.map((i) => i.label ?? `--${i.type}`);

describe('trayTemplate', () => {
  const machines = [
    machine('alpha', { active: true }),
    machine('beta', { state: 'Stopped', url: '', dockerVersion: '' }),
    machine('gamma', { busy: 'starting', state: 'Stopped' }),
  ];
  const menu = trayTemplate(machines, onMachine('alpha'), false);

  it('starts with a header naming the active host', () => {
    expect(menu[0]).toMatchObject({ label: 'Active host: alpha', enabled: false });
    expect(trayTemplate([], onDefault, true)[0]!.label).toBe(
      'Active host: default (local engine) — working…',
    );
    expect(trayTemplate([], { machine: null, context: 'colima' }, false)[0]!.label).toBe(
      'Active host: another Docker context (colima)',
    );
  });

  it('has a radio group of default plus every machine, the active one checked, the unusable ones saying why', () => {
    const radios = menu.filter((i) => i.type === 'radio');
    expect(radios.map((r) => [r.label, r.checked, r.enabled])).toEqual([
      ['default (local engine)', false, true],
      ['alpha', true, true],
      ['beta (stopped)', false, false],
      ['gamma (starting…)', false, false],
    ]);
    expect(radios[0]!.action).toEqual({ kind: 'use', name: null });
    expect(radios[1]!.action).toEqual({ kind: 'use', name: 'alpha' });
    const idx = menu.findIndex((i) => i.label === 'Active Docker host');
    expect(idx).toBeGreaterThan(0);
    expect(menu[idx]!.enabled).toBe(false);
  });

  it('checks default when no machine is active', () => {
    const radios = trayTemplate(machines, onDefault, false).filter((i) => i.type === 'radio');
    expect(radios.find((r) => r.checked)?.label).toBe('default (local engine)');
  });

  it("checks nothing when another tool's context is current", () => {
    const radios = trayTemplate(machines, { machine: null, context: 'colima' }, false).filter(
      (i) => i.type === 'radio',
    );
    expect(radios.some((r) => r.checked)).toBe(false);
  });

  it('tells a machine named "default" from the default context', () => {
    const named = [machine('default')];
    const onNamed = trayTemplate(named, { machine: 'default', context: 'moor-default' }, false);
    expect(onNamed[0]!.label).toBe('Active host: default');
    const radios = onNamed.filter((i) => i.type === 'radio');
    expect(radios.map((r) => [r.label, r.checked, r.action])).toEqual([
      ['default (local engine)', false, { kind: 'use', name: null }],
      ['default', true, { kind: 'use', name: 'default' }],
    ]);
    const back = trayTemplate(named, onDefault, false).filter((i) => i.type === 'radio');
    expect(back.map((r) => r.checked)).toEqual([true, false]);
  });

  it('keeps a stopped active machine listed (checked, disabled) so the state is visible', () => {
    const radios = trayTemplate([machine('old', { state: 'Stopped' })], onMachine('old'), false).filter(
      (i) => i.type === 'radio',
    );
    expect(radios.map((r) => [r.label, r.checked, r.enabled])).toEqual([
      ['default (local engine)', false, true],
      ['old (stopped)', true, false],
    ]);
  });

  it('has one submenu per machine, "name (State)", with actions enabled by state', () => {
    const subs = menu.filter((i) => i.type === 'submenu');
    expect(subs.map((s) => s.label)).toEqual(['alpha (Running)', 'beta (Stopped)', 'gamma (Starting…)']);
    const enabled = (s: TrayItem) =>
      Object.fromEntries((s.submenu ?? []).filter((i) => i.label).map((i) => [i.label, i.enabled !== false]));
    expect(enabled(subs[0]!)).toEqual({
      Start: false,
      Stop: true,
      Restart: true,
      'Open terminal': true,
      'Show in window': true,
    });
    expect(enabled(subs[1]!)).toEqual({
      Start: true,
      Stop: false,
      Restart: false,
      'Open terminal': false,
      'Show in window': true,
    });
    expect(enabled(subs[2]!)).toEqual({
      Start: false,
      Stop: false,
      Restart: false,
      'Open terminal': false,
      'Show in window': true,
    });
    expect(subs[0]!.submenu!.find((i) => i.label === 'Stop')!.action).toEqual({
      kind: 'stop',
      name: 'alpha',
    });
    expect(subs[1]!.submenu!.find((i) => i.label === 'Show in window')!.action).toEqual({
      kind: 'show',
      name: 'beta',
    });
  });

  it('ends with Create host…, Open Moor and Quit', () => {
    expect(labels(menu).slice(-5)).toEqual([
      '--separator',
      'Create host…',
      'Open Moor',
      '--separator',
      'Quit Moor',
    ]);
    expect(menu.at(-1)!.action).toEqual({ kind: 'quit' });
  });

  it('is a plain function of its inputs (same input, same template)', () => {
    expect(JSON.stringify(trayTemplate(machines, onMachine('alpha'), false))).toBe(JSON.stringify(menu));
  });

  it('has no machine section without machines', () => {
    expect(labels(trayTemplate([], onDefault, false))).toEqual([
      'Active host: default (local engine)',
      '--separator',
      'Active Docker host',
      'default (local engine)',
      '--separator',
      'Create host…',
      'Open Moor',
      '--separator',
      'Quit Moor',
    ]);
  });
});

describe('machineActions', () => {
  const nothing = { start: false, stop: false, restart: false, kill: false, terminal: false };
  it('offers nothing for busy or transitional machines', () => {
    expect(machineActions(machine('b', { busy: 'stopping' }))).toEqual(nothing);
    expect(machineActions(machine('s', { state: 'Stopping' }))).toEqual(nothing);
  });
  it('offers only what the driver declares: none nothing, generic restart + terminal, digitalocean all', () => {
    expect(machineActions(machine('n', { driver: 'none' }))).toEqual(nothing);
    expect(machineActionStates(machine('n', { driver: 'none', state: 'Stopped' })).start.offered).toBe(false);
    const generic = machineActionStates(machine('g', { driver: 'generic' }));
    expect(
      Object.entries(generic)
        .filter(([, s]) => s.offered)
        .map(([a]) => a),
    ).toEqual(['restart', 'terminal']);
    // A stopped generic host cannot be started by Moor: Start is not even offered.
    expect(machineActionStates(machine('g', { driver: 'generic', state: 'Stopped' })).start).toEqual({
      offered: false,
      enabled: false,
    });
    expect(machineActions(machine('d', { driver: 'digitalocean' }))).toEqual({
      start: false,
      stop: true,
      restart: true,
      kill: true,
      terminal: true,
    });
  });
  it('offers nothing on a machine whose config did not load (no driver, no capabilities)', () => {
    const broken = machine('x', { driver: '', state: 'Error', capabilities: NO_CAPABILITIES });
    expect(machineActions(broken)).toEqual(nothing);
  });
  it('offers a terminal only on a running machine with SSH', () => {
    expect(machineActions(machine('r', { state: 'Running' })).terminal).toBe(true);
    expect(machineActions(machine('r', { driver: 'none', state: 'Running' })).terminal).toBe(false);
    expect(machineActions(machine('s', { state: 'Stopped' })).terminal).toBe(false);
  });
  it('lets an errored machine be started', () => {
    expect(machineActions(machine('e', { state: 'Error' })).start).toBe(true);
  });
});

describe('tray offers per machine', () => {
  const submenu = (m: ReturnType<typeof machine>) =>
    labels(trayTemplate([m], onDefault, false).find((i) => i.type === 'submenu')!.submenu!);
  it('lists only the actions the driver can do', () => {
    expect(submenu(machine('do'))).toEqual([
      'Start',
      'Stop',
      'Restart',
      'Open terminal',
      '--separator',
      'Show in window',
    ]);
    expect(submenu(machine('g', { driver: 'generic' }))).toEqual([
      'Restart',
      'Open terminal',
      '--separator',
      'Show in window',
    ]);
    expect(submenu(machine('n', { driver: 'none' }))).toEqual(['Show in window']);
  });
});

describe('trayIconState', () => {
  it('is busy while anything runs, error when a host failed, idle otherwise', () => {
    expect(trayIconState([machine('a')], false)).toBe('idle');
    expect(trayIconState([machine('a')], true)).toBe('busy');
    expect(trayIconState([machine('a', { busy: 'creating' })], false)).toBe('busy');
    expect(trayIconState([machine('a', { state: 'Error', error: 'boom' })], false)).toBe('error');
    expect(trayIconState([machine('a', { state: 'Stopped', error: '' })], false)).toBe('idle');
  });
});

describe('the tray’s Schedule lines', () => {
  const base: ScheduleInfo = {
    name: 'office',
    zone: 'Europe/Berlin',
    start: 'mon-fri 08:30',
    stop: 'mon-fri 19:00',
    next: { action: 'stop', at: Date.parse('2026-12-04T18:00:00Z') }, // Fri 19:00 in Berlin
    postponedUntil: null,
    lastRun: null,
    idleStopMinutes: null,
    idleSince: null,
    hibernate: false,
    cost: null,
    costError: '',
    error: '',
  };
  const now = Date.parse('2026-12-04T12:00:00Z');
  const office = machine('office');
  const sub = (schedule: ScheduleInfo | undefined, m = office, zone = 'Europe/Berlin') =>
    trayTemplate([m], onDefault, false, schedule ? { [m.name]: schedule } : {}, now, zone).find(
      (i) => i.type === 'submenu',
    )!.submenu!;

  it('shows the next event in the schedule’s zone, and Postpone stop 1 h when it is a stop', () => {
    const items = sub(base);
    expect(labels(items)).toEqual([
      'Start',
      'Stop',
      'Restart',
      'Open terminal',
      '--separator',
      'Schedule: stop Fri 19:00',
      'Postpone stop 1 h',
      'Pause schedule today',
      '--separator',
      'Show in window',
    ]);
    expect(items.find((i) => i.label === 'Schedule: stop Fri 19:00')!.enabled).toBe(false);
    expect(items.find((i) => i.label === 'Postpone stop 1 h')!.action).toEqual({
      kind: 'postpone',
      name: 'office',
      hours: 1,
    });
  });

  it('names the zone when it is not the viewer’s, and says when the stop was postponed', () => {
    const postponed = { ...base, next: { action: 'stop' as const, at: base.next!.at + 3_600_000 } };
    postponed.postponedUntil = postponed.next.at;
    expect(labels(sub(postponed, office, 'UTC'))).toContain(
      'Schedule: stop Fri 20:00 Europe/Berlin (postponed)',
    );
  });

  it('offers no Postpone before a start, nor while the machine is busy', () => {
    const start = { ...base, next: { action: 'start' as const, at: Date.parse('2026-12-07T07:30:00Z') } };
    expect(labels(sub(start))).toContain('Schedule: start Mon 08:30');
    expect(labels(sub(start))).not.toContain('Postpone stop 1 h');
    // Monday is not today (Friday): nothing left today to pause.
    expect(labels(sub(start))).not.toContain('Pause schedule today');
    expect(sub(base).find((i) => i.label === 'Pause schedule today')!.action).toEqual({
      kind: 'pause-today',
      name: 'office',
    });
    const busy = sub(base, machine('office', { busy: 'stopping' }));
    expect(busy.find((i) => i.label === 'Postpone stop 1 h')!.enabled).toBe(false);
  });

  it('shows the hourly price and the month so far of a priced host; nothing for an unscheduled, unpriced one', () => {
    const priced: ScheduleInfo = {
      ...base,
      zone: '',
      start: '',
      stop: '',
      next: null,
      cost: {
        currency: 'USD',
        size: 's-1vcpu-1gb',
        hourly: 0.00893,
        monthly: 6,
        soFar: 0.29,
        projected: 6,
        note: '',
      },
    };
    expect(labels(sub(priced))).toContain('Cost: $0.009/h · $0.29 this month');
    expect(labels(sub(priced))).not.toContain('Postpone stop 1 h');
    const plain = { ...priced, cost: null };
    expect(labels(sub(plain))).toEqual(labels(sub(undefined)));
  });

  it('shows a schedule file that does not load', () => {
    expect(labels(sub({ ...base, error: 'moor-schedule.json: bad JSON' }))).toContain(
      'Schedule: moor-schedule.json: bad JSON',
    );
  });
});
