/**
 * Provisioning: docker-machine's DetectProvisioner + Provision, in a few SSH round trips.
 *
 *   1. connect (waiting for sshd), host key pinned by the SSH layer
 *   2. ONE exec: the probe (os-release, uid, engine binary, unit files, daemon.json)
 *   3. ONE exec, only when Docker is absent: install (install URL, else the distro package)
 *   4. SFTP: CA, server cert/key, drop-in (and a fixed daemon.json) staged in the login home
 *   5. ONE exec: hostname, install the staged files, daemon-reload, restart, wait for the port
 *   6. from here: the engine answers TLS with the machine's client certificate
 *
 * The server certificate is generated while steps 1-3 run. Every step is a progress event.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { errorMessage, MoorError } from '../base/errors.js';
import type { ProgressReporter } from '../base/progress.js';
import type { Driver, SshTarget } from '../drivers/types.js';
import type { SshSession } from '../ssh/types.js';
import { recoverCertsSwap, swapCertsDir } from '../store/certs-swap.js';
import { DEFAULT_ENGINE_PORT, type HostConfig } from '../store/config.js';
import { authPaths } from '../store/paths.js';
import { readRegularFile, readRegularFileBytes } from '../store/regular-file.js';
import type { Store } from '../store/store.js';
import { boot2dockerProfile, boot2dockerScript } from './boot2docker.js';
import {
  DAEMON_JSON,
  DROP_IN_PATH,
  dockerdArguments,
  type EngineSettings,
  parseDockerUnit,
  planDaemonJson,
  REMOTE_CA,
  REMOTE_SERVER_CERT,
  REMOTE_SERVER_KEY,
  renderDropIn,
  type UnitShape,
} from './engine-config.js';
import { type OsRelease, parseOsRelease } from './os-release.js';
import { detectProvisioner, osLabel, type Provisioner } from './provisioners.js';
import { connectForProvisioning, runScript, type ScriptResult, scriptError } from './remote.js';
import {
  configureScript,
  diagnoseScript,
  hostnameScript,
  installScript,
  makeStageDirScript,
  probeScript,
  removeEngineConfigScript,
  type StagedFile,
  shellQuote,
  upgradeScript,
  usesDistroPackage,
} from './scripts.js';

export interface ProvisionRequest {
  store: Store;
  host: HostConfig;
  driver: Driver;
  progress: ProgressReporter;
  signal?: AbortSignal;
  /**
   * The server certificate in the machine directory was made for this machine moments ago and is
   * in the guest already (create with an engine seed, engine-seed.ts): keep it, do not make another.
   */
  serverCertReady?: boolean;
}

/**
 * How long to wait for sshd to accept connections (docker-machine: 60 × 3 s).
 * MOOR_SSH_WAIT_SECONDS overrides it (the DigitalOcean emulator's "SSH never comes up" tests).
 */
const SSH_WAIT_MS = Number(process.env.MOOR_SSH_WAIT_SECONDS) * 1000 || 180_000;
/** How long the engine may take to answer TLS from here once it listens. */
const TLS_WAIT_MS = 30_000;
/**
 * How long an engine configured at first boot may take to answer TLS (dockerd's first start runs
 * alongside the rest of the boot; under TCG that is slow). Past it, the engine is configured again.
 */
const SEEDED_TLS_WAIT_MS = Number(process.env.MOOR_SEEDED_ENGINE_WAIT_SECONDS) * 1000 || 240_000;

/**
 * docker-machine's DetectProvisioner + Provision over SSH: OS detection, hostname, Docker install
 * (engine-install-url or the distro package), TLS certs, daemon config, restart, wait until the
 * engine answers TLS. Also used by `provision`, `regenerate-certs` and `upgrade`.
 *
 * Idempotent: run again after any failure (an SSH drop, a reboot mid-way), it finishes the job.
 */
