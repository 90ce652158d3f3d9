/**
 * The virtualbox driver's VBoxManage calls, checked the way docker-machine's own tests check
 * them (drivers/virtualbox/virtualbox_test.go, MockCreateOperations): a scripted VBoxManage that
 * expects each call in order and answers with outputs recorded from real VirtualBox.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { progressReporter } from '../../main/base/progress.js';
import type { DriverContext, SshTarget } from '../../main/drivers/types.js';
import type { VirtualBoxConfig } from '../../main/drivers/virtualbox/config.js';
import { defaultDeps, type VirtualBoxDeps, VirtualBoxDriver } from '../../main/drivers/virtualbox/driver.js';
import virtualbox from '../../main/drivers/virtualbox/index.js';
import { type VBoxExec, VBoxManageError, vboxManage } from '../../main/drivers/virtualbox/vbox-manage.js';
import { baseDriverConfig } from '../../main/store/config.js';
import * as rec from '../fixtures/virtualbox/recordings.js';
import { tempDir } from '../harness/components.js';

const tmp = tempDir('moor-vbox-driver');
afterAll(() => tmp.cleanup());

/** One expected call: VBoxManage's argv joined by spaces (as in docker-machine's tests) and its answer. */
type Call = [signature: string, answer?: string | { stderr: string }];

/** docker-machine's MockCreateOperations: each call must be the next expected one. */
function scripted(calls: Call[]) {
  const made: string[] = [];
  const exec: VBoxExec = async (args) => {
    const signature = args.join(' ');
    made.push(signature);
    const next = calls[made.length - 1];
    if (!next) throw new Error(`Unexpected call ${signature} (after ${made.length - 1} expected ones)`);
    if (next[0] !== 'IGNORE CALL' && next[0] !== signature) {
      throw new Error(`Unexpected call ${signature}, expected ${next[0]}`);
    }
    const answer = next[1] ?? '';
    return typeof answer === 'string'
      ? { code: 0, stdout: answer, stderr: '' }
      : { code: 1, stdout: '', stderr: answer.stderr };
  };
  return { vbox: vboxManage(exec), made, done: () => expect(made).toHaveLength(calls.length) };
}

const storePath = path.join(tmp.dir, 'path');
const machineDir = path.join(storePath, 'machines', 'default');
mkdirSync(machineDir, { recursive: true });

function setup(calls: Call[], over: Partial<VirtualBoxConfig> = {}, depsOver: Partial<VirtualBoxDeps> = {}) {
  const script = scripted(calls);
  const logs: string[] = [];
  const ssh: string[] = [];
  const ctx: DriverContext = {
    storePath,
    machineDir,
    progress: progressReporter('default', (e) => logs.push(e.message)),
    env: {},
  };
  const config = {
    ...(virtualbox.configFromFlags({}, baseDriverConfig('default', storePath), ctx) as VirtualBoxConfig),
    ...over,
  };
  const deps: VirtualBoxDeps = {
    vbox: script.vbox,
    sshRun: async (target: SshTarget, command: string) => {
      ssh.push(`${target.user}@${target.host}:${target.port} ${command}`);
      // The guest of SHOWVMINFO_HOSTONLY (MAC 004488aabbcc) in TestParseIPForMACFromIPAddr's output.
      return command === 'ip addr show' ? rec.IP_ADDR_SHOW : '';
    },
    hostNetworks: () => [],
    freePort: async (preferred) => preferred || 50164,
    random: () => 5, // MockCreateOperations.RandomInt
    sleep: async () => {},
    platform: 'linux',
    hostCpus: 4,
    homeDir: path.join(tmp.dir, 'home'),
    cpuHasVtx: async () => true,
    ...depsOver,
  };
  return { driver: new VirtualBoxDriver(config, ctx, deps), script, logs, ssh, config };
}

const RUNNING = `VMState="running"\n${rec.SHOWVMINFO_HOSTONLY}`;

