// Issue 2, item 4 (+7): Moor reads and writes docker-machine 0.16.2's store. The fixture is a store
// written by the real docker-machine and then moved (its recorded paths point at
// /home/user/.docker/machine): `ls`/`inspect`/`url`/`ip` work on it, every config.json round-trips
// byte for byte, a machine Moor creates has exactly docker-machine's shape, two processes
// updating one machine lose nothing, a corrupt config.json breaks nothing else, and bad input
// leaves no machine directory behind.
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../../main/store/config.js';
import { authPaths } from '../../main/store/paths.js';
import { Store } from '../../main/store/store.js';
import { tempDir } from '../harness/components.js';
import { ENGINE_TLS_FLAGS } from '../harness/docker-machine-shapes.js';
import { type Run, repoRoot, runMoor } from '../harness/moor-cli.js';

const execFileAsync = promisify(execFile);
// A copy of shared/fixtures/docker-machine-0.16.2-store (written by the real docker-machine 0.16.2).
const FIXTURE = path.join(repoRoot, 'test/fixtures/docker-machine-0.16.2-store');
const fixture = process.env.MOOR_FIXTURE_STORE ?? FIXTURE;

/** Runs the real `moor` binary (a whole process) against `store`. */
function moor(
  store: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, MACHINE_STORAGE_PATH: store, ...options.env };
  delete env.DOCKER_HOST;
  return runMoor(args, { env, input: options.input });
}

/** A writable copy of the fixture store (the fixture's files are read-only; modes as documented). */
function copyFixture(dest: string): string {
  cpSync(fixture, dest, { recursive: true });
  const walk = (dir: string) => {
    chmodSync(dir, 0o700);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else
        chmodSync(
          p,
          /key|config\.json|testkey$/.test(entry.name) && !entry.name.endsWith('.pub') ? 0o600 : 0o644,
        );
    }
  };
  walk(dest);
  return dest;
}