export async function provisionMachine(request: ProvisionRequest): Promise<void> {
  await recoverCertsSwapOf(request);
  const boot2docker = (ctx: Boot2DockerContext) => configureBoot2Docker(ctx, { setHostname: true });
  await withProvisionSession(request, { certificates: true, boot2docker }, async (ctx) => {
    let facts = ctx.facts;
    if (!facts.dockerd) facts = await installDocker(ctx);
    else request.progress.log(`Docker is already installed (${facts.dockerVersion || facts.dockerd})`);
    await configureEngine(ctx, facts, { setHostname: true });
  });
}

export interface RegenerateCertsRequest extends ProvisionRequest {
  /** Also rotate the CA and client certificate this machine trusts (see rotateClientCerts). */
  clientCerts?: boolean;
}

/**
 * `regenerate-certs`: a new server certificate, pushed with the engine configuration, and one
 * engine restart. docker-machine re-ran the whole provisioner (apt-get, get.docker.com) here.
 */
export async function regenerateCerts(request: RegenerateCertsRequest): Promise<void> {
  await recoverCertsSwapOf(request);
  // With --client-certs the server certificate must be signed by the new CA: made after rotating.
  const boot2docker = async (ctx: Boot2DockerContext) => {
    if (request.clientCerts) {
      await rotateClientCerts(request);
      ctx.serverCert = prepareCertificates(request);
    }
    await configureBoot2Docker(ctx, { setHostname: false });
  };
  await withProvisionSession(request, { certificates: !request.clientCerts, boot2docker }, async (ctx) => {
    if (!ctx.facts.dockerd) {
      throw new MoorError(
        `Docker is not installed on "${request.host.Name}": run "moor provision ${request.host.Name}" to install and configure it`,
      );
    }
    // Rotated only once the host is known to be reachable and running Docker, so a failed
    // attempt does not leave the local certificates ahead of the engine's.
    if (request.clientCerts) {
      await rotateClientCerts(request);
      ctx.serverCert = prepareCertificates(request);
    }
    await configureEngine(ctx, ctx.facts, { setHostname: false });
  });
  // The machine's Docker context follows its (possibly new) CA and client certificate.
  const { syncMachineContextOrWarn } = await import('../docker/contexts/hooks.js');
  await syncMachineContextOrWarn(request.host, request.store.root, {
    driverUrl: () => request.driver.url(),
    warn: request.progress.warn,
  });
}

/** What an interrupted `regenerate-certs --client-certs` left in the machine directory goes first. */
async function recoverCertsSwapOf(request: ProvisionRequest): Promise<void> {
  const { store, host } = request;
  await store.withMachineLock(host.Name, () => recoverCertsSwap(store.machineDir(host.Name)));
}

/** `upgrade`: upgrade the installed engine package and restart it (docker-machine's behaviour). */
export async function upgradeEngine(request: ProvisionRequest): Promise<string> {
  let version = '';
  await withProvisionSession(request, { certificates: false }, async (ctx) => {
    const result = await asRoot(ctx, upgradeScript(ctx.provisioner));
    if (result.code === 42) throw await engineDownError(ctx, result);
    if (result.code !== 0) throw scriptError(`Upgrading Docker on "${request.host.Name}" failed`, result);
    version = result.sections.version ?? '';
    if (version) request.progress.log(version);
    await checkTls(ctx);
  });
  return version;
}

/** `rm --remove-engine-config`: takes Moor's drop-in and certificates off the host. */
export async function removeEngineConfig(request: ProvisionRequest): Promise<void> {
  const target = await request.driver.sshTarget();
  if (!target) return;
  request.progress.step('remove-engine-config', 'Removing the engine configuration from the host...');
  const session = await connectForProvisioning(target, { waitMs: 10_000, signal: request.signal });
  try {
    const uid = (await session.exec('id -u')).stdout.trim();
    const result = await runScript(session, removeEngineConfigScript(), {
      asRoot: true,
      isRoot: uid === '0',
      progress: request.progress,
      signal: request.signal,
    });
    if (result.code !== 0) throw scriptError('Removing the engine configuration failed', result);
  } finally {
    session.close();
  }
}

