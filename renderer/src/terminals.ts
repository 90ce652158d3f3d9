/**
 * Terminal tabs. Each tab owns one xterm.js instance, created once and kept (with its DOM element)
 * while the tab exists — switching tabs or views never recreates it. Output arrives as batched
 * `terminalData` events; every write is acknowledged back to main after xterm has parsed it, which
 * is what lets main pause the SSH channel during a flood (so Ctrl-C lands quickly).
 */
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal } from '@xterm/xterm';
import { TERMINAL_ACK_EVERY, type TerminalInfo } from '../../main/api/contract.js';
import { notify } from './store.js';
import { type ShortcutKey, terminalShortcut } from './terminal-keys.js';

export interface TerminalTab {
  /** Local key (stable from the moment the tab appears, before the session exists). */
  key: string;
  machine: string;
  title: string;
  /** The session id once opened (or attached). */
  id: string | null;
  status: 'opening' | 'open' | 'exited' | 'failed';
  message: string;
  term: Terminal;
  fit: FitAddon;
  search: SearchAddon;
  element: HTMLDivElement;
  opened: boolean;
  /** Characters written to xterm and not yet acknowledged to main. */
  unacked: number;
  pendingWrites: number;
  /** Output waiting for the next frame's write budget. */
  queue: string[];
  pumping: boolean;
}

const THEME = {
  background: '#0b0f17',
  foreground: '#d7deea',
  cursor: '#7aa2f7',
  cursorAccent: '#0b0f17',
  selectionBackground: '#2d3f66',
  black: '#1b2130',
  red: '#f7768e',
  green: '#9ece6a',
  yellow: '#e0af68',
  blue: '#7aa2f7',
  magenta: '#bb9af7',
  cyan: '#7dcfff',
  white: '#c0caf5',
  brightBlack: '#4b5670',
  brightRed: '#ff8ea1',
  brightGreen: '#b5e48c',
  brightYellow: '#f4c77d',
  brightBlue: '#9bb8ff',
  brightMagenta: '#cdb4ff',
  brightCyan: '#a4e3ff',
  brightWhite: '#e6ebff',
};

let tabs: TerminalTab[] = [];
let activeKey: string | null = null;
let seq = 0;
const listeners = new Set<() => void>();
/** Data that arrived for a session id before its tab knew the id. */
const early = new Map<string, string[]>();
let version = 0;

function changed(): void {
  version++;
  for (const l of listeners) l();
}

