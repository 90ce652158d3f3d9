/**
 * Moor's test hosts: Debian bookworm containers with systemd as PID 1 and OpenSSH, each on its own
 * loopback address with the standard ports (22, 2376), run by a dedicated test dockerd. See README.md.
 */
export {
  DOCKER_SOCKET,
  docker,
  dockerOk,
  ensureTestDocker,
  STATE_DIR,
  stopTestDocker,
  TEST_DOCKER_HOST,
  type TestDocker,
  type TestDockerStatus,
  testDockerStatus,
} from './docker.js';
export {
  CHECKOUT,
  checkoutHosts,
  cleanCheckout,
  type ExecOptions,
  getTestHost,
  type HostOwnership,
  leftoverHosts,
  listTestHosts,
  pickFreeAddress,
  removeLeftovers,
  removeTestHost,
  type StartTestHostOptions,
  startTestHost,
  stopAll,
  type TestHost,
  type TestHostState,
  waitForSshBanner,
} from './host.js';
export {
  type EnsureImagesOptions,
  type EnsureImagesResult,
  ensureImages,
  imageTag,
  recipeHash,
  TEST_HOST_IMAGES,
  TEST_IMAGE_TAG,
  type TestHostImage,
  testImageTar,
} from './images.js';
export { NETWORK, type NetworkState, networkState } from './network.js';
export type { RunResult } from './proc.js';
