// Issue 2, item 8: a `none` machine pointing at a real TLS dockerd that uses Moor's certificates;
// `eval "$(moor env NAME)"; docker version` with the real docker CLI gets through, and the same
// without a valid client certificate is refused by the engine.
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateServerCert, serverCertHosts } from '../../main/certs/index.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { type Dockerd, startDockerd } from '../harness/dockerd.js';
import { moorCommand, runMoor, runProcess, runProcessSync } from '../harness/moor-cli.js';
import { bootstrapStoreCerts } from '../harness/store-fixtures.js';

const HOST = '127.0.2.2'; // certs/none tests own 127.0.2.x
const NAME = 'tlsbox';
/** The engine refused the client in the TLS handshake (not: unreachable, or no env at all). */
const REFUSED_IN_HANDSHAKE = /tls: (bad certificate|certificate required|unknown certificate)/;

describe('none driver against a real TLS dockerd', () => {
  const { dir, cleanup } = tempDir('moor-none-tls');
  const store = path.join(dir, 'store');
  const certs = path.join(store, 'certs');
  const engineTls = path.join(dir, 'engine-tls');
  let dockerd: Dockerd | undefined;
  let shellEnv: NodeJS.ProcessEnv;

  /** Runs a bash script with a clean docker environment; returns status and output. */
  const bash = (script: string) =>
    runProcessSync('bash', ['-c', script], { env: shellEnv, timeoutMs: 60_000 });
  const moorEnv = `eval "$(${moorCommand} -s ${store} env ${NAME})"`;

  beforeAll(async () => {
    const docker = requireCommand('docker', 'docker.io');
    requireCommand('bash', 'bash');
    shellEnv = { ...process.env };
    for (const key of Object.keys(shellEnv)) {
      if (/^(DOCKER_|MACHINE_)/.test(key) || /^(NO_PROXY|no_proxy)$/.test(key)) delete shellEnv[key];
    }
    Object.assign(shellEnv, {
      SHELL: '/bin/bash', // `env` picks the shell syntax from $SHELL, like docker-machine
      DOCKER_CONFIG: path.join(dir, 'docker-config'), // never the user's contexts or credentials
      PATH: `${path.dirname(docker)}:${process.env.PATH ?? ''}`,
    });

    // The store's CA and client certificate, and the engine's server certificate, all from Moor.
    await bootstrapStoreCerts(store);
    mkdirSync(engineTls, { recursive: true });
    await generateServerCert({
      caCert: path.join(certs, 'ca.pem'),
      caKey: path.join(certs, 'ca-key.pem'),
      serverCert: path.join(engineTls, 'server.pem'),
      serverKey: path.join(engineTls, 'server-key.pem'),
      org: 'moor.none-tls',
      hosts: serverCertHosts([], HOST),
    });
    dockerd = await startDockerd({
      host: HOST,
      tls: {
        caCert: path.join(certs, 'ca.pem'),
        serverCert: path.join(engineTls, 'server.pem'),
        serverKey: path.join(engineTls, 'server-key.pem'),
      },
    });
  });

  afterAll(async () => {
    try {
      await dockerd?.stop();
    } finally {
      cleanup();
    }
  });

  it('moor create -d none records the engine and puts the client certificates beside it', async () => {
    const { code, stdout, stderr } = await runMoor(
      ['-s', store, 'create', '-d', 'none', '--url', `tcp://${HOST}:2376`, NAME],
      { env: shellEnv },
    );
    expect(code, stderr).toBe(0);
    expect(stdout).not.toContain('Creating CA'); // the store's certificates already existed
    const machineDir = path.join(store, 'machines', NAME);
    expect(existsSync(path.join(machineDir, 'config.json'))).toBe(true);
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) {
      expect(existsSync(path.join(machineDir, file)), `${file} in the machine directory`).toBe(true);
    }
    expect(statSync(path.join(machineDir, 'key.pem')).mode & 0o777).toBe(0o600);
  });

  it('eval "$(moor env NAME)"; docker version reaches the engine over TLS', async () => {
    const env = bash(`${moorCommand} -s ${store} env ${NAME}`);
    expect(env.stderr).toBe('');
    expect(env.stdout).toContain(`export DOCKER_HOST="tcp://${HOST}:2376"`);
    expect(env.stdout).toContain('export DOCKER_TLS_VERIFY="1"');
    expect(env.stdout).toContain(`export DOCKER_CERT_PATH="${path.join(store, 'machines', NAME)}"`);

    const expected = (
      await runProcess('docker', ['version', '--format', '{{.Server.Version}}'], { env: dockerd!.socketEnv })
    ).stdout.trim();
    const result = bash(`${moorEnv}; docker version --format '{{.Server.Version}}'`);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(expected);
  });

  it('fails without a client certificate', () => {
    const caOnly = path.join(dir, 'ca-only');
    mkdirSync(caOnly, { recursive: true });
    copyFileSync(path.join(certs, 'ca.pem'), path.join(caOnly, 'ca.pem'));
    const result = bash(
      `${moorEnv}; DOCKER_CERT_PATH=${caOnly} docker version --format '{{.Server.Version}}'`,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(REFUSED_IN_HANDSHAKE);
  });

  it('fails when the server certificate is presented as a client certificate', () => {
    const serverAsClient = path.join(dir, 'server-as-client');
    mkdirSync(serverAsClient, { recursive: true });
    copyFileSync(path.join(certs, 'ca.pem'), path.join(serverAsClient, 'ca.pem'));
    copyFileSync(path.join(engineTls, 'server.pem'), path.join(serverAsClient, 'cert.pem'));
    copyFileSync(path.join(engineTls, 'server-key.pem'), path.join(serverAsClient, 'key.pem'));
    const result = bash(
      `${moorEnv}; DOCKER_CERT_PATH=${serverAsClient} docker version --format '{{.Server.Version}}'`,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(REFUSED_IN_HANDSHAKE);
  });

  it("env refuses the engine when the machine's CA did not sign its certificate, as docker does", async () => {
    // A second store has its own CA; its machine points at the same engine. Moor verifies the
    // engine's certificate itself (main/docker/engine-tls.ts), so this is that check, end to end.
    const other = path.join(dir, 'other-store');
    await bootstrapStoreCerts(other);
    const created = await runMoor(
      ['-s', other, 'create', '-d', 'none', '--url', `tcp://${HOST}:2376`, NAME],
      {
        env: shellEnv,
      },
    );
    expect(created.code, created.stderr).toBe(0);
    const env = bash(`${moorCommand} -s ${other} env ${NAME}`);
    expect(env.code).not.toBe(0);
    expect(env.stdout).toBe('');
    expect(env.stderr).toContain(
      `There was an error validating certificates for host "${HOST}:2376": x509: certificate signed by unknown authority`,
    );
    // The docker CLI (Go's crypto/x509) says the same about the same certificates.
    const docker = bash(
      `DOCKER_HOST=tcp://${HOST}:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${path.join(other, 'machines', NAME)} docker version --format '{{.Server.Version}}'`,
    );
    expect(docker.code).not.toBe(0);
    expect(docker.stderr).toContain('x509: certificate signed by unknown authority');
  });
});
