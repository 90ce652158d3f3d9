/**
 * The store's TLS material, generated exactly like docker-machine (libmachine/cert): one CA and one
 * client certificate per store, one server certificate per machine. RSA keys come from Node's
 * native crypto (OpenSSL, off the main thread); node-forge only assembles the X.509 structures,
 * which keeps this module free of forge's pure-JS key generation (seconds per key).
 *
 * node-forge is loaded on first use, so commands that only read certificates stay fast.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  privateEncrypt,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { promises as fs } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import type forgeModule from 'node-forge';
import { errorMessage, MoorError } from '../base/errors.js';
import { faultPoint } from '../base/faults.js';
import type { ProgressReporter } from '../base/progress.js';
import { writeFilesAtomic } from '../store/atomic.js';
import { ensureDir } from '../store/dirs.js';
import { readRegularFile, readRegularFileBytes } from '../store/regular-file.js';
import { withCertsDirLock } from '../store/store.js';

type Forge = typeof forgeModule;

export interface StoreCertPaths {
  caCert: string;
  caKey: string;
  clientCert: string;
  clientKey: string;
}

/** Runs `fn` holding the store's certificate lock; `Store.withCertsLock` fits. */
export type CertsLock = <T>(fn: () => Promise<T>) => Promise<T>;

export interface BootstrapOptions {
  /**
   * The inter-process lock to hold while checking and writing. Default: the same lock file
   * `Store.withCertsLock` uses (`.certs.lock`), taken in the CA certificate's directory.
   */
  lock?: CertsLock;
  /**
   * Recreate the CA and client certificate even when they are valid (a real rotation, which
   * docker-machine's `regenerate-certs --client-certs` promised but never did). Every machine's
   * server certificate must then be regenerated.
   */
  force?: boolean;
}

export const FILE_MODES = { cert: 0o644, key: 0o600, dir: 0o700 } as const;

const RSA_BITS = 2048;
const VALIDITY_DAYS = 1080;
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/**
 * docker-machine's BootstrapCertificates: create the store's CA and client certificate when
 * missing or expired (under the store's certs lock), never touch valid ones.
 *
 * Rules kept from docker-machine: never overwrite a key someone may still need; an expired
 * certificate is replaced together with its key. Deliberate differences: a key whose certificate
 * is missing (what a crash or a full disk between the two writes left; docker-machine refused
 * every later create with "certificate authority key already exists") gets a certificate for
 * that same key, so machines that trust the CA keep working; when the CA gets a new key, the
 * client certificate is recreated too, since one signed by the old key can no longer authenticate
 * (docker-machine kept it and left the store broken). Each key and certificate are written as
 * one unit (see writeKeyAndCert). A certificate path in another directory than its key (a
 * --tls-ca-cert/--tls-client-cert that names no file) is an error naming the flag, never a new
 * certificate written there.
 */
