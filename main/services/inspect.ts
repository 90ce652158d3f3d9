import { X509Certificate } from 'node:crypto';
import type { CertificateInfo, JsonValue, MachineDetails, MachineSummary } from '../api/contract.js';
import { redactHostConfig } from '../drivers/redact.js';
import { DRIVER_NAMES, loadDriver } from '../drivers/registry.js';
import { authPaths } from '../store/paths.js';
import { readRegularFileBytes } from '../store/regular-file.js';
import type { Store } from '../store/store.js';

/** Reads one PEM certificate's headline facts; a missing or unreadable file is reported, not thrown. */
export async function certificateInfo(label: string, file: string): Promise<CertificateInfo> {
  const info: CertificateInfo = {
    label,
    path: file,
    exists: false,
    subject: '',
    issuer: '',
    notAfter: '',
    sans: '',
  };
  if (!file) return info;
  let pem: Buffer;
  try {
    pem = await readRegularFileBytes(file);
  } catch {
    return info;
  }
  info.exists = true;
  try {
    const cert = new X509Certificate(pem);
    info.subject = cert.subject.replace(/\n/g, ', ');
    info.issuer = cert.issuer.replace(/\n/g, ', ');
    info.notAfter = new Date(cert.validTo).toISOString();
    info.sans = cert.subjectAltName ?? '';
  } catch (err) {
    info.subject = `unreadable: ${(err as Error).message}`;
  }
  return info;
}

/**
 * The details view: config.json as stored but with every credential redacted (it goes to the
 * renderer, and without a keychain the file holds cloud tokens), SSH access, certificates and
 * engine options.
 */
export async function machineDetails(store: Store, summary: MachineSummary): Promise<MachineDetails> {
  const config = await store.load(summary.name);
  const paths = authPaths(config, store.root);
  const certificates = await Promise.all([
    certificateInfo('CA', paths.caCert),
    certificateInfo('Client', paths.clientCert),
    certificateInfo('Server', paths.serverCert),
  ]);
  const d = config.Driver;
  // A machine of a driver Moor lacks is still redacted by field name.
  const flags = DRIVER_NAMES.includes(config.DriverName) ? (await loadDriver(config.DriverName)).flags : [];
  return {
    summary,
    config: JSON.parse(JSON.stringify(redactHostConfig(config, flags))) as JsonValue,
    ip: String(d.IPAddress ?? ''),
    sshUser: String(d.SSHUser ?? ''),
    sshPort: Number(d.SSHPort ?? 0),
    sshKeyPath: String(d.SSHKeyPath ?? ''),
    certificates,
    engineOptions: JSON.parse(JSON.stringify(config.HostOptions.EngineOptions)) as JsonValue,
  };
}
