import type { Command } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';

interface ScpOptions {
  recursive?: boolean;
  delta?: boolean;
  quiet?: boolean;
}

export function register(program: Command, cli: CliContext): void {
  program
    .command('scp')
    .summary('Copy files between machines')
    .description(
      'Copy files between machines: `moor scp [-r] SRC DST` where either side is `NAME:path` (relative to the ' +
        "login user's home), `localhost:path` or a local path. Machine to machine goes through this computer. " +
        'Uses the built-in SFTP client with the pinned host keys; --delta uses rsync over the system ssh.',
    )
    .argument('<source>')
    .argument('<destination>')
    .option('-r, --recursive', 'Copy files recursively (required to copy directories)')
    .option(
      '-d, --delta',
      'Reduce amount of data sent over network by sending only the differences (uses rsync)',
    )
    .option('-q, --quiet', 'Disables the progress meter as well as warning and diagnostic messages from ssh')
    .action(async (source: string, destination: string, options: ScpOptions) => {
      const { parseScpArg } = await import('../../ssh/external.js');
      const src = parseScpArg(source);
      const dst = parseScpArg(destination);
      const targetOf = async (machine: string) => {
        const host = await cli.store.load(machine);
        const { driver } = await cli.driverFor(host);
        const target = await driver.sshTarget();
        if (!target)
          throw new MoorError(`Error: machine "${machine}" (driver ${host.DriverName}) has no SSH access`);
        return { ...target, machineName: target.machineName ?? machine };
      };
      if (options.delta) {
        const { runRsync } = await import('../rsync.js');
        process.exitCode = await runRsync(src, dst, targetOf, {
          recursive: Boolean(options.recursive),
          quiet: Boolean(options.quiet),
        });
        return;
      }
      const ssh = await import('../../ssh/index.js');
      const scp = await import('../../ssh/scp.js');
      const sessions: Array<{ close(): void }> = [];
      const endpoint = async (side: { machine: string | null; path: string }) => {
        if (!side.machine) return { ep: scp.localEndpoint, path: side.path || '.' };
        const session = await ssh.connect(await targetOf(side.machine));
        sessions.push(session);
        return {
          ep: scp.sftpEndpoint(side.machine, await ssh.sftpOf(session)),
          path: scp.remotePath(side.path),
        };
      };
      try {
        // allSettled: when one side fails first, wait for the other so its session is closed too.
        const [fromResult, toResult] = await Promise.allSettled([endpoint(src), endpoint(dst)]);
        if (fromResult.status === 'rejected') throw fromResult.reason;
        if (toResult.status === 'rejected') throw toResult.reason;
        const [from, to] = [fromResult.value, toResult.value];
        const progress = !options.quiet && process.stdout.isTTY;
        await scp.copy(from.ep, from.path, to.ep, to.path, {
          recursive: Boolean(options.recursive),
          onFile: progress ? (file, bytes) => cli.println(`${file}  ${bytes} bytes`) : undefined,
        });
      } finally {
        for (const session of sessions) session.close();
      }
    });
}
