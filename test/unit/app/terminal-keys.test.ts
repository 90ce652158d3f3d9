import { describe, expect, it } from 'vitest';
import { terminalShortcut } from '../../../renderer/src/terminal-keys.js';

const key = (
  k: string,
  mods: Partial<Record<'ctrlKey' | 'shiftKey' | 'metaKey' | 'altKey', boolean>> = {},
) => ({
  key: k,
  ctrlKey: false,
  shiftKey: false,
  metaKey: false,
  altKey: false,
  ...mods,
});

describe('terminal shortcuts', () => {
  it('Ctrl+Tab / Ctrl+Shift+Tab (and Ctrl+PageDown/PageUp) switch tabs', () => {
    expect(terminalShortcut(key('Tab', { ctrlKey: true }))).toBe('next-tab');
    expect(terminalShortcut(key('Tab', { ctrlKey: true, shiftKey: true }))).toBe('previous-tab');
    expect(terminalShortcut(key('PageDown', { ctrlKey: true }))).toBe('next-tab');
    expect(terminalShortcut(key('PageUp', { ctrlKey: true }))).toBe('previous-tab');
  });
  it('Ctrl+= / Ctrl+- / Ctrl+0 (Cmd on macOS) zoom', () => {
    expect(terminalShortcut(key('=', { ctrlKey: true }))).toBe('zoom-in');
    expect(terminalShortcut(key('+', { ctrlKey: true, shiftKey: true }))).toBe('zoom-in');
    expect(terminalShortcut(key('-', { metaKey: true }))).toBe('zoom-out');
    expect(terminalShortcut(key('0', { ctrlKey: true }))).toBe('zoom-reset');
  });
  it("leaves the shell's keys alone: Tab, Ctrl+C, Ctrl+-, Alt combinations", () => {
    expect(terminalShortcut(key('Tab'))).toBeNull();
    expect(terminalShortcut(key('c', { ctrlKey: true }))).toBeNull();
    expect(terminalShortcut(key('0'))).toBeNull();
    expect(terminalShortcut(key('Tab', { ctrlKey: true, altKey: true }))).toBeNull();
  });
});
