import type { Command } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';

export function register(program: Command, cli: CliContext): void {
  program
    .command('ssh-trust')
    .summary("Trust a machine's new SSH host key after it changed")
    .description(
      "Pins the SSH host key a machine presents now, replacing the pinned one (in the machine's known_hosts). " +
        'Moor refuses to connect when a host key changes; run this once you know why it changed (e.g. the host ' +
        'was reinstalled). --fingerprint trusts exactly the key named in the error; without it you are asked.',
    )
    .argument('[name]', 'machine name ("default" when omitted)')
    .option(
      '--fingerprint <SHA256:...>',
      'trust the key only if it has this fingerprint (as printed by the error)',
    )
    .option('-y, --yes', 'trust the key the host presents now without asking')
    .action(async (name: string | undefined, options: { fingerprint?: string; yes?: boolean }) => {
      const host = await cli.loadHost(name);
      const { driver } = await cli.driverFor(host);
      const target = await driver.sshTarget();
      if (!target)
        throw new MoorError(`Error: machine "${host.Name}" (driver ${host.DriverName}) has no SSH access`);
      const ssh = await import('../../ssh/index.js');
      const address = `${target.host}:${target.port}`;
      let expected = options.fingerprint;
      if (!expected) {
        const key = await ssh.scanHostKey(target.host, target.port);
        const presented = ssh.fingerprint(key);
        const pinned = await ssh.pinnedHostKeys(target.knownHostsPath, target.host, target.port);
        if (pinned.length === 1 && pinned[0]?.blob.equals(key)) {
          cli.println(`The host key of machine "${host.Name}" (${address}) is already trusted: ${presented}`);
          return;
        }
        if (!options.yes) {
          if (!process.stdin.isTTY) {
            throw new MoorError(
              `Error: machine "${host.Name}" (${address}) presents ${presented}. To trust it, run: ` +
                `${cli.programName} ssh-trust ${host.Name} --fingerprint ${presented}`,
            );
          }
          cli.println(`Pinned: ${pinned.map((k) => `${k.type} ${k.fingerprint}`).join(', ') || '(none)'}`);
          cli.println(`Presented by ${address}: ${presented}`);
          if (!(await cli.confirm('Trust the presented key? (y/n): ')))
            throw new MoorError('Host key not changed', 1);
        }
        expected = presented;
      }
      const result = await ssh.retrustHostKey(target, host.Name, expected);
      cli.println(
        result.changed
          ? `Trusted the new host key of machine "${host.Name}" (${address}): ${result.type} ${result.current}` +
              (result.previous.length ? ` (was ${result.previous.join(', ')})` : '')
          : `The host key of machine "${host.Name}" (${address}) is already trusted: ${result.current}`,
      );
    });
}
