import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireCommand, tempDir } from '../harness/components.js';
import { dockerOk, startTestHost, type TestHost, testImageTar, waitForSshBanner } from '../hosts/index.js';

// The test-host infrastructure itself (test/hosts): real containers with systemd as PID 1 and OpenSSH,
// each on its own loopback address, in the dedicated test dockerd. Addresses: top of the provisioning range.
const BOOKWORM = '127.0.9.241';
const DOCKER = '127.0.9.242';
const FLATCAR = '127.0.9.243';

const keys = ssh2.utils.generateKeyPairSync('ed25519');
const otherKeys = ssh2.utils.generateKeyPairSync('ed25519');

interface SshResult {
  stdout: string;
  code: number | null;
}

/** One command over a fresh real SSH connection (ssh2), authenticated with `privateKey`. */
function sshExec(
  host: string,
  username: string,
  command: string,
  privateKey = keys.private,
): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client
      .on('ready', () => {
        client.exec(command, (err, stream) => {
          if (err) {
            client.end();
            reject(err);
            return;
          }
          let stdout = '';
          stream.on('data', (d: Buffer) => {
            stdout += d.toString();
          });
          stream.stderr.resume();
          stream.on('close', (code: number | null) => {
            client.end();
            resolve({ stdout, code });
          });
        });
      })
      .on('error', reject)
      .connect({ host, port: 22, username, privateKey, readyTimeout: 20_000 });
  });
}

function httpsGet(
  host: string,
  port: number,
  urlPath: string,
  tls: { ca: Buffer; cert: Buffer; key: Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host, port, path: urlPath, ...tls, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET https://${host}:${port}${urlPath} timed out`)));
    req.on('error', reject);
  });
}

