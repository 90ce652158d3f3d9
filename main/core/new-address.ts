/**
 * A machine that came back from start/restart on another IP address (a cloud VM without a
 * reserved IP, a DHCP lease): docker-machine left it with a server certificate naming the old
 * address, so TLS failed until the user ran `regenerate-certs`. Moor carries the machine's
 * pinned SSH host key over to the new address (same machine, same key: anything else answering
 * there is refused) and issues a server certificate for the new address over that SSH.
 */
import { X509Certificate } from 'node:crypto';
import { CancelledError, errorMessage, MoorError } from '../base/errors.js';
import type { ProgressReporter } from '../base/progress.js';
import type { Driver } from '../drivers/types.js';
import type { HostConfig } from '../store/config.js';
import { authPaths } from '../store/paths.js';
import { readRegularFileBytes } from '../store/regular-file.js';
import type { Store } from '../store/store.js';

/** Whether the machine's server certificate names `ip` (false when it cannot be read). */
export async function serverCertNamesIp(serverCertPath: string, ip: string): Promise<boolean> {
  try {
    return new X509Certificate(await readRegularFileBytes(serverCertPath)).checkIP(ip) !== undefined;
  } catch {
    return false;
  }
}

export interface NewAddress {
  store: Store;
  host: HostConfig;
  driver: Driver;
  ipBefore: string;
  ipNow: string;
  progress: ProgressReporter;
  signal?: AbortSignal;
}

/**
 * Follows a machine to its new address. Returns false when the driver has no SSH access (the
 * caller reports the stale certificate); throws a MoorError naming the manual fix when
 * re-issuing the certificate fails.
 */
export async function followNewAddress(change: NewAddress): Promise<boolean> {
  const { store, host, driver, ipBefore, ipNow, progress } = change;
  const target = await driver.sshTarget();
  if (!target) return false;
  const { movePinnedHostKeys } = await import('../ssh/index.js');
  await movePinnedHostKeys(
    target.knownHostsPath,
    { host: ipBefore, port: target.port },
    { host: ipNow, port: target.port },
  );
  if (await serverCertNamesIp(authPaths(host, store.root).serverCert, ipNow)) return true;
  progress.step(
    'regenerate-certs',
    `"${host.Name}" came back with a new IP address (${ipBefore}, now ${ipNow}): issuing a server certificate for it`,
  );
  const { regenerateCerts } = await import('../provision/index.js');
  try {
    await regenerateCerts({ store, host, driver, progress, signal: change.signal });
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    throw new MoorError(
      `"${host.Name}" came back with a new IP address (${ipBefore}, now ${ipNow}) and issuing a server ` +
        `certificate for it failed: ${errorMessage(err)}; run "moor regenerate-certs ${host.Name}" to retry`,
    );
  }
  return true;
}
