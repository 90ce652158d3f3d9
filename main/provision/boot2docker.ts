/**
 * boot2docker guests (docker-machine's VirtualBox machines): Docker is on the ISO and reads its
 * settings from /var/lib/boot2docker/profile, which survives reboots on the VM's disk; there is
 * no systemd. docker-machine's libmachine/provision/boot2docker.go and ConfigureAuth, as scripts.
 */
import type { EngineSettings } from './engine-config.js';
import { shellQuote } from './scripts.js';

export const BOOT2DOCKER_DIR = '/var/lib/boot2docker';
export const BOOT2DOCKER_CA = `${BOOT2DOCKER_DIR}/ca.pem`;
export const BOOT2DOCKER_SERVER_CERT = `${BOOT2DOCKER_DIR}/server.pem`;
export const BOOT2DOCKER_SERVER_KEY = `${BOOT2DOCKER_DIR}/server-key.pem`;
export const BOOT2DOCKER_PROFILE = `${BOOT2DOCKER_DIR}/profile`;

/**
 * The profile docker-machine writes (GenerateDockerOptions' template, line for line): engine
 * flags in EXTRA_ARGS, TLS on the engine port, overlay2 unless --engine-storage-driver says
 * otherwise. --engine-env lines are shell-quoted (docker-machine's `export \"…\"` was not valid sh).
 */
export function boot2dockerProfile(s: EngineSettings): string {
  const labels = [...s.labels, `provider=${s.provider}`];
  const extra = [
    ...labels.map((l) => `--label ${l}`),
    ...s.insecureRegistries.map((r) => `--insecure-registry ${r}`),
    ...s.registryMirrors.map((m) => `--registry-mirror ${m}`),
    ...s.arbitraryFlags.map((f) => `--${f}`),
  ];
  return [
    '',
    "EXTRA_ARGS='",
    ...extra,
    '',
    "'",
    `CACERT=${BOOT2DOCKER_CA}`,
    `DOCKER_HOST='-H tcp://0.0.0.0:${s.port}'`,
    `DOCKER_STORAGE=${s.storageDriver || 'overlay2'}`,
    'DOCKER_TLS=auto',
    `SERVERKEY=${BOOT2DOCKER_SERVER_KEY}`,
    `SERVERCERT=${BOOT2DOCKER_SERVER_CERT}`,
    '',
    ...s.env.map((e) => `export ${shellQuote(e)}`),
    '',
    '',
  ].join('\n');
}

export interface Boot2DockerFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  profile: string;
}

/**
 * Run as root (`sudo sh -s`, the script on stdin so no key is on a command line): the hostname
 * (create only), Docker stopped, the certificates and the profile written, Docker started and
 * waited for on its port. Each file is written beside its target and renamed, so an interrupted
 * run never leaves a half-written key or profile.
 */
export function boot2dockerScript(o: { files: Boot2DockerFiles; hostname?: string; port: number }): string {
  const write = (target: string, content: string, mode: string) => {
    let eof = 'MOOR_EOF';
    while (content.includes(eof)) eof += '_';
    return [
      `cat > ${target}.moor-new <<'${eof}'`,
      content.endsWith('\n') ? content.slice(0, -1) : content,
      eof,
      `chmod ${mode} ${target}.moor-new && mv -f ${target}.moor-new ${target}`,
    ].join('\n');
  };
  const lines = ['set -e'];
  if (o.hostname) {
    const name = shellQuote(o.hostname);
    lines.push(
      'echo "@@step Setting hostname"',
      `/usr/bin/sethostname ${name}`,
      `mkdir -p ${BOOT2DOCKER_DIR}/etc && echo ${name} > ${BOOT2DOCKER_DIR}/etc/hostname`,
    );
  }
  lines.push(
    'echo "@@step Copying certs to the remote machine"',
    '/etc/init.d/docker stop >/dev/null 2>&1 || true',
    `mkdir -p ${BOOT2DOCKER_DIR}`,
    write(BOOT2DOCKER_CA, o.files.ca, '0644'),
    write(BOOT2DOCKER_SERVER_CERT, o.files.serverCert, '0644'),
    write(BOOT2DOCKER_SERVER_KEY, o.files.serverKey, '0600'),
    write(BOOT2DOCKER_PROFILE, o.files.profile, '0644'),
    'echo "@@step Starting Docker"',
    '/etc/init.d/docker start',
    // The init script returns before dockerd listens: wait for the port, as docker-machine did.
    `i=0; while ! (netstat -ltn 2>/dev/null || ss -ltn) | grep -q ':${o.port} '; do`,
    `  i=$((i+1)); if [ $i -ge 60 ]; then echo "@@fail dockerd is not listening on port ${o.port}"; exit 42; fi; sleep 1`,
    'done',
  );
  return `${lines.join('\n')}\n`;
}
