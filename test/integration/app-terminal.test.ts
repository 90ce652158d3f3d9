/**
 * Terminal sessions of the app's services over a REAL ssh2 channel to a real OpenSSH sshd:
 * backpressure really stops the remote writer when the view does not acknowledge, resumes when it
 * does, and Ctrl-C gets through a flood. (The renderer side is covered in Chromium by the e2e suite.)
 */

import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINAL_HIGH_WATERMARK } from '../../main/api/contract.js';
import generic from '../../main/drivers/generic/index.js';
import { AppServices } from '../../main/services/app-services.js';
import type { MachineBackend } from '../../main/services/backend.js';
import { sshShellOpener } from '../../main/services/wiring.js';
import { Store } from '../../main/store/store.js';
import { tempDir } from '../harness/components.js';
import { type Sshd, startSshd } from '../harness/sshd.js';

let sshd: Sshd;
let store: { dir: string; cleanup: () => void };
let services: AppServices;

beforeAll(async () => {
  sshd = await startSshd({ user: 'moorterm' });
  store = tempDir('moor-app-terminal');
  const machineDir = path.join(store.dir, 'machines', 'box');
  mkdirSync(machineDir, { recursive: true, mode: 0o700 });
  const keyPath = path.join(machineDir, 'id_ed25519');
  copyFileSync(sshd.clientKeyPath, keyPath);
  // Only the SSH target matters here; the machine list and create paths are the e2e suite's.
  const machines: MachineBackend = {
    list: async () => [
      {
        name: 'box',
        driver: 'generic',
        state: 'Running',
        url: '',
        dockerVersion: '',
        error: '',
        reason: null,
        capabilities: generic.capabilities,
      },
    ],
    drivers: async () => ({ drivers: [], commonFlags: [], envSet: [] }),
    create: async () => {},
    action: async () => {},
    remove: async () => {},
    regenerateCerts: async () => {},
    provision: async () => {},
    sshTarget: async () => ({
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      keyPath,
      knownHostsPath: path.join(machineDir, 'known_hosts'),
      machineName: 'box',
    }),
  };
  services = new AppServices({
    store: new Store(store.dir),
    machines,
    active: {
      current: async () => ({ machine: null, context: 'default' }),
      use: async () => {},
      watch: () => () => {},
    },
    openShell: sshShellOpener,
    pollIntervalMs: 60_000,
  });
  await services.init();
});

afterAll(async () => {
  await services?.dispose();
  await sshd?.stop();
  store?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('terminal flow control over a real SSH channel', () => {
  it('pauses the remote writer without acks, resumes with them, and Ctrl-C lands', async () => {
    const { info } = await services.terminalOpen({ machine: 'box', rows: 30, cols: 100 });
    let received = '';
    const off = services.subscribe((event, payload) => {
      if (event === 'terminalData' && payload.id === info.id) received += payload.data;
    });
    await expect.poll(() => /\$ $/.test(received), { timeout: 10_000 }).toBe(true);
    await services.terminalAck({ id: info.id, chars: received.length });
    const start = received.length;

    await services.terminalWrite({ id: info.id, data: 'yes\r' });
    await sleep(1500);
    const stalled = received.length - start;
    await sleep(1000);
    // Nothing acknowledged: the channel was paused just above the high watermark (plus what was
    // already in flight in one ssh2 window), and stayed there.
    expect(stalled).toBeGreaterThan(TERMINAL_HIGH_WATERMARK);
    expect(received.length - start).toBe(stalled);
    expect(stalled).toBeLessThan(TERMINAL_HIGH_WATERMARK + 4 * 1024 * 1024);

    // Acknowledge everything: reading resumes and more output arrives.
    await services.terminalAck({ id: info.id, chars: received.length });
    await expect.poll(() => received.length - start, { timeout: 10_000 }).toBeGreaterThan(stalled);

    // Keep acknowledging (as the renderer does) and interrupt.
    const acker = setInterval(() => void services.terminalAck({ id: info.id, chars: 1_000_000 }), 10);
    try {
      await services.terminalWrite({ id: info.id, data: '\x03' });
      await services.terminalWrite({ id: info.id, data: 'echo back-$((20+1))\r' });
      await expect.poll(() => /back-21\r?\n/.test(received.slice(-20_000)), { timeout: 10_000 }).toBe(true);
    } finally {
      clearInterval(acker);
      off();
    }
    await services.terminalClose({ id: info.id });
  });

  it('keeps a detached session running and replays its recent output', async () => {
    const { info } = await services.terminalOpen({ machine: 'box', rows: 24, cols: 80 });
    await services.terminalDetach({ id: info.id });
    await services.terminalWrite({ id: info.id, data: 'echo while-detached-$((1+1))\r' });
    await sleep(500);
    const again = await services.terminalAttach({ id: info.id, rows: 24, cols: 80 });
    expect(again.replay).toMatch(/while-detached-2/);
    await services.terminalClose({ id: info.id });
  });
});
