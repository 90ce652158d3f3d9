import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { boot2dockerProfile, boot2dockerScript } from '../../../main/provision/boot2docker.js';
import type { EngineSettings } from '../../../main/provision/engine-config.js';
import { requireCommand, tempDir } from '../../harness/components.js';

const tmp = tempDir('moor-b2d');
afterAll(() => tmp.cleanup());

/** The engine options of the fixture store's `gen` machine (test/fixtures/docker-machine-0.16.2-store). */
const settings: EngineSettings = {
  port: 2376,
  arbitraryFlags: ['log-driver=none'],
  env: ['TEST=VALUE'],
  labels: ['spam=eggs'],
  insecureRegistries: ['registry.myco.com'],
  registryMirrors: ['https://mirror.example.com'],
  storageDriver: '',
  provider: 'virtualbox',
};

describe('boot2docker profile (docker-machine libmachine/provision/boot2docker.go GenerateDockerOptions)', () => {
  it("is docker-machine's template output, line for line", () => {
    // The template's text with the fixture's options filled in; only the env line differs (see below).
    expect(boot2dockerProfile(settings)).toBe(
      [
        '',
        "EXTRA_ARGS='",
        '--label spam=eggs',
        '--label provider=virtualbox',
        '--insecure-registry registry.myco.com',
        '--registry-mirror https://mirror.example.com',
        '--log-driver=none',
        '',
        "'",
        'CACERT=/var/lib/boot2docker/ca.pem',
        "DOCKER_HOST='-H tcp://0.0.0.0:2376'",
        'DOCKER_STORAGE=overlay2',
        'DOCKER_TLS=auto',
        'SERVERKEY=/var/lib/boot2docker/server-key.pem',
        'SERVERCERT=/var/lib/boot2docker/server.pem',
        '',
        // docker-machine: export \""TEST=VALUE"\" (a quoted name, which sh refuses).
        "export 'TEST=VALUE'",
        '',
        '',
      ].join('\n'),
    );
    const bare = boot2dockerProfile({
      ...settings,
      arbitraryFlags: [],
      env: [],
      labels: [],
      insecureRegistries: [],
      registryMirrors: [],
      storageDriver: 'aufs',
      port: 12376,
    });
    expect(bare).toBe(
      "\nEXTRA_ARGS='\n--label provider=virtualbox\n\n'\nCACERT=/var/lib/boot2docker/ca.pem\nDOCKER_HOST='-H tcp://0.0.0.0:12376'\nDOCKER_STORAGE=aufs\nDOCKER_TLS=auto\nSERVERKEY=/var/lib/boot2docker/server-key.pem\nSERVERCERT=/var/lib/boot2docker/server.pem\n\n\n",
    );
  });

  it('sources in sh with the values docker-machine meant', () => {
    const sh = requireCommand('sh', 'dash');
    const file = path.join(tmp.dir, 'profile');
    writeFileSync(file, boot2dockerProfile(settings));
    const out = execFileSync(
      sh,
      [
        '-c',
        `. "${file}"; printf '%s|%s|%s\\n' "$DOCKER_HOST" "$DOCKER_STORAGE" "$TEST"; printf '%s' "$EXTRA_ARGS"`,
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(out).toBe(
      '-H tcp://0.0.0.0:2376|overlay2|VALUE\n\n--label spam=eggs\n--label provider=virtualbox\n--insecure-registry registry.myco.com\n--registry-mirror https://mirror.example.com\n--log-driver=none\n\n',
    );
  });
});

describe('boot2docker configure script', () => {
  const files = {
    ca: 'CA\n',
    serverCert: 'CERT\n',
    serverKey: 'KEY MOOR_EOF\n',
    profile: boot2dockerProfile(settings),
  };

  it('is valid sh that writes each file beside its target, then renames it', () => {
    const script = boot2dockerScript({ files, hostname: 'default', port: 2376 });
    execFileSync(requireCommand('sh', 'dash'), ['-n'], { input: script });
    expect(script).toContain("/usr/bin/sethostname 'default'");
    expect(script).toContain(
      "cat > /var/lib/boot2docker/server-key.pem.moor-new <<'MOOR_EOF_'\nKEY MOOR_EOF\nMOOR_EOF_\nchmod 0600 /var/lib/boot2docker/server-key.pem.moor-new && mv -f /var/lib/boot2docker/server-key.pem.moor-new /var/lib/boot2docker/server-key.pem",
    );
    expect(script.indexOf('/etc/init.d/docker stop')).toBeLessThan(
      script.indexOf('cat > /var/lib/boot2docker/ca.pem'),
    );
    expect(script.indexOf('mv -f /var/lib/boot2docker/profile.moor-new')).toBeLessThan(
      script.indexOf('/etc/init.d/docker start'),
    );
  });

  it('leaves the hostname alone for regenerate-certs', () => {
    expect(boot2dockerScript({ files, port: 2376 })).not.toContain('sethostname');
  });
});
