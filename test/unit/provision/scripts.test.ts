import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFacts } from '../../../main/provision/index.js';
import { parseOsRelease } from '../../../main/provision/os-release.js';
import { detectProvisioner, PROVISIONERS, type Provisioner } from '../../../main/provision/provisioners.js';
import {
  configureScript,
  diagnoseScript,
  installScript,
  makeStageDirScript,
  parseSections,
  probeScript,
  removeEngineConfigScript,
  shellQuote,
  upgradeScript,
} from '../../../main/provision/scripts.js';

const fixture = (name: string) =>
  readFileSync(path.join(import.meta.dirname, '../../fixtures/os-release', name), 'utf8');
const provisionerFor = (file: string): Provisioner => detectProvisioner(parseOsRelease(fixture(file)))!;

/** `sh -n`: the script parses as POSIX sh (dash, the /bin/sh of Debian and Ubuntu). */
function assertShellSyntax(script: string): void {
  const result = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
}

describe('installScript', () => {
  it.each([
    [
      'debian-12',
      'apt-get update',
      'apt-get install -y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 docker.io',
    ],
    [
      'ubuntu-24.04',
      'apt-get update',
      'apt-get install -y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 docker.io',
    ],
    ['fedora-40', '', '$(command -v dnf || command -v yum) install -y moby-engine'],
    ['arch', 'pacman -Sy --noconfirm', 'pacman -S --noconfirm --noprogressbar --needed docker'],
    [
      'opensuse-leap-15.6',
      'zypper --non-interactive --quiet refresh',
      'zypper --non-interactive install --no-confirm docker',
    ],
    [
      'opensuse-tumbleweed',
      'zypper --non-interactive --quiet refresh',
      'zypper --non-interactive install --no-confirm docker',
    ],
  ])('%s: the distribution package with "distro", no download at all', (file, refresh, install) => {
    const script = installScript(provisionerFor(file), 'distro');
    assertShellSyntax(script);
    expect(script).toContain(install);
    if (refresh) expect(script).toContain(refresh);
    expect(script).not.toMatch(/curl|wget|https?:/);
    expect(script).toContain("@@info Installing Docker from the distribution's package");
  });

  it('Fedora falls back from moby-engine to docker', () => {
    const script = installScript(provisionerFor('fedora-40'), '');
    expect(script.indexOf('install -y moby-engine')).toBeLessThan(script.indexOf('install -y docker'));
  });

  it('runs the install URL like docker-machine, then falls back to the distribution package', () => {
    const script = installScript(provisionerFor('debian-12'), 'https://get.docker.com');
    assertShellSyntax(script);
    expect(script).toContain('curl -fsSL \'https://get.docker.com\' -o "$script"');
    expect(script).toContain('sh "$script"');
    const fallback = script.indexOf(
      'apt-get install -y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 docker.io',
    );
    expect(fallback).toBeGreaterThan(script.indexOf('sh "$script"'));
    expect(script).toContain('echo "@@section installed"; echo "$installed"');
  });

  it('quotes a hostile install URL', () => {
    const script = installScript(provisionerFor('debian-12'), "https://x/'; rm -rf / #");
    assertShellSyntax(script);
    expect(script).toContain(`curl -fsSL ${shellQuote("https://x/'; rm -rf / #")}`);
  });

  it('RHEL-likes have no distro package: a clear failure naming the way out', () => {
    for (const file of ['rocky-9', 'centos-stream-9']) {
      const script = installScript(provisionerFor(file), 'distro');
      assertShellSyntax(script);
      expect(script).toMatch(
        /@@fail Docker could not be installed: RHEL-like distributions ship no Docker package/,
      );
    }
  });

  it('Flatcar never installs: Docker is part of its image', () => {
    const script = installScript(provisionerFor('flatcar'), 'https://get.docker.com');
    expect(script).toContain('@@fail Docker is missing from this flatcar host');
    expect(script).not.toContain('curl');
  });

  it('every provisioner produces valid sh for both install modes and upgrade', () => {
    for (const p of PROVISIONERS) {
      assertShellSyntax(installScript(p, 'distro'));
      assertShellSyntax(installScript(p, 'https://get.docker.com'));
      assertShellSyntax(upgradeScript(p));
    }
  });
});

