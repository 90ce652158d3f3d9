// Issue 4: one-click active host through Docker contexts, checked with the real docker CLI
// against two real TLS dockerds (engines "alpha" and "beta" on 127.0.3.1 and 127.0.3.2, told
// apart by a daemon label). `docker` runs with no flags, no DOCKER_HOST/DOCKER_CONTEXT, and its
// own DOCKER_CONFIG: only the current context decides where it goes.
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressReporter } from '../../main/base/progress.js';
import { generateServerCert, serverCertHosts } from '../../main/certs/index.js';
import { createMachine } from '../../main/core/create.js';
import { removeMachine } from '../../main/core/remove.js';
import { ContextLayout } from '../../main/docker/contexts/layout.js';
import { type ActiveHostState, ContextWatcher } from '../../main/docker/contexts/watcher.js';
import { Store } from '../../main/store/store.js';
import { requireCommand, tempDir } from '../harness/components.js';
import { type Dockerd, startDockerd } from '../harness/dockerd.js';
import { moorBin, runProcessSync } from '../harness/moor-cli.js';
import { bootstrapStoreCerts } from '../harness/store-fixtures.js';

const ENGINES = [
  { machine: 'alpha', host: '127.0.3.1' }, // contexts tests own 127.0.3.x
  { machine: 'beta', host: '127.0.3.2' },
] as const;
const LABEL = 'moor.test.engine';

/** A config.json as a user has it: credentials, a helper, formats, a key the CLI does not know. */
const USER_CONFIG = `{
  "auths": {
    "registry.example.com": {
      "auth": "dXNlcjpzZWNyZXQ="
    }
  },
  "credsStore": "moor-test-none",
  "psFormat": "table {{.ID}}\\t{{.Names}}",
  "detachKeys": "ctrl-x,x",
  "x-unknown-to-docker": {"keep": [1, 2, 3]}
}
`;

