/**
 * Swarm mode across real machines: four systemd test hosts with Debian's docker.io, created with the
 * generic driver by the real `moor` binary; the real docker CLI through Moor's contexts. The test
 * hosts reach each other on the test bridge (10.213.77.0/24), not on the loopback addresses Moor
 * uses, so every join exercises the advertise-address choice.
 *
 * This kernel has no IPVS and no ESP: the ingress routing mesh, service VIPs and encrypted overlays
 * cannot work here. The stack therefore uses `endpoint_mode: dnsrr` and host-mode ports.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genericCreateArgs, runProcessSync } from '../harness/moor-cli.js';
import { startTestHost, type TestHost, testImageTar } from '../hosts/index.js';
import { genericFixture } from './generic-support.js';

const HOSTS = [
  { name: 'mgr', address: '127.0.46.11' },
  { name: 'w1', address: '127.0.46.12' },
  { name: 'w2', address: '127.0.46.13' },
  { name: 'mgr2', address: '127.0.46.14' },
] as const;
const WEB_PORT = 8081;

const fx = genericFixture('moor-swarm-');
const hosts = new Map<string, TestHost>();

/** The real docker CLI with the test's own config dir (HOME), through a context or `moor use`. */
function docker(args: string[], timeoutMs = 120_000) {
  return runProcessSync('docker', args, { env: fx.env(), timeoutMs });
}

function create(name: string, extra: string[] = []) {
  const { address } = HOSTS.find((h) => h.name === name)!;
  return fx.moor(genericCreateArgs(name, address, fx.keyPath, { installUrl: null, extra }));
}

beforeAll(async () => {
  await Promise.all(
    HOSTS.map(async (h) => {
      const host = await startTestHost({
        name: `tswarm-${h.name}`,
        address: h.address,
        image: 'bookworm-docker',
        authorizedKey: fx.publicKey,
        hostname: h.name,
        extraPorts: [WEB_PORT],
      });
      hosts.set(h.name, host);
    }),
  );
  for (const name of ['mgr', 'w1', 'w2']) {
    const run = await create(name);
    expect(run.code, run.stderr).toBe(0);
  }
});

afterAll(async () => {
  await Promise.all([...hosts.values()].map((h) => h.remove()));
  fx.cleanup();
});

