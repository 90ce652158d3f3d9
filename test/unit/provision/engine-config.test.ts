import { describe, expect, it } from 'vitest';
import {
  DROP_IN_PATH,
  dockerdArguments,
  type EngineSettings,
  keptVendorArgs,
  parseDockerUnit,
  planDaemonJson,
  renderDropIn,
  splitUnitWords,
  systemdWord,
} from '../../../main/provision/engine-config.js';

/** `systemctl cat docker.service` on Debian 12 with docker.io 20.10 (socket-activated). */
const DEBIAN_UNIT = `# /lib/systemd/system/docker.service
[Unit]
Description=Docker Application Container Engine
After=network-online.target docker.socket firewalld.service containerd.service
Wants=network-online.target containerd.service
Requires=docker.socket

[Service]
Type=notify
EnvironmentFile=-/etc/default/docker
ExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS
ExecReload=/bin/kill -s HUP $MAINPID
Restart=on-failure

[Install]
WantedBy=multi-user.target
`;

/** The flags of the reference's generic example (docker-machine.md §2.2/§4.3). */
const REFERENCE_EXAMPLE: EngineSettings = {
  port: 2376,
  arbitraryFlags: ['log-driver=none'],
  env: ['TEST=VALUE'],
  labels: ['spam=eggs'],
  insecureRegistries: ['registry.myco.com'],
  registryMirrors: ['https://mirror.example.com'],
  storageDriver: '',
  provider: 'generic',
};

describe('parseDockerUnit', () => {
  it("reads Debian's unit: /usr/sbin/dockerd, socket-activated", () => {
    const unit = parseDockerUnit(DEBIAN_UNIT, true);
    expect(unit).toEqual({
      program: '/usr/sbin/dockerd',
      args: ['-H', 'fd://', '--containerd=/run/containerd/containerd.sock', '$DOCKER_OPTS'],
      socketActivated: true,
    });
  });

  it('ignores our own drop-in, honours other drop-ins and ExecStart= resets', () => {
    const text = `${DEBIAN_UNIT}
# ${DROP_IN_PATH}
[Service]
ExecStart=
ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376

# /etc/systemd/system/docker.service.d/override.conf
[Service]
ExecStart=
ExecStart=/opt/bin/dockerd \\
  --host=fd:// --data-root /srv/docker
`;
    const unit = parseDockerUnit(text, true);
    expect(unit.program).toBe('/opt/bin/dockerd');
    expect(unit.args).toEqual(['--host=fd://', '--data-root', '/srv/docker']);
    expect(unit.socketActivated).toBe(true);
  });

  it('is not socket-activated without docker.socket, or without fd://', () => {
    expect(parseDockerUnit(DEBIAN_UNIT, false).socketActivated).toBe(false);
    const plain =
      '# /usr/lib/systemd/system/docker.service\n[Service]\nExecStart=/usr/bin/dockerd -H unix://\n';
    expect(parseDockerUnit(plain, true)).toMatchObject({
      program: '/usr/bin/dockerd',
      socketActivated: false,
    });
  });

  it('has no program when docker.service does not exist', () => {
    expect(parseDockerUnit('', false)).toEqual({ program: '', args: [], socketActivated: false });
  });
});

describe('renderDropIn', () => {
  it("writes the reference's flag example for Debian's docker.io (the case docker-machine failed)", () => {
    const unit = parseDockerUnit(DEBIAN_UNIT, true);
    expect(renderDropIn(REFERENCE_EXAMPLE, unit, '/usr/sbin/dockerd')).toBe(
      [
        '# Written by Moor (docker-machine compatible): Docker over TLS. Regenerated on every provision.',
        '[Service]',
        'ExecStart=',
        'ExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0:2376 -H fd:// --containerd=/run/containerd/containerd.sock' +
          ' --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem' +
          ' --tlskey /etc/docker/server-key.pem --label spam=eggs --label provider=generic' +
          ' --insecure-registry registry.myco.com --registry-mirror https://mirror.example.com --log-driver=none',
        'Environment="TEST=VALUE"',
        '',
      ].join('\n'),
    );
  });

  it('listens on the unix socket itself when the unit is not socket-activated; custom port and storage driver', () => {
    const unit = parseDockerUnit('# /x/docker.service\n[Service]\nExecStart=/usr/bin/dockerd\n', false);
    const text = renderDropIn(
      { ...REFERENCE_EXAMPLE, port: 12376, storageDriver: 'overlay2', env: [], arbitraryFlags: [] },
      unit,
      '/usr/bin/dockerd',
    );
    expect(text).toContain(
      'ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:12376 -H unix:///var/run/docker.sock --storage-driver overlay2 --tlsverify',
    );
    expect(text).not.toContain('Environment=');
  });

  it('escapes systemd specifiers and variables in user values, keeps vendor variables', () => {
    const unit = {
      program: '/usr/bin/dockerd',
      args: ['--host=fd://', '$DOCKER_SELINUX'],
      socketActivated: true,
    };
    const text = renderDropIn(
      { ...REFERENCE_EXAMPLE, labels: ['note=100% $HOME', 'a b'], env: ['RATE=50%'] },
      unit,
      '/usr/bin/dockerd',
    );
    expect(text).toContain('-H fd:// $DOCKER_SELINUX --tlsverify');
    expect(text).toContain('--label "note=100%% $$HOME" --label "a b"');
    expect(text).toContain('Environment="RATE=50%%"');
  });
});

describe('helpers', () => {
  it('keptVendorArgs drops listeners and $DOCKER_OPTS, keeps the rest', () => {
    expect(
      keptVendorArgs([
        '-H',
        'fd://',
        '--host=unix:///x',
        '-H=tcp://1',
        '--containerd=/c.sock',
        '$' + '{DOCKER_OPTS}', // the braced form, as a unit may write it
        '$X',
      ]),
    ).toEqual(['--containerd=/c.sock', '$X']);
  });

  it('splitUnitWords keeps quoted words whole', () => {
    expect(splitUnitWords('/bin/d -a "b c" \'d e\' f')).toEqual(['/bin/d', '-a', '"b c"', "'d e'", 'f']);
  });

  it('systemdWord quotes only when needed', () => {
    expect(systemdWord('--label=x')).toBe('--label=x');
    expect(systemdWord('a"b')).toBe('"a\\"b"');
    expect(systemdWord('')).toBe('""');
  });
});

describe('planDaemonJson', () => {
  const command = dockerdArguments(REFERENCE_EXAMPLE, parseDockerUnit(DEBIAN_UNIT, true));

  it('keeps a missing, empty or compatible file', () => {
    expect(planDaemonJson(null, command)).toEqual({ action: 'keep' });
    expect(planDaemonJson('  ', command)).toEqual({ action: 'keep' });
    expect(planDaemonJson('{"log-level":"warn","data-root":"/srv"}', command)).toEqual({ action: 'keep' });
  });

  it('removes keys dockerd would refuse as given twice (hosts, tls*, labels, opts)', () => {
    const plan = planDaemonJson(
      JSON.stringify({
        hosts: ['unix://'],
        tlsverify: true,
        labels: ['x=y'],
        'log-driver': 'json-file',
        debug: true,
      }),
      command,
    );
    expect(plan).toEqual({
      action: 'rewrite',
      content: '{\n  "debug": true\n}\n',
      removedKeys: ['hosts', 'tlsverify', 'labels', 'log-driver'],
    });
  });

  it('leaves a broken file alone with a warning', () => {
    const plan = planDaemonJson('{ nope', command);
    expect(plan.action).toBe('keep');
    expect(plan.action === 'keep' && plan.warning).toMatch(/not valid JSON/);
  });
});
