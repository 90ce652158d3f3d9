/**
 * A docker-machine 0.16.2 store holding a VirtualBox machine, driven by the real `moor` CLI.
 * VirtualBox cannot run here: VBoxManage is the stand-in of test/fixtures/virtualbox/rig, which
 * answers with outputs recorded in docker-machine's driver tests and, on `startvm`, starts an SSH
 * server on the NAT port that plays the booted boot2docker guest. The same stand-in recorded
 * what the real docker-machine 0.16.2 does (test/fixtures/virtualbox/calls/*.tsv, record.sh), so
 * each Moor command's VBoxManage calls are compared with docker-machine's own. The engine is
 * a mutual-TLS stand-in on 127.0.48.100:2376 (this suite's loopback range), the guest's address.
 */
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../harness/components.js';
import { DOCKER_MACHINE_BIN } from '../harness/docker-machine.js';
import { moorCommand, repoRoot, runMoor, runProcess } from '../harness/moor-cli.js';
import { startTlsEngine, type TestEngine } from '../harness/tls-engine.js';

const fixtures = path.join(repoRoot, 'test/fixtures/virtualbox');
const rig = path.join(fixtures, 'rig');
const tmp = tempDir('moor-vbox-store');
const store = path.join(tmp.dir, 'store');
const machineDir = path.join(store, 'machines', 'default');
const vboxDir = path.join(tmp.dir, 'vbox');
const GUEST_IP = '127.0.48.100';
let engine: TestEngine;
let callLog = 0;
let stoppedConfig = '';

/** docker-machine's store path as recorded (record.sh rewrote it to this). */
const RECORDED_STORE = '/home/user/.docker/machine';

