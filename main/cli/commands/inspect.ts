import type { Command } from 'commander';
import { MoorError } from '../../base/errors.js';
import type { CliContext } from '../context.js';

export function register(program: Command, cli: CliContext): void {
  const command = program
    .command('inspect')
    .summary('Inspect information about a machine')
    .description('Inspect information about a machine. Argument is a machine name.')
    .argument('[name...]')
    .option('-f, --format <format>', 'Format the output using the given go template.')
    .action(async (names: string[], options: { format?: string }) => {
      if (names.length > 1) {
        command.outputHelp();
        throw new MoorError('Error: Expected one machine name as an argument');
      }
      const host = await cli.loadHost(names);
      const { goMarshalIndent } = await import('../../store/go-json.js');
      if (!options.format) {
        cli.println(goMarshalIndent(host));
        return;
      }
      const { GoTemplate, GoTemplateError } = await import('../go-template.js');
      let template: ReturnType<typeof GoTemplate.parse>;
      try {
        template = GoTemplate.parse(options.format);
      } catch (err) {
        throw new MoorError(`template parsing error: ${(err as Error).message}`);
      }
      // As docker-machine: the template runs on the host marshalled to JSON and read back as maps.
      const data: unknown = JSON.parse(JSON.stringify(host));
      try {
        cli.println(template.execute(data));
      } catch (err) {
        // The error carries Go's `template: :LINE:COL: `; what ran before it is printed, as Go does.
        if (err instanceof GoTemplateError) {
          cli.out(err.partial);
          throw new MoorError(err.message);
        }
        throw err;
      }
    });
}
