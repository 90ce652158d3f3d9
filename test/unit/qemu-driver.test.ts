import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressReporter } from '../../main/base/progress.js';
import { buildIso } from '../../main/drivers/cloud-init/iso9660.js';
import { metaData, userData, userDataType } from '../../main/drivers/cloud-init/seed.js';
import { chooseAccel, PROBE_MARKER, probeBootSector } from '../../main/drivers/qemu/accel.js';
import { buildQemuArgs, type QemuLaunch } from '../../main/drivers/qemu/argv.js';
import { defaultImage, qemuConfigFromFlags } from '../../main/drivers/qemu/config.js';
import { overlaySizeMb, qemuImgFor, qmpSocketPath } from '../../main/drivers/qemu/driver.js';
import {
  cacheFileName,
  findInSums,
  obtainImage,
  parseChecksum,
  progressLine,
} from '../../main/drivers/qemu/image.js';
import {
  freePorts,
  isLoopbackV4,
  portInUse,
  readSshBanner,
  tlsServerAnswers,
} from '../../main/drivers/qemu/net.js';
import { mapQmpStatus, QmpClient } from '../../main/drivers/qemu/qmp.js';
import { loadDriver } from '../../main/drivers/registry.js';
import { baseDriverConfig } from '../../main/store/config.js';

// Loopback range of this helper's tests: 127.0.44.0/24.
const ADDR = '127.0.44.2';
const QEMU = 'qemu-system-x86_64';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'moor-qemu-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A process that is gone or a zombie (the daemonized QEMU's parent is PID 1, which reaps it later). */
function exitedProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

function launch(overrides: Partial<QemuLaunch> = {}): QemuLaunch {
  return {
    name: 'vm1',
    arch: 'x86_64',
    accel: 'tcg',
    cpus: 2,
    memoryMb: 2048,
    disk: '/store/machines/vm1/disk.qcow2',
    seed: '/store/machines/vm1/seed.iso',
    qmpSocket: '/store/machines/vm1/qmp.sock',
    pidFile: '/store/machines/vm1/qemu.pid',
    serialLog: '/store/machines/vm1/serial.log',
    forwardAddress: ADDR,
    sshPort: 40022,
    enginePort: 40376,
    ...overrides,
  };
}

function optionValues(args: string[], option: string): string[] {
  return args.flatMap((a, i) => (a === option ? [args[i + 1] ?? ''] : []));
}

describe('qemu command line', () => {
  it('daemonizes headless with absolute paths, QMP on a unix socket and a pid file', () => {
    const args = buildQemuArgs(launch());
    expect(args).toContain('-daemonize');
    expect(optionValues(args, '-display')).toEqual(['none']);
    expect(optionValues(args, '-qmp')).toEqual(['unix:/store/machines/vm1/qmp.sock,server=on,wait=off']);
    expect(optionValues(args, '-pidfile')).toEqual(['/store/machines/vm1/qemu.pid']);
    expect(optionValues(args, '-serial')).toEqual(['file:/store/machines/vm1/serial.log']);
    expect(optionValues(args, '-accel')).toEqual(['tcg,thread=multi']);
    expect(optionValues(args, '-cpu')).toEqual(['max']);
    expect(optionValues(args, '-smp')).toEqual(['2']);
    expect(optionValues(args, '-m')).toEqual(['2048']);
    // The image boots through its own bootloader: no -kernel.
    expect(args).not.toContain('-kernel');
  });

  it('forwards SSH and the engine on the loopback address only, never 0.0.0.0', () => {
    const [netdev] = optionValues(buildQemuArgs(launch()), '-netdev');
    expect(netdev).toBe(`user,id=net0,hostfwd=tcp:${ADDR}:40022-:22,hostfwd=tcp:${ADDR}:40376-:40376`);
    expect(netdev).not.toContain('0.0.0.0');
    expect(optionValues(buildQemuArgs(launch({ restrictNetwork: true })), '-netdev')[0]).toMatch(
      /,restrict=on$/,
    );
    for (const bad of ['0.0.0.0', '192.168.1.5', '', '::1']) {
      expect(() => buildQemuArgs(launch({ forwardAddress: bad }))).toThrow(/loopback address/);
    }
  });

  it('refuses relative paths (-daemonize runs QEMU in /)', () => {
    expect(() => buildQemuArgs(launch({ disk: 'disk.qcow2' }))).toThrow(/disk must be an absolute path/);
    expect(() => buildQemuArgs(launch({ pidFile: './qemu.pid' }))).toThrow(/pid file must be an absolute/);
  });

  it('uses -cpu host with a hardware accelerator and escapes commas in paths', () => {
    const args = buildQemuArgs(launch({ accel: 'kvm', disk: '/a,b/disk.qcow2' }));
    expect(optionValues(args, '-accel')).toEqual(['kvm']);
    expect(optionValues(args, '-cpu')).toEqual(['host']);
    expect(optionValues(args, '-drive')[0]).toBe(
      'file=/a,,b/disk.qcow2,if=virtio,format=qcow2,discard=unmap',
    );
  });
});

