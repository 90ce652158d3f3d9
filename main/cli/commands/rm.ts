import type { Command } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';

export function register(program: Command, cli: CliContext): void {
  const command = program
    .command('rm')
    .summary('Remove a machine')
    .description('Remove a machine. Argument(s) are one or more machine names.')
    .argument('[names...]')
    .option(
      '-f, --force',
      'Remove local configuration even if machine cannot be removed, also implies an automatic yes (`-y`)',
    )
    .option('-y', 'Assumes automatic yes to proceed with remove, without prompting further user confirmation')
    .option(
      '--remove-engine-config',
      "generic machines: also remove Moor's Docker configuration (TLS drop-in, certificates) from the host",
    )
    .action(
      async (names: string[], options: { force?: boolean; y?: boolean; removeEngineConfig?: boolean }) => {
        if (names.length === 0) {
          command.outputHelp();
          throw new MoorError('Error: Expected to get one or more machine names as arguments');
        }
        cli.println(`About to remove ${names.join(', ')}`);
        cli.println('WARNING: This action will delete both local reference and remote instance.');
        for (const name of names) {
          const note = await hibernationNote(cli, name);
          if (note) cli.println(note);
        }
        if (!options.y && !options.force && !(await cli.confirm('Are you sure? (y/n): '))) return;

        const { removeMachine } = await import('../../core/remove.js');
        const errors: string[] = [];
        let busy = false;
        for (const name of names) {
          const result = await removeMachine(name, {
            store: cli.store,
            force: options.force,
            env: cli.env,
            progress: cli.progress(name, { toStderr: true }), // e.g. the Docker context warnings
            beforeDriverRemove: options.removeEngineConfig
              ? () => removeEngineConfigOf(cli, name)
              : undefined,
          });
          for (const error of result.errors) {
            if (options.force) cli.errln(error);
            errors.push(error);
          }
          if (result.removed) cli.println(`Successfully removed ${name}`);
          busy ||= Boolean(result.busy);
        }
        // A machine that is being created was not touched: an error even with -f (already printed).
        if (busy && options.force) throw new MoorError('');
        if (errors.length > 0 && !options.force) throw new MoorError(errors.join('\n'));
      },
    );
}

/** "web is hibernated: its snapshot is deleted too" for the confirmation ('' otherwise). */
async function hibernationNote(cli: CliContext, name: string): Promise<string> {
  try {
    const host = await cli.store.load(name);
    const { driver } = await cli.driverFor(host, cli.progress(name));
    const hibernation = driver.hibernation?.() ?? null;
    if (hibernation === 'hibernated') return `${name} is hibernated: its snapshot will be deleted too.`;
    if (hibernation === 'interrupted')
      return `${name} has an unfinished hibernate or wake: its snapshot will be deleted too.`;
  } catch {
    // A machine that does not load is reported by the removal itself.
  }
  return '';
}

/** The host's engine goes back to the distribution's configuration. */
async function removeEngineConfigOf(cli: CliContext, name: string): Promise<void> {
  const { errorMessage } = await import('../../base/errors.js');
  try {
    const host = await cli.store.load(name);
    const progress = cli.progress(name);
    const { driver } = await cli.driverFor(host, progress);
    const { removeEngineConfig } = await import('../../provision/index.js');
    await removeEngineConfig({ store: cli.store, host, driver, progress });
  } catch (err) {
    throw new MoorError(`removing its engine configuration failed: ${errorMessage(err)}`);
  }
}
