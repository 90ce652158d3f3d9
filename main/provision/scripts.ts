import { DROP_IN_DIR, DROP_IN_PATH, REMOTE_CA, REMOTE_SERVER_CERT } from './engine-config.js';
import { PACKAGE_COMMANDS, type Provisioner } from './provisioners.js';

/**
 * The shell scripts provisioning sends, each over ONE exec (`sh -s`, script on stdin), built by
 * pure functions from the provisioner data. Scripts talk back with marker lines:
 *   @@section NAME   starts a block of output (the probe's facts); preceded by an empty line, so
 *                    output without a final newline (a daemon.json) never swallows the marker
 *   @@step TEXT      a progress step ("Restarting engine")
 *   @@info TEXT      a line for the log ("Installing Docker with Debian's docker.io package")
 *   @@fail TEXT      the reason the script is about to exit non-zero
 * Everything else is command output, shown as log lines.
 */

/** Daemons live in sbin, which a non-root login PATH often lacks. */
const PATH_LINE = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH; export PATH';

/** Single-quotes a word for POSIX sh. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The facts about the engine that the drop-in depends on; printed by the probe and after installs. */
const ENGINE_FACTS = `
echo; echo "@@section dockerd"; command -v dockerd 2>/dev/null || true
echo; echo "@@section docker-version"; dockerd --version 2>/dev/null || docker --version 2>/dev/null || true
echo; echo "@@section docker-unit"; systemctl cat docker.service 2>/dev/null || true
echo; echo "@@section docker-socket"; systemctl cat docker.socket 2>/dev/null || true
echo; echo "@@section daemon-json"; cat /etc/docker/daemon.json 2>/dev/null || true
echo; echo "@@section moor-drop-in"; cat ${DROP_IN_PATH} 2>/dev/null || true
echo; echo "@@section cert-sums"; sha256sum ${REMOTE_CA} ${REMOTE_SERVER_CERT} 2>/dev/null || true
echo; echo "@@section docker-active"; systemctl is-active docker.service 2>/dev/null || true
echo; echo "@@section end"`;

/**
 * Read-only, as the login user: everything provisioning needs to decide what to do, in one
 * round trip (docker-machine ran `exit 0`, `cat /etc/os-release`, `docker --version`, ... apart).
 */
export function probeScript(o: { stageTag?: string } = {}): string {
  return `${PATH_LINE}${o.stageTag ? `\n${sweepStagesLine(o.stageTag)}` : ''}
echo; echo "@@section os-release"; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null || true
echo; echo "@@section uid"; id -u
echo; echo "@@section home"; printf '%s\\n' "$HOME"
echo; echo "@@section sudo"; if command -v sudo >/dev/null 2>&1; then echo yes; else echo no; fi
echo; echo "@@section systemd"; if [ -d /run/systemd/system ]; then echo yes; else echo no; fi
echo; echo "@@section hostname"; hostname 2>/dev/null || cat /etc/hostname 2>/dev/null || true${ENGINE_FACTS}
`;
}

/**
 * Where provisioning stages the files it uploads (the server key among them): a private directory
 * (`mktemp -d`: mode 700) in the login user's home, named after the machine (`stageTag`) so that
 * the next provision of that machine knows which ones are its own leftovers.
 */
export const STAGE_PREFIX = '.moor-stage-';

/** `mktemp -d` of a new stage directory; prints its path. */
export function makeStageDirScript(stageTag: string): string {
  return `umask 077 && mktemp -d "\${HOME:-/tmp}/${STAGE_PREFIX}${stageTag}.XXXXXXXXXX"`;
}

/**
 * Sweeps what killed or dropped provisions left: this machine's stage directories whatever their
 * age (one machine is provisioned by one process at a time), any other's (and the loose
 * .moor-stage-* files of older versions) after an hour, so a provision of another machine running
 * now on the same host keeps its own. Never fails the probe.
 */
function sweepStagesLine(stageTag: string): string {
  const home = `"\${HOME:-/tmp}"`;
  return (
    `rm -rf ${home}/${STAGE_PREFIX}${stageTag}.* 2>/dev/null; ` +
    `find ${home}/ -maxdepth 1 -name '${STAGE_PREFIX}*' -mmin +60 -exec rm -rf {} + 2>/dev/null; :`
  );
}

const MARKER = /@@(?:section|step|info|fail) /;