describe('state, ip, url, ssh (virtualbox_test.go TestState, TestStateErrors, TestGetIPErrors)', () => {
  it('reads the state from showvminfo; an unregistered VM is "machine does not exist"', async () => {
    for (const [line, state] of rec.VMSTATE_LINES) {
      const { driver, script } = setup([['showvminfo default --machinereadable', line]]);
      expect(await driver.state(), line).toBe(state);
      script.done();
    }
    const { driver } = setup([
      ['showvminfo default --machinereadable', { stderr: rec.MACHINE_NOT_FOUND_STDERR }],
    ]);
    await expect(driver.state()).rejects.toThrow('machine does not exist');
  });

  it('ip: the host-only address read over SSH by MAC; a stopped VM is "Host is not running"', async () => {
    const { driver, ssh, script } = setup(
      [
        ['showvminfo default --machinereadable', RUNNING],
        ['showvminfo default --machinereadable', RUNNING],
      ],
      { SSHPort: 50164 },
    );
    expect(await driver.ip()).toBe('1.2.3.4');
    // No address recorded (as docker-machine's stop leaves it): url() asks the guest too.
    expect(await driver.url()).toBe('tcp://1.2.3.4:2376');
    script.done();
    expect(ssh).toEqual(['docker@127.0.0.1:50164 ip addr show', 'docker@127.0.0.1:50164 ip addr show']);
    const stopped = setup([['showvminfo default --machinereadable', 'VMState="poweroff"']]);
    await expect(stopped.driver.url()).rejects.toThrow('Host is not running');
    const gone = setup([['showvminfo default --machinereadable', { stderr: rec.MACHINE_NOT_FOUND_STDERR }]]);
    await expect(gone.driver.ip()).rejects.toThrow('machine does not exist');
  });

  it('url: the address recorded at start, with one VBoxManage call and no SSH (ls, env)', async () => {
    const { driver, ssh, script } = setup([['showvminfo default --machinereadable', RUNNING]], {
      SSHPort: 50164,
      IPAddress: '192.168.99.100',
    });
    expect(await driver.url()).toBe('tcp://192.168.99.100:2376');
    script.done();
    expect(ssh).toEqual([]);
  });

  it('ssh goes to 127.0.0.1 on the NAT port as docker with the machine key', async () => {
    const { driver } = setup([], { SSHPort: 50164, SSHKeyPath: path.join(machineDir, 'id_rsa') });
    expect(await driver.sshTarget()).toEqual({
      host: '127.0.0.1',
      port: 50164,
      user: 'docker',
      keyPath: path.join(machineDir, 'id_rsa'),
      knownHostsPath: path.join(machineDir, 'known_hosts'),
      machineName: 'default',
    });
  });
});