describe('accelerator choice', () => {
  it('auto takes the platform accelerator when it works', () => {
    expect(chooseAccel('auto', { platform: 'linux', hardwareProblem: null })).toEqual({ accel: 'kvm' });
    expect(chooseAccel('auto', { platform: 'darwin', hardwareProblem: null })).toEqual({ accel: 'hvf' });
    expect(chooseAccel('auto', { platform: 'win32', hardwareProblem: null })).toEqual({ accel: 'whpx' });
  });

  it('falls back to TCG with a warning that says why and that it will be slow', () => {
    const c = chooseAccel('auto', {
      platform: 'linux',
      hardwareProblem: 'a test guest did not run within 3 s',
    });
    expect(c.accel).toBe('tcg');
    expect(c.warning).toMatch(/kvm is not usable: a test guest did not run within 3 s/);
    expect(c.warning).toMatch(/slow/);
    expect(chooseAccel('auto', { platform: 'freebsd', hardwareProblem: 'x' }).accel).toBe('tcg');
  });

  it('an explicit accelerator is used as given', () => {
    expect(chooseAccel('kvm', { platform: 'linux', hardwareProblem: 'broken' })).toEqual({ accel: 'kvm' });
    expect(chooseAccel('tcg', { platform: 'linux', hardwareProblem: null })).toEqual({ accel: 'tcg' });
  });

  it('the probe guest really prints its marker when run (under TCG here)', async () => {
    const sector = probeBootSector();
    expect(sector.length).toBe(512);
    expect([sector[510], sector[511]]).toEqual([0x55, 0xaa]);
    const disk = path.join(tmp, 'probe.img');
    writeFileSync(disk, sector);
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(QEMU, [
        '-accel',
        'tcg',
        '-machine',
        'pc',
        '-nodefaults',
        '-display',
        'none',
        '-serial',
        'stdio',
        '-drive',
        `file=${disk},format=raw,if=ide`,
      ]);
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes(PROBE_MARKER)) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('exit', () => resolve(out));
    });
    expect(output).toContain(PROBE_MARKER);
  });
});

