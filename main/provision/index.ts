// CONTRACT STUB — the provisioning helper replaces the body; keep this signature.
import type { ProgressReporter } from '../core/progress.js';
import type { Driver } from '../drivers/types.js';
import type { HostConfig } from '../store/config.js';
import type { Store } from '../store/store.js';

export interface ProvisionRequest {
  store: Store;
  host: HostConfig;
  driver: Driver;
  progress: ProgressReporter;
  signal?: AbortSignal;
}

/**
 * docker-machine's DetectProvisioner + Provision over SSH: OS detection, hostname, Docker install
 * (engine-install-url or the distro package), TLS certs, daemon config, restart, wait until the
 * engine answers TLS. Also used by `provision`, `regenerate-certs` and `upgrade`.
 */
export async function provisionMachine(_request: ProvisionRequest): Promise<void> {
  throw new Error('not implemented');
}