describe('moor swarm', () => {
  it('join before init explains how to start a swarm', async () => {
    const run = await fx.moor(['swarm', 'join', '--manager', 'mgr', 'w1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('"mgr" is not a swarm manager: run "moor swarm init mgr" first');
  });

  it('init advertises the address the nodes reach each other on, not the one Moor uses', async () => {
    const run = await fx.moor(['swarm', 'init', 'mgr']);
    expect(run.code, run.stderr).toBe(0);
    const bridgeAddress = (
      await hosts.get('mgr')!.exec("ip -4 -o addr show dev eth0 | awk '{print $4}'")
    ).stdout
      .trim()
      .split('/')[0]!;
    expect(run.stdout).toContain(`advertised at ${bridgeAddress} (default route)`);
    expect(run.stdout).not.toContain('127.0.46.11');
    const again = await fx.moor(['swarm', 'init', 'mgr']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('"mgr" is already a swarm manager');
  });

  it('a node that cannot reach the manager is told which address and port, without waiting for a timeout', async () => {
    const w1 = hosts.get('w1')!;
    const mgrAddress = (await hosts.get('mgr')!.exec("ip -4 -o addr show dev eth0 | awk '{print $4}'")).stdout
      .trim()
      .split('/')[0]!;
    await w1.exec(`ip route add blackhole ${mgrAddress}/32`);
    try {
      const started = Date.now();
      const run = await fx.moor(['swarm', 'join', '--manager', 'mgr', 'w1']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`"w1" cannot reach the swarm manager "mgr" at ${mgrAddress}:2377 (TCP)`);
      expect(run.stderr).toContain('TCP 2377');
      expect(run.stderr).toContain('UDP 4789');
      expect(Date.now() - started).toBeLessThan(30_000); // the engine's own join would wait a minute
    } finally {
      await w1.exec(`ip route del blackhole ${mgrAddress}/32`);
    }
  });

  it('joins two workers, and a new machine as a second manager with create --swarm-join', async () => {
    const join = await fx.moor(['swarm', 'join', '--manager', 'mgr', 'w1', 'w2']);
    expect(join.code, join.stderr).toBe(0);
    expect(join.stdout).toContain('"w1" joined the swarm of "mgr" as a worker.');
    expect(join.stdout).toContain('"w2" joined the swarm of "mgr" as a worker.');

    const created = await create('mgr2', ['--swarm-join', 'mgr', '--swarm-role', 'manager']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('"mgr2" joined the swarm of "mgr" as a manager.');

    const ls = await fx.moor(['swarm', 'ls']);
    expect(ls.code, ls.stderr).toBe(0);
    const rows = ls.stdout.split('\n').filter((l) => /^(mgr|mgr2|w1|w2)\s/.test(l));
    expect(rows).toHaveLength(4);
    expect(rows.find((r) => r.startsWith('mgr '))).toMatch(/^mgr\s+manager\s+ready\s+active\s+Leader\s+20\./);
    expect(rows.find((r) => r.startsWith('mgr2 '))).toMatch(/manager\s+ready\s+active\s+Reachable/);
    expect(rows.find((r) => r.startsWith('w1 '))).toMatch(/worker\s+ready\s+active\s/);
    // The join token was never printed.
    expect(join.stdout + join.stderr + created.stdout + ls.stdout).not.toMatch(/SWMTKN-/);
  });

  it('the manager context is the cluster: docker node ls and a stack with an overlay network', async () => {
    const use = await fx.moor(['use', 'mgr']);
    expect(use.code, use.stderr).toBe(0);
    const nodes = docker(['node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}']);
    expect(nodes.code, nodes.stderr).toBe(0);
    expect(nodes.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'mgr Leader',
      'mgr2 Reachable',
      'w1 ',
      'w2 ',
    ]);

    // No registry here: every node gets the image from a local tar, and the stack never resolves it.
    const tar = await testImageTar();
    for (const h of HOSTS) {
      const load = docker(['--context', h.name, 'load', '-i', tar]);
      expect(load.code, load.stderr).toBe(0);
    }
    const compose = path.join(fx.dir, 'stack.yml');
    writeFileSync(
      compose,
      `version: "3.8"
services:
  web:
    image: moor-test/busybox:latest
    hostname: "{{.Node.Hostname}}"
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec busybox httpd -f -p 8080 -h /www"]
    networks: [backend]
    ports:
      - { target: 8080, published: ${WEB_PORT}, protocol: tcp, mode: host }
    deploy:
      mode: global
      endpoint_mode: dnsrr
networks:
  backend:
    driver: overlay
`,
    );
    const deploy = docker(['stack', 'deploy', '--resolve-image', 'never', '-c', compose, 'st']);
    expect(deploy.code, deploy.stderr).toBe(0);

    // Host-mode ports: every node answers on its own address with its own hostname.
    await expect
      .poll(() => fetchAll(), { timeout: 90_000, interval: 1_000 })
      .toEqual(HOSTS.map((h) => h.name));

    // The overlay: the task on w1 resolves every task of the service (one per node) on the backend
    // network through the swarm's service discovery, and reaches each of them over VXLAN.
    const container = docker([
      '--context',
      'w1',
      'ps',
      '-q',
      '--filter',
      'label=com.docker.swarm.service.name=st_web',
    ]).stdout.trim();
    expect(container).not.toBe('');
    await expect
      .poll(
        () => {
          const run = docker(['--context', 'w1', 'exec', container, 'busybox', 'nslookup', 'tasks.web']);
          return run.stdout.split('\n').filter((l) => /^Address:\s*10\./.test(l)).length;
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toBe(HOSTS.length);
    const lookup = docker(['--context', 'w1', 'exec', container, 'busybox', 'nslookup', 'tasks.web']).stdout;
    const taskAddresses = [...lookup.matchAll(/^Address:\s*(10\.[0-9.]+)/gm)].map((m) => m[1]!);
    // busybox nc, not wget: this image's busybox wget crashes (SIGSEGV) on any URL.
    const answers = taskAddresses.map((ip) => {
      const get = docker([
        '--context',
        'w1',
        'exec',
        container,
        'sh',
        '-c',
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 ${ip} 8080 | tail -n 1`,
      ]);
      expect(get.code, `${ip}: ${get.stderr}`).toBe(0);
      return get.stdout.trim();
    });
    // Each task answers with its node's hostname: traffic crossed to every other node.
    expect(answers.sort()).toEqual(HOSTS.map((h) => h.name).sort());
  });

  it('leave drains a worker first; leave of a manager demotes it; the swarm goes on', async () => {
    const leave = await fx.moor(['swarm', 'leave', 'w2']);
    expect(leave.code, leave.stderr).toBe(0);
    expect(leave.stdout).toContain('Draining "w2"');
    expect(leave.stdout).toContain('"w2" left the swarm.');

    const demote = await fx.moor(['swarm', 'leave', 'mgr2']);
    expect(demote.code, demote.stderr).toBe(0);
    expect(demote.stdout).toContain('Demoting "mgr2" to a worker...');

    const nodes = docker(['node', 'ls', '--format', '{{.Hostname}}']);
    expect(nodes.stdout.split('\n').filter(Boolean).sort()).toEqual(['mgr', 'w1']);
    // The global service still runs where nodes remain.
    await expect.poll(() => fetchOne('mgr'), { timeout: 30_000 }).toBe('mgr');
  });

  it('rm of a node leaves the swarm and is removed from the manager; the last manager needs --force', async () => {
    const rm = await fx.moor(['rm', '-y', 'w1']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain('Successfully removed w1');
    const nodes = docker(['node', 'ls', '--format', '{{.Hostname}}']);
    expect(nodes.stdout.trim()).toBe('mgr');
    const w1Info = await hosts.get('w1')!.exec('docker info --format "{{.Swarm.LocalNodeState}}"');
    expect(w1Info.stdout.trim()).toBe('inactive');

    // Nodes Moor joined by hand are not listed as machines: join w2 again, then refuse mgr's leave.
    const join = await fx.moor(['swarm', 'join', '--manager', 'mgr', 'w2']);
    expect(join.code, join.stderr).toBe(0);
    const refused = await fx.moor(['swarm', 'leave', 'mgr']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('"mgr" is the only swarm manager Moor knows of');
    const forced = await fx.moor(['swarm', 'leave', '--force', 'mgr']);
    expect(forced.code, forced.stderr).toBe(0);
    const none = await fx.moor(['swarm', 'ls']);
    expect(none.stderr).toContain('No swarm among the machines');
  });
});

async function fetchOne(name: string): Promise<string> {
  const { address } = HOSTS.find((h) => h.name === name)!;
  try {
    const res = await fetch(`http://${address}:${WEB_PORT}/`, { signal: AbortSignal.timeout(2_000) });
    return (await res.text()).trim();
  } catch {
    return '';
  }
}

async function fetchAll(): Promise<string[]> {
  return Promise.all(HOSTS.map((h) => fetchOne(h.name)));
}