// ---------------------------------------------------------------------------------------------

/** What the probe (and the install script) report about a host. */
export interface HostFacts {
  os: OsRelease;
  uid: string;
  home: string;
  hasSudo: boolean;
  systemd: boolean;
  hostname: string;
  /** Path of dockerd, '' when Docker is not installed. */
  dockerd: string;
  dockerVersion: string;
  unit: UnitShape;
  daemonJson: string | null;
  /** Moor's drop-in as it is on the host (null: none). */
  dropIn: string | null;
  /** sha256 of the host's /etc/docker/ca.pem and server.pem, by path. */
  certSums: Record<string, string>;
  /** `systemctl is-active docker.service`. */
  dockerActive: string;
}

/** Reads the probe's sections (pure; unit-tested). */
export function parseFacts(sections: Record<string, string>, previous?: HostFacts): HostFacts {
  const daemonJson = sections['daemon-json'];
  return {
    os: previous?.os ?? parseOsRelease(sections['os-release'] ?? ''),
    uid: previous?.uid ?? (sections.uid ?? '').trim(),
    home: previous?.home ?? (sections.home ?? '').trim(),
    hasSudo: previous?.hasSudo ?? sections.sudo?.trim() === 'yes',
    systemd: previous?.systemd ?? sections.systemd?.trim() === 'yes',
    hostname: previous?.hostname ?? (sections.hostname ?? '').trim(),
    dockerd: (sections.dockerd ?? '').trim().split('\n')[0] ?? '',
    dockerVersion: (sections['docker-version'] ?? '').trim(),
    unit: parseDockerUnit(sections['docker-unit'] ?? '', (sections['docker-socket'] ?? '').trim() !== ''),
    daemonJson: daemonJson === undefined || daemonJson.trim() === '' ? null : daemonJson,
    // Sections lose their trailing newlines; the file has exactly one (renderDropIn).
    dropIn: sections['moor-drop-in'] ? `${sections['moor-drop-in']}\n` : null,
    certSums: Object.fromEntries(
      (sections['cert-sums'] ?? '')
        .split('\n')
        .map((line) => /^([0-9a-f]{64})\s+\*?(\S.*)$/.exec(line.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[2]!, m[1]!]),
    ),
    dockerActive: (sections['docker-active'] ?? '').trim(),
  };
}

interface ProvisionContext {
  request: ProvisionRequest;
  session: SshSession;
  facts: HostFacts;
  provisioner: Provisioner;
  /** The server certificate, generated in the background while the host is probed (when needed). */
  serverCert: Promise<void>;
}

/** A boot2docker guest has no Provisioner (no systemd, no package manager): its own path. */
type Boot2DockerContext = Omit<ProvisionContext, 'provisioner'>;

interface SessionOptions {
  certificates: boolean;
  /** What to do on a boot2docker guest; unset: the operation is refused there. */
  boot2docker?: (ctx: Boot2DockerContext) => Promise<void>;
}

/** Connect, probe, detect; runs `work` and always closes the connection. */
async function withProvisionSession(
  request: ProvisionRequest,
  options: SessionOptions,
  work: (ctx: ProvisionContext) => Promise<void>,
): Promise<void> {
  const { host, driver } = request;
  const target = await driver.sshTarget();
  if (!target) throw new MoorError(`machine "${host.Name}" has no SSH access: it cannot be provisioned`);

  // CPU work (an RSA key) overlaps with the network round trips below.
  const serverCert =
    options.certificates && !request.serverCertReady ? prepareCertificates(request) : Promise.resolve();
  serverCert.catch(() => {}); // awaited later; avoid an unhandled rejection meanwhile
  try {
    await provisionSession(request, target, serverCert, options, work);
  } finally {
    // It writes into the machine directory: it must not land after a failed create's rollback
    // removed that directory (a driver whose ip() takes a while, e.g. virtualbox's, over SSH).
    await serverCert.catch(() => {});
  }
}