describe('power (virtualbox_test.go TestStart, TestRemove*; virtualbox.go Stop/Kill/Restart)', () => {
  /** TestStart's expected calls: a new host-only adapter on Windows, DHCP server added, NIC 2, NAT rule. */
  const START_CREATING_ADAPTER: Call[] = [
    ['showvminfo default --machinereadable', 'VMState="poweroff"'],
    ['list hostonlyifs', ''],
    ['hostonlyif create', rec.HOSTONLYIF_CREATED],
    ['list hostonlyifs', rec.LIST_HOSTONLYIFS_WINDOWS],
    ['hostonlyif ipconfig VirtualBox Host-Only Ethernet Adapter --ip 192.168.99.1 --netmask 255.255.255.0'],
    ['list dhcpservers', ''],
    ['list dhcpservers', ''],
    [
      'dhcpserver add --netname HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter --ip 192.168.99.6 --netmask 255.255.255.0 --lowerip 192.168.99.100 --upperip 192.168.99.254 --enable',
    ],
    [
      'modifyvm default --nic2 hostonly --nictype2 82540EM --nicpromisc2 deny --hostonlyadapter2 VirtualBox Host-Only Ethernet Adapter --cableconnected2 on',
    ],
    ['IGNORE CALL'],
    ['IGNORE CALL'],
    ['startvm default --type headless'],
  ];
  /** Waiting for the IP (docker-machine's sshIPWaiter, mocked as WaitIP there), then the adapter check. */
  const WAIT_IP: Call[] = [['showvminfo default --machinereadable', RUNNING]];

  it('start: host-only network, DHCP, NIC 2, the SSH rule on 127.0.0.1, startvm headless, the IP', async () => {
    const { driver, script, ssh, config } = setup([
      ...START_CREATING_ADAPTER,
      ...WAIT_IP,
      ['list hostonlyifs', rec.LIST_HOSTONLYIFS_WINDOWS],
    ]);
    await driver.start();
    script.done();
    expect(script.made[9]).toBe('modifyvm default --natpf1 delete ssh');
    expect(script.made[10]).toBe('modifyvm default --natpf1 ssh,tcp,127.0.0.1,50164,,22');
    expect(ssh).toEqual(['docker@127.0.0.1:50164 exit 0', 'docker@127.0.0.1:50164 ip addr show']);
    expect(config.SSHPort).toBe(50164);
    expect(config.IPAddress).toBe('1.2.3.4');
  });

  it('start: repairs an adapter VirtualBox corrupted at VM start (TestStartWithHostOnlyAdapterCreationBug)', async () => {
    const corrupted = rec.LIST_HOSTONLYIFS_WINDOWS.replace(
      'IPAddress:       192.168.99.1',
      'IPAddress:       192.168.99.100',
    );
    const { driver, script } = setup([
      ...START_CREATING_ADAPTER,
      ...WAIT_IP,
      ['list hostonlyifs', corrupted],
      ['showvminfo default --machinereadable', RUNNING],
      ['controlvm default acpipowerbutton'],
      ['showvminfo default --machinereadable', 'VMState="poweroff"'],
      ['hostonlyif ipconfig VirtualBox Host-Only Ethernet Adapter --ip 192.168.99.1 --netmask 255.255.255.0'],
      ['startvm default --type headless'],
      ...WAIT_IP,
    ]);
    await driver.start();
    script.done();
  });

  it('start of an existing adapter with a stale DHCP server modifies it; a saved VM is only resumed from disk', async () => {
    // RandomInt → 6 gives .7, not the recorded server's .6: the server is out of date.
    const random = () => 6;
    const { driver, script } = setup(
      [
        ['showvminfo default --machinereadable', 'VMState="poweroff"'],
        ['list hostonlyifs', rec.LIST_HOSTONLYIFS_ONE],
        ['list dhcpservers', rec.LIST_DHCPSERVERS_TWO],
        ['list hostonlyifs', rec.LIST_HOSTONLYIFS_ONE],
        // vboxnet1 has no adapter any more: its DHCP server is an orphan.
        ['dhcpserver remove --netname HostInterfaceNetworking-vboxnet1'],
        ['list dhcpservers', rec.LIST_DHCPSERVERS_TWO],
        [
          'dhcpserver modify --netname HostInterfaceNetworking-vboxnet0 --ip 192.168.99.7 --netmask 255.255.255.0 --lowerip 192.168.99.100 --upperip 192.168.99.254 --enable',
        ],
        [
          'modifyvm default --nic2 hostonly --nictype2 82540EM --nicpromisc2 deny --hostonlyadapter2 vboxnet0 --cableconnected2 on',
        ],
        ['modifyvm default --natpf1 delete ssh'],
        ['modifyvm default --natpf1 ssh,tcp,127.0.0.1,50164,,22'],
        ['startvm default --type headless'],
        ...WAIT_IP,
        ['list hostonlyifs', rec.LIST_HOSTONLYIFS_ONE],
      ],
      {},
      { random },
    );
    await driver.start();
    script.done();
    const saved = setup(
      [
        ['showvminfo default --machinereadable', 'VMState="saved"'],
        ['modifyvm default --natpf1 delete ssh'],
        ['modifyvm default --natpf1 ssh,tcp,127.0.0.1,50164,,22'],
        ['startvm default --type headless'],
        ...WAIT_IP,
      ],
      { SSHPort: 50164 },
    );
    await saved.driver.start();
    saved.script.done();
  });

  it('start refuses a host-only network that is the network of a host interface (TestCIDRHostIFaceCollision)', async () => {
    const { driver } = setup(
      [
        ['showvminfo default --machinereadable', 'VMState="poweroff"'],
        ['list hostonlyifs', ''],
      ],
      {},
      { hostNetworks: () => [{ address: '192.168.99.42', netmask: '255.255.255.0' }] },
    );
    await expect(driver.start()).rejects.toThrow(
      'Error setting up host only network on machine start: host-only cidr conflicts with the network address of a host interface',
    );
  });

  it('start: a failing startvm names the last VBox.log line', async () => {
    const logDir = path.join(machineDir, 'default', 'Logs');
    mkdirSync(logDir, { recursive: true });
    writeFileSync(path.join(logDir, 'VBox.log'), '00:00:01 first\n00:00:02 Power up failed (VERR_SUPDRV)\n');
    try {
      const { driver } = setup(
        [
          ['showvminfo default --machinereadable', 'VMState="saved"'],
          ['modifyvm default --natpf1 delete ssh'],
          ['modifyvm default --natpf1 ssh,tcp,127.0.0.1,50164,,22'],
          ['startvm default --type headless', { stderr: 'VBoxManage: error: The VM session was aborted' }],
        ],
        { SSHPort: 50164 },
      );
      await expect(driver.start()).rejects.toThrow(
        'Unable to start the VM: VBoxManage startvm default --type headless failed:\nVBoxManage: error: The VM session was aborted\nDetails: 00:00:02 Power up failed (VERR_SUPDRV)',
      );
    } finally {
      writeFileSync(path.join(logDir, 'VBox.log'), '');
    }
  });

  it('stop: ACPI power button, then waits until the VM is off; a paused VM is resumed first', async () => {
    const { driver, script, config } = setup(
      [
        ['showvminfo default --machinereadable', 'VMState="paused"'],
        ['controlvm default resume'],
        ['controlvm default acpipowerbutton'],
        ['showvminfo default --machinereadable', 'VMState="running"'],
        ['showvminfo default --machinereadable', 'VMState="stopping"'],
      ],
      { IPAddress: '192.168.99.100' },
    );
    await driver.stop();
    script.done();
    expect(config.IPAddress).toBe('');
  });

  it('stop gives up on a guest that ignores the power button, and says to kill it', async () => {
    let clock = 0;
    const realNow = Date.now;
    Date.now = () => realNow() + clock;
    try {
      const running: Call = ['showvminfo default --machinereadable', 'VMState="running"'];
      const { driver } = setup(
        [running, ['controlvm default acpipowerbutton'], ...Array.from({ length: 200 }, () => running)],
        {},
        {
          sleep: async () => {
            clock += 1_000;
          },
        },
      );
      await expect(driver.stop()).rejects.toThrow(
        '"default" did not shut down within 120 s of the ACPI power button; `moor kill default` powers it off',
      );
    } finally {
      Date.now = realNow;
    }
  });

  it('kill: controlvm poweroff', async () => {
    const { driver, script } = setup([['controlvm default poweroff']]);
    await driver.kill();
    script.done();
  });

  it('rm: poweroff unless stopped or saved, then unregistervm --delete (TestRemoveStopped/Started/Saved)', async () => {
    for (const [state, calls] of [
      ['poweroff', ['unregistervm --delete default']],
      ['saved', ['unregistervm --delete default']],
      ['running', ['controlvm default poweroff', 'unregistervm --delete default']],
      ['paused', ['controlvm default poweroff', 'unregistervm --delete default']],
    ] as const) {
      const { driver, script } = setup([
        ['showvminfo default --machinereadable', `VMState="${state}"`],
        ...calls.map((c): Call => [c]),
      ]);
      await driver.remove();
      script.done();
    }
    const gone = setup([['showvminfo default --machinereadable', { stderr: rec.MACHINE_NOT_FOUND_STDERR }]]);
    await gone.driver.remove();
    gone.script.done();
  });
});

