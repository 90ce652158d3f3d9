// The `moor` executable (bin/moor.js runs the bundle of this file).
import { runCli } from './program.js';

// `moor ls | head -1`: a closed pipe ends the command quietly, like a Go program killed by SIGPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

// Exit explicitly: a command is done when its action resolves, whatever sockets are left open.
// (No top-level await: the bundle is CommonJS, see scripts/build.mjs.)
runCli().then((code) => process.exit(code));
