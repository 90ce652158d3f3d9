/**
 * Window and lifecycle rules as pure functions (no electron import), unit-tested.
 */

/** The renderer's Content-Security-Policy (also set as a <meta> in renderer/index.html). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // xterm.js injects <style> elements for its DOM renderer.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The web permissions the app's page may use: the clipboard, for terminal copy and paste. */
const PAGE_PERMISSIONS = new Set(['clipboard-read', 'clipboard-sanitized-write']);

/**
 * Whether a permission request or check is granted: only the clipboard, and only to the app's own
 * page `pageUrl` (any other file:, a frame of another origin, a missing URL are refused). Camera,
 * notifications, geolocation, ... are refused to every page.
 */
export function allowPermission(
  permission: string,
  requestingUrl: string | undefined,
  pageUrl: string,
): boolean {
  return PAGE_PERMISSIONS.has(permission) && isAppPage(requestingUrl ?? '', pageUrl);
}

/** Links a user may open in the system browser (from terminal output); never file: or custom schemes. */
export function isExternalLink(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Whether a frame showing `url` shows the app's own page `pageUrl`: the same file for a file:
 * page (whatever its #route or ?query), the same origin for an http(s) page (a dev server).
 */
export function isAppPage(url: string, pageUrl: string): boolean {
  try {
    const actual = new URL(url);
    const expected = new URL(pageUrl);
    if (expected.protocol !== 'file:') return actual.origin === expected.origin;
    return (
      actual.protocol === 'file:' &&
      actual.host === expected.host &&
      filePath(actual.pathname) === filePath(expected.pathname)
    );
  } catch {
    return false; // unparsable URL or malformed %-escape
  }
}

/** A file URL's path, decoded, with a Windows drive letter in one case (Chromium upper-cases it). */
function filePath(pathname: string): string {
  return decodeURIComponent(pathname).replace(
    /^\/([a-z]):/,
    (_m, drive: string) => `/${drive.toUpperCase()}:`,
  );
}

/**
 * Whether the tray icon is actually visible: GNOME shows none without an extension, so a window
 * close there must quit (or users are left with an invisible app). MOOR_TRAY=0/1 overrides.
 */
export function trayLikelyVisible(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): boolean {
  if (env.MOOR_TRAY === '0') return false;
  if (env.MOOR_TRAY === '1') return true;
  if (platform !== 'linux') return true;
  const desktop = (env.XDG_CURRENT_DESKTOP ?? '').toLowerCase();
  return desktop !== '' && !desktop.split(':').includes('gnome');
}

/** After the last window closes: macOS keeps the app (menu bar); elsewhere it quits unless a tray shows. */
export function quitWhenAllWindowsClosed(platform: NodeJS.Platform, trayVisible: boolean): boolean {
  if (platform === 'darwin') return false;
  return !trayVisible;
}

export type IconVariant = 'template' | 'light' | 'dark';

/** macOS wants black+alpha template images; elsewhere pick the variant visible on the panel. */
export function trayIconVariant(platform: NodeJS.Platform, darkPanel: boolean): IconVariant {
  if (platform === 'darwin') return 'template';
  return darkPanel ? 'light' : 'dark';
}

/** File name of a tray icon frame in resources/tray/. `frame` is only used for the busy animation. */
export function trayIconFile(state: 'idle' | 'busy' | 'error', variant: IconVariant, frame = 0): string {
  const base = state === 'busy' ? `busy-${frame}` : state;
  return variant === 'template' ? `${base}Template.png` : `${base}-${variant}.png`;
}

export const BUSY_FRAMES = 4;
export const BUSY_FRAME_MS = 180;
