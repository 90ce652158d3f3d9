// The TLS dockerd harness itself: two instances side by side (each with its own managed
// containerd) do not clash, and stop() leaves no process and no directory behind.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapCertificates, generateServerCert, serverCertHosts } from '../../main/certs/index.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { type Dockerd, startDockerd } from '../harness/dockerd.js';

const run = promisify(execFile);
const HOSTS = ['127.0.2.3', '127.0.2.4'];

/** PIDs of running processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('dockerd test harness', () => {
  const { dir, cleanup } = tempDir('moor-dockerd-harness');
  const certs = path.join(dir, 'certs');
  const daemons: Dockerd[] = [];
  let docker: string;

  const tlsVersion = (d: Dockerd) =>
    run(
      docker,
      [
        '--tlsverify',
        '--tlscacert',
        path.join(certs, 'ca.pem'),
        '--tlscert',
        path.join(certs, 'cert.pem'),
        '--tlskey',
        path.join(certs, 'key.pem'),
        '-H',
        d.url,
        'info',
        '--format',
        '{{.DockerRootDir}}',
      ],
      { env: { ...d.socketEnv, DOCKER_HOST: '' } },
    ).then((r) => r.stdout.trim());

  beforeAll(async () => {
    docker = requireCommand('docker', 'docker.io');
    const paths = {
      caCert: path.join(certs, 'ca.pem'),
      caKey: path.join(certs, 'ca-key.pem'),
      clientCert: path.join(certs, 'cert.pem'),
      clientKey: path.join(certs, 'key.pem'),
    };
    await bootstrapCertificates(paths);
    for (const host of HOSTS) {
      mkdirSync(path.join(dir, host), { recursive: true });
      await generateServerCert({
        caCert: paths.caCert,
        caKey: paths.caKey,
        serverCert: path.join(dir, host, 'server.pem'),
        serverKey: path.join(dir, host, 'server-key.pem'),
        org: `moor.${host}`,
        hosts: serverCertHosts([], host),
      });
    }
    const started = await Promise.allSettled(
      HOSTS.map((host) =>
        startDockerd({
          host,
          tls: {
            caCert: paths.caCert,
            serverCert: path.join(dir, host, 'server.pem'),
            serverKey: path.join(dir, host, 'server-key.pem'),
          },
        }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') daemons.push(result.value);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  });

  afterAll(async () => {
    try {
      await Promise.all(daemons.map((d) => d.stop()));
    } finally {
      cleanup();
    }
  });

  it('runs two TLS engines side by side, each with its own data root', async () => {
    const [a, b] = daemons as [Dockerd, Dockerd];
    expect(await tlsVersion(a)).toBe(path.join(a.dir, 'data'));
    expect(await tlsVersion(b)).toBe(path.join(b.dir, 'data'));
  });

  it('refuses the TLS port to a client without a certificate', async () => {
    const [a] = daemons as [Dockerd];
    await expect(
      run(docker, ['--tlsverify', '--tlscacert', path.join(certs, 'ca.pem'), '-H', a.url, 'version'], {
        env: { ...a.socketEnv, DOCKER_HOST: '', DOCKER_CERT_PATH: path.join(dir, 'nothing-here') },
      }),
    ).rejects.toThrow(/tls: (bad certificate|certificate required|unknown certificate)/);
  });

  it('reports a dockerd that cannot start, with its log, and leaves no process behind', async () => {
    const missingKey = path.join(dir, 'no-such-key.pem');
    await expect(
      startDockerd({
        host: '127.0.2.5',
        tls: {
          caCert: path.join(certs, 'ca.pem'),
          serverCert: path.join(certs, 'cert.pem'),
          serverKey: missingKey,
        },
      }),
    ).rejects.toThrow(/dockerd exited before answering \/_ping:[\s\S]*no-such-key\.pem/);
    expect(processesMentioning(missingKey)).toEqual([]);
  });

  it('stop() ends dockerd and its containerd and removes the directories', async () => {
    const b = daemons.pop() as Dockerd;
    expect(processesMentioning(b.dir).length).toBeGreaterThanOrEqual(2); // dockerd + containerd
    await b.stop();
    expect(processesMentioning(b.dir)).toEqual([]);
    expect(existsSync(b.dir)).toBe(false);
    // The other engine is unaffected.
    const [a] = daemons as [Dockerd];
    expect(await tlsVersion(a)).toBe(path.join(a.dir, 'data'));
  });
});