export function subscribeTabs(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function tabsVersion(): number {
  return version;
}

export function getTabs(): readonly TerminalTab[] {
  return tabs;
}

export function getActiveKey(): string | null {
  return activeKey;
}

export function selectTab(key: string): void {
  activeKey = key;
  changed();
}

/** Ctrl+Tab / Ctrl+Shift+Tab: the next or previous tab, wrapping around; focus follows. */
export function cycleTab(delta: 1 | -1): void {
  if (tabs.length < 2) return;
  const at = tabs.findIndex((t) => t.key === activeKey);
  const next = tabs[(at + delta + tabs.length) % tabs.length]!;
  selectTab(next.key);
  next.term.focus();
}

/** Terminal font size, shared by every tab and kept across restarts (Ctrl+= / Ctrl+- / Ctrl+0). */
export const FONT_SIZE = { min: 8, max: 32, default: 13 } as const;
const FONT_KEY = 'moor.terminalFontSize';

function storedFontSize(): number {
  const n = Number(globalThis.localStorage?.getItem(FONT_KEY));
  return Number.isInteger(n) && n >= FONT_SIZE.min && n <= FONT_SIZE.max ? n : FONT_SIZE.default;
}

let fontSize = storedFontSize();

export function getFontSize(): number {
  return fontSize;
}

/** Sets the font size of every tab (clamped), refits them: the remote ptys get the new size. */
export function setFontSize(size: number): void {
  fontSize = Math.min(FONT_SIZE.max, Math.max(FONT_SIZE.min, Math.round(size)));
  globalThis.localStorage?.setItem(FONT_KEY, String(fontSize));
  for (const tab of tabs) {
    tab.term.options.fontSize = fontSize;
    fitTab(tab);
  }
  changed();
}

/** Runs a terminal shortcut; true when the key was one. */
export function runShortcut(e: ShortcutKey): boolean {
  const action = terminalShortcut(e);
  if (action === 'next-tab') cycleTab(1);
  else if (action === 'previous-tab') cycleTab(-1);
  else if (action === 'zoom-in') setFontSize(fontSize + 1);
  else if (action === 'zoom-out') setFontSize(fontSize - 1);
  else if (action === 'zoom-reset') setFontSize(FONT_SIZE.default);
  return action !== null;
}

function isMac(): boolean {
  return navigator.platform.toLowerCase().includes('mac');
}

export async function copySelection(tab: TerminalTab): Promise<void> {
  const text = tab.term.getSelection();
  if (text) await navigator.clipboard.writeText(text);
}

export async function pasteInto(tab: TerminalTab): Promise<void> {
  const text = await navigator.clipboard.readText();
  if (text) tab.term.paste(text); // xterm applies bracketed paste when the shell asked for it
}

function makeTab(machine: string, title: string): TerminalTab {
  const term = new Terminal({
    fontFamily: '"JetBrains Mono", "Fira Code", "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize,
    lineHeight: 1.15,
    cursorBlink: true,
    scrollback: 5000,
    allowProposedApi: true,
    theme: THEME,
  });
  const fit = new FitAddon();
  const search = new SearchAddon();
  term.loadAddon(fit);
  term.loadAddon(search);
  term.loadAddon(new WebLinksAddon((_event, uri) => window.open(uri, '_blank', 'noopener')));
  const element = document.createElement('div');
  element.className = 'xterm-host';
  const tab: TerminalTab = {
    key: `t${++seq}`,
    machine,
    title,
    id: null,
    status: 'opening',
    message: '',
    term,
    fit,
    search,
    element,
    opened: false,
    unacked: 0,
    pendingWrites: 0,
    queue: [],
    pumping: false,
  };

  // Copy/paste: Ctrl+Shift+C/V (Cmd+C/V on macOS). Plain Ctrl+C/Ctrl+V stay terminal keys.
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== 'keydown') return true;
    if (runShortcut(e)) {
      e.preventDefault();
      return false;
    }
    const mod = isMac() ? e.metaKey : e.ctrlKey && e.shiftKey;
    const key = e.key.toLowerCase();
    if (mod && key === 'c') {
      void copySelection(tab);
      e.preventDefault();
      return false;
    }
    if (mod && key === 'v') {
      void pasteInto(tab).catch(() => notify('error', 'Clipboard not available'));
      e.preventDefault();
      return false;
    }
    return true;
  });
  term.onData((data) => {
    if (tab.id && tab.status === 'open') void window.moor.terminalWrite({ id: tab.id, data }).catch(() => {});
  });
  term.onResize(({ rows, cols }) => {
    if (tab.id && tab.status === 'open')
      void window.moor.terminalResize({ id: tab.id, rows, cols }).catch(() => {});
  });
  return tab;
}

/**
 * Characters handed to xterm per animation frame, adapted to how long frames take: xterm parses
 * one write() chunk without yielding and every parsed line may scroll and repaint, so pacing the
 * writes keeps frames coming during a flood. The rest waits here, bounded by main's flow control
 * (acks follow the writes). Grows while frames are on time, halves when one is late.
 */
const BUDGET_MIN = 16 * 1024;
const BUDGET_MAX = 1024 * 1024;
const FRAME_ON_TIME_MS = 20;
const FRAME_LATE_MS = 34;
let frameBudget = 128 * 1024;
let lastPump = 0;

/** Queues session output; the frame pump writes it and acknowledges it once parsed (flow control). */
function write(tab: TerminalTab, data: string): void {
  tab.queue.push(data);
  schedulePump(tab);
}

function schedulePump(tab: TerminalTab): void {
  if (tab.pumping) return;
  tab.pumping = true;
  // A hidden tab (or window) gets no animation frames: fall back to a timer so output and acks flow.
  const run = () => pump(tab);
  if (document.visibilityState === 'visible') requestAnimationFrame(run);
  else setTimeout(run, 16);
}