describe('QMP against a real QEMU', () => {
  let child: ReturnType<typeof spawn>;
  const socket = path.join(tmp, 'qmp.sock');
  beforeAll(async () => {
    child = spawn(
      QEMU,
      [
        '-machine',
        'none',
        '-accel',
        'tcg',
        '-nodefaults',
        '-display',
        'none',
        '-qmp',
        `unix:${socket},server=on,wait=off`,
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      try {
        (await QmpClient.connect(socket, 2_000)).close();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  afterAll(() => child.kill('SIGKILL'));

  it('negotiates, reports the run state and quits the process', async () => {
    const qmp = await QmpClient.connect(socket);
    expect(mapQmpStatus(await qmp.queryStatus())).toBe('Running');
    await qmp.execute('stop');
    expect(mapQmpStatus(await qmp.queryStatus())).toBe('Paused');
    await qmp.execute('cont');
    await expect(qmp.execute('no-such-command')).rejects.toThrow(/QMP no-such-command: CommandNotFound/);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await qmp.execute('quit');
    expect(await exited).toBe(0);
    qmp.close();
  });

  it('a socket nobody serves fails fast with the reason', async () => {
    await expect(QmpClient.connect(path.join(tmp, 'nothing.sock'), 1_000)).rejects.toThrow(/ENOENT/);
  });

  it('maps every run state docker-machine knows', () => {
    expect(mapQmpStatus('running')).toBe('Running');
    expect(mapQmpStatus('paused')).toBe('Paused');
    expect(mapQmpStatus('suspended')).toBe('Paused');
    expect(mapQmpStatus('shutdown')).toBe('Stopped');
    expect(mapQmpStatus('inmigrate')).toBe('Starting');
    expect(mapQmpStatus('internal-error')).toBe('Error');
    expect(mapQmpStatus('something-new')).toBe('');
  });
});

/** Reads the root directory of an ISO 9660 image back (what Linux's isofs sees, names lower-cased). */
function readIso(image: Buffer): { volumeId: string; files: Record<string, string> } {
  const pvd = 16 * 2048;
  expect(image[pvd]).toBe(1);
  expect(image.toString('latin1', pvd + 1, pvd + 6)).toBe('CD001');
  const volumeId = image.toString('latin1', pvd + 40, pvd + 72).trim();
  const rootExtent = image.readUInt32LE(pvd + 156 + 2);
  const rootSize = image.readUInt32LE(pvd + 156 + 10);
  const files: Record<string, string> = {};
  let o = rootExtent * 2048;
  const end = o + rootSize;
  while (o < end && image[o]! > 0) {
    const len = image[o]!;
    const extent = image.readUInt32LE(o + 2);
    const size = image.readUInt32LE(o + 10);
    const idLen = image[o + 32]!;
    const id = image.toString('latin1', o + 33, o + 33 + idLen);
    if (idLen > 1)
      files[id.replace(/;1$/, '').toLowerCase()] = image.toString(
        'utf8',
        extent * 2048,
        extent * 2048 + size,
      );
    o += len;
  }
  return { volumeId, files };
}

describe('cloud-init NoCloud seed (ISO 9660 written by Moor)', () => {
  it('has volume id cidata and the two files, as blkid and a reader see them', () => {
    const iso = Buffer.from(
      buildIso('cidata', [
        { name: 'user-data', data: new TextEncoder().encode('#cloud-config\n{}\n') },
        { name: 'meta-data', data: new TextEncoder().encode('x'.repeat(5000)) },
      ]),
    );
    const { volumeId, files } = readIso(iso);
    expect(volumeId).toBe('cidata');
    expect(files).toEqual({ 'meta-data': 'x'.repeat(5000), 'user-data': '#cloud-config\n{}\n' });
    const file = path.join(tmp, 'seed.iso');
    writeFileSync(file, iso);
    expect(execFileSync('blkid', ['-o', 'export', file], { encoding: 'utf8' })).toMatch(
      /LABEL=cidata\nTYPE=iso9660/,
    );
  });

  it('refuses names isofs cannot show', () => {
    expect(() => buildIso('cidata', [{ name: 'a b', data: new Uint8Array() }])).toThrow(/cannot be stored/);
  });

  it("user-data creates the SSH user with Moor's key; a user's file is merged as a second part", () => {
    const o = { hostname: 'vm1', user: 'docker', authorizedKey: 'ssh-ed25519 AAAA moor\n' };
    const ours = userData(o);
    expect(ours.startsWith('#cloud-config\n')).toBe(true);
    const config = JSON.parse(ours.slice('#cloud-config\n'.length));
    expect(config.hostname).toBe('vm1');
    expect(config.manage_etc_hosts).toBe('localhost');
    expect(config.users[0]).toMatchObject({
      name: 'docker',
      sudo: 'ALL=(ALL) NOPASSWD:ALL',
      // Regression: with docker.io preinstalled a `docker` group exists and useradd refused `docker`.
      no_user_group: true,
      ssh_authorized_keys: ['ssh-ed25519 AAAA moor'],
    });
    const merged = userData({ ...o, extraUserData: '#cloud-config\npackages: [htop]\n' }, 'B');
    expect(merged).toMatch(/^Content-Type: multipart\/mixed; boundary="B"/);
    expect(merged).toContain('--B\nContent-Type: text/cloud-config; charset="utf-8"');
    expect(merged).toContain('Merge-Type: list(append)');
    expect(merged).toContain('packages: [htop]');
    expect(merged.trim().endsWith('--B--')).toBe(true);
    expect(userDataType('#!/bin/sh\necho hi')).toBe('text/x-shellscript');
    expect(() => userDataType('packages: [htop]')).toThrow(/must start with #cloud-config/);
    expect(metaData({ ...o, instanceId: 'i-1' })).toBe('instance-id: "i-1"\nlocal-hostname: "vm1"\n');
  });
});

describe('image download, checksum and cache', () => {
  const good = Buffer.from(`QFI\xfb${'image-bytes '.repeat(50_000)}`, 'latin1');
  const sha256 = createHash('sha256').update(good).digest('hex');
  const sha512 = createHash('sha512').update(good).digest('hex');
  let server: http.Server;
  let base = '';
  const hits: string[] = [];
  let corrupt = false;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/img/disk.qcow2') {
        const body = corrupt
          ? Buffer.concat([good.subarray(0, 1000), Buffer.from('X'), good.subarray(1001)])
          : good;
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } else if (req.url === '/img/SHA256SUMS') {
        res.end(`${'0'.repeat(64)}  other.qcow2\n${sha256}  disk.qcow2\n`);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, ADDR, resolve));
    base = `http://${ADDR}:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(() => server.close());

  const events: string[] = [];
  const progress = progressReporter('vm1', (e) => events.push(e.message));

  it('parses checksums in both notations and finds them in SUMS files', () => {
    expect(parseChecksum(`sha512:${sha512}`)).toEqual({ algorithm: 'sha512', hex: sha512 });
    expect(parseChecksum(sha256.toUpperCase())).toEqual({ algorithm: 'sha256', hex: sha256 });
    expect(() => parseChecksum('sha256:abc')).toThrow(/not a sha256 \(64 hex digits\) or sha512/);
    expect(findInSums(`${sha256} *disk.qcow2\n`, 'disk.qcow2', 'sha256')?.hex).toBe(sha256);
    expect(findInSums(`SHA512 (disk.qcow2) = ${sha512}\n`, 'disk.qcow2', 'sha512')?.hex).toBe(sha512);
    expect(findInSums(`${sha256}  disk.qcow2\n`, 'disk.qcow2', 'sha512')).toBeUndefined();
    expect(findInSums(`${sha256}  other\n`, 'disk.qcow2', 'sha256')).toBeUndefined();
  });

  it('says bytes, rate and ETA in the progress line', () => {
    expect(progressLine(50e6, 200e6, 10_000)).toBe('50.0 MB of 200.0 MB (25%), 5.0 MB/s, ETA 30 s');
    expect(progressLine(1500, undefined, 1000)).toBe('2 kB, 2 kB/s');
  });

  it('a corrupted download is refused and leaves nothing in the cache', async () => {
    const cacheDir = path.join(tmp, 'cache-bad');
    corrupt = true;
    try {
      await expect(
        obtainImage({ spec: `${base}/img/disk.qcow2`, checksum: `sha256:${sha256}`, cacheDir, progress }),
      ).rejects.toThrow(
        /corrupted or not the expected one: its sha256 is [0-9a-f]{64}, expected .* \(not cached\)/,
      );
    } finally {
      corrupt = false;
    }
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('downloads once with the published SHA256SUMS, then reuses the cache', async () => {
    const cacheDir = path.join(tmp, 'cache-good');
    hits.length = 0;
    events.length = 0;
    const first = await obtainImage({
      spec: `${base}/img/disk.qcow2`,
      cacheDir,
      progress,
      progressEveryMs: 0,
    });
    expect(first.cached).toBe(false);
    expect(readFileSync(first.path).equals(good)).toBe(true);
    expect(hits).toEqual(['/img/SHA512SUMS', '/img/SHA256SUMS', '/img/disk.qcow2']);
    expect(events.some((e) => /^Downloaded 600 kB of 600 kB \(100%\), .*\/s, ETA 0 s$/.test(e))).toBe(true);
    expect(readdirSync(cacheDir).sort()).toEqual([
      cacheFileName(`${base}/img/disk.qcow2`),
      `${cacheFileName(`${base}/img/disk.qcow2`)}.sha256`,
    ]);
    hits.length = 0;
    const second = await obtainImage({ spec: `${base}/img/disk.qcow2`, cacheDir, progress });
    expect(second).toEqual({ path: first.path, cached: true });
    expect(hits).not.toContain('/img/disk.qcow2');
  });

  it('an image without a checksum anywhere is refused before downloading', async () => {
    hits.length = 0;
    await expect(
      obtainImage({ spec: `${base}/other/disk.qcow2`, cacheDir: path.join(tmp, 'cache-none'), progress }),
    ).rejects.toThrow(
      /No checksum for .*SHA512SUMS nor .*SHA256SUMS lists "disk.qcow2"; pass --qemu-image-checksum/,
    );
    expect(hits).not.toContain('/other/disk.qcow2');
  });

  it('a local image is used in place, checked when a checksum is given', async () => {
    const file = path.join(tmp, 'local.qcow2');
    writeFileSync(file, good);
    expect(await obtainImage({ spec: file, cacheDir: tmp, progress, checksum: sha512 })).toEqual({
      path: file,
      cached: false,
    });
    await expect(
      obtainImage({ spec: file, cacheDir: tmp, progress, checksum: sha256.replace(/^./, 'f') }),
    ).rejects.toThrow(/corrupted/);
    await expect(obtainImage({ spec: path.join(tmp, 'nope'), cacheDir: tmp, progress })).rejects.toThrow(
      /neither an http\(s\) URL nor an image file/,
    );
  });
});

describe('ports and SSH banner', () => {
  it('chooses distinct free ports on the loopback address', async () => {
    const ports = await freePorts(ADDR, 2);
    expect(new Set(ports).size).toBe(2);
    for (const p of ports) expect(await portInUse(ADDR, p)).toBe(false);
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(ports[0], ADDR, resolve));
    try {
      expect(await portInUse(ADDR, ports[0]!)).toBe(true);
    } finally {
      busy.close();
    }
  });

  it('only a banner counts: a forward that accepts and closes is not SSH', async () => {
    const closer = net.createServer((s) => s.destroy());
    const sshd = net.createServer((s) => s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'));
    await Promise.all([
      new Promise<void>((r) => closer.listen(0, ADDR, r)),
      new Promise<void>((r) => sshd.listen(0, ADDR, r)),
    ]);
    try {
      expect(await readSshBanner(ADDR, (closer.address() as net.AddressInfo).port, 2_000)).toBeUndefined();
      expect(await readSshBanner(ADDR, (sshd.address() as net.AddressInfo).port, 2_000)).toBe(
        'SSH-2.0-OpenSSH_9.2p1 Debian-2',
      );
    } finally {
      closer.close();
      sshd.close();
    }
  });

  it('a TLS server that wants a client certificate answers; a forward that closes does not', async () => {
    const key = path.join(tmp, 'tls-key.pem');
    const cert = path.join(tmp, 'tls-cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=engine',
      ],
      { stdio: 'ignore' },
    );
    const tlsModule = await import('node:tls');
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const engine = tlsModule.createServer({
        key: readFileSync(key),
        cert: readFileSync(cert),
        ca: readFileSync(cert),
        requestCert: true,
        rejectUnauthorized: true,
        maxVersion,
      });
      engine.on('tlsClientError', () => {});
      await new Promise<void>((r) => engine.listen(0, ADDR, r));
      try {
        expect(await tlsServerAnswers(ADDR, (engine.address() as net.AddressInfo).port, 3_000)).toBe(true);
      } finally {
        engine.close();
      }
    }
    const closer = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => closer.listen(0, ADDR, r));
    try {
      expect(await tlsServerAnswers(ADDR, (closer.address() as net.AddressInfo).port, 3_000)).toBe(false);
    } finally {
      closer.close();
    }
  });

  it('knows loopback addresses', () => {
    expect(isLoopbackV4('127.0.44.1')).toBe(true);
    expect(isLoopbackV4('127.0.0.256')).toBe(false);
    expect(isLoopbackV4('10.0.0.1')).toBe(false);
  });
});

describe('qemu driver config and helpers', () => {
  const base = baseDriverConfig('vm1', '/store');

  it('is registered with its flags as data', async () => {
    const mod = await loadDriver('qemu');
    expect(mod.flags.map((f) => f.name)).toEqual([
      'qemu-image',
      'qemu-image-checksum',
      'qemu-cpu-count',
      'qemu-memory',
      'qemu-disk-size',
      'qemu-ssh-user',
      'qemu-accel',
      'qemu-binary',
      'qemu-user-data',
      'qemu-forward-address',
    ]);
    expect(mod.capabilities.actions).toEqual(['start', 'stop', 'restart', 'kill']);
  });

  it('defaults: Debian genericcloud for the CPU, 2 CPUs, 2048 MB, 20000 MB, auto, 127.0.0.1', () => {
    const c = qemuConfigFromFlags({}, base, 'x64');
    expect(c).toMatchObject({
      Image: defaultImage('x86_64'),
      CPUCount: 2,
      Memory: 2048,
      DiskSize: 20000,
      Accel: 'auto',
      Binary: 'qemu-system-x86_64',
      IPAddress: '127.0.0.1',
      SSHUser: 'docker',
    });
    expect(c.Image).toMatch(/debian-12-genericcloud-amd64\.qcow2$/);
    expect(qemuConfigFromFlags({}, base, 'arm64').Image).toMatch(/genericcloud-arm64\.qcow2$/);
    expect(qemuConfigFromFlags({}, base, 'arm64').Binary).toBe('qemu-system-aarch64');
  });

  it('names the bad flag value', () => {
    expect(() => qemuConfigFromFlags({ 'qemu-accel': 'xen' }, base, 'x64')).toThrow(
      /--qemu-accel: one of auto, kvm/,
    );
    expect(() => qemuConfigFromFlags({ 'qemu-forward-address': '0.0.0.0' }, base, 'x64')).toThrow(
      /--qemu-forward-address: a loopback address/,
    );
    expect(() => qemuConfigFromFlags({ 'qemu-memory': '1.5' }, base, 'x64')).toThrow(/--qemu-memory/);
    expect(() => qemuConfigFromFlags({ 'qemu-cpu-count': 0 }, base, 'x64')).toThrow(/--qemu-cpu-count/);
    expect(() => qemuConfigFromFlags({ 'qemu-ssh-user': 'root' }, base, 'x64')).toThrow(/--qemu-ssh-user/);
    expect(() => qemuConfigFromFlags({}, base, 'ia32')).toThrow(/x86-64 and arm64 hosts, not ia32/);
  });

  it('keeps the QMP socket short enough for a unix socket address', () => {
    expect(qmpSocketPath('/store/machines/vm1')).toBe('/store/machines/vm1/qmp.sock');
    const long = `/store/machines/${'n'.repeat(200)}`;
    const p = qmpSocketPath(long, '/tmp');
    expect(p).toMatch(/^\/tmp\/moor-qmp-[0-9a-f]{16}\.sock$/);
    expect(qmpSocketPath(long, '/tmp')).toBe(p);
  });

  it('never makes the overlay smaller than its base; finds qemu-img next to a QEMU path', () => {
    expect(overlaySizeMb(20000, 3 * 1024 ** 3)).toBe(20000);
    expect(overlaySizeMb(1024, 3 * 1024 ** 3)).toBe(3072);
    expect(qemuImgFor('qemu-system-x86_64')).toBe('qemu-img');
    expect(qemuImgFor('/opt/qemu/bin/qemu-system-x86_64')).toBe('/opt/qemu/bin/qemu-img');
  });
});

describe('qemu driver life cycle against a real QEMU (a guest that only halts)', () => {
  it('start, QMP state, stop that falls back to kill, port clash, rm leaves no process or file', async () => {
    const { QemuDriver, DISK_FILE, PID_FILE, SEED_FILE } = await import('../../main/drivers/qemu/driver.js');
    const machineDir = path.join(tmp, 'machines', 'life');
    const { mkdirSync, existsSync } = await import('node:fs');
    mkdirSync(machineDir, { recursive: true });
    const probe = path.join(tmp, 'life-probe.img');
    writeFileSync(probe, probeBootSector());
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-F',
      'raw',
      '-b',
      probe,
      path.join(machineDir, DISK_FILE),
    ]);
    writeFileSync(path.join(machineDir, SEED_FILE), buildIso('cidata', []));
    const [sshPort, enginePort] = await freePorts(ADDR, 2);
    const config = {
      ...qemuConfigFromFlags(
        { 'qemu-accel': 'tcg', 'qemu-forward-address': ADDR, 'qemu-memory': 256 },
        baseDriverConfig('life', tmp),
        'x64',
      ),
      SSHPort: sshPort!,
      EnginePort: enginePort!,
    };
    const messages: string[] = [];
    const driver = new QemuDriver(config, {
      storePath: tmp,
      machineDir,
      progress: progressReporter('life', (e) => messages.push(`${e.level}: ${e.message}`)),
      env: {
        MOOR_QEMU_BOOT_TIMEOUT_SECONDS: '1',
        MOOR_QEMU_STOP_TIMEOUT_SECONDS: '1',
        MOOR_QEMU_RESTRICT_NETWORK: '1',
      },
    });
    expect(await driver.state()).toBe('Stopped');
    // The guest never starts sshd: start gives up after the boot timeout, naming the address.
    await expect(driver.start()).rejects.toThrow(
      new RegExp(`did not answer on SSH \\(${ADDR.replace(/\./g, '\\.')}:${sshPort}\\) within 1 s`),
    );
    expect(await driver.state()).toBe('Running');
    const pid = Number(readFileSync(path.join(machineDir, PID_FILE), 'utf8'));
    await expect(driver.start()).rejects.toThrow(/is already running/);
    // No ACPI in this guest: the power button is ignored, so stop kills after the timeout.
    await driver.stop();
    expect(messages.some((m) => /^warn: The guest did not power off within 1 s/.test(m))).toBe(true);
    expect(await driver.state()).toBe('Stopped');
    expect(exitedProcess(pid)).toBe(true);
    // A forwarded port taken by another program is named before QEMU would exit on it.
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(enginePort, ADDR, r));
    try {
      await expect(driver.start()).rejects.toThrow(
        new RegExp(`${ADDR.replace(/\./g, '\\.')}:${enginePort} \\(the Docker port of "life"\\) is in use`),
      );
    } finally {
      squatter.close();
    }
    await expect(driver.start()).rejects.toThrow(/did not answer on SSH/);
    expect(await driver.state()).toBe('Running');
    await driver.remove();
    expect(await driver.state()).toBe('Stopped');
    for (const f of [DISK_FILE, SEED_FILE, PID_FILE, 'qmp.sock'])
      expect(existsSync(path.join(machineDir, f))).toBe(false);
    expect(await portInUse(ADDR, sshPort!)).toBe(false);
  }, 60_000);
});

describe('a KVM that passes the probe but fails a real start (real QEMU behind a wrapper)', () => {
  it('auto falls back to TCG with a warning naming the KVM error', async () => {
    const { QemuDriver, DISK_FILE, SEED_FILE } = await import('../../main/drivers/qemu/driver.js');
    const { mkdirSync, chmodSync } = await import('node:fs');
    const machineDir = path.join(tmp, 'machines', 'fallback');
    mkdirSync(machineDir, { recursive: true });
    const probe = path.join(tmp, 'fallback-probe.img');
    writeFileSync(probe, probeBootSector());
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-F',
      'raw',
      '-b',
      probe,
      path.join(machineDir, DISK_FILE),
    ]);
    writeFileSync(path.join(machineDir, SEED_FILE), buildIso('cidata', []));
    // The probe (no -daemonize) runs under TCG and passes; a daemonized start with KVM fails as
    // this machine's KVM does on a real guest.
    const wrapper = path.join(tmp, 'qemu-kvm-fails');
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        'case " $* " in',
        '  *" -daemonize "*kvm*|*kvm*" -daemonize "*) echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2; exit 1;;',
        'esac',
        'args=""; for a in "$@"; do [ "$a" = kvm ] && a=tcg; set -- "$@" "$a"; shift; done',
        'exec qemu-system-x86_64 "$@"',
        '',
      ].join('\n'),
    );
    chmodSync(wrapper, 0o755);
    const [sshPort, enginePort] = await freePorts(ADDR, 2);
    const config = {
      ...qemuConfigFromFlags(
        { 'qemu-accel': 'auto', 'qemu-binary': wrapper, 'qemu-forward-address': ADDR, 'qemu-memory': 256 },
        baseDriverConfig('fallback', tmp),
        'x64',
      ),
      SSHPort: sshPort!,
      EnginePort: enginePort!,
    };
    const messages: string[] = [];
    const driver = new QemuDriver(config, {
      storePath: tmp,
      machineDir,
      progress: progressReporter('fallback', (e) => messages.push(`${e.level}: ${e.message}`)),
      env: { MOOR_QEMU_BOOT_TIMEOUT_SECONDS: '1', MOOR_QEMU_RESTRICT_NETWORK: '1' },
    });
    await expect(driver.start()).rejects.toThrow(/did not answer on SSH/);
    expect(await driver.state()).toBe('Running');
    expect(messages).toContainEqual(
      expect.stringMatching(/^warn: KVM failed to start this VM \(.*failed to set MSR.*\); using TCG/),
    );
    expect(messages.filter((m) => m.includes('Starting QEMU (tcg'))).toHaveLength(1);
    await driver.remove();
    expect(await driver.state()).toBe('Stopped');
  }, 60_000);
});

describe('two qemu machines at once (real QEMU, the guest that only halts)', () => {
  it('create both at the same time: distinct forwards, each found again by pid + QMP, both removed', async () => {
    const { QemuDriver, PID_FILE, SEED_FILE } = await import('../../main/drivers/qemu/driver.js');
    const { mkdirSync, existsSync, statSync } = await import('node:fs');
    const image = path.join(tmp, 'two-probe.img');
    writeFileSync(image, probeBootSector());
    const ctxFor = (name: string) => {
      const machineDir = path.join(tmp, 'two', 'machines', name);
      mkdirSync(machineDir, { recursive: true });
      return {
        storePath: path.join(tmp, 'two'),
        machineDir,
        progress: progressReporter(name, () => {}),
        env: {
          MOOR_QEMU_BOOT_TIMEOUT_SECONDS: '1',
          MOOR_QEMU_STOP_TIMEOUT_SECONDS: '1',
          MOOR_QEMU_RESTRICT_NETWORK: '1',
        },
        // twin-a as create makes it: the engine's first-boot boothook (with "the key") in its seed.
        ...(name === 'twin-a'
          ? { engineSeed: async () => '#cloud-boothook\n#!/bin/sh\necho SERVER-KEY-MATERIAL\n' }
          : {}),
      };
    };
    const configFor = (name: string) =>
      qemuConfigFromFlags(
        {
          'qemu-accel': 'tcg',
          'qemu-forward-address': ADDR,
          'qemu-memory': 256,
          'qemu-cpu-count': 1,
          'qemu-image': image,
        },
        baseDriverConfig(name, path.join(tmp, 'two')),
        'x64',
      );
    const names = ['twin-a', 'twin-b'];
    const drivers = names.map((n) => new QemuDriver(configFor(n), ctxFor(n)));
    try {
      // Both creates run at once (image, key, overlay, seed, ports, QEMU launch).
      await Promise.all(drivers.map((d) => d.create()));
      const ports = drivers.flatMap((d) => [d.config.SSHPort, d.config.EnginePort]);
      expect(new Set(ports).size).toBe(4);
      for (const port of ports) expect(await portInUse(ADDR, port)).toBe(true);
      const pids = names.map((n) => Number(readFileSync(path.join(ctxFor(n).machineDir, PID_FILE), 'utf8')));
      expect(new Set(pids).size).toBe(2);
      for (const n of names)
        expect(statSync(path.join(ctxFor(n).machineDir, SEED_FILE)).mode & 0o777).toBe(0o600);
      // Found again as another process would: a driver from the stored (JSON) config, pid file + QMP.
      const again = drivers.map(
        (d, i) => new QemuDriver(JSON.parse(JSON.stringify(d.config)), ctxFor(names[i]!)),
      );
      expect(await Promise.all(again.map((d) => d.state()))).toEqual(['Running', 'Running']);
      expect(await Promise.all(again.map((d) => d.url()))).toEqual(
        drivers.map((d) => `tcp://${ADDR}:${d.config.EnginePort}`),
      );
      // The seed of twin-a holds the boothook until the next start, which rewrites it without it
      // (same instance id: cloud-init sees the same instance).
      const seedA = path.join(ctxFor('twin-a').machineDir, SEED_FILE);
      const seedFiles = () => readIso(readFileSync(seedA)).files;
      const before = seedFiles();
      expect(before['user-data']).toContain('SERVER-KEY-MATERIAL');
      expect(again[0]!.config).toMatchObject({ SeedHoldsKey: true });
      await again[0]!.kill();
      await expect(again[0]!.start()).rejects.toThrow(/did not answer on SSH/);
      const after = seedFiles();
      expect(after['user-data']).not.toContain('SERVER-KEY-MATERIAL');
      expect(after['user-data']).toContain('ssh_authorized_keys');
      expect(after['meta-data']).toBe(before['meta-data']);
      expect(again[0]!.config).toMatchObject({ SeedHoldsKey: false });
      expect(statSync(seedA).mode & 0o777).toBe(0o600);
      expect(
        readIso(readFileSync(path.join(ctxFor('twin-b').machineDir, SEED_FILE))).files['user-data'],
      ).not.toContain('boothook');
      await Promise.all(again.map((d) => d.remove()));
      expect(await Promise.all(again.map((d) => d.state()))).toEqual(['Stopped', 'Stopped']);
      for (const pid of pids) expect(exitedProcess(pid)).toBe(true);
      for (const port of ports) expect(await portInUse(ADDR, port)).toBe(false);
      for (const n of names) expect(existsSync(path.join(ctxFor(n).machineDir, PID_FILE))).toBe(false);
    } finally {
      await Promise.all(drivers.map((d) => d.kill().catch(() => undefined)));
    }
  }, 120_000);
});
