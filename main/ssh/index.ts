/** Moor's SSH layer on ssh2 (the contract is ./types.ts). */
export { type ConnectOptionsExt, connect, DEFAULT_MAX_CHANNELS, machineNameOf, sftpOf } from './connect.js';
export {
  HostKeyChangedError,
  HostKeyUnknownError,
  SshAuthError,
  SshConnectError,
  SshConnectionLostError,
  SshKeyError,
} from './errors.js';
export {
  checkHostKey,
  ensureHostKeyPinned,
  knownHostsPathFor,
  retrustHostKey,
  scanHostKey,
} from './host-keys.js';
export {
  fingerprint,
  generateSshKey,
  isPublicKeyFile,
  publicKeyFingerprint,
  publicKeyMistake,
  readPrivateKey,
  type SshKeyType,
} from './keys.js';
export { knownHostsName, movePinnedHostKeys, pinnedHostKeys } from './known-hosts.js';
export { probeTcp, waitForPort } from './reachability.js';
export type * from './types.js';
