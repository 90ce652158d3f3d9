/**
 * The list of `moor` commands. To add a command, write ONE file here and add ONE line below:
 *
 *   // main/cli/commands/frobnicate.ts
 *   import type { Command } from 'commander';
 *   import type { CliContext } from '../context.js';
 *   export function register(program: Command, cli: CliContext): void {
 *     program
 *       .command('frobnicate')
 *       .description('Frobnicate a machine')
 *       .argument('[name]')
 *       .action(async (name: string | undefined) => {
 *         const host = await cli.loadHost(name);               // "default" machine rule included
 *         const { frob } = await import('../../core/frob.js'); // heavy code: import inside the action
 *         cli.println(await frob(host));
 *       });
 *   }
 *
 *   // here: an import and one entry of COMMANDS (the command's name → its register function)
 *   import { register as frobnicate } from './frobnicate.js';
 *   frobnicate,
 *
 * Rules: import only types and light modules at the top of a command file (every command file is
 * loaded on every run, and `moor env/url/active` must start in well under 0.25 s); load drivers,
 * ssh2, node-forge, https etc. with `await import()` inside the action. Throw MoorError(message,
 * exitCode) for user errors: the runner prints the message to stderr and exits with the code.
 * Help lists commands sorted by name, so the order of the lines below does not matter. A run
 * registers only the command it runs (`moor url` builds no `create` with its dozens of driver
 * flags); help and unknown commands register them all. test/unit/cli-commands-table.test.ts
 * checks that every name here registers exactly that command.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { register as active } from './active.js';
import { register as config } from './config.js';
import { register as create } from './create.js';
import { register as env } from './env.js';
import { register as inspect } from './inspect.js';
import { register as ip } from './ip.js';
import { register as ls } from './ls.js';
import { register as machineActions } from './machine-actions.js';
import { register as mount } from './mount.js';
import { register as provision } from './provision.js';
import { register as regenerateCerts } from './regenerate-certs.js';
import { register as rm } from './rm.js';
import { register as schedule } from './schedule.js';
import { register as scp } from './scp.js';
import { register as ssh } from './ssh.js';
import { register as sshTrust } from './ssh-trust.js';
import { register as status } from './status.js';
import { register as swarm } from './swarm.js';
import { register as upgrade } from './upgrade.js';
import { register as url } from './url.js';
import { register as use } from './use.js';
import { register as version } from './version.js';

export type RegisterCommand = (program: Command, cli: CliContext) => void;

/** Every top-level command by name; one function may register several (start/stop/restart/kill). */
export const COMMANDS: Readonly<Record<string, RegisterCommand>> = {
  active,
  config,
  create,
  env,
  inspect,
  ip,
  hibernate: machineActions,
  kill: machineActions,
  ls,
  mount,
  provision,
  'regenerate-certs': regenerateCerts,
  restart: machineActions,
  rm,
  schedule,
  scp,
  ssh,
  'ssh-trust': sshTrust,
  start: machineActions,
  status,
  stop: machineActions,
  wake: machineActions,
  swarm,
  upgrade,
  url,
  use,
  version,
};

/** The register functions to run for a command word: its own when known, else all (help, errors). */
export function registersFor(word: string | undefined): RegisterCommand[] {
  const own = word !== undefined && Object.hasOwn(COMMANDS, word) ? COMMANDS[word] : undefined;
  return own ? [own] : [...new Set(Object.values(COMMANDS))];
}
