import { describe, expect, it } from 'vitest';
import { driverFacts, engineGroups, factValue } from '../../../renderer/src/details-model.js';

describe('details in human words', () => {
  it('groups the engine options that were set, with labels instead of Go field names', () => {
    const groups = engineGroups({
      ArbitraryFlags: ['log-opt=max-size=10m'],
      Dns: null,
      GraphDir: '/var/lib/docker',
      Env: [],
      InsecureRegistry: ['reg.local:5000'],
      InstallURL: 'https://get.docker.com',
      Labels: [],
      LogLevel: '',
      StorageDriver: '',
      SelinuxEnabled: false,
      TlsVerify: true,
      RegistryMirror: [],
    });
    expect(groups.map((g) => g.title)).toEqual(['Docker installation', 'Registries', 'Daemon']);
    const labels = groups.flatMap((g) => g.facts.map((f) => f.label));
    expect(labels).toEqual([
      'Install script',
      'Data directory',
      'TLS client verification',
      'Insecure registries',
      'Extra daemon options',
    ]);
    expect(labels.join(' ')).not.toMatch(/ArbitraryFlags|GraphDir/);
    expect(engineGroups(null)).toEqual([]);
  });

  it("shows a droplet's region, size and ID", () => {
    const facts = driverFacts('digitalocean', {
      Driver: {
        Region: 'ams3',
        Size: 's-1vcpu-1gb',
        Image: 'ubuntu-24-04-x64',
        DropletID: 4242,
        IPv6: false,
      },
    });
    expect(facts.map((f) => [f.label, f.value])).toEqual([
      ['Region', 'ams3'],
      ['Size', 's-1vcpu-1gb'],
      ['Image', 'ubuntu-24-04-x64'],
      ['Droplet ID', '4242'],
    ]);
    expect(driverFacts('virtualbox', { Driver: { Memory: 1024 } })).toEqual([]);
  });

  it('renders values plainly', () => {
    expect(factValue(['a', 'b'])).toBe('a, b');
    expect(factValue(true)).toBe('on');
    expect(factValue({ a: 1, b: '' })).toBe('a=1');
  });
});