/** Output lines, with a marker that follows text on the same line moved to a line of its own. */
export function splitMarkers(output: string): string[] {
  return output.split('\n').flatMap((line) => {
    const at = line.search(MARKER);
    return at > 0 ? [line.slice(0, at), line.slice(at)] : [line];
  });
}

/** Splits marker-sectioned output into its sections (text between `@@section` lines). */
export function parseSections(output: string): Record<string, string> {
  const sections: Record<string, string> = {};
  let current = '';
  let lines: string[] = [];
  const flush = () => {
    if (current) sections[current] = lines.join('\n').replace(/\n+$/, '');
  };
  for (const line of splitMarkers(output)) {
    const m = /^@@section (\S+)$/.exec(line);
    if (m) {
      flush();
      current = m[1]!;
      lines = [];
    } else if (current) {
      lines.push(line);
    }
  }
  flush();
  return sections;
}

/** The URL value that means "use the distribution's own package" (and, for tests, no internet). */
export function usesDistroPackage(installUrl: string): boolean {
  return installUrl.trim() === '' || installUrl.trim().toLowerCase() === 'distro';
}

/**
 * Installs Docker (as root) when it is absent: first through the install URL like docker-machine
 * (`curl -sSL URL | sh -`, but downloaded first so a failed download is noticed), then, when that
 * fails or is not wanted, the distribution's package. Ends by printing the engine facts again.
 */
export function installScript(p: Provisioner, installUrl: string): string {
  if (p.dockerBuiltIn || !p.packageManager) {
    return `${PATH_LINE}\necho "@@fail Docker is missing from this ${p.name} host, which has no package manager to install it"\nexit 3\n`;
  }
  const pm = PACKAGE_COMMANDS[p.packageManager];
  const lines = [PATH_LINE, 'have_engine() { command -v dockerd >/dev/null 2>&1; }', 'installed=""'];
  if (!usesDistroPackage(installUrl)) {
    const url = shellQuote(installUrl.trim());
    lines.push(
      `echo "@@info Installing Docker with the install script from ${installUrl.trim().replace(/["`$\\]/g, '')}"`,
      'script=$(mktemp)',
      `if command -v curl >/dev/null 2>&1; then curl -fsSL ${url} -o "$script"`,
      `elif command -v wget >/dev/null 2>&1; then wget -qO "$script" ${url}`,
      `else ${[pm.refresh, pm.install(['curl'])].filter(Boolean).join(' && ')} && curl -fsSL ${url} -o "$script"; fi`,
      'if [ -s "$script" ] && sh "$script"; then have_engine && installed=script; fi',
      'rm -f "$script"',
      `[ -n "$installed" ] || echo "@@info The install script failed or installed no engine; falling back to the distribution's package"`,
    );
  }
  if (p.distroPackages.length > 0) {
    const attempts = p.distroPackages.map(
      (pkg) =>
        `[ -n "$installed" ] || { echo "@@info Installing Docker from the distribution's package ${pkg}"; ${pm.install([pkg])} && have_engine && installed=${pkg}; }`,
    );
    lines.push(
      'if [ -z "$installed" ]; then',
      pm.refresh
        ? `  ${pm.refresh} || echo "@@info refreshing the package index failed; trying anyway"`
        : '  :',
      ...attempts.map((a) => `  ${a}`),
      'fi',
    );
  } else {
    const hint = (p.noDistroPackageHint ?? 'this distribution ships no Docker package').replace(/"/g, "'");
    lines.push(`[ -n "$installed" ] || { echo "@@fail Docker could not be installed: ${hint}"; exit 3; }`);
  }
  lines.push(
    '[ -n "$installed" ] || { echo "@@fail Docker could not be installed (see the output above)"; exit 3; }',
    'echo; echo "@@section installed"; echo "$installed"',
    ENGINE_FACTS.trim(),
  );
  return `${lines.join('\n')}\n`;
}

/** A file staged by SFTP in the stage directory, installed into place by the configure script. */
export interface StagedFile {
  staged: string;
  target: string;
  mode: '0644' | '0600';
}

export interface ConfigureOptions {
  hostname: string;
  /** The private directory the files are staged in; removed whatever happens. */
  stageDir: string;
  files: StagedFile[];
  /** Back up the existing daemon.json before replacing it. */
  backupDaemonJson: boolean;
  socketActivated: boolean;
  enginePort: number;
  /** Restart the engine even when only certificates changed (always true today). */
  restart: boolean;
  /** Skip the hostname (regenerate-certs only swaps certificates). */
  setHostname: boolean;
}

