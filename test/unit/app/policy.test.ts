import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  allowPermission,
  CONTENT_SECURITY_POLICY,
  isAppPage,
  isExternalLink,
  quitWhenAllWindowsClosed,
  trayIconFile,
  trayIconVariant,
  trayLikelyVisible,
} from '../../../main/app/policy.js';

describe('window policy', () => {
  it('opens only http(s) links externally', () => {
    expect(isExternalLink('https://docs.docker.com')).toBe(true);
    expect(isExternalLink('http://10.0.0.1:8080/x')).toBe(true);
    expect(isExternalLink('file:///etc/passwd')).toBe(false);
    expect(isExternalLink('javascript:alert(1)')).toBe(false);
    expect(isExternalLink('not a url')).toBe(false);
  });

  it("recognises the app's own page: the same file (any route), or the same origin for http", () => {
    const page = 'file:///opt/Moor%20App/dist/renderer/index.html';
    expect(isAppPage(page, page)).toBe(true);
    expect(isAppPage('file:///opt/Moor App/dist/renderer/index.html#/create?x=1', page)).toBe(true);
    expect(isAppPage('file:///opt/Moor%20App/dist/renderer/other.html', page)).toBe(false);
    expect(isAppPage('file:///opt/Moor%20App/dist/renderer/index.html/..', page)).toBe(false);
    expect(isAppPage('file://evil-host/opt/Moor%20App/dist/renderer/index.html', page)).toBe(false);
    expect(isAppPage('https://evil.example/opt/Moor%20App/dist/renderer/index.html', page)).toBe(false);
    expect(isAppPage('about:blank', page)).toBe(false);
    expect(isAppPage('', page)).toBe(false);
    expect(isAppPage('file:///opt/%E0%A4%A/index.html', page)).toBe(false);
    // Chromium upper-cases Windows drive letters.
    expect(isAppPage('file:///C:/Moor/index.html', 'file:///c:/Moor/index.html')).toBe(true);
    // A dev server: its origin, any path.
    expect(isAppPage('http://127.0.0.1:5173/src/x', 'http://127.0.0.1:5173/')).toBe(true);
    expect(isAppPage('http://127.0.0.1:5174/', 'http://127.0.0.1:5173/')).toBe(false);
  });

  it('grants the clipboard to the app page only, and nothing else', () => {
    const page = 'file:///opt/Moor/resources/app.asar/dist/renderer/index.html';
    expect(allowPermission('clipboard-read', page, page)).toBe(true);
    expect(allowPermission('clipboard-sanitized-write', `${page}#/terminals`, page)).toBe(true);
    // Any other local file, another origin, a sub-frame of about:blank, no URL at all: refused.
    expect(allowPermission('clipboard-read', 'file:///home/u/Downloads/evil.html', page)).toBe(false);
    expect(allowPermission('clipboard-sanitized-write', 'file:///x/index.html', page)).toBe(false);
    expect(allowPermission('clipboard-read', 'https://evil.example', page)).toBe(false);
    expect(allowPermission('clipboard-read', 'about:blank', page)).toBe(false);
    expect(allowPermission('clipboard-read', undefined, page)).toBe(false);
    // Everything but the clipboard is refused even to the app page.
    for (const other of ['media', 'notifications', 'geolocation', 'clipboard-write', 'openExternal']) {
      expect(allowPermission(other, page, page), other).toBe(false);
    }
  });

  it('quits on Linux/Windows when the last window closes unless a tray shows', () => {
    expect(quitWhenAllWindowsClosed('linux', false)).toBe(true);
    expect(quitWhenAllWindowsClosed('linux', true)).toBe(false);
    expect(quitWhenAllWindowsClosed('win32', true)).toBe(false);
    expect(quitWhenAllWindowsClosed('darwin', false)).toBe(false);
  });

  it('assumes no tray on GNOME (no tray without an extension), unless MOOR_TRAY says so', () => {
    expect(trayLikelyVisible('linux', { XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' })).toBe(false);
    expect(trayLikelyVisible('linux', { XDG_CURRENT_DESKTOP: 'KDE' })).toBe(true);
    expect(trayLikelyVisible('linux', {})).toBe(false);
    expect(trayLikelyVisible('linux', { XDG_CURRENT_DESKTOP: 'GNOME', MOOR_TRAY: '1' })).toBe(true);
    expect(trayLikelyVisible('darwin', {})).toBe(true);
  });

  it('uses template images on macOS and light/dark variants elsewhere, all shipped in resources/', () => {
    expect(trayIconVariant('darwin', true)).toBe('template');
    expect(trayIconVariant('linux', true)).toBe('light');
    expect(trayIconVariant('win32', false)).toBe('dark');
    expect(trayIconFile('idle', 'template')).toBe('idleTemplate.png');
    expect(trayIconFile('busy', 'light', 2)).toBe('busy-2-light.png');
    expect(trayIconFile('error', 'dark')).toBe('error-dark.png');
  });

  it('the CSP of the shipped page matches the one main enforces, and forbids remote code', () => {
    const html = readFileSync(new URL('../../../renderer/index.html', import.meta.url), 'utf8');
    const meta = /Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1] ?? '';
    for (const directive of meta.split('; ')) expect(CONTENT_SECURITY_POLICY).toContain(directive);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'none'");
  });
});