describe('config.json (test/fixtures/virtualbox/store, written by docker-machine 0.16.2)', () => {
  const recorded = JSON.parse(
    readFileSync(
      path.join(import.meta.dirname, '../fixtures/virtualbox/store/machines/default/config.json'),
      'utf8',
    ),
  );

  it("configFromFlags builds the Driver object with docker-machine's keys, order and values", () => {
    const ctx = {
      storePath: '/home/user/.docker/machine',
      machineDir: '',
      progress: progressReporter('d', () => {}),
      env: {},
    };
    const config = virtualbox.configFromFlags(
      {
        'virtualbox-boot2docker-url': 'file:///home/user/boot2docker.iso',
        'virtualbox-no-vtx-check': true,
        'virtualbox-disk-size': 100,
      },
      baseDriverConfig('default', '/home/user/.docker/machine'),
      ctx,
    );
    // docker-machine filled in IPAddress, SSHPort and SSHKeyPath during create.
    expect(JSON.stringify(config)).toBe(
      JSON.stringify({ ...recorded.Driver, IPAddress: '', SSHPort: 0, SSHKeyPath: '' }),
    );
  });

  it("declares docker-machine 0.16.2's flags with their defaults and env vars (`create -d virtualbox --help`)", () => {
    expect(
      virtualbox.flags.filter((f) => f.name !== 'virtualbox-image').map((f) => [f.name, f.default, f.envVar]),
    ).toEqual([
      ['virtualbox-memory', 1024, 'VIRTUALBOX_MEMORY_SIZE'],
      ['virtualbox-cpu-count', 1, 'VIRTUALBOX_CPU_COUNT'],
      ['virtualbox-disk-size', 20000, 'VIRTUALBOX_DISK_SIZE'],
      ['virtualbox-boot2docker-url', '', 'VIRTUALBOX_BOOT2DOCKER_URL'],
      ['virtualbox-import-boot2docker-vm', '', 'VIRTUALBOX_BOOT2DOCKER_IMPORT_VM'],
      ['virtualbox-host-dns-resolver', false, 'VIRTUALBOX_HOST_DNS_RESOLVER'],
      ['virtualbox-nat-nictype', '82540EM', 'VIRTUALBOX_NAT_NICTYPE'],
      ['virtualbox-hostonly-cidr', '192.168.99.1/24', 'VIRTUALBOX_HOSTONLY_CIDR'],
      ['virtualbox-hostonly-nictype', '82540EM', 'VIRTUALBOX_HOSTONLY_NIC_TYPE'],
      ['virtualbox-hostonly-nicpromisc', 'deny', 'VIRTUALBOX_HOSTONLY_NIC_PROMISC'],
      ['virtualbox-ui-type', 'headless', 'VIRTUALBOX_UI_TYPE'],
      ['virtualbox-hostonly-no-dhcp', false, 'VIRTUALBOX_HOSTONLY_NO_DHCP'],
      ['virtualbox-no-share', false, 'VIRTUALBOX_NO_SHARE'],
      ['virtualbox-no-dns-proxy', false, 'VIRTUALBOX_NO_DNS_PROXY'],
      ['virtualbox-no-vtx-check', false, 'VIRTUALBOX_NO_VTX_CHECK'],
      ['virtualbox-share-folder', '', 'VIRTUALBOX_SHARE_FOLDER'],
    ]);
  });

  it('refuses a memory, disk or CPU value that is not a whole number', () => {
    const ctx = { storePath: '/s', machineDir: '', progress: progressReporter('d', () => {}), env: {} };
    expect(() =>
      virtualbox.configFromFlags({ 'virtualbox-memory': '1g' }, baseDriverConfig('default', '/s'), ctx),
    ).toThrow('invalid value "1g" for flag --virtualbox-memory: not a whole number of at least 1');
  });
});