async function provisionSession(
  request: ProvisionRequest,
  target: SshTarget,
  serverCert: Promise<void>,
  options: SessionOptions,
  work: (ctx: ProvisionContext) => Promise<void>,
): Promise<void> {
  const { host, progress, signal } = request;
  progress.step('ssh', 'Waiting for SSH to be available...');
  let session: SshSession;
  try {
    session = await connectForProvisioning(target, { waitMs: SSH_WAIT_MS, signal, progress });
  } catch (err) {
    await settleCertificates(serverCert);
    throw new ProvisionError(errorMessage(err), false);
  }
  let touched = false;
  // The server certificate being written, whichever one `work` swapped in (regenerate-certs).
  let ctx: ProvisionContext | undefined;
  try {
    progress.step('detect', 'Detecting the provisioner...');
    const probe = await runScript(session, probeScript({ stageTag: stageTag(host) }), {
      asRoot: false,
      isRoot: false,
      progress,
      signal,
    });
    if (probe.code !== 0) throw scriptError(`Detecting the OS of "${host.Name}" failed`, probe);
    const facts = parseFacts(probe.sections);
    if (facts.os.id === 'boot2docker') {
      if (!options.boot2docker) {
        throw new MoorError(
          `"${host.Name}" runs boot2docker, which has no package manager: this is not supported there`,
        );
      }
      progress.step('provisioner', `Provisioning with boot2docker (${osLabel(facts.os)})...`);
      touched = true;
      await options.boot2docker({ request, session, facts, serverCert });
      return;
    }
    const provisioner = detectProvisioner(facts.os);
    if (!provisioner) {
      throw new MoorError(
        `Error detecting OS: Moor has no provisioner for "${osLabel(facts.os)}" (ID=${facts.os.id || '?'}` +
          `${facts.os.idLike.length ? `, ID_LIKE=${facts.os.idLike.join(' ')}` : ''}). ` +
          'Supported: Debian, Ubuntu, Fedora, RHEL/CentOS/Rocky/Alma, Arch, openSUSE/SLES, Flatcar.',
      );
    }
    if (!facts.systemd) {
      throw new MoorError(
        `"${osLabel(facts.os)}" on "${host.Name}" does not run systemd, which Moor needs to configure Docker`,
      );
    }
    if (facts.uid !== '0' && !facts.hasSudo) {
      throw new MoorError(`user "${target.user}" on ${target.host} is not root and sudo is not installed`);
    }
    progress.step('provisioner', `Provisioning with ${provisioner.name} (${osLabel(facts.os)})...`);
    touched = true;
    ctx = { request, session, facts, provisioner, serverCert };
    await work(ctx);
  } catch (err) {
    if (err instanceof ProvisionError) throw err;
    throw new ProvisionError(errorMessage(err), touched);
  } finally {
    session.close();
    await settleCertificates(ctx?.serverCert ?? serverCert);
  }
}

/**
 * Waits until the certificate writes started for this provisioning have ended, whatever their
 * outcome: a create that failed on the way must not roll back (delete the machine directory)
 * while they still write into it (ENOTEMPTY hid the real error, and left a folder behind).
 */
async function settleCertificates(serverCert: Promise<void>): Promise<void> {
  await serverCert.catch(() => undefined);
}

/**
 * A provisioning failure. `hostTouched` is false when nothing was changed on the host yet (no
 * connection, wrong key, changed host key, unsupported OS): `create` can then roll back cleanly
 * even for drivers that otherwise keep a machine whose provisioning failed.
 */
