/**
 * The task panel, reachable from every view: running and recent operations (create, provision,
 * certificates) with their logs, Cancel and Retry. Operations live in the store (fed by main's
 * events), so leaving the view that started one loses nothing.
 */
import { useEffect, useRef } from 'react';
import type { OperationInfo } from '../../../main/api/contract.js';
import type { Navigate } from '../App.js';
import { Icon, Spinner } from '../components.js';
import { attempt, closeTasks, focusTask, type OperationView, useAppState } from '../store.js';
import { Progress } from './Create.js';

const KIND: Record<OperationInfo['kind'], string> = {
  create: 'Create',
  provision: 'Provision',
  'regenerate-certs': 'Certificates',
};

/** Running first, then the most recent. */
export function orderTasks(ops: readonly OperationView[]): OperationView[] {
  return [...ops].sort((a, b) => {
    const ra = a.info.status === 'running' ? 1 : 0;
    const rb = b.info.status === 'running' ? 1 : 0;
    return rb - ra || b.info.startedAt - a.info.startedAt;
  });
}

/** Runs the operation again: a kept machine or a provision is provisioned, a create re-sent. */
async function retry(op: OperationInfo): Promise<void> {
  const moor = window.moor;
  const name = op.machine;
  const next = await attempt(() =>
    op.machineKept || op.kind === 'provision'
      ? moor.provisionMachine({ name })
      : op.kind === 'regenerate-certs'
        ? moor.regenerateCerts({ name })
        : moor.createMachine(op.request),
  );
  if (next) focusTask(next.operationId);
}

export function TaskPanel({ navigate }: { navigate: Navigate }) {
  const tasks = useAppState((s) => s.tasks);
  const operations = useAppState((s) => s.operations);
  const panel = useRef<HTMLElement>(null);
  const list = orderTasks(Object.values(operations));
  const focused = tasks.focus ? operations[tasks.focus] : undefined;

  useEffect(() => {
    if (tasks.open) panel.current?.focus();
  }, [tasks.open]);

  if (!tasks.open) return null;
  return (
    <aside
      ref={panel}
      className="task-panel"
      aria-label="Tasks"
      data-testid="task-panel"
      tabIndex={-1}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && !e.defaultPrevented) closeTasks();
      }}
    >
      <header className="task-head">
        <h2 className="task-title">Tasks</h2>
        <button type="button" className="toast-close" aria-label="Close tasks" onClick={closeTasks}>
          <Icon name="x" />
        </button>
      </header>
      {list.length === 0 ? <p className="subtle task-empty">Nothing has run yet.</p> : null}
      <ul className="task-list">
        {list.map((op) => {
          const last = op.log.filter((e) => e.level === 'step').at(-1)?.message;
          const selected = op.info.id === tasks.focus;
          return (
            <li key={op.info.id}>
              <button
                type="button"
                className={`task-item${selected ? ' selected' : ''}`}
                aria-expanded={selected}
                onClick={() => focusTask(selected ? null : op.info.id)}
                data-testid={`task-${op.info.machine}`}
                data-status={op.info.status}
              >
                <span className={`task-dot status-${op.info.status}`}>
                  {op.info.status === 'running' ? <Spinner /> : null}
                </span>
                <span className="task-text">
                  <strong>
                    {KIND[op.info.kind]} {op.info.machine}
                  </strong>
                  <span className="subtle small ellipsis">
                    {op.info.status === 'running' ? (last ?? 'Starting…') : op.info.error || op.info.status}
                  </span>
                </span>
                <span className={`status status-${op.info.status}`}>{op.info.status}</span>
              </button>
            </li>
          );
        })}
      </ul>
      {focused ? (
        <div className="task-detail">
          <Progress
            op={focused}
            navigate={(route) => {
              closeTasks();
              navigate(route);
            }}
            onCancel={() => void attempt(() => window.moor.cancelCreate({ operationId: focused.info.id }))}
            onRetry={() => void retry(focused.info)}
          />
        </div>
      ) : null}
    </aside>
  );
}
