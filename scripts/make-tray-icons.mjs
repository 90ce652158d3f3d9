// Draws the tray icons (resources/tray/*.png) from SVG with headless Chromium: idle, error and four
// busy animation frames; macOS template images (black + alpha) and light/dark variants for
// Linux/Windows panels; each at 16 px and @2x 32 px. Run: node scripts/make-tray-icons.mjs
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const out = path.join(new URL('..', import.meta.url).pathname, 'resources', 'tray');
mkdirSync(out, { recursive: true });

const ANCHOR = `
  <circle cx="16" cy="7.5" r="3.4" fill="none" stroke="COLOR" stroke-width="2.6"/>
  <path d="M16 11v16M10 15.5h12M5.5 19c1.6 5.2 5.6 8.2 10.5 8.2s8.9-3 10.5-8.2" fill="none" stroke="COLOR" stroke-width="2.6" stroke-linecap="round"/>`;

/** The glyph for one state; `badge` colours are used only outside template images. */
function svg(state, frame, color, template) {
  let extra = '';
  let glyph = ANCHOR;
  if (state === 'busy') {
    // A quarter arc orbiting the anchor, one position per frame.
    const a0 = (frame * Math.PI) / 2 - Math.PI / 2;
    const r = 14.2;
    const p = (a) => `${16 + r * Math.cos(a)} ${16 + r * Math.sin(a)}`;
    extra = `<path d="M${p(a0)} A${r} ${r} 0 0 1 ${p(a0 + Math.PI / 2.2)}" fill="none" stroke="${template ? color : '#5b9dff'}" stroke-width="3" stroke-linecap="round"/>`;
    glyph = `<g transform="translate(16 16) scale(0.72) translate(-16 -16)">${ANCHOR}</g>`;
  }
  if (state === 'error') {
    // A badge at the bottom right: punched out of the glyph, then an exclamation mark.
    const fill = template ? color : '#ff4d5e';
    extra = `<circle cx="24.5" cy="24.5" r="8" fill="${template ? 'transparent' : fill}" stroke="${template ? color : 'none'}" stroke-width="2.4"/>
      <path d="M24.5 20.2v5" stroke="${template ? color : '#fff'}" stroke-width="2.6" stroke-linecap="round"/>
      <circle cx="24.5" cy="28.6" r="1.5" fill="${template ? color : '#fff'}"/>`;
    glyph = `<mask id="m"><rect width="32" height="32" fill="#fff"/><circle cx="24.5" cy="24.5" r="10" fill="#000"/></mask><g mask="url(#m)">${ANCHOR}</g>`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="SIZE" height="SIZE">${glyph.replaceAll('COLOR', color)}${extra}</svg>`;
}

const variants = [
  { suffix: 'Template', color: '#000000', template: true, name: (base) => `${base}Template` },
  { suffix: 'light', color: '#ffffff', template: false, name: (base) => `${base}-light` },
  { suffix: 'dark', color: '#1d2330', template: false, name: (base) => `${base}-dark` },
];
const states = [
  { state: 'idle', frame: 0, base: 'idle' },
  { state: 'error', frame: 0, base: 'error' },
  ...[0, 1, 2, 3].map((frame) => ({ state: 'busy', frame, base: `busy-${frame}` })),
];

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
const page = await browser.newPage({ viewport: { width: 64, height: 64 } });
let count = 0;
for (const v of variants) {
  for (const s of states) {
    for (const [size, scale] of [
      [16, ''],
      [32, '@2x'],
    ]) {
      const markup = svg(s.state, s.frame, v.color, v.template).replaceAll('SIZE', String(size));
      await page.setContent(`<html><body style="margin:0;background:transparent">${markup}</body></html>`);
      await page
        .locator('svg')
        .screenshot({ path: path.join(out, `${v.name(s.base)}${scale}.png`), omitBackground: true });
      count++;
    }
  }
}
// The application icon (512 px; electron-builder derives .icns/.ico from it).
await page.setViewportSize({ width: 512, height: 512 });
await page.setContent(`<html><body style="margin:0;background:transparent">
  <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="512" height="512">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#5b8cff"/><stop offset="1" stop-color="#2a4fb8"/></linearGradient></defs>
    <rect x="1.5" y="1.5" width="29" height="29" rx="7" fill="url(#g)"/>
    <g transform="translate(16 16.4) scale(0.66) translate(-16 -16)">${ANCHOR.replaceAll('COLOR', '#ffffff')}</g>
  </svg></body></html>`);
await page.locator('svg').screenshot({ path: path.join(out, '..', 'icon.png'), omitBackground: true });
count++;
await browser.close();
console.log(`wrote ${count} icons to ${out}`);