describe('Docker contexts with the real docker CLI and two TLS engines', () => {
  const { dir, cleanup } = tempDir('moor-contexts');
  const storePath = path.join(dir, 'store');
  const dockerConfig = path.join(dir, 'docker-config');
  const layout = new ContextLayout(dockerConfig);
  const engines: Dockerd[] = [];
  let docker: string;
  let cleanEnv: NodeJS.ProcessEnv;
  const warnings: string[] = [];

  const runIn = (cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
    runProcessSync(cmd, args, { env: { ...cleanEnv, ...extra }, timeoutMs: 60_000 });
  const moor = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    runIn(process.execPath, [moorBin, ...args], { MACHINE_STORAGE_PATH: storePath, ...extra });
  const dockerCli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runIn(docker, args, extra);
  /** The current context as the docker CLI resolves it (`context show` is missing from docker 20.10). */
  const dockerContext = () => dockerCli(['context', 'inspect', '--format', '{{.Name}}']).stdout.trim();
  /** stdout of a moor command that must succeed (its stderr is the failure message). */
  const moorOut = (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const r = moor(args, extra);
    expect(r.code, `moor ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout.trim();
  };
  /** Which engine `docker info` (no flags) reaches: its label, or null when it reaches none. */
  const engineReached = (extra: NodeJS.ProcessEnv = {}) => {
    const r = dockerCli(['info', '--format', '{{json .Labels}}'], extra);
    if (r.code !== 0) return { engine: null, stderr: r.stderr };
    const labels = JSON.parse(r.stdout) as string[];
    const label = labels.find((l) => l.startsWith(`${LABEL}=`));
    return { engine: label ? label.slice(LABEL.length + 1) : 'other', stderr: r.stderr };
  };

  beforeAll(async () => {
    docker = requireCommand('docker', 'docker.io');
    cleanEnv = { ...process.env };
    for (const key of Object.keys(cleanEnv)) if (/^(DOCKER_|MACHINE_|MOOR_)/.test(key)) delete cleanEnv[key];
    cleanEnv.DOCKER_CONFIG = dockerConfig;

    // Moor creates the store's CA and client certificate on the first create; the engines need
    // their server certificates before that, so bootstrap the store the same way up front.
    const paths = await bootstrapStoreCerts(storePath);
    const started = await Promise.allSettled(
      ENGINES.map(async ({ machine, host }) => {
        const tls = path.join(dir, `engine-${machine}`);
        mkdirSync(tls, { recursive: true });
        await generateServerCert({
          caCert: paths.caCert,
          caKey: paths.caKey,
          serverCert: path.join(tls, 'server.pem'),
          serverKey: path.join(tls, 'server-key.pem'),
          org: `moor.${machine}`,
          hosts: serverCertHosts([], host),
        });
        const engine = await startDockerd({
          host,
          tls: {
            caCert: paths.caCert,
            serverCert: path.join(tls, 'server.pem'),
            serverKey: path.join(tls, 'server-key.pem'),
          },
          extraArgs: ['--label', `${LABEL}=${machine}`],
        });
        engines.push(engine);
      }),
    );
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;

    // The user's docker setup before Moor: their own config.json and two contexts of their own,
    // one of them named like a machine Moor is about to create.
    mkdirSync(dockerConfig, { mode: 0o700 });
    for (const [name, host] of [
      ['alpha', 'tcp://127.0.3.250:2376'],
      ['unrelated', 'tcp://127.0.3.251:2376'],
    ]) {
      const r = dockerCli([
        'context',
        'create',
        name!,
        '--description',
        'made by the user',
        '--docker',
        `host=${host}`,
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    writeFileSync(layout.configFile, USER_CONFIG, { mode: 0o600 });
  });

  afterAll(async () => {
    try {
      await Promise.allSettled(engines.map((e) => e.stop()));
    } finally {
      cleanup();
    }
  });

  const foreignMeta = () => ({
    alpha: readFileSync(layout.metaFile('alpha')),
    unrelated: readFileSync(layout.metaFile('unrelated')),
  });
  let foreignBefore: ReturnType<typeof foreignMeta>;

  it('create makes a context per machine; a clash with a foreign context gets the prefix', async () => {
    foreignBefore = foreignMeta();
    const store = new Store(storePath);
    for (const { machine, host } of ENGINES) {
      await createMachine({
        store,
        name: machine,
        driverName: 'none',
        flagValues: { url: `tcp://${host}:2376` },
        progress: progressReporter(machine, (e) => {
          if (e.level === 'warn') warnings.push(e.message);
        }),
        env: cleanEnv,
      });
    }
    expect(warnings).toEqual([
      'Docker context "alpha" already exists and was not created by Moor: machine "alpha" uses the context "moor-alpha"',
    ]);
    const ls = dockerCli(['context', 'ls', '--format', '{{.Name}} {{.DockerEndpoint}}']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.trim().split('\n').sort()).toEqual([
      'alpha tcp://127.0.3.250:2376',
      'beta tcp://127.0.3.2:2376',
      'default unix:///var/run/docker.sock',
      'moor-alpha tcp://127.0.3.1:2376',
      'unrelated tcp://127.0.3.251:2376',
    ]);
    const inspect = dockerCli(['context', 'inspect', 'beta', '--format', '{{json .}}']);
    const meta = JSON.parse(inspect.stdout);
    expect(meta.Metadata).toEqual({
      Description: 'Moor machine "beta" (none)',
      Moor: { Machine: 'beta', StorePath: storePath },
    });
    expect(meta.TLSMaterial).toEqual({ docker: ['ca.pem', 'cert.pem', 'key.pem'] });
    expect(foreignMeta()).toEqual(foreignBefore);
    expect(readFileSync(layout.configFile, 'utf8')).toBe(USER_CONFIG); // creating never switches
  });

  it('moor use alpha / beta / --default: plain `docker info` follows, over TLS', () => {
    const before = engineReached();
    expect(before.engine).toBeNull(); // the default context: no local engine socket here

    const useAlpha = moor(['use', 'alpha']);
    expect(useAlpha.code, useAlpha.stderr).toBe(0);
    expect(useAlpha.stdout).toBe('Active host is now "alpha" (Docker context "moor-alpha")\n');
    expect(engineReached().engine).toBe('alpha');
    expect(dockerContext()).toBe('moor-alpha');
    const version = dockerCli(['version', '--format', '{{.Server.Os}}']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe('linux');
    expect(moorOut(['active'])).toBe('alpha');
    expect(moorOut(['ls', '--format', '{{.Name}} {{.Active}}'])).toBe('alpha *\nbeta -');

    // Only currentContext was added; every other byte of the user's file is as it was.
    expect(readFileSync(layout.configFile, 'utf8')).toBe(
      USER_CONFIG.replace('[1, 2, 3]}\n}\n', '[1, 2, 3]},\n  "currentContext": "moor-alpha"\n}\n'),
    );
    expect(statSync(layout.configFile).mode & 0o777).toBe(0o600);

    const useBeta = moor(['use', 'beta']);
    expect(useBeta.code, useBeta.stderr).toBe(0);
    expect(useBeta.stdout).toBe('Active host is now "beta"\n');
    expect(engineReached().engine).toBe('beta');
    expect(moorOut(['active'])).toBe('beta');

    const useDefault = moor(['use', '--default']);
    expect(useDefault.code, useDefault.stderr).toBe(0);
    expect(engineReached().engine).toBeNull();
    expect(readFileSync(layout.configFile, 'utf8')).toBe(USER_CONFIG);
    expect(foreignMeta()).toEqual(foreignBefore);
  });

  it('warns when DOCKER_HOST or DOCKER_CONTEXT overrides the switch in this shell', () => {
    const overridden = moor(['use', 'alpha'], {
      DOCKER_HOST: engines.find((e) => e.host === '127.0.3.2')!.url,
    });
    expect(overridden.code).toBe(0);
    expect(overridden.stderr).toMatch(
      /^Warning: DOCKER_HOST environment variable overrides the active context\./m,
    );
    expect(engineReached().engine).toBe('alpha'); // other terminals follow
    const viaContext = moor(['use', 'alpha'], { DOCKER_CONTEXT: 'beta' });
    expect(viaContext.stderr).toMatch(/^Warning: DOCKER_CONTEXT environment variable overrides/m);
    expect(engineReached({ DOCKER_CONTEXT: 'beta' }).engine).toBe('beta');
    expect(moorOut(['active'], { DOCKER_CONTEXT: 'beta' })).toBe('beta');
    moorOut(['use', '--default']);
  });

  it('follows a symlinked config.json, and refuses a corrupt one without touching it', () => {
    const linked = path.join(dir, 'linked-config');
    const dotfiles = path.join(dir, 'dotfiles');
    mkdirSync(dotfiles);
    const target = path.join(dotfiles, 'docker.json');
    writeFileSync(target, USER_CONFIG, { mode: 0o600 });
    // Another config dir, empty but for the link: `moor use` writes beta's context there too.
    mkdirSync(linked, { mode: 0o700 });
    symlinkSync(target, path.join(linked, 'config.json'));
    const env = { DOCKER_CONFIG: linked };
    const use = moor(['use', 'beta'], env);
    expect(use.code, use.stderr).toBe(0);
    expect(lstatSync(path.join(linked, 'config.json')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(linked, 'config.json'))).toBe(target);
    expect(readFileSync(target, 'utf8')).toContain('"currentContext": "beta"');
    expect(engineReached(env).engine).toBe('beta');

    const broken = path.join(dir, 'broken-config');
    mkdirSync(broken, { mode: 0o700 });
    const corrupt = '{\n  "auths": {\n    "registry.example.com": {\n';
    writeFileSync(path.join(broken, 'config.json'), corrupt, { mode: 0o600 });
    const refused = moor(['use', 'beta'], { DOCKER_CONFIG: broken });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `Docker config file ${path.join(broken, 'config.json')} is not valid JSON`,
    );
    expect(refused.stderr).toContain('Moor did not change it');
    expect(readFileSync(path.join(broken, 'config.json'), 'utf8')).toBe(corrupt);
  });

  it('the watcher reports `docker context use` run by the user, and never switches by itself', async () => {
    const events: ActiveHostState[] = [];
    const watcher = new ContextWatcher({ layout, storePath, pollMs: 0, debounceMs: 30 });
    watcher.onChange((s) => events.push(s));
    try {
      expect(await watcher.start()).toMatchObject({ machine: null, context: 'default' });
      const before = readFileSync(layout.configFile);
      await new Promise((r) => setTimeout(r, 200));
      expect(readFileSync(layout.configFile)).toEqual(before);

      expect(dockerCli(['context', 'use', 'moor-alpha']).code).toBe(0);
      const deadline = Date.now() + 10_000;
      while (!events.some((e) => e.machine === 'alpha') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(events.at(-1)).toMatchObject({
        machine: 'alpha',
        context: 'moor-alpha',
        host: 'tcp://127.0.3.1:2376',
      });
      expect(dockerCli(['context', 'use', 'unrelated']).code).toBe(0);
      while (events.at(-1)?.context !== 'unrelated' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(events.at(-1)).toMatchObject({ machine: null, context: 'unrelated' });
    } finally {
      watcher.close();
    }
  });

  it('moor create / moor rm keep the contexts in step', () => {
    const url = engines.find((e) => e.host === '127.0.3.2')!.url;
    const create = moor(['create', '-d', 'none', '--url', url, 'gamma']);
    expect(create.code, create.stderr).toBe(0);
    const names = () => dockerCli(['context', 'ls', '--format', '{{.Name}}']).stdout.trim().split('\n');
    expect(names()).toContain('gamma');
    moorOut(['use', 'gamma']);
    expect(engineReached().engine).toBe('beta'); // gamma is another name for beta's engine
    const rm = moor(['rm', '-y', 'gamma']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stderr).toContain(
      '"gamma" was the current Docker context: docker now uses the default context',
    );
    expect(names()).not.toContain('gamma');
    expect(dockerContext()).toBe('default');
  });

  it('rm removes only Moor’s context, and switches back to default if it was current', async () => {
    moorOut(['use', 'alpha']);
    const store = new Store(storePath);
    const rmWarnings: string[] = [];
    const result = await removeMachine('alpha', {
      store,
      env: cleanEnv,
      progress: progressReporter('alpha', (e) => {
        if (e.level === 'warn') rmWarnings.push(e.message);
      }),
    });
    expect(result.removed).toBe(true);
    expect(rmWarnings).toEqual([
      '"moor-alpha" was the current Docker context: docker now uses the default context',
    ]);
    expect(dockerContext()).toBe('default');
    const names = dockerCli(['context', 'ls', '--format', '{{.Name}}']).stdout.trim().split('\n').sort();
    expect(names).toEqual(['alpha', 'beta', 'default', 'unrelated']);
    expect(readFileSync(layout.metaFile('alpha'))).toEqual(foreignBefore.alpha);
    expect(readdirSync(layout.tlsRoot)).toHaveLength(1); // beta's only
  });
});