export class ProvisionError extends MoorError {
  constructor(
    message: string,
    readonly hostTouched: boolean,
  ) {
    super(message);
    this.name = 'ProvisionError';
  }
}

function asRoot(ctx: ProvisionContext, script: string): Promise<ScriptResult> {
  return runScript(ctx.session, script, {
    asRoot: true,
    isRoot: ctx.facts.uid === '0',
    progress: ctx.request.progress,
    signal: ctx.request.signal,
  });
}

async function installDocker(ctx: ProvisionContext): Promise<HostFacts> {
  const { progress, host } = ctx.request;
  const url = host.HostOptions.EngineOptions.InstallURL ?? '';
  progress.step(
    'install',
    usesDistroPackage(url)
      ? "Installing Docker from the distribution's packages..."
      : `Installing Docker (${url}, else the distribution's packages)...`,
  );
  const result = await asRoot(ctx, installScript(ctx.provisioner, url));
  if (result.code !== 0) throw scriptError(`Installing Docker on "${host.Name}" failed`, result);
  const method = (result.sections.installed ?? '').trim();
  // A result line, not a debug log: which installation was used matters without -D.
  progress.done(
    method === 'script'
      ? `Docker was installed by the install script from ${url}`
      : `Docker was installed from the distribution's package ${method}`,
  );
  const facts = parseFacts(result.sections, ctx.facts);
  if (!facts.dockerd) throw new MoorError(`Installing Docker on "${host.Name}" left no dockerd on the host`);
  return facts;
}

/** The machine's engine options as the drop-in needs them. */
export function engineSettings(host: HostConfig, enginePort: number): EngineSettings {
  const e = host.HostOptions.EngineOptions;
  return {
    port: enginePort,
    arbitraryFlags: e.ArbitraryFlags ?? [],
    env: e.Env ?? [],
    labels: e.Labels ?? [],
    insecureRegistries: e.InsecureRegistry ?? [],
    registryMirrors: e.RegistryMirror ?? [],
    storageDriver: e.StorageDriver ?? '',
    provider: host.DriverName,
  };
}

/** The engine port: the URL's (docker-machine's rule), default 2376. */
async function enginePortOf(driver: Driver): Promise<{ url: string; port: number }> {
  const url = await driver.url();
  const port = Number(new URL(url.replace(/^tcp:/, 'https:')).port) || DEFAULT_ENGINE_PORT;
  return { url, port };
}

/** Server certificate (regenerated on every provision) and the client certs in the machine dir. */
async function prepareCertificates(request: ProvisionRequest): Promise<void> {
  const { store, host, driver } = request;
  const { generateServerCert, serverCertHosts, serverCertOrg, copyClientCertsToMachine } = await import(
    '../certs/index.js'
  );
  const paths = authPaths(host, store.root);
  const ip = await driver.ip();
  await Promise.all([
    generateServerCert({
      caCert: paths.caCert,
      caKey: paths.caKey,
      serverCert: paths.serverCert,
      serverKey: paths.serverKey,
      org: serverCertOrg(host.Name),
      hosts: serverCertHosts(host.HostOptions.AuthOptions.ServerCertSANs, ip),
    }),
    copyClientCertsToMachine(paths, paths.machineDir),
  ]);
}

/**
 * A create whose driver seeds the engine at first boot: the server certificate now (the address is
 * known before boot), and the boothook that installs it with the drop-in (engine-seed.ts).
 */
export async function engineSeedBoothook(request: ProvisionRequest, enginePort: number): Promise<string> {
  await prepareCertificates(request);
  const paths = authPaths(request.host, request.store.root);
  const [ca = '', serverCert = '', serverKey = ''] = await Promise.all(
    [paths.caCert, paths.serverCert, paths.serverKey].map(async (p) => {
      const text = await readRegularFile(p);
      if (text === null) throw new MoorError(`${p} is missing after it was generated`);
      return text;
    }),
  );
  const { engineBoothook } = await import('./engine-seed.js');
  return engineBoothook(engineSettings(request.host, enginePort), {
    ca,
    serverCert,
    serverKey,
  });
}

