/**
 * A modal "are you sure?" for risky actions, as a promise: `await askConfirm(...)` resolves true
 * on the confirm button, false on Cancel or Esc. One at a time; rendered by <ConfirmHost/> in App.
 */
import { useEffect, useRef, useSyncExternalStore } from 'react';
import type { Confirmation } from './host-actions.js';

interface Pending extends Confirmation {
  resolve: (yes: boolean) => void;
}

let pending: Pending | null = null;
const listeners = new Set<() => void>();
const changed = () => {
  for (const l of listeners) l();
};

export function askConfirm(confirmation: Confirmation): Promise<boolean> {
  pending?.resolve(false);
  return new Promise<boolean>((resolve) => {
    pending = { ...confirmation, resolve };
    changed();
  });
}

function answer(yes: boolean): void {
  const p = pending;
  pending = null;
  changed();
  p?.resolve(yes);
}

export function ConfirmHost() {
  const current = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => pending,
  );
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (current && !dialog.open) dialog.showModal();
    if (!current && dialog.open) dialog.close();
  }, [current]);
  return (
    <dialog
      ref={ref}
      className="confirm"
      aria-labelledby="confirm-title"
      data-testid="confirm-dialog"
      // Esc closes a modal <dialog>: that is a No.
      onCancel={(e) => {
        e.preventDefault();
        answer(false);
      }}
    >
      {current ? (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            answer(true);
          }}
        >
          <h2 id="confirm-title">{current.title}</h2>
          <p data-testid="confirm-body">{current.body}</p>
          <div className="confirm-buttons">
            <button type="button" className="btn btn-ghost" onClick={() => answer(false)}>
              Cancel
            </button>
            <button
              type="submit"
              className={`btn ${current.danger ? 'btn-danger' : 'btn-primary'}`}
              data-testid="confirm-yes"
            >
              {current.confirmLabel}
            </button>
          </div>
        </form>
      ) : null}
    </dialog>
  );
}