describe('create (virtualbox_test.go TestCreateVM)', () => {
  it("boot2docker: disk from the userdata tar, then docker-machine's createvm … setextradata, then start", async () => {
    const iso = path.join(tmp.dir, 'b2d.iso');
    writeFileSync(iso, 'iso');
    const { driver, script, config } = setup(
      [
        ['IGNORE CALL'], // convertfromraw (checked below)
        [`createvm --basefolder ${machineDir} --name default --register`],
        [
          'modifyvm default --firmware bios --bioslogofadein off --bioslogofadeout off --bioslogodisplaytime 0 --biosbootmenu disabled --ostype Linux26_64 --cpus 1 --memory 1024 --acpi on --ioapic on --rtcuseutc on --natdnshostresolver1 off --natdnsproxy1 on --cpuhotplug off --pae on --hpet on --hwvirtex on --nestedpaging on --largepages on --vtxvpid on --accelerate3d off --boot1 dvd',
        ],
        ['modifyvm default --nic1 nat --nictype1 82540EM --cableconnected1 on'],
        ['storagectl default --name SATA --add sata --hostiocache on'],
        [
          `storageattach default --storagectl SATA --port 0 --device 0 --type dvddrive --medium ${machineDir}/boot2docker.iso`,
        ],
        [
          `storageattach default --storagectl SATA --port 1 --device 0 --type hdd --medium ${machineDir}/disk.vmdk`,
        ],
        ['guestproperty set default /VirtualBox/GuestAdd/SharedFolders/MountPrefix /'],
        ['guestproperty set default /VirtualBox/GuestAdd/SharedFolders/MountDir /'],
        ['sharedfolder add default --name hosthome --hostpath /home --automount'],
        ['setextradata default VBoxInternal2/SharedFoldersEnableSymlinksCreate/hosthome 1'],
        ['showvminfo default --machinereadable', 'VMState="poweroff"'],
        ['list hostonlyifs', rec.LIST_HOSTONLYIFS_ONE],
        ['list dhcpservers', ''],
        ['list dhcpservers', ''],
        [
          'dhcpserver add --netname HostInterfaceNetworking-vboxnet0 --ip 192.168.99.6 --netmask 255.255.255.0 --lowerip 192.168.99.100 --upperip 192.168.99.254 --enable',
        ],
        [
          'modifyvm default --nic2 hostonly --nictype2 82540EM --nicpromisc2 deny --hostonlyadapter2 vboxnet0 --cableconnected2 on',
        ],
        ['modifyvm default --natpf1 delete ssh'],
        ['modifyvm default --natpf1 ssh,tcp,127.0.0.1,50164,,22'],
        ['startvm default --type headless'],
        ['showvminfo default --machinereadable', RUNNING],
        ['list hostonlyifs', rec.LIST_HOSTONLYIFS_ONE],
      ],
      { Boot2DockerURL: `file://${iso}` },
    );
    await driver.create();
    script.done();
    expect(script.made[0]).toBe(`convertfromraw stdin ${machineDir}/disk.vmdk 20971520000 --format VMDK`);
    expect(config).toMatchObject({
      SSHKeyPath: path.join(machineDir, 'id_rsa'),
      SSHPort: 50164,
      IPAddress: '1.2.3.4',
    });
  });

  it('--virtualbox-import-boot2docker-vm: the old VM off, its disk cloned, its CPUs, memory, ISO and key taken', async () => {
    // vm_test.go's stdOutVMInfo, its two paths pointed at files that exist here.
    const oldIso = path.join(tmp.dir, 'old', 'boot2docker.iso');
    const oldDisk = path.join(tmp.dir, 'old', 'disk.vmdk');
    mkdirSync(path.dirname(oldIso), { recursive: true });
    writeFileSync(oldIso, 'old iso');
    writeFileSync(oldDisk, 'old disk');
    const info = rec.SHOWVMINFO_VM.replace('/home/ehazlett/.boot2docker/boot2docker.iso', oldIso).replace(
      '/home/ehazlett/vm/test/disk.vmdk',
      oldDisk,
    );
    mkdirSync(path.join(tmp.dir, 'home', '.ssh'), { recursive: true });
    writeFileSync(path.join(tmp.dir, 'home', '.ssh', 'id_boot2docker'), 'old key');
    const { driver, script, config } = setup(
      [
        [
          'controlvm boot2docker-vm poweroff',
          { stderr: "VBoxManage: error: Machine 'boot2docker-vm' is not currently running" },
        ],
        ['showvminfo boot2docker-vm --machinereadable', info],
        [`clonehd ${oldDisk} ${machineDir}/disk.vmdk`],
        [`createvm --basefolder ${machineDir} --name default --register`],
        ['IGNORE CALL'],
        [
          'modifyvm default --nic1 nat --nictype1 82540EM --cableconnected1 on',
          { stderr: 'stop here: error:' },
        ],
      ],
      { Boot2DockerImportVM: 'boot2docker-vm', NoShare: true },
    );
    await expect(driver.create()).rejects.toThrow('stop here');
    expect(script.made[4]).toContain('--cpus 2 --memory 1024');
    expect(config).toMatchObject({ CPU: 2, Memory: 1024, SSHKeyPath: path.join(machineDir, 'id_rsa') });
    expect(readFileSync(path.join(machineDir, 'id_rsa'), 'utf8')).toBe('old key');
    expect(readFileSync(path.join(machineDir, 'boot2docker.iso'), 'utf8')).toBe('old iso');
  });

  it('--virtualbox-no-share, a custom share, natdns flags and CPU count change the calls', async () => {
    const iso = path.join(tmp.dir, 'b2d.iso');
    const share = path.join(tmp.dir, 'src');
    mkdirSync(share, { recursive: true });
    const run = async (over: Partial<VirtualBoxConfig>) => {
      const { driver, script } = setup(
        [
          ...Array.from({ length: 11 }, (): Call => ['IGNORE CALL']),
          ['showvminfo default --machinereadable', { stderr: 'stop here: error:' }],
        ],
        { Boot2DockerURL: `file://${iso}`, ...over },
      );
      await driver.create().catch(() => {});
      return script.made;
    };
    const noShare = await run({ NoShare: true, HostDNSResolver: true, DNSProxy: false, CPU: -1 });
    expect(noShare.some((c) => c.startsWith('sharedfolder'))).toBe(false);
    expect(noShare[2]).toContain('--cpus 4 --memory 1024');
    expect(noShare[2]).toContain('--natdnshostresolver1 on --natdnsproxy1 off');
    const custom = await run({ ShareFolder: `${share}:src` });
    expect(custom).toContain(`sharedfolder add default --name src --hostpath ${share} --automount`);
    expect(custom).toContain('setextradata default VBoxInternal2/SharedFoldersEnableSymlinksCreate/src 1');
  });

  it('cloud image: converted to a VDI, grown, booted from disk with the cloud-init seed on the DVD slot', async () => {
    const image = path.join(tmp.dir, 'debian-12-genericcloud-amd64.raw');
    writeFileSync(image, 'raw image');
    const seeds: unknown[] = [];
    const cached = path.join(storePath, 'cache', 'debian-12-genericcloud-amd64.raw');
    const { driver, script } = setup(
      [
        [`convertfromraw ${cached} ${machineDir}/disk.vdi --format VDI`],
        [`modifymedium disk ${machineDir}/disk.vdi --resize 20000`],
        [`createvm --basefolder ${machineDir} --name default --register`],
        ['IGNORE CALL'], // modifyvm … (checked below)
        ['modifyvm default --nic1 nat --nictype1 82540EM --cableconnected1 on'],
        ['storagectl default --name SATA --add sata --hostiocache on'],
        [
          `storageattach default --storagectl SATA --port 0 --device 0 --type dvddrive --medium ${machineDir}/seed.iso`,
        ],
        [
          `storageattach default --storagectl SATA --port 1 --device 0 --type hdd --medium ${machineDir}/disk.vdi`,
        ],
        ['guestproperty set default /VirtualBox/GuestAdd/SharedFolders/MountPrefix /'],
        ['guestproperty set default /VirtualBox/GuestAdd/SharedFolders/MountDir /'],
        ['showvminfo default --machinereadable', { stderr: 'stop here: error:' }],
      ],
      { Image: image, NoShare: true },
      {
        writeSeed: async (o) => {
          seeds.push(o);
          return path.join(o.dir, 'seed.iso');
        },
      },
    );
    await expect(driver.create()).rejects.toThrow('stop here');
    script.done();
    expect(readFileSync(cached, 'utf8')).toBe('raw image');
    expect(script.made[3]).toContain('--ostype Debian_64');
    expect(script.made[3]).toMatch(/--boot1 disk$/);
    expect(seeds).toEqual([
      {
        dir: machineDir,
        hostname: 'default',
        user: 'docker',
        publicKey: readFileSync(path.join(machineDir, 'id_rsa.pub'), 'utf8'),
        networkConfig: expect.stringContaining('dhcp4: true'),
      },
    ]);
  });

  it('pre-create check: VBoxManage version, VT-x, settings, the host-only list; nothing is created', async () => {
    const ok = setup(
      [
        ['--version', '5.2.44r139111\n'],
        ['list hostonlyifs', rec.LIST_HOSTONLYIFS_ONE],
      ],
      {
        Boot2DockerURL: 'file:///x.iso',
      },
    );
    await ok.driver.preCreateCheck();
    ok.script.done();
    const old = setup([['--version', '4.2.36-104064\n']], { Boot2DockerURL: 'file:///x.iso' });
    await expect(old.driver.preCreateCheck()).rejects.toThrow('Your VirtualBox install is "4.2.36-104064"');
    const noVtx = setup(
      [['--version', '5.2.44r139111\n']],
      { Boot2DockerURL: 'file:///x.iso' },
      { cpuHasVtx: async () => false },
    );
    await expect(noVtx.driver.preCreateCheck()).rejects.toThrow(
      "This computer doesn't have VT-X/AMD-v enabled",
    );
    const badCidr = setup([['--version', '5.2.44r139111\n']], {
      Boot2DockerURL: 'file:///x.iso',
      HostOnlyCIDR: '192.168.99.0/24',
    });
    await expect(badCidr.driver.preCreateCheck()).rejects.toThrow(
      'host-only cidr must be specified with a host address',
    );
    const noSeed = setup([['--version', '5.2.44r139111\n']]);
    await expect(noSeed.driver.preCreateCheck()).rejects.toThrow(
      'new machines need --virtualbox-boot2docker-url',
    );
  });
});