/** Every key path of a JSON value, in document order: the "shape" of a config.json. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keyPaths(v, `${prefix}${k}.`)]);
}

describe('docker-machine 0.16.2 store compatibility', () => {
  const { dir, cleanup } = tempDir('moor-store-compat');
  let store: string;

  beforeAll(() => {
    store = copyFixture(path.join(dir, 'store'));
  });
  afterAll(() => cleanup());

  it('lists the fixture machines', async () => {
    const r = await moor(store, ['ls', '-t', '2']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+ACTIVE\s+DRIVER\s+STATE\s+URL\s+SWARM\s+DOCKER\s+ERRORS$/);
    expect(lines[1]).toMatch(/^foo\s+-\s+none\s+\w+\s+tcp:\/\/127\.0\.0\.1:2376\s/);
    expect(lines[2]).toMatch(/^gen\s+\S*\s+generic\s+\w+/);
    expect((await moor(store, ['ls', '-q'])).stdout).toBe('foo\ngen\n');
    expect((await moor(store, ['ls', '-q', '--filter', 'driver=generic'])).stdout).toBe('gen\n');
    expect((await moor(store, ['ls', '-q', '--filter', 'label=spam=EGGS'])).stdout).toBe('gen\n');
  });

  it('inspects a machine as its config.json', async () => {
    const r = await moor(store, ['inspect', 'gen']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${readFileSync(path.join(store, 'machines/gen/config.json'), 'utf8')}\n`);
    const f = await moor(store, [
      'inspect',
      '-f',
      '{{.Driver.IPAddress}} {{.DriverName}} {{json .HostOptions.EngineOptions.Labels}} {{.Driver.SSHPort}}',
      'gen',
    ]);
    expect(f.stdout).toBe('127.0.0.1 generic ["spam=eggs"] 2999\n');
    const j = await moor(store, [
      'inspect',
      '--format',
      '{{json .HostOptions.AuthOptions.ServerCertSANs}}',
      'gen',
    ]);
    expect(j.stdout).toBe('["foo.bar.tld","10.42.42.42"]\n');
  });

  it('answers url and ip like docker-machine (the none "IP" includes the port)', async () => {
    expect(await moor(store, ['url', 'foo'])).toMatchObject({ code: 0, stdout: 'tcp://127.0.0.1:2376\n' });
    const ipFoo = await moor(store, ['ip', 'foo']);
    expect(ipFoo, ipFoo.stderr).toMatchObject({ code: 0, stdout: '127.0.0.1:2376\n' });
    expect(await moor(store, ['ip', 'gen', 'foo'])).toMatchObject({
      code: 0,
      stdout: '127.0.0.1\n127.0.0.1:2376\n',
    });
    const missing = await moor(store, ['url', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'Docker machine "nope" does not exist. Use "moor ls" to list machines. Use "moor create" to add a new one.\n',
    );
  });

  it("maps the moved store's recorded paths onto the real store", async () => {
    const s = new Store(store);
    const gen = await s.load('gen');
    const p = authPaths(gen, store);
    expect(p.caCert).toBe(path.join(store, 'certs/ca.pem'));
    expect(p.serverCert).toBe(path.join(store, 'machines/gen/server.pem'));
    expect(statSync(p.clientKey).isFile()).toBe(true);
  });

  it('round-trips every config.json byte for byte, unknown fields and Go escaping included', async () => {
    const s = new Store(store);
    // An extra machine with fields Moor does not know and characters Go escapes.
    const odd = JSON.parse(readFileSync(path.join(store, 'machines/foo/config.json'), 'utf8')) as HostConfig;
    const oddText = readFileSync(path.join(store, 'machines/foo/config.json'), 'utf8')
      .replace(
        '"URL": "tcp://127.0.0.1:2376"',
        '"URL": "tcp://127.0.0.1:2376",\n        "FutureField": {\n            "z": 1,\n            "a": "\\u003cb\\u003e \\u0026 \\u2028"\n        }',
      )
      .replace('"Name": "foo"', '"Name": "odd"')
      .replaceAll('machines/foo', 'machines/odd');
    expect(odd.Name).toBe('foo');
    await s.createMachineDir('odd');
    writeFileSync(path.join(store, 'machines/odd/config.json'), oddText, { mode: 0o600 });

    for (const name of await s.names()) {
      const file = s.configPath(name);
      const before = readFileSync(file);
      await s.save(await s.load(name));
      expect(readFileSync(file).equals(before), `${name}/config.json changed`).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    await s.remove('odd');
  });

  it("creates machines with exactly docker-machine's config.json shape and file modes", async () => {
    const fresh = path.join(dir, 'fresh');
    const r = await moor(fresh, ['create', '-d', 'none', '--url', 'tcp://127.0.2.40:2376', 'foo']);
    expect(r.code, r.stderr).toBe(0);
    // docker-machine's lines, each followed by the time elapsed since the create started
    expect(r.stdout).toMatch(
      /^Running pre-create checks\.\.\. \(\d+\.\ds\)\nCreating machine\.\.\. \(\d+\.\ds\)\n/m,
    );
    const ours = JSON.parse(readFileSync(path.join(fresh, 'machines/foo/config.json'), 'utf8')) as HostConfig;
    const theirs = JSON.parse(
      readFileSync(path.join(store, 'machines/foo/config.json'), 'utf8'),
    ) as HostConfig;
    expect(keyPaths(ours)).toEqual(keyPaths(theirs));
    // Same values except where the store lives and the URL: created like docker-machine would.
    const normalise = (text: string, root: string) =>
      text.replaceAll(root, '<store>').replace(/127\.0\.\d+\.\d+/g, '<ip>');
    expect(normalise(readFileSync(path.join(fresh, 'machines/foo/config.json'), 'utf8'), fresh)).toBe(
      normalise(
        readFileSync(path.join(store, 'machines/foo/config.json'), 'utf8'),
        '/home/user/.docker/machine',
      ),
    );
    expect(statSync(path.join(fresh, 'machines/foo/config.json')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(fresh, 'machines/foo')).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(fresh, 'certs/ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(fresh, 'certs/key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(fresh, 'certs/ca.pem')).mode & 0o777).toBe(0o644);

    // Engine and swarm flags are stored like docker-machine stores them (fixture `gen`).
    const g = await moor(fresh, [
      'create',
      '-d',
      'none',
      '--url',
      'tcp://127.0.2.40:2376',
      ...ENGINE_TLS_FLAGS,
      'gen',
    ]);
    expect(g.code, g.stderr).toBe(0);
    const genOurs = JSON.parse(
      readFileSync(path.join(fresh, 'machines/gen/config.json'), 'utf8'),
    ) as HostConfig;
    const genTheirs = JSON.parse(
      readFileSync(path.join(store, 'machines/gen/config.json'), 'utf8'),
    ) as HostConfig;
    expect(genOurs.HostOptions.EngineOptions).toEqual(genTheirs.HostOptions.EngineOptions);
    expect(genOurs.HostOptions.SwarmOptions).toEqual(genTheirs.HostOptions.SwarmOptions);
    expect(genOurs.HostOptions.AuthOptions.ServerCertSANs).toEqual(
      genTheirs.HostOptions.AuthOptions.ServerCertSANs,
    );
  });

  it('keeps every update of two processes writing one machine at once, and never tears the file', async () => {
    const s = new Store(store);
    const rounds = 40;
    const writer = path.join(dir, 'writer.mts');
    writeFileSync(
      writer,
      `import { Store } from ${JSON.stringify(path.join(repoRoot, 'main/store/store.ts'))};
const [root, id, rounds] = process.argv.slice(2);
const store = new Store(root!);
for (let i = 0; i < Number(rounds); i++) {
  await store.update('foo', (c) => {
    const d = c.Driver as Record<string, unknown>;
    d.Counter = Number(d.Counter ?? 0) + 1;
    d['Writer' + id] = i + 1;
  });
}
`,
    );
    const torn: string[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const text = readFileSync(s.configPath('foo'), 'utf8');
        try {
          JSON.parse(text);
        } catch {
          torn.push(text);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const tsx = path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs');
    try {
      await Promise.all(
        ['A', 'B'].map((id) =>
          execFileAsync(process.execPath, [tsx, writer, store, id, String(rounds)], { timeout: 120_000 }),
        ),
      );
    } finally {
      reading = false;
      await reader;
    }
    const driver = (await s.load('foo')).Driver as Record<string, unknown>;
    expect(driver.Counter).toBe(2 * rounds);
    expect(driver.WriterA).toBe(rounds);
    expect(driver.WriterB).toBe(rounds);
    expect(torn).toEqual([]);
    expect(readdirSync(s.machineDir('foo')).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('lists the other machines when one config.json is corrupt, that one as Error with the reason', async () => {
    const broken = path.join(dir, 'broken');
    copyFixture(broken);
    writeFileSync(path.join(broken, 'machines/foo/config.json'), '{"ConfigVersion": 3, "Driver": ');
    const r = await moor(broken, ['ls', '-t', '2']);
    expect(r.code).toBe(0);
    const fooLine = r.stdout.split('\n').find((l) => l.startsWith('foo'));
    expect(fooLine).toMatch(/^foo\s+not found\s+Error\s+Error getting migrated host: .*config\.json/);
    expect(r.stdout).toMatch(/^gen\s+\S*\s+generic/m);
    // Filters never hide a broken host; `ls -q` never shows one.
    const filtered = await moor(broken, ['ls', '-t', '2', '--filter', 'driver=generic']);
    expect(filtered.stdout).toMatch(/^foo\s+not found\s+Error/m);
    expect((await moor(broken, ['ls', '-q'])).stdout).toBe('gen\n');
  });

  it("rejects bad input with docker-machine's messages and leaves no machine directory", async () => {
    const bad = path.join(dir, 'bad');
    await moor(bad, ['create', '-d', 'none', '--url', 'tcp://127.0.2.41:2376', 'taken']);
    const machines = () => readdirSync(path.join(bad, 'machines')).sort();
    expect(machines()).toEqual(['taken']);
    const cases: [string[], number, string][] = [
      [
        ['create', '-d', 'none', '--url', 'tcp://127.0.2.41:2376', 'bad_name'],
        1,
        'Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -\n',
      ],
      [
        ['create', '-d', 'none', '--url', 'tcp://127.0.2.41:2376', '-'],
        1,
        'Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -\n',
      ],
      [
        ['create', '-d', 'none', '--url', 'tcp://127.0.2.41:2376', 'taken'],
        1,
        'Docker machine "taken" already exists\n',
      ],
      [
        ['create', '-d', 'bogus', 'x1'],
        1,
        'Driver "bogus" not found: Moor\'s drivers are none, generic, digitalocean, amazonec2, google, qemu, virtualbox (built in; docker-machine plugin binaries such as docker-machine-driver-bogus are not supported)\n',
      ],
      [
        ['create', '-d', 'none', 'x2'],
        1,
        'Error setting machine configuration from flags provided: --url option is required when no driver is selected\n',
      ],
      [
        ['create', '-d', 'none', '--url', 'tcp://127.0.2.41:2376', '--swarm-discovery', 'nope', 'x3'],
        1,
        // Moor says first that legacy Swarm does nothing (issue 9, item 24), then docker-machine's error.
        '--swarm-discovery: legacy (standalone) Swarm is not supported by Moor. The options are stored in config.json as docker-machine stores them, but no Swarm containers are started. Use Swarm mode instead: moor swarm init x3, then moor swarm join --manager x3 OTHER (or create OTHER with --swarm-join x3).\n' +
          'Error parsing swarm discovery: Swarm Discovery URL was in the wrong format: nope\n',
      ],
      [
        ['create', '-d', 'none', '--url', 'tcp://127.0.2.41:2376', 'x4', 'extra'],
        1,
        'Invalid command line. Found extra arguments [extra]\n',
      ],
    ];
    for (const [args, code, stderr] of cases) {
      const r = await moor(bad, args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code, stderr });
    }
    // A failed pre-create check exits 3, as in docker-machine.
    const pre = await moor(bad, [
      'create',
      '-d',
      'generic',
      '--generic-ip-address',
      '127.0.2.42',
      '--generic-ssh-key',
      '/nonexistent/key',
      'x5',
    ]);
    expect(pre.code).toBe(3);
    expect(pre.stderr).toBe(
      'Error with pre-create check: "SSH key does not exist: \\"/nonexistent/key\\""\n',
    );
    expect(machines()).toEqual(['taken']);
  });
});
