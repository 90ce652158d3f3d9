import { useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react';
import { Button, Icon } from '../components.js';
import { notify, useAppState } from '../store.js';
import {
  closeTab,
  copySelection,
  FONT_SIZE,
  fitTab,
  getActiveKey,
  getFontSize,
  getTabs,
  mountTab,
  openTerminal,
  pasteInto,
  reattach,
  reconnect,
  runShortcut,
  selectTab,
  setFontSize,
  subscribeTabs,
  type TerminalTab,
  tabsVersion,
} from '../terminals.js';

function useTabs() {
  useSyncExternalStore(subscribeTabs, tabsVersion);
  return { tabs: getTabs(), activeKey: getActiveKey() };
}

/** Hosts one tab's xterm element; fits when it becomes visible and on every size change. */
function TerminalPane({ tab, visible }: { tab: TerminalTab; visible: boolean }) {
  const hostRef = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    mountTab(tab, host);
    const observer = new ResizeObserver(() => fitTab(tab));
    observer.observe(host);
    return () => observer.disconnect();
  }, [tab]);
  useEffect(() => {
    if (visible) {
      mountTab(tab, hostRef.current!);
      tab.term.focus();
    }
  }, [visible, tab]);
  return (
    <div
      className="term-pane"
      ref={hostRef}
      style={{ display: visible ? 'block' : 'none' }}
      data-testid={`term-${tab.key}`}
    />
  );
}

interface Menu {
  x: number;
  y: number;
  tab: TerminalTab;
}

/** Runs a context-menu action, then gives the keyboard back to the terminal (as terminal emulators do). */
function menuAction(tab: TerminalTab, action: () => unknown): void {
  void Promise.resolve(action()).finally(() => tab.term.focus());
}