export async function bootstrapCertificates(
  paths: StoreCertPaths,
  progress?: ProgressReporter,
  options: BootstrapOptions = {},
): Promise<{ createdCa: boolean; createdClient: boolean }> {
  await ensureDir(path.dirname(paths.caCert), FILE_MODES.dir);
  const lock = options.lock ?? directoryLock(path.dirname(paths.caCert));
  return lock(async () => {
    const say = (message: string) => progress?.step('certificates', message);

    const caState = await certificateState(paths.caCert);
    const clientState = await certificateState(paths.clientCert);
    await refuseCertificatePathWithoutFile(
      caState,
      paths.caCert,
      paths.caKey,
      'CA',
      '--tls-ca-cert (MACHINE_TLS_CA_CERT)',
    );
    await refuseCertificatePathWithoutFile(
      clientState,
      paths.clientCert,
      paths.clientKey,
      'client',
      '--tls-client-cert (MACHINE_TLS_CLIENT_CERT)',
    );
    // A key without its certificate in the same directory is what a crash (or a full disk)
    // between writing the two left behind. The key is never overwritten (someone may still need
    // it): it gets its certificate.
    const reuseCaKey = !options.force && caState === 'missing' && (await exists(paths.caKey));
    const reuseClientKey = !options.force && clientState === 'missing' && (await exists(paths.clientKey));
    const createCa = options.force || caState !== 'current';
    const newCaKey = createCa && !reuseCaKey;
    // A client certificate signed by a CA key that is gone can no longer authenticate.
    const createClient = newCaKey || clientState !== 'current';
    if (!createCa && !createClient) return { createdCa: false, createdClient: false };

    if (caState === 'expired') say('CA certificate is outdated and needs to be regenerated');
    if (reuseCaKey)
      say(`Found the CA key ${paths.caKey} without its certificate: creating the certificate for it`);
    if (createCa) say(`Creating CA: ${paths.caCert}`);
    if (clientState === 'expired') say('Client certificate is outdated and needs to be regenerated');
    if (reuseClientKey) say(`Found the client key ${paths.clientKey} without its certificate: creating it`);
    if (createClient) say(`Creating client certificate: ${paths.clientCert}`);

    // New keys at once: OpenSSL generates them on the libuv thread pool.
    const [forge, caKeys, clientKeys] = await Promise.all([
      loadForge(),
      !createCa ? undefined : reuseCaKey ? existingRsaKey(paths.caKey, 'certificate authority') : newRsaKey(),
      !createClient ? undefined : reuseClientKey ? existingRsaKey(paths.clientKey, 'client') : newRsaKey(),
    ]);

    let ca: Issuer;
    if (caKeys) {
      const org = username();
      const cert = newCertificate(forge, caKeys, org);
      cert.setExtensions([
        { name: 'basicConstraints', cA: true, critical: true },
        {
          name: 'keyUsage',
          critical: true,
          keyCertSign: true,
          keyEncipherment: true,
          digitalSignature: true,
          keyAgreement: true,
        },
        { name: 'subjectKeyIdentifier' },
      ]);
      ca = { cert, key: caKeys.privateKey };
      signWith(forge, cert, ca);
      await writeKeyAndCert(
        reuseCaKey ? null : { file: paths.caKey, pem: caKeys.privateKeyPem },
        paths.caCert,
        forge.pki.certificateToPem(cert),
      );
    } else {
      ca = await loadIssuer(forge, paths.caCert, paths.caKey);
    }

    if (clientKeys) {
      await ensureDir(path.dirname(paths.clientCert), FILE_MODES.dir);
      const cert = newCertificate(forge, clientKeys, `${username()}.<bootstrap>`, ca);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', critical: true, digitalSignature: true },
        { name: 'extKeyUsage', clientAuth: true },
        ...authorityKeyId(ca),
      ]);
      signWith(forge, cert, ca);
      await writeKeyAndCert(
        reuseClientKey ? null : { file: paths.clientKey, pem: clientKeys.privateKeyPem },
        paths.clientCert,
        forge.pki.certificateToPem(cert),
      );
    }
    return { createdCa: createCa, createdClient: createClient };
  });
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
export async function generateServerCert(request: ServerCertRequest): Promise<void> {
  const [forge, keys] = await Promise.all([loadForge(), newRsaKey()]);
  const ca = await loadIssuer(forge, request.caCert, request.caKey);
  const cert = newCertificate(forge, keys, request.org, ca);
  const altNames = subjectAltNames(request.hosts);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', critical: true, keyEncipherment: true, digitalSignature: true, keyAgreement: true },
    // serverAuth only: with clientAuth too, dockerd would accept this certificate from a client.
    { name: 'extKeyUsage', serverAuth: true },
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
    ...authorityKeyId(ca),
  ]);
  signWith(forge, cert, ca);
  await faultPoint('certs:server-write');
  // Into the machine directory as it is: a machine removed meanwhile must not come back.
  await writeKeyAndCert(
    { file: request.serverKey, pem: keys.privateKeyPem },
    request.serverCert,
    forge.pki.certificateToPem(cert),
  );
}

