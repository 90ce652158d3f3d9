import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { CliContext, formatElapsed, type GlobalOptions } from '../../main/cli/context.js';
import { buildProgram } from '../../main/cli/program.js';

/** A CliContext whose stdout/stderr are collected. */
function collectingContext(env: NodeJS.ProcessEnv = {}, program = new Command()) {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        into.push(chunk.toString());
        done();
      },
    });
  const stdout = sink(out);
  const stderr = sink(err);
  const cli = new CliContext(program, 'moor', [], env, stdout, stderr);
  return { cli, stdout: () => out.join(''), stderr: () => err.join('') };
}

describe('progress lines', () => {
  it('formats elapsed time in tenths of seconds, with minutes past one', () => {
    expect(formatElapsed(0)).toBe('0.0s');
    expect(formatElapsed(1234)).toBe('1.2s');
    expect(formatElapsed(59_940)).toBe('59.9s');
    expect(formatElapsed(59_960)).toBe('1m00.0s');
    expect(formatElapsed(125_000)).toBe('2m05.0s');
    expect(formatElapsed(-5)).toBe('0.0s');
  });

  it("prints docker-machine's text first and the elapsed time after it, on steps and results only", () => {
    const { cli, stdout, stderr } = collectingContext();
    const progress = cli.progress('dev');
    progress.step('pre-create', 'Running pre-create checks...');
    progress.log('remote chatter');
    progress.done('Docker is up and running!');
    progress.warn('careful');
    expect(stdout()).toMatch(
      /^Running pre-create checks\.\.\. \(\d+\.\ds\)\nDocker is up and running! \(\d+\.\ds\)\n$/,
    );
    expect(stderr()).toBe('careful\n'); // warnings unchanged; logs only with -D
  });

  it('sends the lines to stderr for commands whose stdout is eval-ed, and logs with -D', () => {
    const { cli, stdout, stderr } = collectingContext({ MACHINE_DEBUG: '1' });
    const progress = cli.progress('dev', { toStderr: true });
    progress.step('x', 'Starting "dev"...');
    progress.log('detail');
    expect(stdout()).toBe('');
    expect(stderr()).toMatch(/^Starting "dev"\.\.\. \(\d+\.\ds\)\n\(dev\) detail\n$/);
  });
});

describe('MACHINE_NATIVE_SSH', () => {
  const saved = process.env.MACHINE_NATIVE_SSH;
  afterEach(() => {
    if (saved === undefined) delete process.env.MACHINE_NATIVE_SSH;
    else process.env.MACHINE_NATIVE_SSH = saved;
  });

  /** The global options the real program resolves for `args` with MACHINE_NATIVE_SSH=value. */
  async function globalsWith(value: string | undefined, args: string[] = []): Promise<GlobalOptions> {
    // commander reads option variables from process.env: set it there too, as a real run would.
    if (value === undefined) delete process.env.MACHINE_NATIVE_SSH;
    else process.env.MACHINE_NATIVE_SSH = value;
    const program = new Command();
    const { cli } = collectingContext(value === undefined ? {} : { MACHINE_NATIVE_SSH: value }, program);
    buildProgram(cli, program);
    let globals: GlobalOptions | undefined;
    program.command('probe').action(() => {
      globals = cli.globals;
    });
    await program.parseAsync([...args, 'probe'], { from: 'user' });
    if (!globals) throw new Error('probe did not run');
    return globals;
  }

  it("is parsed like Go's ParseBool: false means the system ssh client", async () => {
    for (const value of ['false', 'False', 'FALSE', 'f', '0', '', undefined]) {
      expect((await globalsWith(value)).nativeSsh, `MACHINE_NATIVE_SSH=${value}`).toBe(false);
    }
    for (const value of ['true', 'True', 't', '1']) {
      expect((await globalsWith(value)).nativeSsh, `MACHINE_NATIVE_SSH=${value}`).toBe(true);
    }
    expect((await globalsWith('false', ['--native-ssh'])).nativeSsh).toBe(true); // the flag wins
  });

  it('ignores a value that is neither true nor false, as docker-machine did', async () => {
    expect((await globalsWith('yes')).nativeSsh).toBe(false);
  });
});
