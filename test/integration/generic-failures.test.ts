import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCKER_VERSION, genericSuite, machineConfig } from './generic-support.js';

// The generic driver on a Debian 12 host whose Docker (Debian's docker.io) is already installed:
// the fast create, a non-root sudo user, and what goes wrong — a changed host key, a wrong key, an
// engine that will not start, an SSH connection dropped in the middle of provisioning.
const ADDRESS = '127.0.6.20';

const fx = genericSuite({
  prefix: 'moor-generic-failures',
  hostName: `prov-generic-fail-${process.pid}`,
  address: ADDRESS,
  image: 'bookworm-docker',
  extraPorts: [12376], // for the custom engine port test
});

const create = (name: string, ...extra: string[]) => fx.create(name, { extra });

describe('generic driver, Docker already installed', () => {
  it('create configures the installed engine without installing anything', async () => {
    const run = await fx.create('ready', { debug: true });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('Docker is already installed');
    expect(run.stdout).not.toContain('Installing Docker');
    expect(run.stdout).toContain('Docker is up and running!');
    expect(fx.dockerThroughEnv('ready', DOCKER_VERSION).code).toBe(0);
  });

  it('a daemon.json that sets "hosts" (dockerd would refuse -H twice) is fixed and backed up', async () => {
    const json = '{"hosts": ["unix:///var/run/docker.sock"], "log-level": "warn"}';
    expect((await fx.host.exec(`printf '%s' '${json}' > /etc/docker/daemon.json`)).exitCode).toBe(0);
    const run = await create('djson');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('/etc/docker/daemon.json sets hosts, which Moor passes as dockerd flags');
    expect(JSON.parse((await fx.host.exec('cat /etc/docker/daemon.json')).stdout)).toEqual({
      'log-level': 'warn',
    });
    expect(JSON.parse((await fx.host.exec('cat /etc/docker/daemon.json.moor-backup')).stdout)).toEqual(
      JSON.parse(json),
    );
    expect(fx.dockerThroughEnv('djson', DOCKER_VERSION).code).toBe(0);
  });

  it('provisions through a non-root user with passwordless sudo (sudo -n sh -s)', async () => {
    const setup = await fx.host.exec(
      'useradd -m -s /bin/sh admin && install -d -m 700 -o admin -g admin /home/admin/.ssh && ' +
        'install -m 600 -o admin -g admin /root/.ssh/authorized_keys /home/admin/.ssh/authorized_keys && ' +
        "echo 'admin ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/admin && chmod 440 /etc/sudoers.d/admin",
    );
    expect(setup.exitCode).toBe(0);
    const run = await create('viasudo', '--generic-ssh-user', 'admin');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(machineConfig(fx.storePath, 'viasudo').Driver.SSHUser).toBe('admin');
    // the staged files went to admin's home and were cleaned up there
    expect((await fx.host.exec('ls -A /home/admin')).stdout).not.toContain('.moor-stage');
    expect((await fx.host.exec('stat -c %U:%a /etc/docker/server-key.pem')).stdout.trim()).toBe('root:600');
  });

  it('a missing key fails the pre-create check with exit 3 and leaves nothing', async () => {
    const missing = path.join(fx.dir, 'nope');
    const run = await fx.create('nokey', { key: missing, installUrl: null });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`Error with pre-create check: "SSH key does not exist: \\"${missing}\\""`);
    expect(existsSync(path.join(fx.storePath, 'machines', 'nokey'))).toBe(false);
  });

  it('--generic-ip-address is required', async () => {
    const run = await fx.moor(['create', '-d', 'generic', 'noip']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('generic driver requires the --generic-ip-address option');
  });

  it('a wrong key gives a clear authentication error and leaves no machine behind', async () => {
    const other = fx.newKey('id_other');
    const run = await fx.create('wrongkey', { key: other.keyPath });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/permission denied for root@127\.0\.6\.20:22 with key .*id_other/);
    expect(existsSync(path.join(fx.storePath, 'machines', 'wrongkey'))).toBe(false);
  });

  it('an engine that does not start is reported with the unit status and its journal', async () => {
    const run = await create('badopt', '--engine-opt', 'no-such-dockerd-flag=1');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'The Docker engine on "badopt" did not come up: docker.service failed to start',
    );
    expect(run.stderr).toContain('systemctl status docker.service:');
    expect(run.stderr).toContain('Last lines of journalctl -u docker.service:');
    // dockerd's own complaint, straight from the journal
    expect(run.stderr).toMatch(/unknown flag: --no-such-dockerd-flag/);
    expect(run.stderr).not.toMatch(/Maximum number of retries/);
    // the host was touched: the machine is kept so `moor provision` can finish once fixed
    expect(run.stderr).toContain('"moor provision badopt"');
    expect(existsSync(path.join(fx.storePath, 'machines', 'badopt', 'config.json'))).toBe(true);
    expect((await fx.moor(['rm', '-y', 'badopt'])).code).toBe(0);
  });

  it('an SSH drop mid-provision keeps a consistent store and `moor provision` finishes the job', async () => {
    // Pause provisioning inside the configure script (it calls hostnamectl), then cut the connection.
    await fx.host.exec(
      "printf '#!/bin/sh\\ntouch /tmp/moor-paused\\nexec sleep 300\\n' > /usr/local/sbin/hostnamectl && chmod +x /usr/local/sbin/hostnamectl && rm -f /tmp/moor-paused",
    );
    const creating = create('dropped');
    let paused = false;
    for (let i = 0; i < 300 && !paused; i++) {
      paused = (await fx.host.exec('test -e /tmp/moor-paused')).exitCode === 0;
      if (!paused) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(paused).toBe(true);
    // Kill the connection's sshd processes and the paused script (the listener stays).
    // ([s] keeps the patterns from matching this very command line)
    await fx.host.exec(
      "rm -f /usr/local/sbin/hostnamectl; pkill -KILL -f '[s]shd: root@'; pkill -KILL -f '[s]leep 300'",
    );
    const run = await creating;
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/connection .*(lost|closed)/);
    expect(run.stderr).toContain('The machine "dropped" was kept');

    // The store is consistent: config.json is whole and the machine lists and answers status.
    const config = machineConfig(fx.storePath, 'dropped');
    expect(config.Driver.IPAddress).toBe(ADDRESS);
    const ls = await fx.moor(['ls', '-q']);
    expect(ls.stdout.split('\n')).toContain('dropped');
    expect((await fx.moor(['status', 'dropped'])).stdout.trim()).toBe('Running');
    const leftovers = readFileSync(path.join(fx.storePath, 'machines', 'dropped', 'config.json'), 'utf8');
    expect(() => JSON.parse(leftovers)).not.toThrow();

    const again = await fx.moor(['provision', 'dropped']);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Docker is up and running!');
    expect(fx.dockerThroughEnv('dropped', DOCKER_VERSION).code).toBe(0);
    expect((await fx.host.exec('hostname')).stdout.trim()).toBe('dropped');
  });

  it('a changed host key is refused with the command to re-trust it', async () => {
    const rekey = await fx.host.exec(
      'rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh',
    );
    expect(rekey.exitCode).toBe(0);
    const run = await fx.moor(['provision', 'ready']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the host key of machine "ready" (127.0.6.20:22) has changed');
    expect(run.stderr).toContain('moor ssh-trust ready --fingerprint SHA256:');
    // nothing was changed on the host by the refused attempt: the engine still answers
    const docker = fx.dockerThroughEnv('dropped', DOCKER_VERSION);
    expect(docker.stderr).toBe('');
    expect(docker.code).toBe(0);
  });

  it('a custom --generic-engine-port is used by provisioning, env and restart', async () => {
    const run = await create('port', '--generic-engine-port', '12376');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await fx.moor(['url', 'port'])).stdout.trim()).toBe(`tcp://${ADDRESS}:12376`);
    expect(fx.dockerThroughEnv('port', `echo "$DOCKER_HOST"; ${DOCKER_VERSION}`).stdout).toContain(
      `tcp://${ADDRESS}:12376`,
    );
    // docker-machine's restart polled port 2376 whatever the engine port, and failed here
    const restart = await fx.moor(['restart', 'port']);
    expect(restart.stderr).toBe('');
    expect(restart.code).toBe(0);
    expect(fx.dockerThroughEnv('port', DOCKER_VERSION).code).toBe(0);
  });
});