describe('test hosts (systemd + sshd containers on their own loopback addresses)', () => {
  const hosts: TestHost[] = [];
  let bookworm: TestHost;
  let withDocker: TestHost;

  beforeAll(async () => {
    [bookworm, withDocker] = await Promise.all([
      startTestHost({ name: 'testhosts-bookworm', address: BOOKWORM, authorizedKey: keys.public }),
      startTestHost({
        name: 'testhosts-docker',
        address: DOCKER,
        image: 'bookworm-docker',
        authorizedKey: keys.public,
      }),
    ]);
    hosts.push(bookworm, withDocker);
  });

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.remove()));
  });

  it('answers SSH with the key on its own address; systemd is PID 1 and the system is running', async () => {
    expect(bookworm.address).toBe(BOOKWORM);
    expect(await waitForSshBanner(BOOKWORM)).toMatch(/^SSH-2\.0-OpenSSH_/);
    const { stdout, code } = await sshExec(
      BOOKWORM,
      'root',
      'cat /proc/1/comm; systemctl is-system-running --wait; . /etc/os-release; echo $ID $VERSION_ID',
    );
    expect(code).toBe(0);
    const [pid1, state, os] = stdout.trim().split('\n');
    expect(pid1).toBe('systemd');
    expect(['running', 'degraded']).toContain(state);
    expect(os).toBe('debian 12');
  });

  it('refuses a key that is not authorized', async () => {
    await expect(sshExec(BOOKWORM, 'root', 'true', otherKeys.private)).rejects.toThrow(/authentication/i);
  });

  it('lets provisioning change the hostname, and keeps hostname, address and host key over a power cycle', async () => {
    const before = await sshExec(
      BOOKWORM,
      'root',
      'hostnamectl set-hostname renamed-host && echo "127.0.1.1 renamed-host" >> /etc/hosts && hostname && ' +
        'sudo -n true && cat /etc/ssh/ssh_host_ed25519_key.pub',
    );
    expect(before.code).toBe(0);
    const [name, hostKey] = before.stdout.trim().split('\n');
    expect(name).toBe('renamed-host');

    await bookworm.stop();
    expect(await bookworm.state()).toBe('stopped');
    await bookworm.start();
    expect(bookworm.address).toBe(BOOKWORM);
    const after = await sshExec(BOOKWORM, 'root', 'hostname; cat /etc/ssh/ssh_host_ed25519_key.pub');
    expect(after.stdout.trim().split('\n')).toEqual(['renamed-host', hostKey]);
  });

  it('comes back by itself after a `reboot` from inside (what `moor restart` does over SSH)', async () => {
    const restarts = async () =>
      Number(await dockerOk(['inspect', '--format', '{{.RestartCount}}', bookworm.id]));
    const before = await restarts();
    await bookworm.exec('systemctl reboot');
    for (let i = 0; i < 100 && (await restarts()) === before; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await restarts()).toBe(before + 1);
    await waitForSshBanner(BOOKWORM, 22, 30_000);
    const { stdout } = await sshExec(BOOKWORM, 'root', 'hostname; systemctl is-system-running --wait');
    expect(stdout.trim().split('\n')[0]).toBe('renamed-host');
  });

  it('reaches Debian’s apt mirror but no other internet host', async () => {
    const mirror = await bookworm.exec(
      'curl -sS -o /dev/null -w "%{http_code}" http://deb.debian.org/debian/dists/bookworm/Release',
    );
    expect(mirror.stdout).toBe('200');
    // Any other destination is reset by the test dockerd's egress filter before a packet leaves.
    const other = await bookworm.exec('curl -sS --connect-timeout 10 http://203.0.113.1/');
    expect(other.exitCode).toBe(7);
  });

  it('runs Docker (bookworm-docker) under systemd, serves TLS on ADDR:2376 once configured, runs the test image', async () => {
    const active = await withDocker.exec(
      'systemctl is-active docker || (sleep 3; systemctl is-active docker)',
    );
    expect(active.stdout.trim()).toBe('active');
    // What provisioning does, in short: a server certificate and a drop-in adding a TLS listener on 2376.
    // (Plain TCP would do too, but dockerd 20.10 then sleeps 15 s on purpose.)
    const tls = tempDir('testhosts-tls');
    try {
      execFileSync(
        requireCommand('openssl', 'openssl'),
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=testhost',
          '-addext',
          `subjectAltName=IP:${DOCKER}`,
          '-keyout',
          path.join(tls.dir, 'server-key.pem'),
          '-out',
          path.join(tls.dir, 'server.pem'),
        ],
        { stdio: 'ignore' },
      );
      await withDocker.exec('mkdir -p /etc/docker');
      for (const file of ['server.pem', 'server-key.pem']) {
        await dockerOk(['cp', path.join(tls.dir, file), `${withDocker.id}:/etc/docker/${file}`]);
      }
      // Mutual TLS like Moor's: the self-signed certificate is the CA and, here, also the client's.
      const cert = readFileSync(path.join(tls.dir, 'server.pem'));
      const credentials = { ca: cert, cert, key: readFileSync(path.join(tls.dir, 'server-key.pem')) };
      const configured = await withDocker.exec(
        'mkdir -p /etc/systemd/system/docker.service.d && printf "[Service]\\nExecStart=\\n' +
          'ExecStart=/usr/sbin/dockerd -H fd:// -H tcp://0.0.0.0:2376 --tlsverify --tlscacert /etc/docker/server.pem ' +
          '--tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem\\n" ' +
          '> /etc/systemd/system/docker.service.d/10-test.conf && systemctl daemon-reload && systemctl restart docker',
      );
      expect(configured).toMatchObject({ exitCode: 0 });
      let ping = { status: 0, body: '' };
      for (let i = 0; i < 50 && ping.body !== 'OK'; i++) {
        ping = await httpsGet(DOCKER, 2376, '/_ping', credentials).catch(() => ping);
        if (ping.body !== 'OK') await new Promise((r) => setTimeout(r, 200));
      }
      expect(ping).toEqual({ status: 200, body: 'OK' });
    } finally {
      tls.cleanup();
    }

    await dockerOk(['cp', await testImageTar(), `${withDocker.id}:/tmp/test-image.tar`]);
    const run = await withDocker.exec(
      'docker load -i /tmp/test-image.tar >/dev/null && docker run --rm moor-test/busybox echo hello from inside',
    );
    expect(run.stdout.trim()).toBe('hello from inside');

    // Like a real server, the engine's images survive a power cycle (/var/lib/docker is on disk).
    await withDocker.restart();
    const again = await withDocker.exec(
      'for i in $(seq 50); do docker info >/dev/null 2>&1 && break; sleep 0.2; done; ' +
        'docker run --rm moor-test/busybox echo still here',
    );
    expect(again.stdout.trim()).toBe('still here');
  });

  it('boots a Flatcar-flavoured host: os-release says flatcar, Docker runs, no apt, user core logs in', async () => {
    const flatcar = await startTestHost({
      name: 'testhosts-flatcar',
      address: FLATCAR,
      image: 'flatcar',
      authorizedKey: keys.public,
    });
    hosts.push(flatcar);
    expect(flatcar.sshUser).toBe('core');
    const { stdout, code } = await sshExec(
      FLATCAR,
      'core',
      // Docker may still be starting on a loaded box: wait up to 60 s for it.
      '. /etc/os-release; echo $ID; command -v apt-get || echo no-apt; for i in $(seq 60); do sudo -n systemctl is-active -q docker && break; sleep 1; done; sudo -n systemctl is-active docker',
    );
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual(['flatcar', 'no-apt', 'active']);
  });
});
