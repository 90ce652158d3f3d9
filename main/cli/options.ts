import { InvalidArgumentError, Option } from 'commander';

/**
 * Seconds `ls`/`active` wait for each host (docker-machine: 10; see docs/compatibility.md). Same as
 * DEFAULT_QUERY_TIMEOUT_MS in core/list.ts, repeated so that help does not load that module.
 */
export const DEFAULT_TIMEOUT_SECONDS = 1;

/** `-t, --timeout <seconds>`: docker-machine takes whole seconds; fractions are accepted too. Unset → the default. */
export function timeoutOption(): Option {
  return new Option(
    '-t, --timeout <seconds>',
    `Timeout in seconds, default to ${DEFAULT_TIMEOUT_SECONDS}s`,
  ).argParser((value: string) => {
    const seconds = Number(value);
    if (!Number.isFinite(seconds) || seconds <= 0 || value.trim() === '') {
      throw new InvalidArgumentError(`invalid value "${value}" for flag -t: parse error`);
    }
    return seconds;
  });
}

/** Collects a repeatable option (`--filter a --filter b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * commander's usage errors ("error: unknown option '--bogus'") get docker-machine's first line.
 * Unlike docker-machine (exit 0), they exit 1: a script must not carry on after a typo.
 */
export function incorrectUsage(message: string, command: string): string {
  return `Incorrect Usage.\n${message.replace(/^error: /, '')}See '${command} --help'.\n`;
}
