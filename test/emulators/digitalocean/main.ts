/**
 * Runs the DigitalOcean emulator by hand:
 *   node --import tsx test/emulators/digitalocean/main.ts [--fake] [--port N] [--token T]
 * prints the URL, serves until Ctrl-C, then deletes every droplet's test host.
 * Point Moor at it with DIGITALOCEAN_API_URL=<url> DIGITALOCEAN_ACCESS_TOKEN=<token>.
 */
import { parseArgs } from 'node:util';
import { DigitalOceanEmulator } from './server.js';

const { values } = parseArgs({
  options: {
    fake: { type: 'boolean', default: false },
    port: { type: 'string', default: '0' },
    token: { type: 'string', default: 'test-token' },
  },
});
const emulator = new DigitalOceanEmulator({
  backend: values.fake ? 'fake' : 'test-hosts',
  tokens: [values.token],
});
await emulator.start(Number(values.port));
console.log(`DIGITALOCEAN_API_URL=${emulator.url} DIGITALOCEAN_ACCESS_TOKEN=${emulator.token}`);
const stop = async () => {
  await emulator.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