/**
 * The engine already runs as provisioning would configure it (a first-boot seed, engine-seed.ts):
 * the same drop-in, daemon.json left alone, the guest's CA and server certificate ours, and it
 * answers TLS with our client certificate. Then neither upload nor restart is needed.
 */
async function alreadyConfigured(
  ctx: ProvisionContext,
  facts: HostFacts,
  dropIn: string,
  options: { setHostname: boolean },
): Promise<boolean> {
  const { request } = ctx;
  const { progress, host, store } = request;
  if (facts.dropIn !== dropIn || facts.dockerActive === 'failed') return false;
  await ctx.serverCert;
  const paths = authPaths(host, store.root);
  const sha = async (file: string) =>
    createHash('sha256')
      .update(await readRegularFileBytes(file))
      .digest('hex');
  const [ca, cert] = await Promise.all([sha(paths.caCert), sha(paths.serverCert)]);
  if (facts.certSums[REMOTE_CA] !== ca || facts.certSums[REMOTE_SERVER_CERT] !== cert) return false;
  progress.step('verify', 'The engine was configured at first boot: verifying it...');
  if (options.setHostname) {
    const result = await asRoot(ctx, hostnameScript(host.Name));
    if (result.code !== 0) throw scriptError(`Setting the hostname of "${host.Name}" failed`, result);
  }
  const up = await waitForTls(ctx, SEEDED_TLS_WAIT_MS);
  if (up.up) {
    progress.done('Docker is up and running!');
    return true;
  }
  progress.warn(
    `The engine configured at first boot does not answer TLS (${errorMessage(up.lastError)}): configuring it again`,
  );
  return false;
}

async function configureEngine(
  ctx: ProvisionContext,
  facts: HostFacts,
  options: { setHostname: boolean },
): Promise<void> {
  const { request, session } = ctx;
  const { progress, host, store } = request;
  const { port } = await enginePortOf(request.driver);
  const settings = engineSettings(host, port);
  const dockerdPath = facts.unit.program.endsWith('dockerd') ? facts.unit.program : facts.dockerd;
  const dropIn = renderDropIn(settings, facts.unit, dockerdPath);
  const daemonJson = planDaemonJson(facts.daemonJson, dockerdArguments(settings, facts.unit));
  if (daemonJson.action === 'keep' && daemonJson.warning) progress.warn(daemonJson.warning);
  if (daemonJson.action === 'rewrite') {
    progress.warn(
      `${DAEMON_JSON} sets ${daemonJson.removedKeys.join(', ')}, which Moor passes as dockerd flags; ` +
        'removed them (the old file is kept as daemon.json.moor-backup)',
    );
  }

  if (daemonJson.action === 'keep' && (await alreadyConfigured(ctx, facts, dropIn, options))) return;

  progress.step('certs', 'Copying certs to the local machine directory...');
  await ctx.serverCert;
  const paths = authPaths(host, store.root);
  progress.step('copy-certs', 'Copying certs to the remote machine...');
  const stage = await makeStageDir(ctx);
  const files: Array<StagedFile & { data: Promise<string | Buffer> }> = [
    { staged: `${stage}/ca.pem`, target: REMOTE_CA, mode: '0644', data: readRegularFileBytes(paths.caCert) },
    {
      staged: `${stage}/server.pem`,
      target: REMOTE_SERVER_CERT,
      mode: '0644',
      data: readRegularFileBytes(paths.serverCert),
    },
    {
      staged: `${stage}/server-key.pem`,
      target: REMOTE_SERVER_KEY,
      mode: '0600',
      data: readRegularFileBytes(paths.serverKey),
    },
    { staged: `${stage}/10-machine.conf`, target: DROP_IN_PATH, mode: '0644', data: Promise.resolve(dropIn) },
  ];
  if (daemonJson.action === 'rewrite') {
    files.push({
      staged: `${stage}/daemon.json`,
      target: DAEMON_JSON,
      mode: '0644',
      data: Promise.resolve(daemonJson.content),
    });
  }
  const uploads = await Promise.allSettled(
    files.map(async (f) => session.writeFile(f.staged, await f.data, 0o600)),
  );
  const failed = uploads.find((u) => u.status === 'rejected');
  if (failed) {
    // Best effort: leave no key material staged (the session may be gone; the next probe sweeps).
    await session
      .exec(`rm -rf ${shellQuote(stage)}`, { signal: AbortSignal.timeout(10_000) })
      .catch(() => undefined);
    throw failed.reason;
  }

  const script = configureScript({
    hostname: host.Name,
    stageDir: stage,
    files: files.map(({ staged, target, mode }) => ({ staged, target, mode })),
    backupDaemonJson: daemonJson.action === 'rewrite',
    socketActivated: facts.unit.socketActivated,
    enginePort: port,
    restart: true,
    setHostname: options.setHostname,
  });
  const result = await asRoot(ctx, script);
  if (result.code === 42) throw await engineDownError(ctx, result);
  if (result.code !== 0) throw scriptError(`Configuring Docker on "${host.Name}" failed`, result);
  await checkTls(ctx);
}

