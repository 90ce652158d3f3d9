/**
 * The e2e harness: the real main-process services (createAppServices: real store, SSH, contexts)
 * behind the test-only bridge, and the built renderer in headless Debian Chromium (never a
 * downloaded browser). Everything started here is stopped by close(), also after a failure.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { AppServices } from '../../main/services/app-services.js';
import { createAppServices } from '../../main/services/wiring.js';
import { requireCommand } from '../harness/components.js';
import { type Bridge, startBridge } from './bridge/server.js';

export const SCREENSHOTS = path.resolve(import.meta.dirname, 'screenshots');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchChromium(): Promise<Browser> {
  const executablePath = requireCommand('chromium', 'chromium');
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
}

export interface AppHarness {
  services: AppServices;
  bridge: Bridge;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Paths the app asked the file manager to show (Reveal in folder), in order. */
  revealed: string[];
  /**
   * The file picker's test double (Electron's dialog in the app): each Browse… takes the next
   * path queued here (null: the user cancelled), and records its title and default path.
   */
  picker: { queue: Array<string | null>; asked: Array<{ title: string; defaultPath?: string }> };
  /** A fresh page on the same bridge (a "new window"). */
  newPage(): Promise<Page>;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function startApp(options: {
  storagePath: string;
  dockerConfig: string;
  env?: NodeJS.ProcessEnv;
  pollIntervalMs?: number;
  viewport?: { width: number; height: number };
  colorScheme?: 'dark' | 'light';
}): Promise<AppHarness> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    MACHINE_STORAGE_PATH: options.storagePath,
    DOCKER_CONFIG: options.dockerConfig,
  };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  const revealed: string[] = [];
  const picker: AppHarness['picker'] = { queue: [], asked: [] };
  try {
    const services = await createAppServices({
      preferencesPath: path.join(options.storagePath, '..', 'app-preferences.json'),
      revealPath: (file) => {
        revealed.push(file);
      },
      pickFile: async (options) => {
        picker.asked.push(options);
        if (picker.queue.length === 0) throw new Error('test file picker: no path queued');
        return picker.queue.shift() ?? null;
      },
      env,
      storagePath: options.storagePath,
      pollIntervalMs: options.pollIntervalMs ?? 1_000,
      version: '0.1.0',
    });
    closers.push(() => services.dispose());
    const bridge = await startBridge(services);
    closers.push(() => bridge.close());
    const browser = await launchChromium();
    closers.push(() => browser.close());
    const context = await browser.newContext({
      viewport: options.viewport ?? { width: 1280, height: 800 },
      deviceScaleFactor: 1,
      // Pinned: Chromium's default is light; the screenshots show the dark theme unless a test
      // asks for the light one (page.emulateMedia).
      colorScheme: options.colorScheme ?? 'dark',
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: new URL(bridge.url).origin,
    });
    const newPage = async () => {
      const page = await context.newPage();
      await page.addInitScript({ content: bridge.initScript });
      page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
      await page.goto(bridge.url);
      await page.waitForSelector('.app');
      return page;
    };
    const page = await newPage();
    return {
      services,
      bridge,
      browser,
      context,
      page,
      revealed,
      picker,
      newPage,
      async screenshot(name) {
        mkdirSync(SCREENSHOTS, { recursive: true });
        const file = path.join(SCREENSHOTS, `${name}.png`);
        await page.screenshot({ path: file });
        return file;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
