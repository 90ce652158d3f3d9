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
 *   // here:
 *   export { register as frobnicate } from './frobnicate.js';
 *
 * Rules: import only types and light modules at the top of a command file (every command file is
 * loaded on every run, and `moor env/url/active` must start in well under 0.25 s); load drivers,
 * ssh2, node-forge, https etc. with `await import()` inside the action. Throw MoorError(message,
 * exitCode) for user errors: the runner prints the message to stderr and exits with the code.
 * Help lists commands sorted by name, so the order of the lines below does not matter.
 */
export { register as active } from './active.js';
export { register as config } from './config.js';
export { register as create } from './create.js';
export { register as env } from './env.js';
export { register as inspect } from './inspect.js';
export { register as ip } from './ip.js';
export { register as ls } from './ls.js';
export { register as machineActions } from './machine-actions.js';
export { register as provision } from './provision.js';
export { register as regenerateCerts } from './regenerate-certs.js';
export { register as rm } from './rm.js';
export { register as scp } from './scp.js';
export { register as ssh } from './ssh.js';
export { register as sshTrust } from './ssh-trust.js';
export { register as status } from './status.js';
export { register as upgrade } from './upgrade.js';
export { register as url } from './url.js';
export { register as use } from './use.js';
export { register as version } from './version.js';