/** Status of the unit and the last journal lines: why the engine is not up, not a retry count. */
const DIAGNOSE = `diagnose() {
  echo; echo "@@section status"; systemctl status docker.service --no-pager -l 2>&1 | head -n 25
  echo; echo "@@section journal"; journalctl -u docker.service -n 30 --no-pager -o cat 2>&1
  echo; echo "@@section end"
}`;

/** Whether something listens on a TCP port (ss from iproute2, else netstat, else trust systemd). */
const LISTENING = `listening() {
  if command -v ss >/dev/null 2>&1; then ss -Htln 2>/dev/null | grep -q "[:.]$1[[:space:]]"
  elif command -v netstat >/dev/null 2>&1; then netstat -tln 2>/dev/null | grep -q "[:.]$1[[:space:]]"
  else systemctl is-active --quiet docker.service; fi
}`;

/** Hostname like docker-machine (hostname + /etc/hostname + a 127.0.1.1 line in /etc/hosts). */
function hostnameLines(name: string): string[] {
  const q = shellQuote(name);
  // /etc/hosts and /etc/hostname may be bind mounts (containers): rewrite in place, never rename.
  const escaped = name.replace(/\./g, '\\.');
  return [
    'echo "@@step Setting hostname"',
    `if [ "$(hostname)" != ${q} ]; then`,
    `  hostnamectl set-hostname ${q} 2>/dev/null || { hostname ${q} && printf '%s\\n' ${q} > /etc/hostname; } || echo "@@info could not set the hostname"`,
    'fi',
    `if ! grep -q ${shellQuote(`^[^#]*[[:space:]]${escaped}\\([[:space:]]\\|$\\)`)} /etc/hosts; then`,
    "  if grep -q '^127\\.0\\.1\\.1[[:space:]]' /etc/hosts; then",
    `    hosts=$(sed ${shellQuote(`s/^127\\.0\\.1\\.1[[:space:]].*/127.0.1.1 ${name}/`)} /etc/hosts) && printf '%s\\n' "$hosts" > /etc/hosts`,
    `  else printf '127.0.1.1 %s\\n' ${q} >> /etc/hosts; fi`,
    'fi',
  ];
}

/** Only the hostname (an engine configured at first boot needs nothing else). */
export function hostnameScript(name: string): string {
  return `${[PATH_LINE, ...hostnameLines(name)].join('\n')}\n`;
}

/**
 * Opens the engine port in an active host firewall (firewalld on Fedora/RHEL/openSUSE, ufw on
 * Ubuntu); docker-machine did this for SUSE only, and a closed port looks like a dead engine.
 */
function firewallLines(port: number): string[] {
  return [
    'if command -v firewall-cmd >/dev/null 2>&1 && firewall-cmd --state >/dev/null 2>&1; then',
    `  echo "@@info Opening ${port}/tcp in firewalld"`,
    `  { firewall-cmd --quiet --permanent --add-port=${port}/tcp && firewall-cmd --quiet --reload; } || echo "@@info could not open ${port}/tcp in firewalld"`,
    "elif command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q '^Status: active'; then",
    `  echo "@@info Opening ${port}/tcp in ufw"`,
    `  ufw allow ${port}/tcp >/dev/null || echo "@@info could not open ${port}/tcp in ufw"`,
    'fi',
  ];
}

/**
 * Installs the staged certificates and engine configuration (as root), restarts the engine so
 * the configuration is in force and waits until it listens on the TLS port. When the engine
 * fails, prints the unit's status and journal and exits 42.
 */
export function configureScript(o: ConfigureOptions): string {
  const lines = [PATH_LINE, DIAGNOSE, LISTENING];
  if (o.setHostname) lines.push(...hostnameLines(o.hostname));
  lines.push('echo "@@step Configuring engine"', `mkdir -p /etc/docker ${DROP_IN_DIR}`);
  if (o.backupDaemonJson) {
    lines.push(
      '[ -f /etc/docker/daemon.json ] && cp -p /etc/docker/daemon.json /etc/docker/daemon.json.moor-backup',
    );
  }
  // The staged copies (one is the server key) go whatever happens, also when an install fails.
  lines.push(`trap ${shellQuote(`rm -rf ${shellQuote(o.stageDir)}`)} EXIT`);
  for (const f of o.files) {
    lines.push(
      `install -m ${f.mode} ${shellQuote(f.staged)} ${shellQuote(f.target)} || { echo "@@fail could not install ${f.target}"; exit 4; }`,
    );
  }
  if (!o.restart) return `${lines.join('\n')}\n`;
  const units = o.socketActivated ? 'docker.socket docker.service' : 'docker.service';
  lines.push(...firewallLines(o.enginePort));
  lines.push(
    'echo "@@step Restarting engine"',
    'systemctl daemon-reload',
    // A unit that failed 3 times in 60 s is refused ("start request repeated too quickly").
    `systemctl reset-failed ${units} >/dev/null 2>&1`,
    `systemctl enable ${units} >/dev/null 2>&1 || echo "@@info could not enable ${units} at boot"`,
    o.socketActivated ? 'systemctl start docker.socket >/dev/null 2>&1' : ':',
    'if ! systemctl restart docker.service; then',
    '  echo "@@fail docker.service failed to start"; diagnose; exit 42',
    'fi',
    // Type=notify units return once dockerd is serving; older units may need a moment.
    'i=0',
    `while ! listening ${o.enginePort}; do`,
    '  i=$((i+1))',
    `  if [ "$i" -ge 100 ]; then echo "@@fail dockerd runs but nothing listens on port ${o.enginePort}"; diagnose; exit 42; fi`,
    '  if ! systemctl is-active --quiet docker.service; then echo "@@fail docker.service stopped after starting"; diagnose; exit 42; fi',
    '  sleep 0.2',
    'done',
  );
  return `${lines.join('\n')}\n`;
}

/** Just the diagnosis, for when the engine restarted but does not answer TLS from outside. */
export function diagnoseScript(enginePort: number): string {
  return `${PATH_LINE}
${DIAGNOSE}
echo; echo "@@section listeners"; (ss -tlnp 2>/dev/null || netstat -tlnp 2>/dev/null) | grep -E "[:.]${enginePort}[[:space:]]|State" || true
diagnose
`;
}

/**
 * `upgrade`: upgrade whichever engine package is installed (docker-ce, docker.io, moby-engine, ...)
 * and restart it. docker-machine did the same (Package("docker", Upgrade) + restart).
 */
export function upgradeScript(p: Provisioner): string {
  if (p.dockerBuiltIn || !p.packageManager) {
    return `echo "@@fail Docker on ${p.name} is part of the OS image and is updated with the OS (e.g. Flatcar's update_engine), not by Moor"\nexit 3\n`;
  }
  const pm = PACKAGE_COMMANDS[p.packageManager];
  const detect = p.enginePackages.map((pkg) => `if ${pm.isInstalled(pkg)}; then pkgs="$pkgs ${pkg}"; fi`);
  return `${PATH_LINE}
${DIAGNOSE}
pkgs=""
${detect.join('\n')}
if [ -z "$pkgs" ]; then echo "@@fail no Docker engine package is installed (looked for: ${p.enginePackages.join(', ')})"; exit 3; fi
echo "@@step Upgrading Docker"
echo "@@info Upgrading$pkgs"
${pm.refresh ? `${pm.refresh} || true` : ':'}
${pm.upgrade(['$pkgs'])} || { echo "@@fail the package manager could not upgrade$pkgs"; exit 5; }
echo "@@step Restarting engine"
systemctl daemon-reload
systemctl reset-failed docker.service >/dev/null 2>&1
if ! systemctl restart docker.service; then echo "@@fail docker.service failed to start"; diagnose; exit 42; fi
echo; echo "@@section version"; dockerd --version 2>/dev/null || true
`;
}

/** Removes Moor's engine configuration (`rm --remove-engine-config`) and restarts the vendor unit. */
export function removeEngineConfigScript(): string {
  return `${PATH_LINE}
rm -f ${DROP_IN_PATH} /etc/docker/server.pem /etc/docker/server-key.pem /etc/docker/ca.pem
if [ -f /etc/docker/daemon.json.moor-backup ]; then mv /etc/docker/daemon.json.moor-backup /etc/docker/daemon.json; fi
systemctl daemon-reload
systemctl reset-failed docker.service >/dev/null 2>&1
systemctl restart docker.service || echo "@@info docker.service did not restart with the distribution's configuration"
`;
}
