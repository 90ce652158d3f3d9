/**
 * The ⋯ menu of a host row: a button that opens a list of actions (WAI-ARIA menu button pattern).
 * Arrow keys move, Enter/Space choose, Esc or a click elsewhere closes and focus returns to the
 * button. Drawn fixed to the viewport so the table's overflow never clips it.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { Icon } from './components.js';
import type { HostActionItem } from './host-actions.js';

export function ActionMenu(props: {
  /** Names the menu for screen readers: "More actions for web". */
  label: string;
  items: HostActionItem[];
  onChoose: (item: HostActionItem) => void;
  testId?: string;
  itemTestId?: (item: HostActionItem) => string;
}) {
  const [open, setOpen] = useState(false);
  const [position, setPosition] = useState({ top: 0, right: 0 });
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };

  useLayoutEffect(() => {
    if (!open || !button.current) return;
    const rect = button.current.getBoundingClientRect();
    const height = menu.current?.offsetHeight ?? 0;
    // Below the button, or above it when it would run off the bottom of the window.
    const below = rect.bottom + 4;
    const top = below + height > window.innerHeight - 8 ? Math.max(8, rect.top - 4 - height) : below;
    setPosition({ top, right: window.innerWidth - rect.right });
    menu.current?.querySelector<HTMLButtonElement>('button:not(:disabled)')?.focus();
  }, [open]);

  useEffect(() => {
    if (!open) return;
    const onPointer = (e: MouseEvent) => {
      const target = e.target as Node;
      if (!menu.current?.contains(target) && !button.current?.contains(target)) setOpen(false);
    };
    const onScroll = () => setOpen(false);
    document.addEventListener('mousedown', onPointer);
    window.addEventListener('resize', onScroll);
    document.addEventListener('scroll', onScroll, true);
    return () => {
      document.removeEventListener('mousedown', onPointer);
      window.removeEventListener('resize', onScroll);
      document.removeEventListener('scroll', onScroll, true);
    };
  }, [open]);

  const onMenuKey = (e: React.KeyboardEvent) => {
    const buttons = [...(menu.current?.querySelectorAll<HTMLButtonElement>('button:not(:disabled)') ?? [])];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const move = (to: number) => buttons[(to + buttons.length) % buttons.length]?.focus();
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close(true);
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      move(at + 1);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      move(at - 1);
    } else if (e.key === 'Home') {
      e.preventDefault();
      move(0);
    } else if (e.key === 'End') {
      e.preventDefault();
      move(-1);
    } else if (e.key === 'Tab') {
      close(false);
    }
  };

  return (
    <>
      <button
        ref={button}
        type="button"
        className="btn btn-small btn-ghost more"
        aria-label={props.label}
        title={props.label}
        aria-haspopup="menu"
        aria-expanded={open}
        data-testid={props.testId}
        onClick={(e) => {
          e.stopPropagation();
          setOpen(!open);
        }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setOpen(true);
          }
        }}
      >
        <Icon name="more" size={16} />
      </button>
      {open ? (
        <div
          ref={menu}
          className="menu"
          role="menu"
          aria-label={props.label}
          style={{ top: position.top, right: position.right }}
          onKeyDown={onMenuKey}
          onClick={(e) => e.stopPropagation()}
        >
          {props.items.map((item, i) => (
            <div key={item.action} role="none">
              {item.danger && i > 0 ? <hr className="menu-sep" /> : null}
              <button
                type="button"
                role="menuitem"
                className={`menu-item${item.danger ? ' danger' : ''}`}
                disabled={!item.enabled}
                data-testid={props.itemTestId?.(item)}
                onClick={() => {
                  close(true);
                  props.onChoose(item);
                }}
              >
                {item.label}
              </button>
            </div>
          ))}
        </div>
      ) : null}
    </>
  );
}
