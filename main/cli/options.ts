import { InvalidArgumentError, Option } from 'commander';

/** Seconds `ls`/`active` wait for each host (docker-machine: 10; see docs/compatibility.md). */
export const DEFAULT_TIMEOUT_SECONDS = 1;

/** `-t, --timeout <seconds>`: docker-machine takes whole seconds; fractions are accepted too. */
export function timeoutOption(): Option {
  return new Option('-t, --timeout <seconds>', `Timeout in seconds, default to ${DEFAULT_TIMEOUT_SECONDS}s`)
    .argParser((value: string) => {
      const seconds = Number(value);
      if (!Number.isFinite(seconds) || seconds <= 0 || value.trim() === '') {
        throw new InvalidArgumentError(`invalid value "${value}" for flag -t: parse error`);
      }
      return seconds;
    })
    .default(DEFAULT_TIMEOUT_SECONDS);
}

/** Collects a repeatable option (`--filter a --filter b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
