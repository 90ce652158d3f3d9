/**
 * The real Electron app (Playwright's _electron): window security settings, the preload's single
 * `window.moor` object, and the host list over real IPC. Runs whenever an Electron binary is
 * installed; on machines where it cannot be downloaded (this CI: ELECTRON_SKIP_BINARY_DOWNLOAD=1)
 * it is skipped with the reason printed — the only skip in the suite. Chromium e2e (app.test.ts)
 * covers the same renderer through the same contract.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron, type ElectronApplication } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireCommand } from '../harness/components.js';
import { electronBinary } from '../harness/electron-binary.js';

const root = path.resolve(import.meta.dirname, '../..');

const found = electronBinary();
if ('reason' in found) {
  console.warn(
    `[e2e] SKIPPING the Electron e2e test: ${found.reason}. The renderer is tested in Chromium instead (app.test.ts).`,
  );
}

describe.skipIf('reason' in found)('Moor in Electron', () => {
  let app: ElectronApplication;
  let xvfb: ChildProcess | undefined;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'moor-electron-'));
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    if (!env.DISPLAY && process.platform === 'linux') {
      xvfb = spawn(
        requireCommand('Xvfb', 'xvfb'),
        [':97', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'],
        { stdio: 'ignore' },
      );
      env.DISPLAY = ':97';
      await new Promise((r) => setTimeout(r, 500));
    }
    app = await _electron.launch({
      executablePath: (found as { path: string }).path,
      args: [root, '--no-sandbox'],
      env: {
        ...env,
        MACHINE_STORAGE_PATH: path.join(tmp, 'store'),
        DOCKER_CONFIG: path.join(tmp, 'docker'),
        MOOR_TRAY: '0',
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    if (xvfb?.pid) process.kill(xvfb.pid);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('opens one sandboxed, isolated window without Node, exposing only window.moor', async () => {
    const page = await app.firstWindow();
    await page.waitForSelector('.app');
    expect(await page.title()).toBe('Moor');
    const prefs = await app.evaluate(({ BrowserWindow }) => {
      const win = BrowserWindow.getAllWindows()[0]!;
      // Electron's own record of the preferences the page runs with (not in the public typings).
      const contents = win.webContents as unknown as {
        getLastWebPreferences(): {
          contextIsolation?: boolean;
          sandbox?: boolean;
          nodeIntegration?: boolean;
        } | null;
      };
      const p = contents.getLastWebPreferences();
      return {
        contextIsolation: p?.contextIsolation,
        sandbox: p?.sandbox,
        nodeIntegration: p?.nodeIntegration,
        visible: win.isVisible(),
      };
    });
    expect(prefs).toEqual({ contextIsolation: true, sandbox: true, nodeIntegration: false, visible: true });
    const globals = await page.evaluate(() => ({
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
      moor: Object.keys(window.moor).sort(),
    }));
    expect(globals.require).toBe('undefined');
    expect(globals.process).toBe('undefined');
    expect(globals.moor).toContain('listMachines');
    expect(globals.moor).toContain('on');
    expect(await page.evaluate(() => window.moor.listMachines())).toEqual([]);
    // Navigation away is refused.
    await page.evaluate(() => {
      window.location.href = 'https://example.com/';
    });
    await page.waitForTimeout(300);
    expect(page.url()).toMatch(/^file:.*index\.html$/);
  });
});
