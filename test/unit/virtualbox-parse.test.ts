import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkVBoxManageVersion,
  dhcpRange,
  dhcpServerAddress,
  hostOnlyMac,
  ipForMac,
  machineReadable,
  natSshPort,
  parseDhcpServers,
  parseHostOnlyCidr,
  parseHostOnlyIfs,
  parseShareFolder,
  vmState,
  vtxDisabledInLog,
} from '../../main/drivers/virtualbox/parse.js';
import { boot2dockerUserdataTar, vmCpus } from '../../main/drivers/virtualbox/plan.js';
import * as rec from '../fixtures/virtualbox/recordings.js';
import { requireCommand, tempDir } from '../harness/components.js';

const tmp = tempDir('moor-vbox-parse');
afterAll(() => tmp.cleanup());

describe('VBoxManage outputs recorded in docker-machine tests', () => {
  it('maps VMState like docker-machine (virtualbox_test.go TestState)', () => {
    for (const [line, state] of rec.VMSTATE_LINES) expect(vmState(line), line).toBe(state);
    // VirtualBox's transient states are shown, not blanked.
    expect(vmState('VMState="stopping"')).toBe('Stopping');
  });

  it('reads the host-only MAC (TestGetHostOnlyMACAddress) and says when there is none', () => {
    expect(hostOnlyMac(rec.SHOWVMINFO_HOSTONLY)).toBe('004488aabbcc');
    expect(() => hostOnlyMac(rec.SHOWVMINFO_NO_HOSTONLY)).toThrow(
      'Machine does not have a host-only adapter',
    );
    expect(() => hostOnlyMac('hostonlyadapter2="vboxnet0"\n')).toThrow(
      'Could not find MAC address for adapter 2',
    );
  });

  it('finds the IP of the interface with that MAC in `ip addr show` (TestParseIPForMACFromIPAddr)', () => {
    expect(ipForMac(rec.IP_ADDR_SHOW, '004488aabbcc')).toBe('1.2.3.4');
    expect(ipForMac(rec.IP_ADDR_SHOW, '115599ddeeff')).toBe('5.6.7.8');
    expect(() => ipForMac(rec.IP_ADDR_SHOW, '000000000000')).toThrow(
      'Could not find matching IP for MAC address 000000000000',
    );
  });

  it('reads quoted keys and values of --machinereadable (vm_test.go stdOutVMInfo)', () => {
    const fields = new Map(machineReadable(rec.SHOWVMINFO_VM));
    expect(fields.get('cpus')).toBe('2');
    expect(fields.get('memory')).toBe('1024');
    expect(fields.get('SATA-1-0')).toBe('/home/ehazlett/vm/test/disk.vmdk');
    expect(fields.get('SATA-ImageUUID-1-0')).toBe('12345-abcdefg');
    expect(natSshPort('nic1="nat"\nForwarding(0)="ssh,tcp,127.0.0.1,50164,,22"\n')).toBe(50164);
    expect(natSshPort(rec.SHOWVMINFO_VM)).toBeUndefined();
  });

  it('lists host-only adapters and DHCP servers (network_test.go)', () => {
    expect(parseHostOnlyIfs(rec.LIST_HOSTONLYIFS_TWO)).toEqual([
      {
        name: 'vboxnet0',
        dhcp: false,
        ip: '192.168.99.1',
        netmask: '255.255.255.0',
        networkName: 'HostInterfaceNetworking-vboxnet0',
      },
      {
        name: 'vboxnet1',
        dhcp: false,
        ip: '169.254.37.187',
        netmask: '255.255.255.0',
        networkName: 'HostInterfaceNetworking-vboxnet1',
      },
    ]);
    expect(parseHostOnlyIfs(rec.LIST_HOSTONLYIFS_WINDOWS)[0]?.name).toBe(
      'VirtualBox Host-Only Ethernet Adapter',
    );
    expect(() => parseHostOnlyIfs(rec.LIST_HOSTONLYIFS_ONE + rec.LIST_HOSTONLYIFS_ONE)).toThrow(
      'VirtualBox is configured with multiple host-only adapters with the same name "HostInterfaceNetworking-vboxnet0". Please remove one',
    );
    const dhcp = parseDhcpServers(rec.LIST_DHCPSERVERS_TWO);
    expect([...dhcp.keys()]).toEqual([
      'HostInterfaceNetworking-vboxnet0',
      'HostInterfaceNetworking-vboxnet1',
    ]);
    expect(dhcp.get('HostInterfaceNetworking-vboxnet1')).toEqual({
      networkName: 'HostInterfaceNetworking-vboxnet1',
      ip: '192.168.99.7',
      netmask: '255.255.255.0',
      lower: '192.168.99.100',
      upper: '192.168.99.254',
      enabled: false,
    });
  });

  it('checks the VBoxManage version with docker-machine messages (vbm_test.go)', () => {
    for (const v of rec.VERSIONS_OK) expect(() => checkVBoxManageVersion(v), v).not.toThrow();
    for (const v of rec.VERSIONS_REFUSED) {
      expect(() => checkVBoxManageVersion(v), v).toThrow(
        `We support Virtualbox starting with version 5. Your VirtualBox install is "${v}". Please upgrade at https://www.virtualbox.org`,
      );
    }
    expect(checkVBoxManageVersion('4.3.1').warning).toContain('You are using version 4.3.1 of VirtualBox');
  });

  it('reads VT-x failures from VBox.log (vtx_test.go)', () => {
    for (const line of rec.VBOX_LOG_VTX_DISABLED) expect(vtxDisabledInLog([line]), line).toBe(true);
    for (const line of rec.VBOX_LOG_VTX_OK) expect(vtxDisabledInLog([line]), line).toBe(false);
    expect(vtxDisabledInLog([])).toBe(false);
  });
});

