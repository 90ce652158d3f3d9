// Issue 2, item 7: the docker-machine commands as whole `moor` processes, against engines in known
// states: a live mutual-TLS engine (certificate from the store's CA), a refused port and a host
// that accepts TCP and never answers. Output bytes, exit codes and messages are docker-machine's.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_SHELL_NOTE } from '../../main/cli/env-text.js';
import { tempDir } from '../harness/components.js';
import { type Run, runMoor, spawnMoor } from '../harness/moor-cli.js';
import { bootstrapStoreCerts } from '../harness/store-fixtures.js';
import {
  type HangingServer,
  refusedAddress,
  startHangingServer,
  startTlsEngine,
  type TestEngine,
} from '../harness/tls-engine.js';

const HOST = '127.0.2.50'; // certs/none tests own 127.0.2.x

describe('moor commands', () => {
  const { dir, cleanup } = tempDir('moor-cli');
  const store = path.join(dir, 'store');
  let engine: TestEngine | undefined;
  let hanging: HangingServer | undefined;
  let deadUrl = '';

  /** A clean environment: no DOCKER_* or proxy settings of the developer leak in. */
  const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: dir, SHELL: '/bin/bash' });
  const moor = (args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Run> =>
    runMoor(args, {
      env: { ...baseEnv(), MACHINE_STORAGE_PATH: store, ...options.env },
      input: options.input,
    });

  beforeAll(async () => {
    const certs = await bootstrapStoreCerts(store);
    mkdirSync(path.join(dir, 'engine'));
    engine = await startTlsEngine({
      host: HOST,
      caCert: certs.caCert,
      caKey: certs.caKey,
      dir: path.join(dir, 'engine'),
      version: '27.5.1',
    });
    hanging = await startHangingServer(HOST);
    deadUrl = (await refusedAddress(HOST)).url;
    for (const [name, url] of [
      ['live', engine.url],
      ['dead', deadUrl],
      ['hang', hanging.url],
    ] as const) {
      const r = await moor(['create', '-d', 'none', '--url', url, name]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    try {
      await engine?.close();
      await hanging?.close();
    } finally {
      cleanup();
    }
  });

  describe('env', () => {
    it("prints docker-machine's bash text after a TLS check of the engine", async () => {
      const r = await moor(['env', 'live']);
      expect(r).toEqual({
        code: 0,
        stderr: '',
        stdout:
          'export DOCKER_TLS_VERIFY="1"\n' +
          `export DOCKER_HOST="${engine!.url}"\n` +
          `export DOCKER_CERT_PATH="${store}/machines/live"\n` +
          'export DOCKER_MACHINE_NAME="live"\n' +
          '# Run this command to configure your shell: \n' +
          '# eval $(moor env live)\n',
      });
      // The certificates DOCKER_CERT_PATH points at are there (docker-machine left them out for none).
      for (const f of ['ca.pem', 'cert.pem', 'key.pem'])
        expect(existsSync(path.join(store, 'machines/live', f))).toBe(true);
    });

    it('uses --shell, then $SHELL', async () => {
      const fish = await moor(['env', '--shell', 'fish', 'live']);
      expect(fish.stdout.split('\n')[0]).toBe('set -gx DOCKER_TLS_VERIFY "1";');
      expect(fish.stdout).toContain('# eval (moor env --shell fish live)\n');
      const tcsh = await moor(['env', 'live'], { env: { SHELL: '/bin/tcsh' } });
      expect(tcsh.stdout).toContain(': eval `moor env live`\n');
    });

    it('fails like docker-machine when the engine cannot be reached', async () => {
      const r = await moor(['env', 'dead']);
      const hostPort = deadUrl.replace('tcp://', '');
      expect(r).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `Error checking TLS connection: Error checking and/or regenerating the certs: There was an error validating certificates for host "${hostPort}": dial tcp ${hostPort}: connect: connection refused\n` +
          "You can attempt to regenerate them using 'moor regenerate-certs [name]'.\n" +
          'Be advised that this will trigger a Docker daemon restart which might stop running containers.\n\n',
      });
      const config = await moor(['config', 'dead']);
      expect(config.code).toBe(1);
      expect(config.stderr).toMatch(
        /^Error running connection boilerplate: Error checking and\/or regenerating the certs/,
      );
    });

    it('without $SHELL: sh/bash lines on stdout, a note on stderr (docker-machine failed here)', async () => {
      const r = await moor(['env', 'live'], { env: { SHELL: undefined } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe(`${NO_SHELL_NOTE}\n`);
      expect(r.stdout.split('\n')[0]).toBe('export DOCKER_TLS_VERIFY="1"');
      expect(r.stdout).toContain('# eval $(moor env live)\n');
    });

    it('--unset and --no-proxy', async () => {
      expect((await moor(['env', '-u'])).stdout).toBe(
        'unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\nunset DOCKER_CERT_PATH\nunset DOCKER_MACHINE_NAME\n' +
          '# Run this command to configure your shell: \n# eval $(moor env -u)\n',
      );
      expect(await moor(['env', '-u', 'live'])).toMatchObject({
        code: 1,
        stderr: 'Error: Expected no machine name when the -u flag is present\n',
      });
      const np = await moor(['env', '--no-proxy', 'live'], { env: { no_proxy: 'localhost' } });
      expect(np.stdout).toContain(`export no_proxy="localhost,${engine!.host}:${engine!.port}"\n`);
    });

    it('config prints the docker flags', async () => {
      const r = await moor(['config', 'live']);
      const d = `${store}/machines/live`;
      expect(r).toEqual({
        code: 0,
        stderr: '',
        stdout: `--tlsverify\n--tlscacert="${d}/ca.pem"\n--tlscert="${d}/cert.pem"\n--tlskey="${d}/key.pem"\n-H=${engine!.url}\n`,
      });
    });
  });

  describe('ls, active, status', () => {
    it('queries every host at once: Running with its version, Stopped, Timeout', async () => {
      const r = await moor(['ls', '-t', '1'], { env: { DOCKER_HOST: engine!.url } });
      expect(r.code, r.stderr).toBe(0);
      const rows = Object.fromEntries(
        r.stdout
          .trimEnd()
          .split('\n')
          .slice(1)
          .map((l) => [l.split(/\s+/)[0], l.trimEnd().split(/\s{2,}/)]),
      );
      expect(rows.live).toEqual(['live', '*', 'none', 'Running', engine!.url, 'v27.5.1']);
      expect(rows.dead).toEqual(['dead', '-', 'none', 'Stopped', deadUrl, 'Unknown']);
      expect(rows.hang).toEqual(['hang', 'none', 'Timeout']);
      expect(hanging!.accepted()).toBeGreaterThan(0);
    });

    it('--format, --filter and -q', async () => {
      const f = await moor(['ls', '-t', '1', '--format', '{{.Name}}={{.State}}']);
      expect(f.stdout).toBe('dead=Stopped\nhang=Timeout\nlive=Running\n');
      const s = await moor(['ls', '-t', '1', '--filter', 'state=running', '--filter', 'STATE=Stopped', '-q']);
      expect(s.stdout).toBe('dead\nlive\n');
      const n = await moor(['ls', '--filter', 'name=^l', '--format', 'table {{.Name}}\t{{.DriverName}}']);
      expect(n.stdout).toBe('NAME   DRIVER\nlive   none\n');
      expect(await moor(['ls', '--filter', 'color=red'])).toMatchObject({
        code: 1,
        stderr: "Unsupported filter key 'color'\n",
      });
    });

    it('active names the machine $DOCKER_HOST points at', async () => {
      expect(await moor(['active'], { env: { DOCKER_HOST: engine!.url } })).toEqual({
        code: 0,
        stdout: 'live\n',
        stderr: '',
      });
      expect(await moor(['active'])).toMatchObject({ code: 1, stderr: 'No active host found\n' });
      expect(await moor(['active', '-t', '1'], { env: { DOCKER_HOST: hanging!.url } })).toMatchObject({
        code: 1,
        stderr: 'Error getting active host: timeout\n',
      });
      expect(await moor(['active', 'x'])).toMatchObject({
        code: 1,
        stderr: 'Error: Too many arguments given\n',
      });
    });

    it('active names the machine `moor use` selected only while it is Running', async () => {
      try {
        expect((await moor(['use', 'live'])).code).toBe(0);
        expect(await moor(['active'])).toEqual({ code: 0, stdout: 'live\n', stderr: '' });
        // docker-machine's rule: a host that is not Running is not active, whatever selects it.
        expect((await moor(['use', 'dead'])).code).toBe(0);
        expect(await moor(['active'])).toEqual({ code: 1, stdout: '', stderr: 'No active host found\n' });
        expect((await moor(['use', 'hang'])).code).toBe(0);
        expect(await moor(['active', '-t', '1'])).toEqual({
          code: 1,
          stdout: '',
          stderr: 'Error getting active host: timeout\n',
        });
      } finally {
        await moor(['use', '--default']);
      }
    });

    it('status asks the engine of a none machine', async () => {
      expect(await moor(['status', 'live'])).toMatchObject({ code: 0, stdout: 'Running\n' });
      expect(await moor(['status', 'dead'])).toMatchObject({ code: 0, stdout: 'Stopped\n' });
    });

    it("version prints Moor's version, or with a name the engine's", async () => {
      expect((await moor(['version'])).stdout).toMatch(/^moor version \d+\.\d+\.\d+, build \S+\n$/);
      expect((await moor(['-v'])).stdout).toMatch(/^moor version \d+\.\d+\.\d+, build \S+\n$/);
      expect(await moor(['version', 'live'])).toMatchObject({ code: 0, stdout: '27.5.1\n' });
    });

    it('start/stop of a none machine fail as in docker-machine', async () => {
      expect(await moor(['start', 'live'])).toMatchObject({
        code: 1,
        stderr: 'Machine "live" is already running.\n',
      });
      expect(await moor(['stop', 'live'])).toMatchObject({
        code: 1,
        stderr: 'hosts without a driver cannot be stopped\n',
      });
      expect(await moor(['kill', 'nope'])).toMatchObject({ code: 1 });
    });
  });

  describe('rm and the default machine', () => {
    it('asks before removing and keeps the machine on "n" or EOF', async () => {
      await moor(['create', '-d', 'none', '--url', deadUrl, 'victim']);
      const no = await moor(['rm', 'victim'], { input: 'n\n' });
      expect(no).toEqual({
        code: 0,
        stdout:
          'About to remove victim\nWARNING: This action will delete both local reference and remote instance.\nAre you sure? (y/n): ',
        stderr: '',
      });
      expect((await moor(['rm', 'victim'])).code).toBe(0); // EOF: no
      expect(existsSync(path.join(store, 'machines/victim'))).toBe(true);
      const yes = await moor(['rm', 'victim'], { input: 'Y\n' });
      expect(yes.stdout).toMatch(/Are you sure\? \(y\/n\): Successfully removed victim\n$/);
      expect(existsSync(path.join(store, 'machines/victim'))).toBe(false);
    });

    it('rm -y, rm -f and their exit codes', async () => {
      await moor(['create', '-d', 'none', '--url', deadUrl, 'v2']);
      expect(await moor(['rm', '-y', 'v2'])).toMatchObject({ code: 0 });
      expect(existsSync(path.join(store, 'machines/v2'))).toBe(false);
      const missing = await moor(['rm', '-y', 'nope']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(
        'Error removing host "nope": Docker machine "nope" does not exist. Use "moor ls" to list machines. Use "moor create" to add a new one.\n',
      );
      const forced = await moor(['rm', '-f', 'nope']);
      expect(forced.code).toBe(0);
      expect(forced.stderr).toContain('Can\'t remove "nope"\n');
      expect(await moor(['rm'])).toMatchObject({
        code: 1,
        stderr: 'Error: Expected to get one or more machine names as arguments\n',
      });
    });

    it('rm of "." and ".." removes nothing outside a machine folder', async () => {
      const listing = () => readdirSync(store, { recursive: true }).map(String).sort();
      const before = listing();
      for (const name of ['..', '.']) {
        const forced = await moor(['rm', '-f', '-y', name]);
        expect(forced.code, forced.stderr).toBe(0);
        expect(forced.stderr).toContain(`Can't remove "${name}"`);
      }
      const plain = await moor(['rm', '-y', '..']);
      expect(plain.code).toBe(1);
      expect(plain.stderr).toContain('Error removing host ".."');
      expect(listing()).toEqual(before);
      expect(existsSync(path.join(store, 'machines/live/config.json'))).toBe(true);
    });

    it('uses the "default" machine when no name is given', async () => {
      expect(await moor(['url'])).toMatchObject({
        code: 1,
        stderr: 'Error: No machine name(s) specified and no "default" machine exists\n',
      });
      await moor(['create', '-d', 'none', '--url', engine!.url, 'default']);
      expect(await moor(['url'])).toMatchObject({ code: 0, stdout: `${engine!.url}\n` });
      expect(await moor(['ip'])).toMatchObject({ code: 0, stdout: `${engine!.host}:${engine!.port}\n` });
      await moor(['rm', '-y', 'default']);
    });
  });

  describe('create rollback', () => {
    it('Ctrl-C during create removes what was created and exits 130', async () => {
      const dead = await refusedAddress(HOST);
      const child = spawnMoor(
        [
          'create',
          '-d',
          'generic',
          '--generic-ip-address',
          dead.host,
          '--generic-ssh-port',
          String(dead.port),
          '--engine-install-url',
          'distro',
          'interrupted',
        ],
        { env: { ...baseEnv(), MACHINE_STORAGE_PATH: store } },
      );
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (stdout.includes('Waiting for machine to be running')) resolve();
        });
      });
      expect(existsSync(path.join(store, 'machines/interrupted'))).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toContain('Create of "interrupted" cancelled; removing what was created...');
      expect(existsSync(path.join(store, 'machines/interrupted'))).toBe(false);
    });
  });

  describe('usage', () => {
    it('no command: help on stdout, exit 0; unknown command: exit 1', async () => {
      const help = await moor([]);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^Usage: moor \[OPTIONS\] COMMAND \[arg\.\.\.\]/);
      expect(await moor(['bogus'])).toEqual({
        code: 1,
        stdout: '',
        stderr: "moor: 'bogus' is not a moor command. See 'moor --help'.\n",
      });
    });

    it('an unknown flag is "Incorrect Usage." and exit 1 (docker-machine exited 0)', async () => {
      expect(await moor(['ls', '--bogus'])).toEqual({
        code: 1,
        stdout: '',
        stderr: "Incorrect Usage.\nunknown option '--bogus'\nSee 'moor ls --help'.\n",
      });
    });

    it("create -d DRIVER --help lists the driver's flags; no driver means docker-machine's virtualbox", async () => {
      const r = await moor(['create', '-d', 'none', '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/--url <value>\s+URL of host when no driver is selected/);
      expect(r.stdout).toMatch(/--engine-install-url <value>/);
      const generic = await moor(['create', '--driver=generic', '--help']);
      expect(generic.stdout).toMatch(/--generic-ip-address <value>/);
      // docker-machine's default driver; VirtualBox is not installed on this machine.
      const none = await moor(['create', 'x']);
      expect(none.code).toBe(3);
      expect(none.stderr).toContain(
        'Error with pre-create check: "VBoxManage not found. Make sure VirtualBox is installed and VBoxManage is in the path"',
      );
      expect(existsSync(path.join(store, 'machines/x'))).toBe(false);
      const viaEnv = await moor(['create', '--url', deadUrl, 'fromenv'], { env: { MACHINE_DRIVER: 'none' } });
      expect(viaEnv.code, viaEnv.stderr).toBe(0);
      await moor(['rm', '-y', 'fromenv']);
    });

    it('start/stop/restart/kill help names the drivers that can do it (their declared capabilities)', async () => {
      const stop = await moor(['stop', '--help']);
      expect(stop.code).toBe(0);
      expect(stop.stdout).toMatch(
        /Drivers that can stop: digitalocean, amazonec2, google, qemu, virtualbox\.\nNot available for: none, generic/,
      );
      const restart = await moor(['help', 'restart']);
      expect(restart.stdout).toMatch(
        /Drivers that can restart: generic, digitalocean, amazonec2, google, qemu, virtualbox\.\nNot available for: none /,
      );
      const hibernate = await moor(['hibernate', '--help']);
      expect(hibernate.code).toBe(0);
      expect(hibernate.stdout).toMatch(
        /Drivers that can hibernate: digitalocean\.\nNot available for: none, generic, amazonec2, google, qemu, virtualbox/,
      );
      const wake = await moor(['wake', 'nonexistent']);
      expect(wake.code).toBe(1);
      expect(wake.stderr).toContain('nonexistent');
    });

    it('MACHINE_DEBUG must parse as a boolean', async () => {
      expect(await moor(['ls', '-q'], { env: { MACHINE_DEBUG: 'maybe' } })).toMatchObject({
        code: 1,
        stderr:
          'Error parsing boolean value from MACHINE_DEBUG: strconv.ParseBool: parsing "maybe": invalid syntax\n',
      });
    });
  });
});
