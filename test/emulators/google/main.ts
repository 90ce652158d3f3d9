/**
 * Runs the Compute Engine emulator by hand:
 *   node --import tsx test/emulators/google/main.ts [--fake] [--port N] [--dir DIR]
 * writes a service-account key file (token_uri pointing here) to DIR, prints the environment for
 * Moor, serves until Ctrl-C, then deletes every instance's test host.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { GoogleComputeEmulator } from './server.js';

const { values } = parseArgs({
  options: {
    fake: { type: 'boolean', default: false },
    port: { type: 'string', default: '0' },
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const emulator = new GoogleComputeEmulator({ backend: values.fake ? 'fake' : 'test-hosts' });
await emulator.start(Number(values.port));
const keyFile = await emulator.writeServiceAccountKey(values.dir);
console.log(
  `MOOR_GOOGLE_COMPUTE_URL=${emulator.computeUrl} GOOGLE_APPLICATION_CREDENTIALS=${keyFile} GOOGLE_PROJECT=${[...emulator.projects][0]}`,
);
const stop = async () => {
  await emulator.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
