// Issue 9: moor next to the real docker-machine 0.16.2 on one store. Both binaries run the same
// commands and their outputs are compared byte for byte (program names aside); each reads and
// removes what the other created: a `moor create -d generic` machine on a systemd test host
// (bookworm-docker), and docker-machine's own `create -d none` machine of a mutual-TLS engine.
// Where moor differs on purpose (docs/compatibility.md), the test asserts the difference.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../harness/components.js';
import { generateKey, type Tools, tools } from '../harness/docker-machine.js';
import { genericCreateArgs, moorBin, type Run } from '../harness/moor-cli.js';
import { bootstrapStoreCerts } from '../harness/store-fixtures.js';
import { refusedAddress, startTlsEngine, type TestEngine } from '../harness/tls-engine.js';
import { startTestHost, type TestHost } from '../hosts/index.js';

const ENGINE_HOST = '127.0.43.10'; // a mutual-TLS engine answering /version, for `-d none`
const DEAD_HOST = '127.0.43.11'; // a refused port: a none machine whose engine is down
const GENERIC_HOST = '127.0.43.20'; // systemd test host with Docker preinstalled

describe('moor and docker-machine 0.16.2 on one store', () => {
  const { dir, cleanup } = tempDir('moor-side-by-side');
  const store = path.join(dir, 'store');
  let t: Tools;
  let engine: TestEngine | undefined;
  let host: TestHost | undefined;
  let keyPath = '';

  beforeAll(async () => {
    t = tools(dir, store);
    const certs = await bootstrapStoreCerts(store);
    mkdirSync(path.join(dir, 'engine'));
    engine = await startTlsEngine({
      host: ENGINE_HOST,
      caCert: certs.caCert,
      caKey: certs.caKey,
      dir: path.join(dir, 'engine'),
      version: '27.5.1',
    });
    const key = generateKey(dir);
    keyPath = key.keyPath;
    const dead = await refusedAddress(DEAD_HOST);
    const [hostStarted] = await Promise.all([
      startTestHost({
        name: 'tcompat-sbs-gen',
        address: GENERIC_HOST,
        image: 'bookworm-docker',
        authorizedKey: key.publicKey,
      }),
      t.dm(['create', '-d', 'none', '--url', engine.url, 'dmnone']).then(ok),
      t.moor(['create', '-d', 'none', '--url', dead.url, 'moordead']).then(ok),
    ]);
    host = hostStarted;
    ok(await t.moor(genericCreateArgs('moorgen', GENERIC_HOST, keyPath), 280_000));
  }, 300_000);

  afterAll(async () => {
    try {
      await engine?.close();
      await host?.remove();
    } finally {
      cleanup();
    }
  });

  /** Both binaries, same arguments (docker-machine runs as `moor`, see harness/docker-machine). */
  const both = async (args: string[], env: Record<string, string> = {}) => {
    const [dm, moor] = await Promise.all([t.dm(args, 60_000, env), t.moor(args, 60_000, env)]);
    return { dm, moor };
  };
  const same = async (args: string[], env?: Record<string, string>) => {
    const { dm, moor } = await both(args, env);
    expect(moor, `moor ${args.join(' ')}`).toEqual(dm);
    return moor;
  };

  describe('read-only commands print the same bytes', () => {
    it('ls, with and without --format, --filter and -q', async () => {
      const live = ['--filter', 'name=dmnone', '--filter', 'name=moorgen'];
      const table = await same(['ls', ...live]);
      expect(table.stdout).toMatch(/^NAME +ACTIVE +DRIVER +STATE +URL +SWARM +DOCKER +ERRORS\n/);
      expect(table.stdout).toMatch(/^dmnone +- +none +Running +tcp:\/\/127\.0\.43\.10:\d+ +v27\.5\.1 +\n/m);
      expect(table.stdout).toMatch(/^moorgen +- +generic +Running +tcp:\/\/127\.0\.43\.20:2376 +v\d/m);
      await same(['ls', '-q']);
      await same(['ls', '--filter', 'driver=none', '--format', '{{.Name}}\t{{.URL}}']);
      await same(['ls', '--filter', 'state=Running', '-q', ...live]);
      await same([
        'ls',
        ...live,
        '--format',
        'table {{.Name}}\t{{.DriverName}}\t{{.State}}\t{{.DockerVersion}}',
      ]);
      await same(['ls', '--format', '{{.Name}} {{.EngineOptions.TLSVerify}} {{.EngineOptions.DNS}}']);
      await same(['ls', '--format', '{{.Name}}: {{.SwarmOptions}} {{printf "%v" .EngineOptions}}']);
      await same(['ls', '--format', '{{.Name}} {{.Nope}}']);
      await same(['ls', '--format', '{{.Name}} {{index .EngineOptions.Env 5}}']);
    });

    it('a none machine whose engine is down: Stopped in moor (docs/compatibility.md)', async () => {
      const { dm, moor } = await both([
        'ls',
        '--filter',
        'name=moordead',
        '--format',
        '{{.State}}|{{.Error}}',
      ]);
      // docker-machine's none driver always says Running and then fails to reach the engine.
      expect(dm.stdout).toBe(
        'Running|Unable to query docker version: Cannot connect to the docker engine endpoint\n',
      );
      expect(moor.stdout).toBe('Stopped|\n');
      const status = await both(['status', 'moordead']);
      expect([status.dm.stdout, status.moor.stdout]).toEqual(['Running\n', 'Stopped\n']);
      // The same TLS-check failure; the advice names the program that can run it.
      for (const command of ['config', 'env']) {
        const r = await both([command, 'moordead']);
        expect(r.dm.stderr).toMatch(/dial tcp 127\.0\.43\.11:\d+: connect: connection refused\n/);
        expect(r.moor).toEqual({
          ...r.dm,
          stderr: r.dm.stderr.replace("'docker-machine regenerate-certs", "'moor regenerate-certs"),
        });
      }
    });

    it.each(['dmnone', 'moorgen', 'moordead'])('inspect, url, ip, status, config of %s', async (name) => {
      for (const command of ['inspect', 'url', 'ip']) await same([command, name]);
      if (name !== 'moordead') {
        await same(['status', name]);
        await same(['config', name]);
      }
      await same(['inspect', '-f', '{{.Driver.IPAddress}} {{.HostOptions.EngineOptions.TlsVerify}}', name]);
    });

    it.each(['bash', 'fish', 'powershell', 'cmd', 'emacs', 'tcsh'])(
      'env --shell %s (and -u, --no-proxy)',
      async (shell) => {
        for (const name of ['dmnone', 'moorgen']) {
          await same(['env', '--shell', shell, name]);
          await same(['env', '--shell', shell, '-u']);
        }
        await same(['env', '--shell', shell, '--no-proxy', 'moorgen'], { NO_PROXY: 'example.com' });
      },
    );

    it('version has the same shape', async () => {
      for (const args of [['version'], ['-v'], ['--version']]) {
        const { dm, moor } = await both(args);
        expect(dm.stdout).toMatch(/^moor version 0\.16\.2, build [0-9a-f]+\n$/);
        expect(moor.stdout).toMatch(/^moor version \d+\.\d+\.\d+, build \w+\n$/);
        expect([moor.code, moor.stderr]).toEqual([dm.code, dm.stderr]);
      }
      await same(['version', 'dmnone']);
    });
  });

  describe('errors and exit codes', () => {
    it.each([
      [['ip', 'nosuch']],
      [['env', 'nosuch']],
      [['inspect', 'nosuch']],
      [['status']],
      [['rm', '-y', 'nosuch']],
    ])('%j', async (args) => {
      // Deliberate difference (issue 9, item 16): Moor's hints name its own commands where
      // docker-machine hard-codes "docker-machine ls"/"docker-machine create".
      const { dm, moor } = await both(args);
      const ourName = (text: string) => text.replaceAll('"docker-machine ', '"moor ');
      expect(moor, `moor ${args.join(' ')}`).toEqual({ ...dm, stderr: ourName(dm.stderr) });
    });

    it('an unknown command', async () => {
      expect((await same(['bogus'])).code).toBe(1);
    });

    it('an unknown flag: exit 1 in moor where docker-machine exits 0 (docs/compatibility.md)', async () => {
      const { dm, moor } = await both(['ls', '--bogus']);
      expect(dm).toMatchObject({ code: 0, stderr: 'flag provided but not defined: -bogus\n' });
      expect(dm.stdout).toMatch(/^Incorrect Usage\.\n\nUsage: docker-machine ls /);
      expect(moor).toEqual({
        code: 1,
        stdout: '',
        stderr: "Incorrect Usage.\nunknown option '--bogus'\nSee 'moor ls --help'.\n",
      });
    });
  });

  describe("each removes the other's machines", () => {
    it("docker-machine drives moor's generic machine: env works with the docker CLI, rm removes it", async () => {
      const docker = await t.shell(
        'eval "$("$DM" env moorgen)" && docker version --format "{{.Server.Version}}"',
      );
      expect(docker.code, docker.stderr).toBe(0);
      expect(docker.stdout.trim()).toMatch(/^\d+\.\d+/);
      const rm = await t.dm(['rm', '-y', 'moorgen'], 60_000);
      expect(rm.code, rm.stderr).toBe(0);
      expect(existsSync(path.join(store, 'machines', 'moorgen'))).toBe(false);
      expect((await t.moor(['ls', '-q'])).stdout).not.toContain('moorgen');
    });

    it("moor drives docker-machine's none machine: ls, env with the docker CLI, rm", async () => {
      const ls = await t.moor(['ls', '--filter', 'name=dmnone', '--format', '{{.State}} {{.DockerVersion}}']);
      expect(ls.stdout).toBe('Running v27.5.1\n');
      const env = await t.shell(`eval "$(node ${moorBin} env dmnone)" && echo "$DOCKER_HOST"`);
      expect(env.stdout).toBe(`${engine!.url}\n`);
      const rm = await t.moor(['rm', '-y', 'dmnone']);
      expect(rm.code, rm.stderr).toBe(0);
      expect((await t.dm(['ls', '-q'])).stdout).not.toContain('dmnone');
    });
  });
});

function ok(r: Run): Run {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}
