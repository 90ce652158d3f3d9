import type { ReactNode } from 'react';
import type { MachineSummary } from '../../main/api/contract.js';
import { stateLabel } from '../../main/app/tray-template.js';

const PATHS: Record<string, string> = {
  play: 'M7 5.5v13l11-6.5z',
  stop: 'M6.5 6.5h11v11h-11z',
  restart: 'M17.6 6.4A8 8 0 1 0 20 12h-2a6 6 0 1 1-1.8-4.2L13 11h7V4z',
  terminal: 'M4 5h16v14H4zM6.5 9.2l3 2.8-3 2.8M11.5 15h5',
  plus: 'M12 5v14M5 12h14',
  server: 'M4 4h16v6H4zM4 14h16v6H4zM7.5 7h.01M7.5 17h.01',
  star: 'M12 3.5l2.6 5.4 5.9.8-4.3 4.1 1 5.8-5.2-2.8-5.2 2.8 1-5.8-4.3-4.1 5.9-.8z',
  trash: 'M5 7h14M10 7V4.5h4V7M7 7l1 13h8l1-13',
  key: 'M14.5 4a5.5 5.5 0 1 0 0 11 5.5 5.5 0 0 0 0-11zM10.5 13.5L4 20m2.5-2.5L9 20',
  bolt: 'M13 3L5 13.5h6L10 21l8-10.5h-6z',
  x: 'M6 6l12 12M18 6L6 18',
  search: 'M10.5 4a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM15.5 15.5L20 20',
  info: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 11v6M12 7.5h.01',
  back: 'M15 5l-7 7 7 7',
  check: 'M5 12.5l4.5 4.5L19 7',
  alert: 'M12 4L2.8 19.5h18.4zM12 10v4.5M12 17h.01',
  detach: 'M14 4h6v6M20 4l-8 8M18 14v6H4V6h6',
  more: 'M6 12h.01M12 12h.01M18 12h.01',
  gear: 'M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM12 2.5v3M12 18.5v3M2.5 12h3M18.5 12h3M5.3 5.3l2.1 2.1M16.6 16.6l2.1 2.1M5.3 18.7l2.1-2.1M16.6 7.4l2.1-2.1',
  tasks: 'M9 6h11M9 12h11M9 18h11M4 6l1 1 2-2M4 12l1 1 2-2M4 18l1 1 2-2',
  target: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8z',
  folder: 'M3.5 6.5h6l2 2h9v10h-17z',
};

export function Icon({ name, size = 16 }: { name: keyof typeof PATHS | string; size?: number }) {
  const filled = name === 'play' || name === 'stop' || name === 'star' || name === 'bolt';
  const dots = name === 'more';
  return (
    <svg
      className="icon"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill={filled ? 'currentColor' : 'none'}
      stroke="currentColor"
      strokeWidth={filled ? 0 : dots ? 3 : 1.8}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
    >
      <path d={PATHS[name] ?? ''} />
    </svg>
  );
}

export function Button(props: {
  children?: ReactNode;
  icon?: string;
  onClick?: () => void;
  kind?: 'primary' | 'danger' | 'ghost' | 'default';
  disabled?: boolean;
  title?: string;
  type?: 'button' | 'submit';
  small?: boolean;
  testId?: string;
  /** The accessible name when the visible text alone does not say it ("Stop web"). */
  ariaLabel?: string;
}) {
  return (
    <button
      type={props.type ?? 'button'}
      className={`btn btn-${props.kind ?? 'default'}${props.small ? ' btn-small' : ''}`}
      onClick={props.onClick}
      disabled={props.disabled}
      title={props.title}
      aria-label={props.ariaLabel}
      data-testid={props.testId}
    >
      {props.icon ? <Icon name={props.icon} size={props.small ? 14 : 16} /> : null}
      {props.children ? <span>{props.children}</span> : null}
    </button>
  );
}

export function stateClass(m: MachineSummary): string {
  if (m.busy) return 'busy';
  switch (m.state) {
    case 'Running':
      return 'running';
    case 'Stopped':
    case 'Saved':
    case 'Paused':
    case 'Hibernated':
      return 'stopped';
    case 'Starting':
    case 'Stopping':
      return 'busy';
    case 'Error':
    case 'Timeout':
      return 'error';
    default:
      return m.error ? 'error' : 'unknown';
  }
}

export function StatePill({ machine }: { machine: MachineSummary }) {
  const cls = stateClass(machine);
  return (
    <span className={`pill pill-${cls}`} data-testid={`state-${machine.name}`} data-state={machine.state}>
      <span className="dot" />
      {stateLabel(machine)}
    </span>
  );
}

export function Spinner() {
  return <span className="spinner" role="status" aria-label="working" />;
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <Icon name="server" size={36} />
      <h3>{title}</h3>
      {children}
    </div>
  );
}