describe('upgradeScript', () => {
  it('upgrades whichever engine package is installed, then restarts', () => {
    const script = upgradeScript(provisionerFor('ubuntu-24.04'));
    expect(script).toMatch(/dpkg-query -W -f='\$\{Status\}' docker-ce /);
    expect(script).toMatch(/dpkg-query -W -f='\$\{Status\}' docker\.io /);
    expect(script).toContain('--only-upgrade $pkgs');
    expect(script).toContain('systemctl restart docker.service');
  });

  it('refuses on Flatcar', () => {
    expect(upgradeScript(provisionerFor('flatcar'))).toMatch(
      /@@fail Docker on flatcar is part of the OS image/,
    );
  });
});

describe('configureScript', () => {
  const base = {
    hostname: 'gen',
    stageDir: '/root/.moor-stage-x.abc',
    files: [
      { staged: '/root/.moor-stage-x.abc/ca.pem', target: '/etc/docker/ca.pem', mode: '0644' as const },
      {
        staged: '/root/.moor-stage-x.abc/server-key.pem',
        target: '/etc/docker/server-key.pem',
        mode: '0600' as const,
      },
      {
        staged: '/root/.moor-stage-x.abc/10-machine.conf',
        target: '/etc/systemd/system/docker.service.d/10-machine.conf',
        mode: '0644' as const,
      },
    ],
    backupDaemonJson: false,
    socketActivated: true,
    enginePort: 2376,
    restart: true,
    setHostname: true,
  };

  it('installs the staged files, reloads, restarts socket + service, waits for the port, diagnoses', () => {
    const script = configureScript(base);
    assertShellSyntax(script);
    expect(script).toContain(
      "install -m 0600 '/root/.moor-stage-x.abc/server-key.pem' '/etc/docker/server-key.pem'",
    );
    expect(script).toContain('systemctl daemon-reload');
    expect(script).toContain('systemctl reset-failed docker.socket docker.service');
    expect(script).toContain('systemctl enable docker.socket docker.service');
    expect(script).toContain('systemctl restart docker.service');
    expect(script).toContain('while ! listening 2376; do');
    expect(script).toContain('journalctl -u docker.service -n 30');
    expect(script).toContain('systemctl status docker.service --no-pager');
    expect(script).toContain("hostnamectl set-hostname 'gen'");
    // an active host firewall gets the engine port opened
    expect(script).toContain('firewall-cmd --quiet --permanent --add-port=2376/tcp');
    expect(script).toContain('ufw allow 2376/tcp');
    // steps are announced in order
    const steps = [...script.matchAll(/echo "@@step ([^"]+)"/g)].map((m) => m[1]);
    expect(steps).toEqual(['Setting hostname', 'Configuring engine', 'Restarting engine']);
  });

  it('without socket activation only docker.service is handled; regenerate-certs skips the hostname', () => {
    const script = configureScript({
      ...base,
      socketActivated: false,
      setHostname: false,
      backupDaemonJson: true,
    });
    assertShellSyntax(script);
    expect(script).not.toContain('docker.socket');
    expect(script).not.toContain('hostname');
    expect(script).toContain('daemon.json.moor-backup');
  });

  it('sets hostname and the 127.0.1.1 line of /etc/hosts like docker-machine (run for real on copies)', () => {
    const script = configureScript({ ...base, hostname: 'my.host-1' });
    const hostnameBlock = script.slice(
      script.indexOf('if ! grep'),
      script.indexOf('echo "@@step Configuring'),
    );
    const run = (hosts: string) => {
      const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
      const file = `${dir}/hosts`;
      execFileSync('sh', ['-c', `printf '%s' "$1" > ${file}`, 'sh', hosts]);
      execFileSync('sh', ['-s'], { input: hostnameBlock.replaceAll('/etc/hosts', file) });
      const out = readFileSync(file, 'utf8');
      execFileSync('rm', ['-rf', dir]);
      return out;
    };
    expect(run('127.0.0.1 localhost\n127.0.1.1 old\n')).toBe('127.0.0.1 localhost\n127.0.1.1 my.host-1\n');
    expect(run('127.0.0.1 localhost\n')).toBe('127.0.0.1 localhost\n127.0.1.1 my.host-1\n');
    expect(run('127.0.0.1 localhost\n10.0.0.5 my.host-1\n')).toBe(
      '127.0.0.1 localhost\n10.0.0.5 my.host-1\n',
    );
    // "myXhost-1" must not count as the name (the dot is literal)
    expect(run('127.0.1.1 myXhost-1\n')).toBe('127.0.1.1 my.host-1\n');
  });
});