/** The machine's tag in stage directory names (a hash: a machine name may be 249 characters). */
function stageTag(host: HostConfig): string {
  return createHash('sha256').update(host.Name).digest('hex').slice(0, 12);
}

/** A new private stage directory in the login user's home (see makeStageDirScript). */
async function makeStageDir(ctx: ProvisionContext): Promise<string> {
  const result = await ctx.session.exec(makeStageDirScript(stageTag(ctx.request.host)), {
    signal: ctx.request.signal,
  });
  const dir = result.stdout.trim();
  if (result.code !== 0 || !dir.startsWith('/') || dir.includes('\n')) {
    throw new MoorError(
      `Could not create a private staging directory in the home of the login user on "${ctx.request.host.Name}": ${result.stderr.trim() || `mktemp exited ${result.code}`}`,
    );
  }
  return dir;
}

/** boot2docker: certificates and /var/lib/boot2docker/profile, Docker restarted by its init script. */
async function configureBoot2Docker(
  ctx: Boot2DockerContext,
  options: { setHostname: boolean },
): Promise<void> {
  const { request, session } = ctx;
  const { progress, host, store } = request;
  const { port } = await enginePortOf(request.driver);
  progress.step('certs', 'Copying certs to the local machine directory...');
  await ctx.serverCert;
  const paths = authPaths(host, store.root);
  const [ca, serverCert, serverKey] = await Promise.all(
    [paths.caCert, paths.serverCert, paths.serverKey].map((p) => readRegularFile(p)),
  );
  const profile = boot2dockerProfile(engineSettings(host, port));
  const script = boot2dockerScript({
    files: { ca: ca ?? '', serverCert: serverCert ?? '', serverKey: serverKey ?? '', profile },
    hostname: options.setHostname ? host.Name : undefined,
    port,
  });
  const result = await runScript(session, script, {
    asRoot: true,
    isRoot: ctx.facts.uid === '0',
    progress,
    signal: request.signal,
  });
  if (result.code !== 0) throw scriptError(`Configuring Docker on "${host.Name}" failed`, result);
  await checkTls(ctx);
}

/** The engine did not come up: say why, from the unit's status and its journal. */
async function engineDownError(ctx: ProvisionContext, result: ScriptResult): Promise<MoorError> {
  return new MoorError(
    `The Docker engine on "${ctx.request.host.Name}" did not come up: ${result.failure || 'docker.service failed'}\n` +
      diagnosis(result.sections),
  );
}