export function TerminalsView({ visible }: { visible: boolean }) {
  const { tabs, activeKey } = useTabs();
  const sessions = useAppState((s) => s.terminals);
  const machines = useAppState((s) => s.machines);
  const [menu, setMenu] = useState<Menu | null>(null);
  const menuRef = useRef<HTMLDivElement>(null);
  const [query, setQuery] = useState('');
  const [newFor, setNewFor] = useState('');
  const active = tabs.find((t) => t.key === activeKey) ?? null;
  const detached = sessions.filter((s) => !tabs.some((t) => t.id === s.id));
  const sshMachines = machines.filter((m) => m.capabilities.ssh && m.state === 'Running');

  useEffect(() => {
    if (!menu) return;
    const close = () => setMenu(null);
    // Esc closes the menu and gives the keyboard back to the terminal.
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      setMenu(null);
      menu.tab.term.focus();
    };
    window.addEventListener('click', close);
    window.addEventListener('keydown', onKey, true);
    menuRef.current?.querySelector<HTMLButtonElement>('button:not(:disabled)')?.focus();
    return () => {
      window.removeEventListener('click', close);
      window.removeEventListener('keydown', onKey, true);
    };
  }, [menu]);

  useEffect(() => {
    if (!visible || !active) return;
    const frame = requestAnimationFrame(() => fitTab(active));
    return () => cancelAnimationFrame(frame);
  }, [visible, active]);

  return (
    <div className="view terminals" style={{ display: visible ? 'flex' : 'none' }}>
      <div className="tabbar" role="tablist">
        {tabs.map((t) => (
          <div
            key={t.key}
            role="tab"
            tabIndex={0}
            aria-selected={t.key === activeKey}
            className={`tab${t.key === activeKey ? ' selected' : ''} tab-${t.status}`}
            onClick={() => selectTab(t.key)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') selectTab(t.key);
              else if (runShortcut(e)) e.preventDefault();
            }}
            data-testid={`tab-${t.key}`}
          >
            <span className="tab-dot" />
            <span className="tab-title">{t.title}</span>
            <button
              type="button"
              className="tab-close"
              title="Close tab (the session keeps running)"
              onClick={(e) => {
                e.stopPropagation();
                closeTab(t, false);
              }}
            >
              <Icon name="x" size={12} />
            </button>
          </div>
        ))}
        <div className="tab-new">
          <select
            value={newFor}
            onChange={(e) => setNewFor(e.target.value)}
            aria-label="Host for a new terminal"
            data-testid="new-terminal-host"
          >
            <option value="">New terminal on…</option>
            {sshMachines.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
          </select>
          <Button
            small
            icon="plus"
            disabled={!newFor}
            onClick={() => {
              openTerminal(newFor);
              setNewFor('');
            }}
            title="Open a new terminal"
          />
        </div>
        <div className="tab-spacer" />
        {active ? (
          <div className="term-tools">
            <label className="search small">
              <Icon name="search" size={13} />
              <input
                placeholder="Find"
                value={query}
                onChange={(e) => {
                  setQuery(e.target.value);
                  if (e.target.value) active.search.findNext(e.target.value, { incremental: true });
                }}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') {
                    if (e.shiftKey) active.search.findPrevious(query);
                    else active.search.findNext(query);
                  }
                }}
              />
            </label>
            <Button
              small
              icon="detach"
              kind="ghost"
              title="Close tab, keep the session running"
              onClick={() => closeTab(active, false)}
            />
            <fieldset className="zoom" aria-label="Font size">
              <Button
                small
                kind="ghost"
                ariaLabel="Smaller text"
                title="Smaller text (Ctrl+-)"
                disabled={getFontSize() <= FONT_SIZE.min}
                onClick={() => setFontSize(getFontSize() - 1)}
                testId="zoom-out"
              >
                A−
              </Button>
              <span className="small subtle" data-testid="font-size">
                {getFontSize()}px
              </span>
              <Button
                small
                kind="ghost"
                ariaLabel="Larger text"
                title="Larger text (Ctrl+=)"
                disabled={getFontSize() >= FONT_SIZE.max}
                onClick={() => setFontSize(getFontSize() + 1)}
                testId="zoom-in"
              >
                A+
              </Button>
            </fieldset>
            <Button
              small
              icon="plus"
              kind="ghost"
              ariaLabel={`New terminal on ${active.machine}`}
              title={`New terminal on ${active.machine}`}
              onClick={() => openTerminal(active.machine)}
              testId="new-terminal-same-host"
            />
            {active.status === 'exited' || active.status === 'failed' ? (
              <Button
                small
                kind="primary"
                icon="restart"
                onClick={() => reconnect(active)}
                testId="reconnect"
              >
                Reconnect
              </Button>
            ) : (
              <Button
                small
                icon="x"
                kind="danger"
                title="End session"
                onClick={() => closeTab(active, true)}
                testId="end-session"
              >
                End
              </Button>
            )}
          </div>
        ) : null}
      </div>

      <div
        className="term-area"
        role="application"
        onContextMenu={(e) => {
          if (!active) return;
          e.preventDefault();
          setMenu({ x: e.clientX, y: e.clientY, tab: active });
        }}
      >
        {tabs.map((t) => (
          <TerminalPane key={t.key} tab={t} visible={visible && t.key === activeKey} />
        ))}
        {tabs.length === 0 ? (
          <div className="empty term-empty">
            <Icon name="terminal" size={36} />
            <h3>No terminal open</h3>
            <p className="subtle">Open an SSH terminal from a running host, or pick one above.</p>
            {detached.length ? (
              <div className="detached">
                <h4>Running sessions</h4>
                {detached.map((s) => (
                  <div key={s.id} className="detached-row">
                    <span className="mono">{s.title}</span>
                    <span className="subtle small">since {new Date(s.startedAt).toLocaleTimeString()}</span>
                    <Button small icon="terminal" onClick={() => reattach(s)}>
                      Reattach
                    </Button>
                    <Button
                      small
                      kind="ghost"
                      icon="x"
                      onClick={() => void window.moor.terminalClose({ id: s.id })}
                    >
                      End
                    </Button>
                  </div>
                ))}
              </div>
            ) : null}
          </div>
        ) : null}
        {tabs.length > 0 && detached.length ? (
          <div className="detached-strip">
            {detached.length} detached session{detached.length > 1 ? 's' : ''}:
            {detached.map((s) => (
              <button type="button" key={s.id} className="link" onClick={() => reattach(s)}>
                {s.title}
              </button>
            ))}
          </div>
        ) : null}
      </div>

      {menu ? (
        <div
          ref={menuRef}
          className="context-menu"
          style={{ left: menu.x, top: menu.y }}
          role="menu"
          data-testid="terminal-menu"
        >
          <button
            type="button"
            disabled={!menu.tab.term.hasSelection()}
            onClick={() => menuAction(menu.tab, () => copySelection(menu.tab))}
          >
            Copy <kbd>Ctrl+Shift+C</kbd>
          </button>
          <button
            type="button"
            onClick={() =>
              menuAction(menu.tab, () =>
                pasteInto(menu.tab).catch(() => notify('error', 'Clipboard not available')),
              )
            }
          >
            Paste <kbd>Ctrl+Shift+V</kbd>
          </button>
          <button type="button" onClick={() => menuAction(menu.tab, () => menu.tab.term.selectAll())}>
            Select all
          </button>
          <button type="button" onClick={() => menuAction(menu.tab, () => menu.tab.term.clear())}>
            Clear scrollback
          </button>
        </div>
      ) : null}
    </div>
  );
}