describe('stage directories (the server key on its way to /etc/docker)', () => {
  it("are private (mode 700), and the probe sweeps this machine's leftovers and old ones of others", () => {
    const home = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    const env = { ...process.env, HOME: home };
    const sh = (script: string) => execFileSync('sh', ['-s'], { input: script, encoding: 'utf8', env });
    try {
      const mine = sh(makeStageDirScript('aaaa')).trim();
      expect(path.dirname(mine)).toBe(home);
      expect(path.basename(mine)).toMatch(/^\.moor-stage-aaaa\.\w{10}$/);
      expect(statSync(mine).mode & 0o777).toBe(0o700);
      writeFileSync(path.join(mine, 'server-key.pem'), 'key');
      const othersFresh = sh(makeStageDirScript('bbbb')).trim(); // another machine, provisioning now
      const othersOld = sh(makeStageDirScript('cccc')).trim();
      const legacy = path.join(home, '.moor-stage-0123456789ab-server-key.pem'); // loose file, older versions
      writeFileSync(legacy, 'key');
      execFileSync('touch', ['-d', '2 hours ago', othersOld, legacy]);
      sh(probeScript({ stageTag: 'aaaa' }));
      expect(readdirSync(home)).toEqual([path.basename(othersFresh)]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('probe', () => {
  it('runs on this machine and its output parses into facts', () => {
    const out = execFileSync('sh', ['-s'], { input: probeScript(), encoding: 'utf8' });
    const facts = parseFacts(parseSections(out));
    expect(facts.os.id).toBe(parseOsRelease(readFileSync('/etc/os-release', 'utf8')).id);
    expect(facts.uid).toBe(String(process.getuid?.()));
    expect(facts.home).toBe(process.env.HOME);
    expect(typeof facts.systemd).toBe('boolean');
  });

  it('a section without a final newline (daemon.json) does not swallow the next marker', () => {
    const out = execFileSync(
      'sh',
      ['-c', `echo; echo "@@section daemon-json"; printf '{"a": 1}'; echo; echo "@@section end"`],
      { encoding: 'utf8' },
    );
    expect(parseSections(out)).toEqual({ 'daemon-json': '{"a": 1}', end: '' });
    // and even a marker glued to the end of a line is found
    expect(parseSections('@@section x\n{"b": 2}@@section end\n')).toEqual({ x: '{"b": 2}', end: '' });
  });

  it('parseFacts reads a recorded Debian probe', () => {
    const output = [
      '@@section os-release',
      fixture('debian-12'),
      '@@section uid',
      '1000',
      '@@section home',
      '/home/admin',
      '@@section sudo',
      'yes',
      '@@section systemd',
      'yes',
      '@@section hostname',
      'bookworm',
      '@@section dockerd',
      '/usr/sbin/dockerd',
      '@@section docker-version',
      'Docker version 20.10.24+dfsg1, build 297e128',
      '@@section docker-unit',
      '# /lib/systemd/system/docker.service',
      '[Service]',
      'ExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS',
      '@@section docker-socket',
      '# /lib/systemd/system/docker.socket',
      '[Socket]',
      'ListenStream=/run/docker.sock',
      '@@section daemon-json',
      '@@section moor-drop-in',
      '[Service]',
      'ExecStart=',
      '',
      '@@section cert-sums',
      `${'a'.repeat(64)}  /etc/docker/ca.pem`,
      `${'b'.repeat(64)}  /etc/docker/server.pem`,
      '@@section docker-active',
      'activating',
      '@@section end',
    ].join('\n');
    const facts = parseFacts(parseSections(output));
    // What the verification of an engine configured at first boot compares (engine-seed.ts).
    expect(facts.dropIn).toBe('[Service]\nExecStart=\n');
    expect(facts.certSums).toEqual({
      '/etc/docker/ca.pem': 'a'.repeat(64),
      '/etc/docker/server.pem': 'b'.repeat(64),
    });
    expect(facts.dockerActive).toBe('activating');
    expect(parseFacts({}).dropIn).toBeNull();
    expect(facts).toMatchObject({
      uid: '1000',
      home: '/home/admin',
      hasSudo: true,
      systemd: true,
      dockerd: '/usr/sbin/dockerd',
      daemonJson: null,
      unit: { program: '/usr/sbin/dockerd', socketActivated: true },
    });
    expect(facts.os.id).toBe('debian');
  });
});

it('the diagnosis and engine-config removal scripts are valid sh', () => {
  assertShellSyntax(diagnoseScript(2376));
  assertShellSyntax(removeEngineConfigScript());
});