describe('settings (virtualbox_test.go)', () => {
  it('parses and validates the host-only CIDR', () => {
    expect(parseHostOnlyCidr('192.168.100.1/24')).toEqual({
      ip: '192.168.100.1',
      network: '192.168.100.0',
      prefix: 24,
      netmask: '255.255.255.0',
    });
    expect(() => parseHostOnlyCidr('192.168.100.1')).toThrow('invalid CIDR address: 192.168.100.1');
    expect(() => parseHostOnlyCidr('192.168.100.0/24')).toThrow(
      'host-only cidr must be specified with a host address, not a network address',
    );
  });

  it('computes the DHCP range (TestGetDHCPAddressRange) and a DHCP address (TestGetRandomIPinSubnet)', () => {
    const range = (dhcp: string, cidr: string) => dhcpRange(dhcp, parseHostOnlyCidr(cidr));
    expect(range('10.0.0.14', '10.0.0.14/8')).toEqual({ lower: '10.0.0.100', upper: '10.0.0.254' });
    expect(range('192.168.99.7', '192.168.99.7/24')).toEqual({
      lower: '192.168.99.100',
      upper: '192.168.99.254',
    });
    expect(range('100.121.20.19', '100.121.20.19/25')).toEqual({
      lower: '100.121.20.20',
      upper: '100.121.20.126',
    });
    expect(range('100.121.10.8', '100.121.10.8/28')).toEqual({
      lower: '100.121.10.9',
      upper: '100.121.10.14',
    });
    // RandomInt(24) → 5 in TestStart gives .6; the host's own .1 is never picked.
    expect(dhcpServerAddress(parseHostOnlyCidr('192.168.99.1/24'), () => 5)).toBe('192.168.99.6');
    const tries = [0, 0, 3];
    expect(dhcpServerAddress(parseHostOnlyCidr('192.168.99.1/24'), () => tries.shift() ?? 0)).toBe(
      '192.168.99.4',
    );
    expect(() => dhcpServerAddress(parseHostOnlyCidr('192.168.99.1/24'), () => 0)).toThrow(
      'unable to generate random IP',
    );
  });

  it('splits --virtualbox-share-folder at the last colon (TestParseShareFolder)', () => {
    expect(parseShareFolder('dir:name')).toEqual({ dir: 'dir', name: 'name' });
    expect(parseShareFolder('C:\\dir:name')).toEqual({ dir: 'C:\\dir', name: 'name' });
    expect(parseShareFolder('C:\\:name')).toEqual({ dir: 'C:\\', name: 'name' });
  });

  it('uses all host CPUs for a count below 1, at most 32', () => {
    expect([vmCpus(1, 8), vmCpus(-1, 8), vmCpus(0, 64), vmCpus(40, 8)]).toEqual([1, 8, 32, 32]);
  });
});

describe("boot2docker's userdata tar", () => {
  it('is a tar the system tar reads: the format-me magic file and the key as authorized_keys(2)', () => {
    const tar = requireCommand('tar', 'tar');
    const key = Buffer.from('ssh-rsa AAAAB3Nza test@moor\n');
    const archive = boot2dockerUserdataTar(key);
    expect(archive.length % 512).toBe(0);
    const file = path.join(tmp.dir, 'userdata.tar');
    writeFileSync(file, archive);
    expect(execFileSync(tar, ['-tvf', file], { encoding: 'utf8' })).toMatch(
      /^-rw-r--r-- .*boot2docker, please format-me\ndrwx------ .*\.ssh\n-rw-r--r-- .*\.ssh\/authorized_keys\n-rw-r--r-- .*\.ssh\/authorized_keys2\n$/,
    );
    const out = path.join(tmp.dir, 'x');
    mkdirSync(out);
    execFileSync(tar, ['-xf', file, '-C', out]);
    expect(readFileSync(path.join(out, '.ssh/authorized_keys'))).toEqual(key);
    expect(readFileSync(path.join(out, 'boot2docker, please format-me'), 'utf8')).toBe(
      'boot2docker, please format-me',
    );
  });
});
