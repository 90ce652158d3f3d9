// Issue 9, items 19 and 21, as whole `moor` processes: `create -d none --url` takes any string
// (docker-machine 0.16.2's outputs for `--url none` were recorded with the real binary; running it
// here would send a DNS query for "none" off this machine), and -D / --debug / MACHINE_DEBUG
// print debug lines on stderr for a real generic create and ls against a systemd test host.
import { describe, expect, it } from 'vitest';
import { runMoor } from '../harness/moor-cli.js';
import { genericSuite } from './generic-support.js';

const ADDRESS = '127.0.43.40';

describe('moor compatibility details (test host)', () => {
  const suite = genericSuite({
    prefix: 'moor-compat-cli',
    hostName: 'tcompat-debug',
    address: ADDRESS,
    image: 'bookworm-docker',
  });
  /** `moor ARGS` with the suite's clean environment plus `env`. */
  const run = (args: string[], env: Record<string, string> = {}) =>
    runMoor(args, { env: suite.env(env), timeoutMs: 280_000 });

  describe('create -d none --url takes any string (item 19)', () => {
    it('--url none: created, url prints it back, ls shows Running and Unknown as docker-machine does', async () => {
      const created = await run(['create', '-d', 'none', '--url', 'none', 'placeholder']);
      expect(created.code, created.stderr).toBe(0);
      expect(await run(['url', 'placeholder'])).toEqual({ code: 0, stdout: 'none\n', stderr: '' });
      expect(await run(['ip', 'placeholder'])).toEqual({ code: 0, stdout: '\n', stderr: '' });
      expect((await run(['status', 'placeholder'])).stdout).toBe('Running\n');
      const ls = await run(['ls', '--filter', 'name=placeholder']);
      // docker-machine: "Running   none   Unknown   Unable to query docker version: Get
      // "https://none/v1.15/version": dial tcp: lookup none …". Moor never dials a non-URL.
      expect(ls.stdout).toMatch(
        /^placeholder +- +none +Running +none +Unknown +Unable to query docker version: "none" is not an engine URL \(tcp:\/\/host:port\)\n$/m,
      );
      const inspect = await run(['inspect', '-f', '{{.Driver.IPAddress}}|{{.Driver.URL}}', 'placeholder']);
      expect(inspect.stdout).toBe('|none\n');
    });

    it('env of such a machine fails as in docker-machine: no host to check', async () => {
      const env = await run(['env', 'placeholder']);
      expect(env).toEqual({
        code: 1,
        stdout: '',
        stderr:
          'Error checking TLS connection: Error checking and/or regenerating the certs: There was an error validating certificates for host "": dial tcp: missing address\n' +
          "You can attempt to regenerate them using 'moor regenerate-certs [name]'.\n" +
          'Be advised that this will trigger a Docker daemon restart which might stop running containers.\n\n',
      });
    });
  });

  describe('-D / --debug / MACHINE_DEBUG (item 21)', () => {
    it('-D create -d generic shows SSH connects, command lines with exit codes and step timings', async () => {
      const created = await suite.create('dbg', { debug: true });
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr).toMatch(new RegExp(`^\\(ssh\\) connecting to root@${ADDRESS}:22`, 'm'));
      expect(created.stderr).toMatch(
        new RegExp(`^\\(ssh\\) connected to root@${ADDRESS}:22 in \\d+ ms$`, 'm'),
      );
      // A script on stdin of `sh -s` is shown with it (one line, cut).
      expect(created.stderr).toMatch(new RegExp(`^\\(ssh\\) exec on root@${ADDRESS}:22: sh -s <<< .+`, 'm'));
      expect(created.stderr).toMatch(/^\(ssh\) exit 0 in \d+ ms: /m);
      expect(created.stderr).toMatch(/^\(dbg\) step \S+ took \d+ ms$/m);
      expect(created.stderr).toMatch(/^\(moor\) done in \d+ ms$/m);
      // stdout is what it is without -D.
      expect(created.stdout).toContain('Docker is up and running!');
      expect(created.stdout).not.toMatch(/^\((ssh|moor|engine)\)/m);
    });

    it('MACHINE_DEBUG=1 ls shows the engine calls with status and duration; stdout unchanged', async () => {
      const plain = await run(['ls', '--filter', 'name=dbg']);
      const debugged = await run(['ls', '--filter', 'name=dbg'], { MACHINE_DEBUG: '1' });
      expect(debugged.code).toBe(0);
      expect(debugged.stdout).toBe(plain.stdout);
      expect(plain.stderr).toBe('');
      expect(debugged.stderr).toMatch(
        new RegExp(
          `^\\(engine\\) GET ${ADDRESS.replaceAll('.', '\\.')}:2376/\\S*version → 200 in \\d+ ms$`,
          'm',
        ),
      );
      expect(debugged.stderr).toMatch(/^\(moor\) ls: storage path /m);
    });

    it('MACHINE_DEBUG is read like Go strconv.ParseBool: "f" is off, a bad value fails', async () => {
      expect((await run(['url', 'dbg'], { MACHINE_DEBUG: 'f' })).stderr).toBe('');
      expect((await run(['--debug', 'url', 'dbg'])).stderr).toMatch(/^\(moor\) url: storage path /);
      expect(await run(['url', 'dbg'], { MACHINE_DEBUG: 'bogus' })).toEqual({
        code: 1,
        stdout: '',
        stderr:
          'Error parsing boolean value from MACHINE_DEBUG: strconv.ParseBool: parsing "bogus": invalid syntax\n',
      });
    });

    it('-D ssh and rm show the SSH layer too', async () => {
      const ssh = await run(['-D', 'ssh', 'dbg', 'true']);
      expect(ssh.code, ssh.stderr).toBe(0);
      expect(ssh.stderr).toMatch(
        /^\(ssh\) using the system ssh client: \S*ssh .* -l root -- 127\.0\.43\.40 true$/m,
      );
      expect(ssh.stderr).toMatch(/^\(ssh\) system ssh exited 0 after \d+ ms$/m);
      const native = await run(['-D', 'ssh', '--native-ssh', 'dbg', 'true']);
      expect(native.stderr).toMatch(/^\(ssh\) exec on root@127\.0\.43\.40:22: true$/m);
      const rm = await run(['-D', 'rm', '-y', 'dbg']);
      expect(rm.code, rm.stderr).toBe(0);
    });
  });
});
