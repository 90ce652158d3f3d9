import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { collect, DEFAULT_TIMEOUT_SECONDS, timeoutOption } from '../options.js';

interface LsOptions {
  quiet?: boolean;
  filter?: string[];
  timeout?: number;
  format?: string;
}

export function register(program: Command, cli: CliContext): void {
  program
    .command('ls')
    .summary('List machines')
    .description(
      'List machines, querying every host at once; a host that does not answer in time shows Timeout.',
    )
    .allowExcessArguments()
    .option('-q, --quiet', 'Enable quiet mode')
    .option('--filter <filter>', 'Filter output based on conditions provided', collect)
    .addOption(timeoutOption())
    .option('-f, --format <format>', 'Pretty-print machines using a Go template')
    .action(async (options: LsOptions) => {
      const { parseFilters, hasFilters } = await import('../../core/machine-filters.js');
      const { listMachines, listMachineNames } = await import('../../core/list.js');
      const parsed = parseFilters(options.filter ?? []);
      const filters = hasFilters(parsed) ? parsed : undefined;
      const query = {
        store: cli.store,
        timeoutMs: (options.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
        filters,
        env: cli.env,
        // A create killed mid-way is cleaned up first; say so, or a machine vanishes silently.
        // Only what the cleanup verified is reported (deleted / already gone / could not check).
        onRecovered: (r: { name: string; cleaned: boolean; error?: string; outcomes?: string[] }) =>
          cli.errln(
            r.cleaned
              ? `Removed "${r.name}": its create was interrupted${r.outcomes?.length ? `; ${r.outcomes.join('; ')}` : ''}`
              : r.outcomes?.length
                ? `The create of "${r.name}" was interrupted; its cleanup is not finished (the next ls tries again): ${r.outcomes.join('; ')}`
                : `The create of "${r.name}" was interrupted and its cleanup failed: ${r.error}`,
          ),
      };
      if (options.quiet) {
        for (const name of await listMachineNames(query)) cli.println(name);
        return;
      }
      const { renderLs } = await import('../ls-format.js');
      const { GoTemplateError } = await import('../go-template.js');
      const items = await listMachines(query);
      try {
        cli.out(renderLs(items, options.format));
      } catch (err) {
        // docker-machine has printed the rows before a failing one (and its start) by then.
        if (err instanceof GoTemplateError) cli.out(err.partial);
        throw err;
      }
    });
}