function env(log: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${rig}:${process.env.PATH}`,
    HOME: path.join(tmp.dir, 'home'),
    MACHINE_STORAGE_PATH: store,
    DOCKER_CONFIG: path.join(tmp.dir, 'docker-config'),
    FAKE_VBOX_DIR: vboxDir,
    FAKE_VBOX_LOG: log,
  };
}

/** `moor ARGS` and the VBoxManage calls it made, one argv per entry. */
async function moor(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string; calls: string[][] }> {
  const log = path.join(tmp.dir, `calls-${callLog++}.tsv`);
  writeFileSync(log, '');
  const run = await runMoor(args, { env: { ...env(log), ...extraEnv }, timeoutMs: 240_000 });
  return { ...run, calls: readCalls(log) };
}

function readCalls(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'));
}

/**
 * The calls that change something, comparable across the two tools: queries (showvminfo, list,
 * --version) are left out, as each tool polls as often as it likes; store paths, the NAT port and
 * the DHCP server's address (random in .1–.24, docker-machine's rule) are placeholders. A DHCP
 * server already up to date is not touched (so a random pick equal to it makes no call): the
 * dhcpserver call is checked apart, by its pattern.
 */
function changes(calls: string[][], storePath: string): string[] {
  return calls
    .filter(([verb]) => verb !== 'showvminfo' && verb !== 'list' && verb !== '--version')
    .map((argv) =>
      argv
        .join(' ')
        .replaceAll(storePath, 'STORE')
        .replace(/127\.0\.0\.1,\d+,,22/, '127.0.0.1,PORT,,22'),
    )
    .filter((call) => !call.startsWith('dhcpserver '));
}

function dhcpCalls(calls: string[][]): string[] {
  return calls.map((argv) => argv.join(' ')).filter((call) => call.startsWith('dhcpserver '));
}

const DHCP_CALL =
  /^dhcpserver (add|modify) --netname HostInterfaceNetworking-vboxnet0 --ip 192\.168\.99\.([1-9]|1\d|2[0-4]) --netmask 255\.255\.255\.0 --lowerip 192\.168\.99\.100 --upperip 192\.168\.99\.254 --enable$/;

function dockerMachine(command: string): string[][] {
  return readCalls(path.join(fixtures, 'calls', `${command}.tsv`));
}

function vmState(): string {
  return readFileSync(path.join(vboxDir, 'vm-default'), 'utf8').trim();
}

beforeAll(async () => {
  cpSync(path.join(fixtures, 'store'), store, { recursive: true });
  // The CA and client certificate of the docker-machine 0.16.2 fixture store (the recording's own
  // were left in its scratch store).
  cpSync(path.join(repoRoot, 'test/fixtures/docker-machine-0.16.2-store/certs'), path.join(store, 'certs'), {
    recursive: true,
  });
  chmodSync(path.join(machineDir, 'id_rsa'), 0o600);
  // What docker-machine's provisioning (ConfigureAuth) copies into the machine directory; the
  // recording's provisioning stopped before it (server.pem and its key come from the engine below).
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) {
    copyFileSync(path.join(store, 'certs', f), path.join(machineDir, f));
  }
  // As `docker-machine stop` leaves it: no IP until the VM runs again.
  const config = path.join(machineDir, 'config.json');
  stoppedConfig = readFileSync(config, 'utf8').replace('"IPAddress": "192.168.99.100"', '"IPAddress": ""');
  writeFileSync(config, stoppedConfig);
  mkdirSync(vboxDir);
  writeFileSync(path.join(vboxDir, 'vm-default'), 'poweroff\n');
  engine = await startTlsEngine({
    host: GUEST_IP,
    port: 2376,
    caCert: path.join(store, 'certs', 'ca.pem'),
    caKey: path.join(store, 'certs', 'ca-key.pem'),
    dir: machineDir,
  });
});

afterAll(async () => {
  for (const f of existsSync(vboxDir) ? readdirSync(vboxDir) : []) {
    if (f.startsWith('pid-')) process.kill(Number(readFileSync(path.join(vboxDir, f), 'utf8')), 'SIGTERM');
  }
  await engine?.close();
  tmp.cleanup();
});

describe('a docker-machine VirtualBox machine in the store', () => {
  it('is listed and inspected as docker-machine wrote it', async () => {
    const ls = await moor(['ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/^default\s+-\s+virtualbox\s+Stopped\s+Unknown\s*$/m);
    // State only (ls asks for the URL too, which needs a running VM): nothing is changed.
    expect(ls.calls.every((c) => c.join(' ') === 'showvminfo default --machinereadable')).toBe(true);
    const inspect = await moor(['inspect', 'default']);
    expect(inspect.code, inspect.stderr).toBe(0);
    const recorded = JSON.parse(readFileSync(path.join(machineDir, 'config.json'), 'utf8'));
    expect(JSON.parse(inspect.stdout)).toEqual(recorded);
    expect(Object.keys(recorded.Driver)).toContain('VBoxManager');
  });

  it("start makes docker-machine's calls, then env points docker at the guest and ssh reaches it", async () => {
    const start = await moor(['start', 'default']);
    expect(start.code, start.stderr).toBe(0);
    expect(vmState()).toBe('running');
    const dm = dockerMachine('start');
    expect(changes(start.calls, store)).toEqual(changes(dm, RECORDED_STORE));
    expect(changes(start.calls, store)).toContain('startvm default --type headless');
    for (const call of dhcpCalls(start.calls)) expect(call).toMatch(DHCP_CALL);
    expect(dhcpCalls(dm).every((call) => DHCP_CALL.test(call))).toBe(true);

    const ls = await moor(['ls']);
    expect(ls.stdout).toMatch(
      new RegExp(`^default\\s+-\\s+virtualbox\\s+Running\\s+tcp://${GUEST_IP}:2376\\s`, 'm'),
    );
    const ip = await moor(['ip', 'default']);
    expect(ip.stdout).toBe(`${GUEST_IP}\n`);
    const envOut = await moor(['env', 'default']);
    expect(envOut.stdout).toContain(`export DOCKER_HOST="tcp://${GUEST_IP}:2376"`);
    expect(envOut.stdout).toContain(`export DOCKER_CERT_PATH="${machineDir}"`);
    // The real docker CLI, pointed at the machine by `moor env`, reaches the engine over TLS.
    const docker = await runProcess(
      'bash',
      ['-c', `eval "$(${moorCommand} env default)" && docker version --format '{{.Server.Version}}'`],
      { env: env(path.join(tmp.dir, 'calls-docker.tsv')), timeoutMs: 60_000 },
    );
    expect(docker.stdout.trim(), docker.stderr).toBe('27.5.1');
    const ssh = await moor(['ssh', 'default', 'exit 0']);
    expect(ssh.code, ssh.stderr).toBe(0);
    // Saved in docker-machine's exact format: only the IP and the NAT port changed.
    const text = readFileSync(path.join(machineDir, 'config.json'), 'utf8');
    const config = JSON.parse(text);
    expect(config.Driver.IPAddress).toBe(GUEST_IP);
    expect(text).toBe(
      stoppedConfig
        .replace('"IPAddress": ""', `"IPAddress": "${GUEST_IP}"`)
        .replace(/"SSHPort": \d+/, `"SSHPort": ${config.Driver.SSHPort}`),
    );
    const forwarded = start.calls.find((c) => c[2] === '--natpf1' && c[3] !== 'delete')?.[3];
    expect(forwarded).toBe(`ssh,tcp,127.0.0.1,${config.Driver.SSHPort},,22`);
  });

  it('stop, restart, kill and rm make the calls docker-machine makes', async () => {
    const stop = await moor(['stop', 'default']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(changes(stop.calls, store)).toEqual(changes(dockerMachine('stop'), RECORDED_STORE));
    expect(vmState()).toBe('poweroff');
    const status = await moor(['status', 'default']);
    expect(status.stdout).toBe('Stopped\n');

    expect((await moor(['start', 'default'])).code).toBe(0);
    const restart = await moor(['restart', 'default']);
    expect(restart.code, restart.stderr).toBe(0);
    expect(changes(restart.calls, store)).toEqual(changes(dockerMachine('restart'), RECORDED_STORE));

    const kill = await moor(['kill', 'default']);
    expect(kill.code, kill.stderr).toBe(0);
    expect(changes(kill.calls, store)).toEqual(['controlvm default poweroff']);
    expect(changes(kill.calls, store)).toEqual(changes(dockerMachine('kill'), RECORDED_STORE));

    const rm = await moor(['rm', '-y', 'default']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(changes(rm.calls, store)).toEqual(changes(dockerMachine('rm'), RECORDED_STORE));
    expect(existsSync(machineDir)).toBe(false);
    expect(existsSync(path.join(vboxDir, 'vm-default'))).toBe(false);
  });

  it("create from a boot2docker ISO: docker-machine's calls, then boot2docker's profile and certificates", async () => {
    const iso = path.join(tmp.dir, 'boot2docker.iso');
    writeFileSync(iso, 'not an ISO: the stand-in VBoxManage never boots it\n');
    const scripts = path.join(tmp.dir, 'boot2docker-scripts.txt');
    const create = await moor(
      [
        'create',
        '-d',
        'virtualbox',
        '--virtualbox-boot2docker-url',
        `file://${iso}`,
        '--virtualbox-no-vtx-check',
        '--virtualbox-disk-size',
        '100',
        '--engine-label',
        'spam=eggs',
        'default',
      ],
      { FAKE_B2D_SCRIPTS: scripts },
    );
    expect(create.code, create.stderr).toBe(0);
    // docker-machine's own run stopped at OS detection (the stand-in answered it nothing): the
    // VM it built is compared up to startvm.
    const dm = changes(dockerMachine('create'), RECORDED_STORE);
    const untilStart = (calls: string[]) =>
      calls.slice(0, calls.indexOf('startvm default --type headless') + 1);
    expect(untilStart(changes(create.calls, store))).toEqual(untilStart(dm));
    expect(untilStart(dm)).toContain(
      'convertfromraw stdin STORE/machines/default/disk.vmdk 104857600 --format VMDK',
    );
    expect(create.stdout).toContain('Provisioning with boot2docker (Boot2Docker 19.03.5 (TCL 10.1))...');
    expect(create.stdout).toContain('Docker is up and running!');

    // The script the guest received (run as root through sudo): hostname, certificates, profile.
    const [command, ...script] = readFileSync(scripts, 'utf8').split('\n');
    expect(command).toBe('sudo -n sh -s');
    const text = script.join('\n');
    expect(text).toContain("/usr/bin/sethostname 'default'");
    expect(text).toContain(readFileSync(path.join(store, 'certs', 'ca.pem'), 'utf8').trim());
    expect(text).toContain(readFileSync(path.join(machineDir, 'server.pem'), 'utf8').trim());
    expect(text).toContain(
      "EXTRA_ARGS='\n--label spam=eggs\n--label provider=virtualbox\n\n'\nCACERT=/var/lib/boot2docker/ca.pem\nDOCKER_HOST='-H tcp://0.0.0.0:2376'",
    );
    const ls = await moor(['ls']);
    expect(ls.stdout).toMatch(
      new RegExp(`^default\\s+-\\s+virtualbox\\s+Running\\s+tcp://${GUEST_IP}:2376\\s`, 'm'),
    );
    // regenerate-certs: a new server certificate and the same files, hostname untouched.
    const certBefore = readFileSync(path.join(machineDir, 'server.pem'), 'utf8');
    const regen = await moor(['regenerate-certs', '-f', 'default'], { FAKE_B2D_SCRIPTS: scripts });
    expect(regen.code, regen.stderr).toBe(0);
    const certAfter = readFileSync(path.join(machineDir, 'server.pem'), 'utf8');
    expect(certAfter).not.toBe(certBefore);
    const second = readFileSync(scripts, 'utf8').split('@@end\n')[1] ?? '';
    expect(second).toContain(certAfter.trim());
    expect(second).not.toContain('sethostname');
    // The machine Moor made works in docker-machine 0.16.2 too (its config.json, key and NAT rule).
    const dmEnv = {
      ...env(path.join(tmp.dir, 'calls-dm.tsv')),
      MACHINE_BUGSNAG_API_TOKEN: 'no-report', // docker-machine's crash reports: never sent
    };
    writeFileSync(path.join(store, 'no-error-report'), '');
    const dmIp = await runProcess(DOCKER_MACHINE_BIN, ['ip', 'default'], { env: dmEnv, timeoutMs: 60_000 });
    expect(dmIp.stdout, dmIp.stderr).toBe(`${GUEST_IP}\n`);
    const dmStatus = await runProcess(DOCKER_MACHINE_BIN, ['status', 'default'], {
      env: dmEnv,
      timeoutMs: 60_000,
    });
    expect(dmStatus.stdout, dmStatus.stderr).toBe('Running\n');

    const upgrade = await moor(['upgrade', 'default']);
    expect(upgrade.code).toBe(1);
    expect(upgrade.stderr).toContain('runs boot2docker, which has no package manager');

    const rm = await moor(['rm', '-y', 'default']);
    expect(rm.code, rm.stderr).toBe(0);
  });

  it('a failed create rolls the VM back (docker-machine left it registered)', async () => {
    const iso = path.join(tmp.dir, 'boot2docker.iso');
    // No script log: the stand-in guest refuses the configure script.
    const create = await moor([
      'create',
      '-d',
      'virtualbox',
      '--virtualbox-boot2docker-url',
      `file://${iso}`,
      '--virtualbox-no-vtx-check',
      '--virtualbox-disk-size',
      '100',
      'default',
    ]);
    expect(create.code).toBe(1);
    expect(create.stderr).toContain('Error creating machine: Configuring Docker on "default" failed');
    expect(changes(create.calls, store).slice(-2)).toEqual([
      'controlvm default poweroff',
      'unregistervm --delete default',
    ]);
    expect(existsSync(machineDir)).toBe(false);
    expect(existsSync(path.join(vboxDir, 'vm-default'))).toBe(false);
  });
});
