import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  type CloudProvider,
  isInlineUserData,
  USER_DATA_LIMITS,
  userDataSizeProblem,
} from '../base/cloud-values.js';
import { errorMessage, MoorError } from '../base/errors.js';
import type { FlagCheck } from '../base/validate-input.js';
import type { FlagSpec } from './types.js';

/**
 * The flags every cloud driver shares — cloud-init user-data, tags/labels, the boot disk's size
 * — declared once and composed into each driver's flag data under docker-machine's names where
 * it has them (`--digitalocean-userdata`, `--amazonec2-tags`, `--google-disk-size`, ...). The
 * value rules are main/base/cloud-values.ts, which the create form checks too.
 */

const LIMIT_KIB = (p: CloudProvider) => USER_DATA_LIMITS[p] / 1024;

/** `--<driver>-userdata`: a file path (docker-machine) or the user-data itself (Moor). */
export function userDataFlag(provider: CloudProvider, envVar: string): FlagSpec {
  return {
    name: `${provider}-userdata`,
    type: 'string',
    help:
      'path to file with cloud-init user-data, or the user-data itself ' +
      `(text with a line break or starting with #cloud-config or #!; at most ${LIMIT_KIB(provider)} KiB)`,
    envVar,
    default: '',
    configKey: 'UserDataFile',
    check: `${provider}-user-data` as FlagCheck,
    label: 'User-data (cloud-init)',
    group: 'advanced',
    multiline: true,
  };
}

/** A comma list of tags or labels (each provider's format and rules in `check`). */
export function tagsFlag(
  name: string,
  help: string,
  check: FlagCheck,
  extra: Partial<FlagSpec> = {},
): FlagSpec {
  return { name, type: 'string', help, default: '', check, group: 'advanced', ...extra };
}

/** The boot/root disk size in GB. */
export function diskSizeFlag(
  name: string,
  help: string,
  envVar: string,
  fallback: number,
  check: FlagCheck,
): FlagSpec {
  return {
    name,
    type: 'int',
    help,
    envVar,
    default: fallback,
    check,
    label: 'Disk size (GB)',
    group: 'advanced',
  };
}

/**
 * A machine's user-data as config.json keeps it: docker-machine's `UserDataFile` holds a path;
 * inline user-data is Moor's `UserData` field (the file field then stays "").
 */
export interface UserDataSource {
  UserDataFile?: string;
  UserData?: string;
}

/** Splits a `--*-userdata` value into the config fields (a path is made absolute: create may run elsewhere). */
export function userDataFields(
  value: string,
  cwd = process.cwd(),
): { UserDataFile: string; UserData?: string } {
  if (!value.trim()) return { UserDataFile: '' };
  if (isInlineUserData(value)) return { UserDataFile: '', UserData: value };
  return { UserDataFile: path.resolve(cwd, value.trim()) };
}

/**
 * Reads the user-data (file or inline) and checks it against the provider's limit, with an
 * error naming the flag: before any API call. Returns null when there is none.
 */
export async function loadUserData(provider: CloudProvider, source: UserDataSource): Promise<Buffer | null> {
  const flag = `--${provider}-userdata`;
  let data: Buffer;
  let what: string;
  if (source.UserData) {
    data = Buffer.from(source.UserData, 'utf8');
    what = `the inline user-data of ${flag}`;
  } else if (source.UserDataFile) {
    what = `the user-data file ${source.UserDataFile}`;
    try {
      const stat = await fs.stat(source.UserDataFile);
      if (!stat.isFile()) throw new MoorError(`${flag}: ${source.UserDataFile} is not a file`);
      // Refused by size before it is read: a wrong path to a disk image must not be loaded whole.
      const problem = userDataSizeProblem(provider, stat.size, what);
      if (problem) throw new MoorError(`${flag}: ${problem}`);
      data = await fs.readFile(source.UserDataFile);
    } catch (err) {
      if (err instanceof MoorError) throw err;
      throw new MoorError(
        `${flag}: the user-data file ${source.UserDataFile} could not be read: ${errorMessage(err)}`,
      );
    }
  } else {
    return null;
  }
  const problem = userDataSizeProblem(provider, data.length, what);
  if (problem) throw new MoorError(`${flag}: ${problem}`);
  return data;
}

/** Runs a value parser of cloud-values.ts, turning its error into the user-facing MoorError. */
export function parseFlag<T>(parse: (text: string) => T, text: string): T {
  try {
    return parse(text);
  } catch (err) {
    throw new MoorError(errorMessage(err));
  }
}
