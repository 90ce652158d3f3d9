// The `moor` executable (bin/moor.js runs the bundle of this file).
import { runCli } from './program.js';

const code = await runCli();
// Exit explicitly: a command is done when its action resolves, whatever sockets are left open.
process.exit(code);
