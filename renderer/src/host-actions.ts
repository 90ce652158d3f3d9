/**
 * What the host list offers for one machine, as data (pure, unit-tested): one primary action per
 * row, the rest in its ⋯ menu, only what the machine's driver can do, and which actions must be
 * confirmed first (a reboot of a shared server, a removal) with the words that say what happens.
 */
import type { MachineSummary, SwarmNodeInfo } from '../../main/api/contract.js';
import { machineActionStates } from '../../main/app/tray-template.js';

export type HostAction =
  | 'start'
  | 'stop'
  | 'restart'
  | 'kill'
  | 'terminal'
  | 'use'
  | 'details'
  | 'leave-swarm'
  | 'remove';

export interface HostActionItem {
  action: HostAction;
  /** The visible label ("Stop"); the accessible name adds the host ("Stop web"). */
  label: string;
  enabled: boolean;
  /** Shown as a danger item, after a separator. */
  danger?: boolean;
}

const LABELS: Record<HostAction, string> = {
  start: 'Start',
  stop: 'Stop',
  restart: 'Restart',
  kill: 'Kill',
  terminal: 'Terminal',
  use: 'Use as active host',
  details: 'Details',
  'leave-swarm': 'Leave swarm…',
  remove: 'Remove…',
};

/**
 * Every action this machine's driver offers, in menu order, enabled when possible now; a swarm
 * node (`node`, from listClusters) can also leave its swarm.
 */
export function hostActions(m: MachineSummary, node: SwarmNodeInfo | null = null): HostActionItem[] {
  const can = machineActionStates(m);
  const items: HostActionItem[] = [];
  for (const action of ['start', 'stop', 'restart', 'kill', 'terminal'] as const) {
    if (can[action].offered) items.push({ action, label: LABELS[action], enabled: can[action].enabled });
  }
  items.push({ action: 'use', label: LABELS.use, enabled: !m.active && m.state === 'Running' && !m.busy });
  items.push({ action: 'details', label: LABELS.details, enabled: true });
  if (node) {
    items.push({
      action: 'leave-swarm',
      label: LABELS['leave-swarm'],
      enabled: m.state === 'Running' && m.busy === null,
    });
  }
  items.push({ action: 'remove', label: LABELS.remove, enabled: m.busy === null, danger: true });
  return items;
}

/**
 * The one action shown on the row: what the user most likely wants next. Start a stopped host,
 * open a terminal on a running one; a host without either is used or looked at.
 */
export function primaryAction(m: MachineSummary): HostActionItem {
  const items = hostActions(m);
  const find = (a: HostAction) => items.find((i) => i.action === a);
  const start = find('start');
  if (start && m.state !== 'Running') return start;
  const terminal = find('terminal');
  if (terminal && m.state === 'Running') return terminal;
  const use = find('use');
  if (use?.enabled) return use;
  return find('details')!;
}

/** The ⋯ menu: every action but the primary button's (Details stays: it is never a button there). */
export function menuActions(m: MachineSummary, node: SwarmNodeInfo | null = null): HostActionItem[] {
  const primary = primaryAction(m).action;
  return hostActions(m, node).filter((i) => i.action !== primary || i.action === 'details');
}

export interface Confirmation {
  title: string;
  body: string;
  confirmLabel: string;
  danger: boolean;
}

/** Whether an action needs the user's yes first, and what to ask; null = do it at once. */
export function confirmationFor(
  action: HostAction,
  m: MachineSummary,
  openTerminals: number,
): Confirmation | null {
  const terminals =
    openTerminals > 0
      ? ` Its ${openTerminals === 1 ? 'open terminal ends' : `${openTerminals} open terminals end`}.`
      : '';
  if (action === 'restart' && m.capabilities.restartReboots) {
    return {
      title: `Restart ${m.name}?`,
      body: `This reboots the server${m.url ? ` at ${hostOf(m.url)}` : ''}; everything running on it stops for a while, for everyone using it.${terminals}`,
      confirmLabel: `Restart ${m.name}`,
      danger: false,
    };
  }
  if (action === 'leave-swarm') {
    return {
      title: `${m.name}: leave the swarm?`,
      body: 'Its tasks move to other nodes (it is drained first), it is demoted if it is a manager, then it leaves the swarm and its manager forgets it. The machine itself keeps running.',
      confirmLabel: 'Leave swarm',
      danger: false,
    };
  }
  if (action === 'kill') {
    return {
      title: `Kill ${m.name}?`,
      body: `This powers the machine off at once, without a clean shutdown.${terminals}`,
      confirmLabel: `Kill ${m.name}`,
      danger: true,
    };
  }
  if (action === 'remove') {
    const remote = m.capabilities.removes;
    return {
      title: `Remove ${m.name}?`,
      body: remote
        ? `This deletes ${remote}, and Moor's local record of it (configuration, certificates, keys). It cannot be undone.${terminals}`
        : `This deletes only Moor's local record of it (configuration, certificates, keys, its Docker context); the host itself is left as it is.${terminals}`,
      confirmLabel: `Remove ${m.name}`,
      danger: true,
    };
  }
  return null;
}

/** "tcp://10.0.0.5:2376" → "10.0.0.5". */
function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

/** An error's first line, for a one-line row (the whole text is in the title and in Details). */
export function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}
