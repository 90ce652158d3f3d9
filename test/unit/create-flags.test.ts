import { describe, expect, it } from 'vitest';
import {
  buildCreateCommand,
  findDriverFlag,
  type ParsedCreate,
  resolveValue,
} from '../../main/cli/create-command.js';
import { hostOptionsFromFlags, SHARED_CREATE_FLAGS } from '../../main/core/create-flags.js';
import type { DriverModule } from '../../main/drivers/types.js';
import { ENGINE_TLS_FLAGS } from '../harness/docker-machine-shapes.js';

/** A driver with one flag of each type, to exercise the generated options. */
const fake: DriverModule = {
  name: 'fake',
  description: 'test driver',
  provisions: false,
  capabilities: { actions: [], ssh: false, removes: '', restartReboots: false },
  flags: [
    { name: 'fake-ip', type: 'string', help: 'IP', envVar: 'FAKE_IP', default: '' },
    { name: 'fake-port', type: 'int', help: 'port', default: 22, envVar: 'FAKE_PORT' },
    { name: 'fake-ipv6', type: 'bool', help: 'v6', envVar: 'FAKE_IPV6' },
    { name: 'fake-tag', type: 'string[]', help: 'tags', envVar: 'FAKE_TAGS' },
  ],
  configFromFlags: (_values, base) => base,
  open: () => {
    throw new Error('unused');
  },
};

async function parse(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ParsedCreate> {
  let parsed: ParsedCreate | undefined;
  const command = buildCreateCommand('moor', fake, env, async (p) => {
    parsed = p;
  });
  command.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  await command.parseAsync(args, { from: 'user' });
  return parsed!;
}

describe('create flag parsing', () => {
  it('finds the driver like docker-machine flagHackLookup', () => {
    expect(findDriverFlag(['-d', 'none', 'x'])).toBe('none');
    expect(findDriverFlag(['--url', 'u', '--driver', 'generic'])).toBe('generic');
    expect(findDriverFlag(['--driver=digitalocean', 'x'])).toBe('digitalocean');
    expect(findDriverFlag(['-d=none'])).toBe('none');
    expect(findDriverFlag(['x'])).toBe('');
  });

  it('applies command line, then environment, then defaults', async () => {
    const p = await parse(['--fake-ip', '10.0.0.1', '--fake-tag', 'a', '--fake-tag', 'b', 'm1']);
    expect(p.name).toBe('m1');
    expect(p.driverValues).toEqual({
      'fake-ip': '10.0.0.1',
      'fake-port': 22,
      'fake-ipv6': false,
      'fake-tag': ['a', 'b'],
    });
    const e = await parse(['m2'], {
      FAKE_IP: '1.2.3.4',
      FAKE_PORT: '2222',
      FAKE_IPV6: 'true',
      FAKE_TAGS: 'x, y',
    });
    expect(e.driverValues).toEqual({
      'fake-ip': '1.2.3.4',
      'fake-port': 2222,
      'fake-ipv6': true,
      'fake-tag': ['x', 'y'],
    });
    const both = await parse(['--fake-port', '1', 'm3'], { FAKE_PORT: '2222' });
    expect(both.driverValues['fake-port']).toBe(1);
  });

  it('rejects a non-integer for an int flag', async () => {
    await expect(parse(['--fake-port', 'abc', 'm'])).rejects.toThrow(
      /invalid value "abc" for flag -fake-port/,
    );
  });

  it('rejects unknown flags and extra arguments with docker-machine messages', async () => {
    await expect(parse(['--bogus', 'm'])).rejects.toThrow(/unknown option '--bogus'/);
    await expect(parse(['a', 'b', 'c'])).rejects.toThrow('Invalid command line. Found extra arguments [b c]');
    await expect(parse([])).rejects.toThrow('Error: No machine name specified');
  });

  it('maps the shared engine/swarm/tls flags onto config.json options like docker-machine', async () => {
    const p = await parse(
      [...ENGINE_TLS_FLAGS, '--swarm-master', '--swarm-discovery', 'token://abc', 'gen'],
      { MACHINE_DOCKER_INSTALL_URL: 'distro' },
    );
    const { engine, swarm, tlsSans } = hostOptionsFromFlags(p.sharedValues);
    expect(engine).toEqual({
      ArbitraryFlags: ['log-driver=none'],
      Env: ['TEST=VALUE'],
      InsecureRegistry: ['registry.myco.com'],
      Labels: ['spam=eggs'],
      RegistryMirror: ['https://mirror.example.com'],
      StorageDriver: '',
      TlsVerify: true,
      InstallURL: 'distro',
    });
    expect(swarm).toMatchObject({
      IsSwarm: true,
      Master: true,
      Agent: false,
      Discovery: 'token://abc',
      Host: 'tcp://0.0.0.0:3376',
      Image: 'swarm:latest',
      Strategy: 'spread',
    });
    expect(tlsSans).toEqual(['foo.bar.tld', '10.42.42.42']);
  });

  it('lists every flag in help, sorted by name, with env vars and defaults', () => {
    const help = buildCreateCommand('moor', fake, {}, async () => {}).helpInformation();
    const names = [...help.matchAll(/^ {2}(?:-\w, )?--([a-z0-9-]+)/gm)].map((m) => m[1]);
    const expected = [
      'driver',
      ...SHARED_CREATE_FLAGS.map((f) => f.name),
      ...fake.flags.map((f) => f.name),
    ].sort();
    expect(names).toEqual([...expected, 'keep-on-failure', 'help']);
    expect(help).toMatch(/--fake-port <n>\s+port \(default: 22\) \[\$FAKE_PORT\]/);
  });

  it('resolves values of every type', () => {
    expect(resolveValue({ name: 'b', type: 'bool', help: '', envVar: 'B' }, undefined, { B: '0' })).toBe(
      false,
    );
    expect(resolveValue({ name: 's', type: 'string', help: '' }, undefined, {})).toBe('');
    expect(resolveValue({ name: 'l', type: 'string[]', help: '' }, undefined, {})).toEqual([]);
  });
});