/** docker-machine's subject organisation for a machine's server certificate. */
export function serverCertOrg(machineName: string, env: NodeJS.ProcessEnv = process.env): string {
  return `${username(env)}.${machineName}`;
}

/**
 * docker-machine's server certificate hosts: the --tls-san extras, the machine's IP, "localhost".
 * Empty entries and duplicates are dropped; a "[v6]" literal loses its brackets.
 */
export function serverCertHosts(tlsSans: readonly string[] | null | undefined, ip: string): string[] {
  const hosts = [...(tlsSans ?? []), ip, 'localhost']
    .map((h) => h.trim().replace(/^\[(.*)\]$/, '$1'))
    .filter(Boolean);
  return [...new Set(hosts)];
}

/**
 * Copies the store's CA and client certificate into a machine directory as ca.pem, cert.pem and
 * key.pem (modes kept), where DOCKER_CERT_PATH points. docker-machine did this while provisioning
 * only, so `env` of a `none` machine pointed at a directory without certificates.
 */
export async function copyClientCertsToMachine(
  paths: Pick<StoreCertPaths, 'caCert' | 'clientCert' | 'clientKey'>,
  machineDir: string,
): Promise<void> {
  const copies: Array<[string, string, number]> = [
    [paths.caCert, 'ca.pem', FILE_MODES.cert],
    [paths.clientCert, 'cert.pem', FILE_MODES.cert],
    [paths.clientKey, 'key.pem', FILE_MODES.key],
  ];
  const files = await Promise.all(
    copies.map(async ([from, name, fallbackMode]) => {
      const [data, stat] = await Promise.all([readRegularFileBytes(from), fs.stat(from)]);
      return { file: path.join(machineDir, name), data, mode: stat.mode & 0o777 || fallbackMode };
    }),
  );
  await writeFilesAtomic(files); // settled when it returns: a rollback never races these writes
}

/** What the app's details view and `regenerate-certs` need to know about a certificate. */
export interface CertificateInfo {
  /** As OpenSSL prints it (RFC 2253 escapes), e.g. "O=tester.\\<bootstrap\\>". */
  subject: string;
  /** The subject's O= value, unescaped: "tester.<bootstrap>". */
  organization: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  isCa: boolean;
  /** Extended key usages by name where known: "serverAuth", "clientAuth", else the OID. */
  extKeyUsage: string[];
  fingerprint256: string;
}

const EXT_KEY_USAGE_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
};

/** Reads a PEM certificate (the first one in the file) with Node's own X.509 parser. */
export async function readCertificateInfo(file: string): Promise<CertificateInfo> {
  const cert = parseCertificate(await readRegularFileBytes(file), file);
  const sans = (cert.subjectAltName ?? '').split(', ').filter(Boolean);
  const sanValues = (prefix: string) =>
    sans.filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length));
  const org = /^O=((?:\\.|[^\\\n])*)$/m.exec(cert.subject)?.[1] ?? '';
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    organization: org.replace(/\\(.)/g, '$1'),
    issuer: cert.issuer.replace(/\n/g, ', '),
    serialNumber: cert.serialNumber,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    dnsNames: sanValues('DNS:'),
    ipAddresses: sanValues('IP Address:'),
    isCa: cert.ca,
    extKeyUsage: (cert.keyUsage ?? []).map((oid) => EXT_KEY_USAGE_NAMES[oid] ?? oid),
    fingerprint256: cert.fingerprint256,
  };
}

/** docker-machine's CheckCertificateDate: false once the certificate is past its NotAfter. */
export async function isCertificateCurrent(file: string, now = new Date()): Promise<boolean> {
  const cert = parseCertificate(await readRegularFileBytes(file), file);
  return now.getTime() <= new Date(cert.validTo).getTime();
}

// ---------------------------------------------------------------------------------------------

