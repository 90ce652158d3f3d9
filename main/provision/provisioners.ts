import type { OsRelease } from './os-release.js';

/**
 * Provisioners as data: which OS each one serves and how that OS installs, upgrades and runs
 * Docker. Everything that differs between distributions lives here; the scripts built from it
 * (scripts.ts) are the same shell for all of them.
 */
export type PackageManagerName = 'apt' | 'dnf' | 'pacman' | 'zypper';

export interface Provisioner {
  /** docker-machine's provisioner name where one exists (`debian`, `ubuntu(systemd)`, ...). */
  name: string;
  /** os-release IDs this provisioner serves, matched against ID first, then ID_LIKE in order. */
  ids: string[];
  /** null: the OS has no package manager (Flatcar ships Docker in its read-only image). */
  packageManager: PackageManagerName | null;
  /**
   * The distribution's own Docker package, alternatives tried in order (Fedora renamed
   * `docker` to `moby-engine`). Empty: the distribution ships none.
   */
  distroPackages: string[];
  /** Package names an installed engine may come from, for `upgrade`. */
  enginePackages: string[];
  /** Docker is part of the OS image: never install it, never upgrade it with a package. */
  dockerBuiltIn: boolean;
  /** Said when the distribution has no Docker package of its own. */
  noDistroPackageHint?: string;
}

const APT_ENGINES = ['docker-ce', 'docker.io', 'moby-engine'];
const RPM_ENGINES = ['docker-ce', 'moby-engine', 'docker'];

/** In detection order; the first whose IDs contain the host's ID (then an ID_LIKE entry) wins. */
export const PROVISIONERS: readonly Provisioner[] = [
  {
    name: 'flatcar',
    ids: ['flatcar', 'coreos'],
    packageManager: null,
    distroPackages: [],
    enginePackages: [],
    dockerBuiltIn: true,
  },
  {
    name: 'ubuntu(systemd)',
    ids: ['ubuntu'],
    packageManager: 'apt',
    distroPackages: ['docker.io'],
    enginePackages: APT_ENGINES,
    dockerBuiltIn: false,
  },
  {
    name: 'debian',
    ids: ['debian', 'raspbian'],
    packageManager: 'apt',
    distroPackages: ['docker.io'],
    enginePackages: APT_ENGINES,
    dockerBuiltIn: false,
  },
  {
    name: 'fedora',
    ids: ['fedora', 'amzn'],
    packageManager: 'dnf',
    distroPackages: ['moby-engine', 'docker'],
    enginePackages: RPM_ENGINES,
    dockerBuiltIn: false,
  },
  {
    name: 'redhat',
    ids: ['rhel', 'centos', 'rocky', 'almalinux', 'ol'],
    packageManager: 'dnf',
    distroPackages: [],
    enginePackages: RPM_ENGINES,
    dockerBuiltIn: false,
    noDistroPackageHint:
      "RHEL-like distributions ship no Docker package (podman-docker is not Docker): use --engine-install-url with Docker's install script (the default, https://get.docker.com) or a mirror of it",
  },
  {
    name: 'arch',
    ids: ['arch', 'archarm', 'manjaro'],
    packageManager: 'pacman',
    distroPackages: ['docker'],
    enginePackages: ['docker'],
    dockerBuiltIn: false,
  },
  {
    name: 'SUSE',
    ids: ['opensuse-leap', 'opensuse-tumbleweed', 'opensuse', 'sles', 'suse'],
    packageManager: 'zypper',
    distroPackages: ['docker'],
    enginePackages: ['docker'],
    dockerBuiltIn: false,
  },
];

/** The provisioner for a host, or null when Moor has none for it. */
export function detectProvisioner(os: OsRelease): Provisioner | null {
  for (const id of [os.id, ...os.idLike]) {
    const match = PROVISIONERS.find((p) => p.ids.includes(id));
    if (match) return match;
  }
  return null;
}

/** Root shell commands of one package manager (non-interactive, waiting for a busy lock). */
export interface PackageCommands {
  /** Refresh the package index (apt's `update`); empty when install refreshes by itself. */
  refresh: string;
  install(packages: string[]): string;
  /** Upgrade these packages only (never the whole system). */
  upgrade(packages: string[]): string;
  /** A command exiting 0 when the package is installed. */
  isInstalled(pkg: string): string;
}

const APT_OPTS = '-y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300';

export const PACKAGE_COMMANDS: Record<PackageManagerName, PackageCommands> = {
  apt: {
    refresh: 'DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=300',
    install: (p) => `DEBIAN_FRONTEND=noninteractive apt-get install ${APT_OPTS} ${p.join(' ')}`,
    upgrade: (p) =>
      `DEBIAN_FRONTEND=noninteractive apt-get install ${APT_OPTS} --only-upgrade ${p.join(' ')}`,
    isInstalled: (p) => `dpkg-query -W -f='\${Status}' ${p} 2>/dev/null | grep -q 'ok installed'`,
  },
  dnf: {
    refresh: '',
    // yum on hosts old enough not to have dnf; both take the same arguments here.
    install: (p) => `$(command -v dnf || command -v yum) install -y ${p.join(' ')}`,
    upgrade: (p) => `$(command -v dnf || command -v yum) upgrade -y ${p.join(' ')}`,
    isInstalled: (p) => `rpm -q ${p} >/dev/null 2>&1`,
  },
  pacman: {
    refresh: 'pacman -Sy --noconfirm --noprogressbar',
    install: (p) => `pacman -S --noconfirm --noprogressbar --needed ${p.join(' ')}`,
    upgrade: (p) => `pacman -S --noconfirm --noprogressbar ${p.join(' ')}`,
    isInstalled: (p) => `pacman -Q ${p} >/dev/null 2>&1`,
  },
  zypper: {
    refresh: 'zypper --non-interactive --quiet refresh',
    install: (p) => `zypper --non-interactive install --no-confirm ${p.join(' ')}`,
    upgrade: (p) => `zypper --non-interactive update ${p.join(' ')}`,
    isInstalled: (p) => `rpm -q ${p} >/dev/null 2>&1`,
  },
};

/** A human name for logs: PRETTY_NAME, e.g. "Debian GNU/Linux 12 (bookworm)". */
export function osLabel(os: OsRelease): string {
  return os.prettyName || `${os.name} ${os.versionId}`.trim();
}
