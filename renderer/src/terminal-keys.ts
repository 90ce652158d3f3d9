/** The terminal view's own keys (pure, unit-tested); every other key goes to the remote shell. */

export interface ShortcutKey {
  key: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

/** Which tab or zoom action a key press means in a terminal, or null for the shell's own keys. */
export function terminalShortcut(
  e: ShortcutKey,
): 'next-tab' | 'previous-tab' | 'zoom-in' | 'zoom-out' | 'zoom-reset' | null {
  if (e.altKey) return null;
  if (e.ctrlKey && e.key === 'Tab') return e.shiftKey ? 'previous-tab' : 'next-tab';
  if (e.ctrlKey && !e.shiftKey && e.key === 'PageDown') return 'next-tab';
  if (e.ctrlKey && !e.shiftKey && e.key === 'PageUp') return 'previous-tab';
  // Zoom: Ctrl (Cmd on macOS) with = / + / - / 0, as in browsers and terminal emulators.
  const mod = e.ctrlKey || e.metaKey;
  if (mod && (e.key === '=' || e.key === '+')) return 'zoom-in';
  if (mod && !e.shiftKey && e.key === '-') return 'zoom-out';
  if (mod && !e.shiftKey && e.key === '0') return 'zoom-reset';
  return null;
}
