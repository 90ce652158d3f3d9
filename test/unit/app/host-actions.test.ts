import { describe, expect, it } from 'vitest';
import { NO_CAPABILITIES } from '../../../main/drivers/capabilities.js';
import {
  confirmationFor,
  firstLine,
  hostActions,
  menuActions,
  primaryAction,
} from '../../../renderer/src/host-actions.js';
import { machine } from './fixtures.js';

const actions = (items: { action: string }[]) => items.map((i) => i.action);

describe('host row actions', () => {
  it('one primary action: Start a stopped host, a terminal on a running one, else Use or Details', () => {
    expect(primaryAction(machine('d', { state: 'Stopped' })).action).toBe('start');
    expect(primaryAction(machine('d', { state: 'Running' })).action).toBe('terminal');
    expect(primaryAction(machine('g', { driver: 'generic', state: 'Stopped' })).action).toBe('details');
    expect(primaryAction(machine('n', { driver: 'none', state: 'Running' })).action).toBe('use');
    expect(primaryAction(machine('n', { driver: 'none', state: 'Running', active: true })).action).toBe(
      'details',
    );
  });

  it('the menu holds the rest, only what the driver can do, Details always', () => {
    expect(actions(menuActions(machine('d', { state: 'Running' })))).toEqual([
      'start',
      'stop',
      'restart',
      'kill',
      'use',
      'details',
      'remove',
    ]);
    expect(actions(menuActions(machine('g', { driver: 'generic' })))).toEqual([
      'restart',
      'use',
      'details',
      'remove',
    ]);
    const broken = machine('x', { driver: '', state: 'Error', capabilities: NO_CAPABILITIES });
    expect(actions(hostActions(broken))).toEqual(['use', 'details', 'remove']);
    expect(hostActions(broken).find((i) => i.action === 'use')!.enabled).toBe(false);
  });

  it('asks before a reboot, a kill and a removal, saying what is deleted', () => {
    const web = machine('web', { driver: 'generic', url: 'tcp://10.0.0.5:2376' });
    expect(confirmationFor('restart', web, 2)!.body).toMatch(
      /reboots the server at 10\.0\.0\.5.*2 open terminals end/,
    );
    expect(confirmationFor('remove', web, 0)!.body).toMatch(/only Moor's local record.*host itself is left/);
    expect(confirmationFor('remove', machine('d'), 0)!.body).toMatch(
      /deletes the droplet \(or its hibernation snapshot\) and the SSH key/,
    );
    expect(confirmationFor('kill', machine('d'), 1)!.body).toMatch(
      /without a clean shutdown\. Its open terminal ends/,
    );
    expect(confirmationFor('stop', machine('d'), 0)).toBeNull();
    expect(confirmationFor('start', web, 0)).toBeNull();
  });

  it('cuts an error to its first line', () => {
    expect(firstLine('Driver not found\n  more detail')).toBe('Driver not found');
  });
});
