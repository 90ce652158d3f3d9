import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { userData } from '../../../main/drivers/cloud-init/seed.js';
import { type EngineSettings, parseDockerUnit, renderDropIn } from '../../../main/provision/engine-config.js';
import { dropInFunction, engineBoothook } from '../../../main/provision/engine-seed.js';
import { tempDir } from '../../harness/components.js';

// The first-boot engine seed: the boothook's shell computes the drop-in from the guest's
// docker.service; it must be byte for byte what provisioning renders (else provisioning sees a
// difference and restarts the engine). Run with the real sh and a stand-in systemctl.
const tmp = tempDir('moor-engine-seed');
afterAll(() => tmp.cleanup());

const settings: EngineSettings = {
  port: 40123,
  arbitraryFlags: ['log-level=debug'],
  env: ['HTTP_PROXY=http://p:3128'],
  labels: ['team=a b', 'cost=$5%'],
  insecureRegistries: ['reg.local:5000'],
  registryMirrors: [],
  storageDriver: '',
  provider: 'qemu',
};

const DEBIAN_DOCKER_IO = `# /lib/systemd/system/docker.service
[Unit]
Description=Docker Application Container Engine
After=network-online.target docker.socket firewalld.service containerd.service

[Service]
Type=notify
EnvironmentFile=-/etc/default/docker
ExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS
ExecReload=/bin/kill -s HUP $MAINPID

[Install]
WantedBy=multi-user.target
`;

const DOCKER_CE = `# /usr/lib/systemd/system/docker.service
[Service]
ExecStart=/usr/bin/dockerd -H fd:// \\
  --containerd=/run/containerd/containerd.sock
`;

const PLAIN_WITH_DROP_IN = `# /usr/lib/systemd/system/docker.service
[Service]
ExecStart=/usr/bin/docker daemon --host=unix:///var/run/docker.sock

# /etc/systemd/system/docker.service.d/override.conf
[Service]
ExecStart=
ExecStart=-/opt/bin/dockerd -H unix:///var/run/docker.sock --selinux-enabled
`;

let n = 0;
/** Runs moor_drop_in with a systemctl that shows `unit` (and docker.socket when `socket`). */
function runDropIn(unit: string | null, socket: boolean): { code: number; out: string } {
  const dir = path.join(tmp.dir, `case-${n++}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'unit.txt'), unit ?? '');
  const systemctl = path.join(dir, 'systemctl');
  writeFileSync(
    systemctl,
    `#!/bin/sh
[ "$1" = cat ] || exit 3
case $2 in
docker.service) ${unit === null ? 'exit 1' : `cat "${dir}/unit.txt"`} ;;
docker.socket) ${socket ? 'echo "[Socket]"' : 'exit 1'} ;;
*) exit 1 ;;
esac
`,
  );
  chmodSync(systemctl, 0o755);
  const dockerd = path.join(dir, 'dockerd');
  writeFileSync(dockerd, '#!/bin/sh\n');
  chmodSync(dockerd, 0o755);
  try {
    const out = execFileSync('sh', ['-c', `${dropInFunction(settings)}\nmoor_drop_in`], {
      encoding: 'utf8',
      env: { PATH: `${dir}:/usr/bin:/bin` },
    });
    return { code: 0, out };
  } catch (err) {
    return { code: (err as { status: number }).status, out: '' };
  }
}

describe('engine seed: the drop-in computed in the guest', () => {
  for (const [name, unit, socket] of [
    ['Debian docker.io (socket-activated, $DOCKER_OPTS)', DEBIAN_DOCKER_IO, true],
    ['docker-ce (continuation line)', DOCKER_CE, true],
    ['fd:// without docker.socket', DOCKER_CE, false],
    ['an override drop-in, no dockerd in ExecStart', PLAIN_WITH_DROP_IN, false],
  ] as const) {
    it(`is what provisioning renders: ${name}`, () => {
      const shape = parseDockerUnit(unit, socket);
      const dockerdPath = shape.program.endsWith('dockerd')
        ? shape.program
        : path.join(tmp.dir, `case-${n}`, 'dockerd');
      const expected = renderDropIn(settings, shape, dockerdPath);
      const r = runDropIn(unit, socket);
      expect(r.code).toBe(0);
      expect(`${r.out}`).toBe(expected);
    });
  }

  it('gives up (no drop-in) when there is no docker.service or its words are quoted', () => {
    expect(runDropIn(null, true).code).not.toBe(0);
    const quoted = `# /lib/systemd/system/docker.service\n[Service]\nExecStart=/usr/bin/dockerd -H fd:// --label "a b"\n`;
    expect(runDropIn(quoted, true).code).not.toBe(0);
  });

  it('skips an earlier Moor drop-in, as parseDockerUnit does', () => {
    const unit = `${DEBIAN_DOCKER_IO}\n# /etc/systemd/system/docker.service.d/10-machine.conf\n[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0:1 --tlsverify\n`;
    expect(runDropIn(unit, true).out).toBe(
      renderDropIn(settings, parseDockerUnit(unit, true), '/usr/sbin/dockerd'),
    );
  });
});

describe('engine seed: the boothook', () => {
  const files = { ca: 'CA PEM\n', serverCert: 'CERT PEM\n', serverKey: 'MOOR_EOF\nKEY PEM\n' };
  const hook = engineBoothook(settings, files);

  it('is a #cloud-boothook shell script that sh accepts, run once per instance', () => {
    expect(hook.startsWith('#cloud-boothook\n#!/bin/sh\n')).toBe(true);
    execFileSync('sh', ['-n', '-c', hook]);
    expect(hook).toContain(`marker=/var/lib/cloud/moor-engine-seeded.\${INSTANCE_ID:-unknown}`);
    expect(hook).toContain('[ -e "$marker" ] && exit 0');
    expect(hook).toContain('systemctl daemon-reload');
  });

  it('writes the key 0600 and survives a file that contains the here-document delimiter', () => {
    expect(hook).toMatch(/chmod 0600 "\/etc\/docker\/server-key\.pem\.moor-tmp"/);
    expect(hook).toContain("<<'MOOR_EOF_'\nMOOR_EOF\nKEY PEM\nMOOR_EOF_\n");
  });

  it('goes into user-data as a text/cloud-boothook part next to ours', () => {
    const text = userData(
      { hostname: 'vm1', user: 'docker', authorizedKey: 'ssh-ed25519 AAAA', boothook: hook },
      'B',
    );
    expect(text).toMatch(/^Content-Type: multipart\/mixed; boundary="B"/);
    expect(text).toContain('--B\nContent-Type: text/cloud-config;');
    expect(text).toContain(
      '--B\nContent-Type: text/cloud-boothook; charset="utf-8"\nMIME-Version: 1.0\n\n#cloud-boothook\n#!/bin/sh\n',
    );
    expect(text.trim().endsWith('--B--')).toBe(true);
  });
});