function diagnosis(sections: Record<string, string>): string {
  const indent = (text: string) =>
    text
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n');
  const parts = [];
  if (sections.listeners) parts.push(`Listening TCP sockets:\n${indent(sections.listeners)}`);
  if (sections.status) parts.push(`systemctl status docker.service:\n${indent(sections.status)}`);
  if (sections.journal)
    parts.push(`Last lines of journalctl -u docker.service:\n${indent(sections.journal)}`);
  return parts.join('\n');
}

/** Waits until the engine answers TLS with the machine's client certificate (from here). */
async function checkTls(ctx: Boot2DockerContext): Promise<void> {
  const { request } = ctx;
  const { progress, host, signal } = request;
  progress.step('tls', 'Checking connection to Docker...');
  const { url, port } = await enginePortOf(request.driver);
  const result = await waitForTls(ctx, TLS_WAIT_MS);
  if (result.up) {
    progress.done('Docker is up and running!');
    return;
  }
  const lastError = errorMessage(result.lastError);
  // The engine listens on the host (the configure script checked) but not from here: show why.
  const diag = await runScript(ctx.session, diagnoseScript(port), {
    asRoot: true,
    isRoot: ctx.facts.uid === '0',
    progress,
    signal,
  }).catch(() => undefined);
  throw new MoorError(
    `The Docker engine on "${host.Name}" does not answer TLS at ${url}: ${lastError}` +
      ' (a firewall, or a port mapping to another port?)' +
      (diag ? `\n${diagnosis(diag.sections)}` : ''),
  );
}

/** Polls the engine over TLS with the machine's client certificate until it answers or time is up. */
async function waitForTls(
  ctx: Boot2DockerContext,
  deadlineMs: number,
): Promise<{ up: boolean; lastError?: unknown }> {
  const { host, store, signal, driver } = ctx.request;
  const { url } = await enginePortOf(driver);
  const { readEngineTls, waitForEngine } = await import('../docker/engine.js');
  const tls = await readEngineTls(authPaths(host, store.root));
  return waitForEngine(url, tls, { deadlineMs, intervalMs: 300, pingTimeoutMs: 5_000, signal });
}

/**
 * `regenerate-certs --client-certs`: this machine gets its own, new CA and client certificate
 * in machines/<name>/certs/ (config.json's AuthOptions point there, which docker-machine honours
 * too). Its engine then trusts only the new CA, so the old client certificate is refused there,
 * while the store's shared CA and every other machine keep working. docker-machine's flag only
 * recreated missing or expired certificates.
 */
export async function rotateClientCerts(request: ProvisionRequest): Promise<void> {
  const { store, host, progress } = request;
  const { bootstrapCertificates } = await import('../certs/index.js');
  const machineDir = store.machineDir(host.Name);
  progress.step('rotate', 'Creating a new CA and client certificate for this machine...');
  // Under the machine's lock: a concurrent load() that recovers a swap must not sweep ours.
  const updated = await store.withMachineLock(host.Name, async () => {
    const certDir = await swapCertsDir(machineDir, async (next) => {
      await bootstrapCertificates(
        {
          caCert: path.join(next, 'ca.pem'),
          caKey: path.join(next, 'ca-key.pem'),
          clientCert: path.join(next, 'cert.pem'),
          clientKey: path.join(next, 'key.pem'),
        },
        undefined,
        { force: true, lock: (fn) => fn() },
      );
    });
    return store.update(host.Name, (config) => {
      const auth = config.HostOptions.AuthOptions;
      auth.CertDir = certDir;
      auth.CaCertPath = path.join(certDir, 'ca.pem');
      auth.CaPrivateKeyPath = path.join(certDir, 'ca-key.pem');
      auth.ClientCertPath = path.join(certDir, 'cert.pem');
      auth.ClientKeyPath = path.join(certDir, 'key.pem');
    });
  });
  request.host.HostOptions = updated.HostOptions;
}