function pump(tab: TerminalTab): void {
  tab.pumping = false;
  const now = performance.now();
  const gap = now - lastPump;
  if (gap < 200) {
    if (gap < FRAME_ON_TIME_MS) frameBudget = Math.min(BUDGET_MAX, Math.round(frameBudget * 1.25));
    else if (gap > FRAME_LATE_MS) frameBudget = Math.max(BUDGET_MIN, Math.round(frameBudget / 2));
  }
  lastPump = now;
  let budget = frameBudget;
  while (budget > 0 && tab.queue.length) {
    let chunk = tab.queue.shift()!;
    if (chunk.length > budget) {
      tab.queue.unshift(chunk.slice(budget));
      chunk = chunk.slice(0, budget);
    }
    budget -= chunk.length;
    tab.pendingWrites++;
    tab.term.write(chunk, () => {
      tab.pendingWrites--;
      tab.unacked += chunk.length;
      if (tab.id && (tab.unacked >= TERMINAL_ACK_EVERY || (tab.pendingWrites === 0 && !tab.queue.length))) {
        const chars = tab.unacked;
        tab.unacked = 0;
        void window.moor.terminalAck({ id: tab.id, chars }).catch(() => {});
      }
    });
  }
  if (tab.queue.length) schedulePump(tab);
}

/** Runs `then` once the tab's queued output went to xterm (whose writes keep their order). */
function afterQueued(tab: TerminalTab, then: () => void): void {
  if (!tab.queue.length || !tabs.includes(tab)) then();
  else requestAnimationFrame(() => afterQueued(tab, then));
}

/** Opens xterm into its element once that element is in the document and visible, then fits. */
export function mountTab(tab: TerminalTab, host: HTMLElement): void {
  if (tab.element.parentElement !== host) host.appendChild(tab.element);
  if (!tab.opened && tab.element.isConnected) {
    tab.term.open(tab.element);
    tab.opened = true;
  }
  fitTab(tab);
}

export function fitTab(tab: TerminalTab): void {
  if (!tab.opened || tab.element.offsetWidth === 0 || tab.element.offsetHeight === 0) return;
  try {
    tab.fit.fit();
  } catch {
    // not measurable yet (hidden); the next resize fits
  }
}

function bind(tab: TerminalTab, info: TerminalInfo, replay: string): boolean {
  if (!tabs.includes(tab)) {
    // The tab was closed while its session opened: treat it like any closed tab (detached).
    early.delete(info.id);
    void window.moor.terminalDetach({ id: info.id }).catch(() => {});
    return false;
  }
  tab.id = info.id;
  tab.title = info.title;
  tab.status = info.exitCode === null ? 'open' : 'exited';
  // A reattach's replay already holds whatever arrived before it; a new session has no replay.
  if (replay) tab.term.write(replay);
  else for (const chunk of early.get(info.id) ?? []) write(tab, chunk);
  early.delete(info.id);
  changed();
  return true;
}

/**
 * Runs `start` with the tab's fitted size once the view has mounted its element (two frames), so
 * the remote pty gets the real size of the visible terminal.
 */
function whenMounted(tab: TerminalTab, start: (rows: number, cols: number) => void): void {
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      fitTab(tab);
      start(Math.max(tab.term.rows, 2), Math.max(tab.term.cols, 10));
    }),
  );
}

/**
 * A new tab for `machine`: xterm is created and mounted first so the pty is opened with the real
 * size of the visible terminal (not 80×24).
 */
export function openTerminal(machine: string): TerminalTab {
  const tab = makeTab(machine, machine);
  tabs = [...tabs, tab];
  activeKey = tab.key;
  changed();
  whenMounted(tab, (rows, cols) =>
    window.moor.terminalOpen({ machine, rows, cols }).then(
      (result) => {
        if (bind(tab, result.info, result.replay)) tab.term.focus();
      },
      (err: unknown) => {
        if (!tabs.includes(tab)) return; // closed meanwhile
        tab.status = 'failed';
        tab.message = err instanceof Error ? err.message : String(err);
        tab.term.write(`\r\n\x1b[31m${tab.message}\x1b[0m\r\n`);
        changed();
      },
    ),
  );
  return tab;
}

/**
 * After a drop, a reboot or an exit: a new session on the same host in the same tab (its
 * scrollback stays, a line marks the reconnect).
 */