interface RsaKeys {
  privateKey: KeyObject;
  privateKeyPem: string;
  publicKeyPem: string;
}

/** The signing side of a certificate: the CA (or a self-signed cert being built). */
interface Issuer {
  cert: forgeModule.pki.Certificate;
  key: KeyObject;
}

let forgePromise: Promise<Forge> | undefined;
function loadForge(): Promise<Forge> {
  forgePromise ??= import('node-forge').then((m) => m.default);
  return forgePromise;
}

/**
 * A certificate path that names no file while its key, in another directory, exists: not what a
 * crash leaves (a key and its certificate are written side by side), but a wrong flag value.
 */
async function refuseCertificatePathWithoutFile(
  state: Awaited<ReturnType<typeof certificateState>>,
  cert: string,
  key: string,
  what: 'CA' | 'client',
  flag: string,
): Promise<void> {
  if (state !== 'missing' || path.dirname(cert) === path.dirname(key) || !(await exists(key))) return;
  throw new MoorError(
    `the ${what} certificate ${cert} does not exist, but the ${what} key ${key} does: check ${flag}; ` +
      'a new certificate is created only next to its key, so that no key someone may still need is overwritten',
  );
}

/** A key already on disk (a lone key), in the shape newRsaKey gives. */
async function existingRsaKey(file: string, what: string): Promise<RsaKeys> {
  const pem = await readRegularFile(file);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new MoorError(
      `${what} key already exists: ${file} (and is not a private key: ${errorMessage(err)})`,
    );
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new MoorError(
      `${what} key already exists: ${file} (a ${privateKey.asymmetricKeyType} key, not RSA)`,
    );
  }
  return {
    privateKey,
    privateKeyPem: pem,
    publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function newRsaKey(): Promise<RsaKeys> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      { modulusLength: RSA_BITS, publicExponent: 0x10001 },
      (err, publicKey, privateKey) => {
        if (err) return reject(err);
        resolve({
          privateKey,
          // PKCS#1 "RSA PRIVATE KEY", what docker-machine writes and dockerd reads.
          privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
          publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        });
      },
    );
  });
}

/** docker-machine's newCertificate template: O= only, random 128-bit serial, 1080 days. */
function newCertificate(
  forge: Forge,
  keys: RsaKeys,
  org: string,
  issuer?: Issuer,
): forgeModule.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = randomSerialHex();
  // Truncated to the minute and backdated 5 minutes, which tolerates a host clock running behind.
  const notBefore = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 5 * MINUTE_MS;
  cert.validity.notBefore = new Date(notBefore);
  cert.validity.notAfter = new Date(notBefore + VALIDITY_DAYS * DAY_MS);
  const subject = [organization(forge, org)];
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : subject);
  return cert;
}

/**
 * O=<org> encoded as Go's crypto/x509 does: PrintableString when every character allows it,
 * UTF8String otherwise (a PrintableString holding "_" makes Go, hence dockerd, reject the cert).
 */
function organization(forge: Forge, org: string): forgeModule.pki.CertificateField {
  const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(org);
  const tag = printable ? forge.asn1.Type.PRINTABLESTRING : forge.asn1.Type.UTF8;
  // @types/node-forge declares valueTagClass as an asn1.Class; forge reads it as an asn1.Type.
  return { name: 'organizationName', value: org, valueTagClass: tag as unknown as forgeModule.asn1.Class };
}

/** A positive DER INTEGER below 2^128, as hex (forge writes the bytes as given). */
function randomSerialHex(): string {
  let hex = BigInt(`0x${randomBytes(16).toString('hex')}`).toString(16);
  if (hex === '0') hex = '1';
  if (hex.length % 2) hex = `0${hex}`;
  // A leading byte ≥ 0x80 would read as negative.
  return Number.parseInt(hex.slice(0, 2), 16) >= 0x80 ? `00${hex}` : hex;
}