describe('cloud-image seed', () => {
  it('the default deps write a NoCloud ISO (cidata) with the user, key and network-config', async () => {
    const { dir, cleanup } = tempDir('moor-vbox-seed');
    const file = await defaultDeps({}).writeSeed!({
      dir,
      hostname: 'web',
      user: 'docker',
      publicKey: 'ssh-ed25519 AAAAC3Nz moor',
      networkConfig: 'version: 2\nethernets: {}\n',
    });
    expect(file).toBe(path.join(dir, 'seed.iso'));
    const iso = readFileSync(file).toString('latin1');
    expect(iso.toLowerCase()).toContain('cidata');
    for (const name of ['META-DATA;1', 'USER-DATA;1', 'NETWORK-CONFIG;1']) expect(iso).toContain(name);
    expect(iso).toContain('ssh-ed25519 AAAAC3Nz moor');
    expect(iso).toContain('version: 2\nethernets: {}\n');
    cleanup();
  });
});

describe('VBoxManage runner (vbm_test.go)', () => {
  it('retries "The object is not ready", at most 5 times', async () => {
    let runs = 0;
    const flaky = vboxManage(async () => {
      runs++;
      return runs === 1
        ? { code: 1, stdout: '', stderr: 'error: The object is not ready' }
        : { code: 0, stdout: 'Printed to StdOut', stderr: '' };
    });
    expect(await flaky(['command', 'arg'])).toBe('Printed to StdOut');
    expect(runs).toBe(2);
    runs = 0;
    const never = vboxManage(async () => {
      runs++;
      return { code: 1, stdout: '', stderr: 'error: The object is not ready' };
    });
    await expect(never(['command', 'arg'])).rejects.toThrow(VBoxManageError);
    expect(runs).toBe(5);
  });

  it('"error:" on stderr fails even with exit status 0 (TestVbmOutErrFailingWithExitStatus)', async () => {
    const run = vboxManage(async () => ({ code: 0, stdout: '', stderr: 'error: Unable to run vbox' }));
    await expect(run(['arg1', 'arg2', 'arg3'])).rejects.toThrow(
      'VBoxManage arg1 arg2 arg3 failed:\nerror: Unable to run vbox',
    );
  });
});
