import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, registersFor } from '../../main/cli/commands/index.js';
import { CliContext } from '../../main/cli/context.js';
import { buildProgram, commandWord } from '../../main/cli/program.js';

// A run registers only the command it runs (start-up time, docs/benchmarks.md): the table of names
// in commands/index.ts must say exactly which command each register function adds.
const names = (program: Command) => program.commands.map((c) => c.name()).sort();
const programFor = (argv?: string[]) => {
  const program = new Command();
  return buildProgram(new CliContext(program, 'moor', argv ?? []), program, argv);
};

describe('the command table', () => {
  it('names every command the full program has, and nothing else', () => {
    expect(names(programFor())).toEqual(Object.keys(COMMANDS).sort());
  });

  it('registers each command on its own, with its own options', () => {
    const full = programFor();
    for (const name of Object.keys(COMMANDS)) {
      const alone = programFor(['-s', '/tmp/x', name, '--bogus']);
      expect(names(alone), name).toContain(name);
      const options = (p: Command) => p.commands.find((c) => c.name() === name)!.options.map((o) => o.flags);
      expect(options(alone), name).toEqual(options(full));
    }
    expect(names(programFor(['url']))).toEqual(['url']);
    expect(names(programFor(['stop', 'x']))).toEqual([
      'hibernate',
      'kill',
      'restart',
      'start',
      'stop',
      'wake',
    ]);
  });

  it('registers every command for help, no command and an unknown one', () => {
    const all = names(programFor());
    for (const argv of [[], ['help'], ['--help'], ['-v'], ['bogus'], ['--', 'url'], ['--bogus', 'url']]) {
      expect(names(programFor(argv)), argv.join(' ')).toEqual(all);
    }
    expect(names(programFor(['help', 'env']))).toEqual(['env']);
    expect(registersFor('hasOwnProperty')).toHaveLength(new Set(Object.values(COMMANDS)).size);
  });

  it('finds the command after the global options and their values', () => {
    const program = programFor();
    expect(commandWord(program, ['-D', '-s', 'url', 'env', 'x'])).toBe('env');
    expect(commandWord(program, ['--storage-path=/s', 'url'])).toBe('url');
    expect(commandWord(program, ['--native-ssh', 'ssh', 'x'])).toBe('ssh');
    expect(commandWord(program, ['-D'])).toBeUndefined();
  });
});
