// CONTRACT STUB — the certs helper replaces the bodies; keep these signatures.
import type { ProgressReporter } from '../core/progress.js';

export interface StoreCertPaths {
  caCert: string;
  caKey: string;
  clientCert: string;
  clientKey: string;
}

/**
 * docker-machine's BootstrapCertificates: create the store's CA and client certificate when
 * missing or expired (under the store's certs lock), never touch valid ones.
 */
export async function bootstrapCertificates(
  _paths: StoreCertPaths,
  _progress?: ProgressReporter,
): Promise<{ createdCa: boolean; createdClient: boolean }> {
  throw new Error('not implemented');
}

export interface ServerCertRequest {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** O= of the subject: "$USER.<machine>" like docker-machine. */
  org: string;
  /** IPs go to IP SANs, names to DNS SANs; "localhost" is added by the caller like docker-machine. */
  hosts: string[];
}

/** A server certificate (serverAuth only) signed by the store CA, written atomically (key 0600). */
export async function generateServerCert(_request: ServerCertRequest): Promise<void> {
  throw new Error('not implemented');
}