export function reconnect(tab: TerminalTab): void {
  if (tab.status === 'open' || tab.status === 'opening') return;
  const old = tab.id;
  if (old) void window.moor.terminalClose({ id: old }).catch(() => {});
  tab.id = null;
  tab.status = 'opening';
  tab.message = '';
  tab.term.write(`\r\n\x1b[2m[Reconnecting to ${tab.machine}…]\x1b[0m\r\n`);
  changed();
  whenMounted(tab, (rows, cols) =>
    window.moor.terminalOpen({ machine: tab.machine, rows, cols }).then(
      (result) => {
        if (bind(tab, result.info, result.replay)) tab.term.focus();
      },
      (err: unknown) => {
        if (!tabs.includes(tab)) return;
        tab.status = 'failed';
        tab.message = err instanceof Error ? err.message : String(err);
        tab.term.write(`\r\n\x1b[31m${tab.message}\x1b[0m\r\n`);
        changed();
      },
    ),
  );
}

/** Shows a running session that has no tab (e.g. after the window was closed). */
export function reattach(info: TerminalInfo): TerminalTab {
  const existing = tabs.find((t) => t.id === info.id);
  if (existing) {
    selectTab(existing.key);
    return existing;
  }
  const tab = makeTab(info.machine, info.title);
  tab.id = info.id;
  tabs = [...tabs, tab];
  activeKey = tab.key;
  changed();
  whenMounted(tab, (rows, cols) =>
    window.moor.terminalAttach({ id: info.id, rows, cols }).then(
      (r) => bind(tab, r.info, r.replay),
      (err: unknown) => notify('error', err instanceof Error ? err.message : String(err)),
    ),
  );
  return tab;
}

function removeTab(tab: TerminalTab): void {
  const index = tabs.indexOf(tab);
  tabs = tabs.filter((t) => t !== tab);
  if (activeKey === tab.key) activeKey = tabs[Math.min(index, tabs.length - 1)]?.key ?? null;
  tab.term.dispose();
  tab.element.remove();
  changed();
}

/** Closes the tab; the session keeps running in main (reattach later) unless `end` is set. */
export function closeTab(tab: TerminalTab, end: boolean): void {
  if (tab.id) {
    if (end || tab.status === 'exited') void window.moor.terminalClose({ id: tab.id }).catch(() => {});
    else void window.moor.terminalDetach({ id: tab.id }).catch(() => {});
  }
  removeTab(tab);
}

export function connectTerminals(): void {
  window.moor.on('terminalData', ({ id, data }) => {
    const tab = tabs.find((t) => t.id === id);
    if (tab) write(tab, data);
    else if (tabs.some((t) => t.id === null)) {
      // Only while a tab waits for its new session's id; other data is for no tab of this page.
      const queue = early.get(id) ?? [];
      queue.push(data);
      early.set(id, queue);
    }
  });
  window.moor.on('terminalExit', ({ id, exitCode }) => {
    const tab = tabs.find((t) => t.id === id);
    if (!tab) return;
    tab.status = 'exited';
    tab.message = exitCode === 0 ? 'Session ended' : `Session ended (exit ${exitCode})`;
    // After the output main sent before the exit (it may still wait for the next frame here).
    const message = tab.message;
    afterQueued(tab, () => tab.term.write(`\r\n\x1b[2m[${message}]\x1b[0m\r\n`));
    changed();
  });
  window.moor.on('terminalsChanged', ({ terminals }) => {
    // Drop early data of sessions that no longer exist.
    for (const id of early.keys()) if (!terminals.some((t) => t.id === id)) early.delete(id);
  });
}

/** For the e2e tests and the benchmark: the active tab's xterm (buffer API). */
export function debugHandle() {
  return {
    tabs: () =>
      tabs.map((t) => ({
        key: t.key,
        id: t.id,
        machine: t.machine,
        status: t.status,
        rows: t.term.rows,
        cols: t.term.cols,
      })),
    activeText: (lastLines = 50) => {
      const tab = tabs.find((t) => t.key === activeKey);
      if (!tab) return '';
      const buf = tab.term.buffer.active;
      const out: string[] = [];
      const end = buf.baseY + buf.cursorY + 1;
      for (let y = Math.max(0, end - lastLines); y < end; y++)
        out.push(buf.getLine(y)?.translateToString(true) ?? '');
      return out.join('\n');
    },
  };
}
