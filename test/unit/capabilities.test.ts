import { describe, expect, it } from 'vitest';
import {
  canPower,
  NO_CAPABILITIES,
  powerActionHelp,
  unsupportedActionMessage,
} from '../../main/drivers/capabilities.js';
import { DRIVER_NAMES, loadDriver } from '../../main/drivers/registry.js';

describe('driver capabilities (declared by each driver module)', () => {
  it('generic: restart and SSH only; none: nothing; digitalocean: everything', async () => {
    const modules = Object.fromEntries(
      await Promise.all(DRIVER_NAMES.map(async (n) => [n, (await loadDriver(n)).capabilities] as const)),
    );
    expect(modules.generic).toMatchObject({ actions: ['restart'], ssh: true });
    expect(modules.none).toMatchObject({ actions: [], ssh: false });
    expect(modules.digitalocean).toMatchObject({
      actions: ['start', 'stop', 'restart', 'kill', 'hibernate', 'wake'],
      ssh: true,
    });
    // Hibernate is a cloud capability: only DigitalOcean declares it so far.
    for (const [name, caps] of Object.entries(modules)) {
      expect(caps.actions.includes('hibernate'), name).toBe(name === 'digitalocean');
    }
    expect(
      powerActionHelp('hibernate', [{ name: 'digitalocean', capabilities: modules.digitalocean! }]),
    ).toBe('Drivers that can hibernate: digitalocean.');
    expect(modules.digitalocean!.removes).toMatch(/droplet/);
    expect(canPower(NO_CAPABILITIES, 'start')).toBe(false);
  });

  it('help names who can and cannot; refusals say why in the user’s terms', () => {
    const drivers = [
      { name: 'a', capabilities: { ...NO_CAPABILITIES, actions: ['stop' as const] } },
      { name: 'b', capabilities: NO_CAPABILITIES },
    ];
    expect(powerActionHelp('stop', drivers)).toBe(
      'Drivers that can stop: a.\nNot available for: b (the command fails for their machines).',
    );
    expect(powerActionHelp('kill', drivers)).toMatch(/^Drivers that can kill: none\./);
    expect(unsupportedActionMessage('generic', 'stop', 'web')).toMatch(
      /^Can't stop "web": the generic driver cannot stop a machine \(Moor did not make this host/,
    );
    expect(unsupportedActionMessage('', 'start', 'x')).toMatch(/configuration did not load/);
  });
});
