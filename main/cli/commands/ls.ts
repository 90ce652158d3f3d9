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
        onRecovered: (r: { name: string; cleaned: boolean; error?: string }) =>
          cli.errln(
            r.cleaned
              ? `Removed "${r.name}": its create was interrupted; the resources it had created were deleted`
              : `The create of "${r.name}" was interrupted and its cleanup failed: ${r.error}`,
          ),
      };
      if (options.quiet) {
        for (const name of await listMachineNames(query)) cli.println(name);
        return;
      }
      const { renderLs } = await import('../ls-format.js');
      cli.out(renderLs(await listMachines(query), options.format));
    });
}
