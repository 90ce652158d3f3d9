/**
 * `npm run preview`: the built renderer in a browser of your own, against the real main-process
 * services (your store, real SSH, real Docker contexts) over the e2e bridge on 127.0.0.1, for
 * looking at the UI without Electron. The token is in the printed URL's #fragment: only a page
 * opened with it can talk to the services. Ctrl-C stops it (running operations roll back first).
 *
 *   npm run preview                       # your store ($MACHINE_STORAGE_PATH or ~/.docker/machine)
 *   MACHINE_STORAGE_PATH=/tmp/s npm run preview -- --port 5180
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createAppServices } from '../main/services/wiring.js';
import { defaultStoragePath } from '../main/store/paths.js';
import { RENDERER_DIR, startBridge } from '../test/e2e/bridge/server.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`preview: --port must be a port number (0-65535), not "${values.port}"`);
  process.exit(2);
}
if (!existsSync(RENDERER_DIR)) {
  console.error(`preview: no built renderer in ${RENDERER_DIR}; run \`npm run build\` first`);
  process.exit(1);
}

const storagePath = defaultStoragePath(process.env);
const services = await createAppServices({ storagePath, version: 'preview' });
const bridge = await startBridge(services, { preview: true, port }).catch(async (err: unknown) => {
  await services.dispose();
  console.error(`preview: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
console.log(`Moor preview (store ${storagePath})`);
console.log(`Open: ${bridge.previewUrl}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await bridge.close();
  await services.dispose();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
