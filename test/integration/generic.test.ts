import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineGet, readEngineTls } from '../../main/docker/engine.js';
import { GENERIC_DRIVER_KEYS } from '../harness/docker-machine-shapes.js';
import { testImageTar } from '../hosts/index.js';
import { DOCKER_VERSION, genericSuite, machineConfig } from './generic-support.js';

// The generic driver's whole life on a stock Debian 12 host WITHOUT Docker (a systemd + OpenSSH
// container on its own loopback address): Docker is installed from Debian's own packages during
// `create` (--engine-install-url distro: never get.docker.com), which is the case docker-machine
// 0.16.2 failed (/usr/sbin/dockerd, socket-activated unit). The apt install takes ~30 s; it is done
// once for the whole suite, here. The tests of this file run in order and share the machine.
const ADDRESS = '127.0.5.20';
const NAME = 'gen';

const fx = genericSuite({
  prefix: 'moor-generic',
  hostName: `prov-generic-${process.pid}`,
  address: ADDRESS,
  image: 'bookworm',
});

describe('generic driver on Debian 12 without Docker', () => {
  it('create installs Docker from the distribution package and secures it with TLS', async () => {
    expect((await fx.host.exec('command -v dockerd')).exitCode).not.toBe(0);
    const run = await fx.create(NAME, {
      extra: ['--engine-label', 'spam=eggs', '--engine-env', 'TEST=VALUE'],
    });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    for (const line of [
      'Waiting for SSH to be available...',
      'Provisioning with debian (Debian GNU/Linux 12 (bookworm))...',
      "Installing Docker from the distribution's packages...",
      'Restarting engine...',
      'Checking connection to Docker...',
      'Docker is up and running!',
    ]) {
      expect(run.stdout).toContain(line);
    }
    // the output says which installation was used, without -D
    expect(run.stdout).toContain("Docker was installed from the distribution's package docker.io");

    // config.json: docker-machine's generic object, key copied into the machine dir 0600
    const config = machineConfig(fx.storePath, NAME);
    const machineDir = path.join(fx.storePath, 'machines', NAME);
    expect(Object.keys(config.Driver)).toEqual(GENERIC_DRIVER_KEYS);
    expect(config.Driver).toMatchObject({
      IPAddress: ADDRESS,
      SSHUser: 'root',
      SSHPort: 22,
      SSHKeyPath: path.join(machineDir, 'id_rsa'),
      EnginePort: 2376,
      SSHKey: fx.keyPath,
    });
    expect(statSync(path.join(machineDir, 'id_rsa')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(machineDir, 'id_rsa.pub')).mode & 0o777).toBe(0o600);
    for (const file of ['ca.pem', 'cert.pem', 'key.pem', 'server.pem', 'server-key.pem', 'known_hosts']) {
      expect(statSync(path.join(machineDir, file)).isFile()).toBe(true);
    }

    // on the host: Debian's real dockerd path, socket activation kept, hostname set
    const dropIn = (await fx.host.exec('cat /etc/systemd/system/docker.service.d/10-machine.conf')).stdout;
    expect(dropIn).toContain('ExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0:2376 -H fd:// ');
    expect(dropIn).toContain('--label spam=eggs --label provider=generic');
    expect(dropIn).toContain('Environment="TEST=VALUE"');
    expect((await fx.host.exec('hostname')).stdout.trim()).toBe(NAME);
    expect((await fx.host.exec('grep "^127.0.1.1" /etc/hosts')).stdout.trim()).toBe(`127.0.1.1 ${NAME}`);
    // nothing staged is left in the login home
    expect((await fx.host.exec('ls -A /root')).stdout).not.toContain('.moor-stage');
  });

  it('env: the real docker CLI runs a container from a locally imported image', async () => {
    const tar = await testImageTar();
    const run = fx.dockerThroughEnv(
      NAME,
      `docker load -q -i '${tar}' >/dev/null; docker run --rm moor-test/busybox echo hello-from-moor; docker info --format '{{json .Labels}}'`,
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('hello-from-moor');
    expect(run.stdout).toContain('provider=generic');
    expect(run.stdout).toContain('spam=eggs');
  });

  it('regenerate-certs --client-certs: new CA and client cert; the old client cert is refused', async () => {
    const before = machineConfig(fx.storePath, NAME).HostOptions.AuthOptions;
    const oldClient = await readEngineTls({
      caCert: before.CaCertPath,
      clientCert: before.ClientCertPath,
      clientKey: before.ClientKeyPath,
    });
    const run = await fx.moor(['regenerate-certs', '-f', '--client-certs', NAME]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Regenerating TLS certificates');
    expect(run.stdout).toContain('Docker is up and running!');
    expect(run.stdout).not.toContain('Installing Docker'); // no package work, unlike docker-machine

    const after = machineConfig(fx.storePath, NAME).HostOptions.AuthOptions;
    expect(after.CaCertPath).toBe(path.join(fx.storePath, 'machines', NAME, 'certs', 'ca.pem'));
    const fresh = await readEngineTls({
      caCert: after.CaCertPath,
      clientCert: after.ClientCertPath,
      clientKey: after.ClientKeyPath,
    });
    // The new pair works...
    await expect(engineGet(`tcp://${ADDRESS}:2376`, '/_ping', fresh, 10_000)).resolves.toBe('OK');
    // ...and the engine refuses the old client certificate (server verified with the new CA).
    await expect(
      engineGet(
        `tcp://${ADDRESS}:2376`,
        '/_ping',
        { ca: fresh.ca, cert: oldClient.cert, key: oldClient.key },
        10_000,
      ),
    ).rejects.toThrow();
    // The docker CLI through `moor env` uses the new pair.
    expect(fx.dockerThroughEnv(NAME, DOCKER_VERSION).code).toBe(0);
  });

  it('restart reboots the host over SSH and waits until it and its engine are back', async () => {
    await fx.host.exec('touch /run/moor-before-reboot'); // /run is a tmpfs: a reboot empties it
    const run = await fx.moor(['restart', NAME]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await fx.host.exec('test -e /run/moor-before-reboot')).exitCode).not.toBe(0);
    expect((await fx.moor(['status', NAME])).stdout.trim()).toBe('Running');
    expect(fx.dockerThroughEnv(NAME, DOCKER_VERSION).code).toBe(0);
  });

  it("stop, start and kill are refused with docker-machine's messages", async () => {
    const stop = await fx.moor(['stop', NAME]);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain('generic driver does not support stop');
    const kill = await fx.moor(['kill', NAME]);
    expect(kill.stderr).toContain('generic driver does not support kill');
    const start = await fx.moor(['start', NAME]);
    expect(start.stderr).toContain(`Machine "${NAME}" is already running.`);
  });

  it('upgrade upgrades the installed engine package and restarts it', async () => {
    const run = await fx.moor(['-D', 'upgrade', NAME]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('Upgrading docker.io');
    expect(run.stdout).toContain('Docker is up and running!');
  });

  it("rm --remove-engine-config removes Moor's files here and its engine config there", async () => {
    const run = await fx.moor(['rm', '-y', '--remove-engine-config', NAME]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Successfully removed ${NAME}`);
    expect(() => statSync(path.join(fx.storePath, 'machines', NAME))).toThrow();
    expect(
      (await fx.host.exec('test -e /etc/systemd/system/docker.service.d/10-machine.conf')).exitCode,
    ).not.toBe(0);
    // the distribution's own engine runs again, without the TLS listener
    expect((await fx.host.exec('systemctl is-active docker.service')).stdout.trim()).toBe('active');
    expect((await fx.host.exec('ss -Htln "sport = :2376"')).stdout.trim()).toBe('');
  });

  it('a failing --engine-install-url falls back to the distribution package, and says so', async () => {
    // Docker gone again (containerd stays: only docker.io is reinstalled); a URL on the host's own
    // loopback that refuses at once stands in for an unreachable get.docker.com (never contacted).
    const purge = await fx.host.exec('DEBIAN_FRONTEND=noninteractive apt-get purge -y -q docker.io', {
      timeoutMs: 300_000,
    });
    expect(purge.exitCode).toBe(0);
    expect((await fx.host.exec('command -v dockerd')).exitCode).not.toBe(0);
    const run = await fx.create('fallback', { debug: true, installUrl: 'http://127.0.0.1:9/install.sh' });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      "Installing Docker (http://127.0.0.1:9/install.sh, else the distribution's packages)...",
    );
    expect(run.stderr).toContain(
      'Installing Docker with the install script from http://127.0.0.1:9/install.sh',
    );
    expect(run.stderr).toContain(
      "The install script failed or installed no engine; falling back to the distribution's package",
    );
    expect(run.stdout).toContain("Docker was installed from the distribution's package docker.io");
    expect(fx.dockerThroughEnv('fallback', DOCKER_VERSION).code).toBe(0);
  });
});