function subjectAltNames(hosts: readonly string[]): Array<{ type: number; value?: string; ip?: string }> {
  const unique = [...new Set(hosts.map((h) => h.trim()).filter(Boolean))];
  // DNS names first, then IPs, like Go's marshalling of DNSNames/IPAddresses.
  return [
    ...unique.filter((h) => !isIP(h)).map((value) => ({ type: 2, value })),
    ...unique.filter((h) => isIP(h)).map((ip) => ({ type: 7, ip })),
  ];
}

function authorityKeyId(ca: Issuer): Array<{ name: string; keyIdentifier: string }> {
  const ski = ca.cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null;
  // A CA made by an older docker-machine has no SKI; then the leaf has no AKI either.
  if (!ski?.subjectKeyIdentifier) return [];
  return [{ name: 'authorityKeyIdentifier', keyIdentifier: hexToBinary(ski.subjectKeyIdentifier) }];
}

function hexToBinary(hex: string): string {
  return Buffer.from(hex, 'hex').toString('binary');
}

const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * sha256WithRSAEncryption through forge's own `cert.sign`, with the RSA operation done by
 * OpenSSL: forge hands over the SHA-256 of the TBSCertificate and we return the PKCS#1 v1.5
 * signature (private-key "encryption" of the DigestInfo). Saves ~20 ms of pure-JS RSA per cert.
 */
function signWith(forge: Forge, cert: forgeModule.pki.Certificate, issuer: Issuer): void {
  const signer = {
    sign(md: forgeModule.md.MessageDigest): string {
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const digestInfo = Buffer.concat([SHA256_DIGEST_INFO_PREFIX, digest]);
      return privateEncrypt({ key: issuer.key, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString(
        'binary',
      );
    },
  };
  // cert.sign only ever calls key.sign(md), which is all this signer implements.
  cert.sign(signer as unknown as forgeModule.pki.rsa.PrivateKey, forge.md.sha256.create());
}

async function loadIssuer(forge: Forge, certFile: string, keyFile: string): Promise<Issuer> {
  const [certPem, keyPem] = await Promise.all([readRegularFile(certFile), readRegularFile(keyFile)]);
  const x509 = parseCertificate(certPem, certFile);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new MoorError(`${keyFile}: not a private key in PEM format (${errorMessage(err)})`);
  }
  if (!x509.checkPrivateKey(key)) {
    throw new MoorError(`CA key ${keyFile} does not belong to the CA certificate ${certFile}`);
  }
  return { cert: forge.pki.certificateFromPem(certPem), key };
}

function parseCertificate(pem: string | Buffer, file: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new MoorError(`${file}: not a PEM certificate (${errorMessage(err)})`);
  }
}

async function certificateState(file: string): Promise<'missing' | 'expired' | 'current'> {
  if (!(await exists(file))) return 'missing';
  return (await isCertificateCurrent(file)) ? 'current' : 'expired';
}

/**
 * A key and its certificate as one unit: both staged before either is in place, so a full disk
 * leaves neither. Key first: a crash between the two renames leaves a lone key, which the next
 * bootstrap completes (a lone certificate could not be used or completed). `key` null: the key
 * file is already there.
 */
async function writeKeyAndCert(key: { file: string; pem: string } | null, certFile: string, certPem: string) {
  await writeFilesAtomic([
    ...(key ? [{ file: key.file, data: key.pem, mode: FILE_MODES.key }] : []),
    { file: certFile, data: certPem, mode: FILE_MODES.cert },
  ]);
}

function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** docker-machine's mcnutils.GetUsername: $USER ($USERNAME on Windows), else "unknown". */
function username(env: NodeJS.ProcessEnv = process.env): string {
  return (process.platform === 'win32' ? env.USERNAME : env.USER) || 'unknown';
}

/** The default lock: the same lock Store.withCertsLock takes, in the given directory. */
function directoryLock(dir: string): CertsLock {
  return (fn) => withCertsDirLock(dir, fn);
}
