import { useEffect, useState, useSyncExternalStore } from 'react';
import { type ActiveHost, isDefaultContext } from '../../main/api/contract.js';
import { activeHostChoices } from '../../main/app/tray-template.js';
import { Icon } from './components.js';
import { ConfirmHost } from './dialogs.js';
import { attempt, closeTasks, dismissNotice, onNavigate, openTasks, useAppState } from './store.js';
import { getTabs, openTerminal, subscribeTabs, tabsVersion } from './terminals.js';
import { CreateView } from './views/Create.js';
import { DetailsView } from './views/Details.js';
import { HostsView } from './views/Hosts.js';
import { SettingsView } from './views/Settings.js';
import { TaskPanel } from './views/Tasks.js';
import { TerminalsView } from './views/Terminals.js';

export type Route =
  | { view: 'hosts' }
  | { view: 'create' }
  | { view: 'terminals' }
  | { view: 'settings' }
  | { view: 'details'; machine: string };
export type Navigate = (route: Route) => void;

/** The active-host switcher: the same choices as the tray's radio group. */
function ActiveSwitcher() {
  const machines = useAppState((s) => s.machines);
  const active = useAppState((s) => s.active);
  const choices = activeHostChoices(machines, active);
  return (
    <div className="switcher" data-testid="active-switcher">
      <div className="switcher-title">Active Docker host</div>
      {choices.map(({ name, checked, enabled, note }) => {
        const testId = name === null ? 'switch-default-context' : `switch-${name}`;
        return (
          <label
            key={testId}
            className={`switch-row${checked ? ' checked' : ''}${enabled ? '' : ' disabled'}`}
          >
            <input
              type="radio"
              name="active-host"
              checked={checked}
              disabled={!enabled}
              onChange={() => void attempt(() => window.moor.setActiveHost({ name }))}
              data-testid={testId}
            />
            <span className="radio" />
            <span className="switch-name">{name ?? 'default (local)'}</span>
            {note ? <span className="switch-note">{note}</span> : null}
            {checked ? <span className="switch-note switch-current">active</span> : null}
          </label>
        );
      })}
      <p className="switcher-note">Switches the Docker context for every terminal.</p>
    </div>
  );
}

/** What the sidebar says is active: the machine, `default`, or another tool's context. */
export function activeLabel(active: ActiveHost): string {
  if (active.machine !== null) return active.machine;
  return isDefaultContext(active) ? 'default (local)' : `context ${active.context}`;
}

/** Toasts, bottom right, above nothing the user needs: info closes itself, errors on ✕. */
function Notices() {
  const notices = useAppState((s) => s.notices);
  if (!notices.length) return null;
  return (
    <div className="toasts" aria-live="polite">
      {notices.map((n) => (
        <div
          key={n.id}
          className={`toast toast-${n.kind}`}
          role={n.kind === 'error' ? 'alert' : 'status'}
          data-testid="notice"
        >
          <Icon name={n.kind === 'error' ? 'alert' : 'info'} />
          <div className="toast-text">
            {n.title ? <strong data-testid="notice-title">{n.title}</strong> : null}
            <span className="toast-body">{n.text}</span>
            {n.operationId ? (
              <button
                type="button"
                className="link"
                onClick={() => {
                  openTasks(n.operationId ?? null);
                  dismissNotice(n.id);
                }}
                data-testid="notice-show-task"
              >
                Show task
              </button>
            ) : null}
          </div>
          <button
            type="button"
            className="toast-close"
            onClick={() => dismissNotice(n.id)}
            aria-label="Dismiss"
          >
            <Icon name="x" size={14} />
          </button>
        </div>
      ))}
    </div>
  );
}

export function App() {
  const [route, setRoute] = useState<Route>({ view: 'hosts' });
  const active = useAppState((s) => s.active);
  const machines = useAppState((s) => s.machines);
  const version = useAppState((s) => s.version);
  useSyncExternalStore(subscribeTabs, tabsVersion);
  const tabCount = getTabs().length;
  const tasksOpen = useAppState((s) => s.tasks.open);
  const running = useAppState(
    (s) => Object.values(s.operations).filter((o) => o.info.status === 'running').length,
  );

  useEffect(
    () =>
      onNavigate((n) => {
        if (n.view === 'terminal' && n.machine) {
          openTerminal(n.machine);
          setRoute({ view: 'terminals' });
        } else if (n.view === 'tasks') openTasks();
        else if (n.view === 'settings') setRoute({ view: 'settings' });
        else if (n.view === 'details' && n.machine) setRoute({ view: 'details', machine: n.machine });
        else if (n.view === 'create') setRoute({ view: 'create' });
        else setRoute({ view: 'hosts' });
      }),
    [],
  );

  const nav = (view: Route['view'], label: string, icon: string, badge?: number) => (
    <button
      type="button"
      className={`nav-item${route.view === view || (view === 'hosts' && route.view === 'details') ? ' selected' : ''}`}
      onClick={() => setRoute(view === 'details' ? { view: 'hosts' } : ({ view } as Route))}
      data-testid={`nav-${view}`}
    >
      <Icon name={icon} />
      <span>{label}</span>
      {badge ? <span className="nav-badge">{badge}</span> : null}
    </button>
  );

  return (
    <div className="app">
      <aside className="sidebar">
        <div className="brand">
          <svg width="26" height="26" viewBox="0 0 32 32" aria-hidden="true">
            <circle cx="16" cy="8" r="3.2" fill="none" stroke="currentColor" strokeWidth="2.4" />
            <path
              d="M16 11.5V27M9 16h14M5.5 19.5c1.5 5 5.6 7.8 10.5 7.8s9-2.8 10.5-7.8"
              fill="none"
              stroke="currentColor"
              strokeWidth="2.4"
              strokeLinecap="round"
            />
          </svg>
          <div>
            <div className="brand-name">Moor</div>
            <div className="brand-sub">Docker hosts{version ? ` · v${version}` : ''}</div>
          </div>
        </div>
        <nav>
          {nav('hosts', 'Hosts', 'server', machines.length)}
          {nav('create', 'Create host', 'plus')}
          {nav('terminals', 'Terminals', 'terminal', tabCount)}
          <button
            type="button"
            className={`nav-item${tasksOpen ? ' selected' : ''}`}
            onClick={() => (tasksOpen ? closeTasks() : openTasks())}
            aria-expanded={tasksOpen}
            data-testid="nav-tasks"
          >
            <Icon name="tasks" />
            <span>Tasks</span>
            {running ? (
              <span className="nav-badge" data-testid="tasks-running">
                {running}
              </span>
            ) : null}
          </button>
        </nav>
        <ActiveSwitcher />
        <nav className="nav-foot">{nav('settings', 'Settings', 'gear')}</nav>
        <div className="sidebar-foot">
          <span className="subtle small">Active:</span>{' '}
          <span className="mono small" data-testid="active-host">
            {activeLabel(active)}
          </span>
        </div>
      </aside>
      <main className="content">
        <Notices />
        <TaskPanel navigate={setRoute} />
        {route.view === 'hosts' ? <HostsView navigate={setRoute} /> : null}
        {route.view === 'details' ? <DetailsView name={route.machine} navigate={setRoute} /> : null}
        {route.view === 'create' ? <CreateView navigate={setRoute} /> : null}
        {route.view === 'settings' ? <SettingsView /> : null}
        {/* Always mounted: each tab's xterm lives as long as the tab, whichever view is shown. */}
        <TerminalsView visible={route.view === 'terminals'} />
      </main>
      <ConfirmHost />
    </div>
  );
}
