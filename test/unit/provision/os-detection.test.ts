import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOsRelease } from '../../../main/provision/os-release.js';
import { detectProvisioner } from '../../../main/provision/provisioners.js';

const fixture = (name: string) =>
  readFileSync(path.join(import.meta.dirname, '../../fixtures/os-release', name), 'utf8');

describe('parseOsRelease', () => {
  it.each([
    ['debian-12', 'debian', [], '12', 'Debian GNU/Linux 12 (bookworm)'],
    ['ubuntu-24.04', 'ubuntu', ['debian'], '24.04', 'Ubuntu 24.04.1 LTS'],
    ['fedora-40', 'fedora', [], '40', 'Fedora Linux 40 (Cloud Edition)'],
    ['centos-stream-9', 'centos', ['rhel', 'fedora'], '9', 'CentOS Stream 9'],
    ['rocky-9', 'rocky', ['rhel', 'centos', 'fedora'], '9.4', 'Rocky Linux 9.4 (Blue Onyx)'],
    ['arch', 'arch', [], '', 'Arch Linux'],
    ['opensuse-leap-15.6', 'opensuse-leap', ['suse', 'opensuse'], '15.6', 'openSUSE Leap 15.6'],
    ['opensuse-tumbleweed', 'opensuse-tumbleweed', ['opensuse', 'suse'], '20240901', 'openSUSE Tumbleweed'],
    ['flatcar', 'flatcar', ['coreos'], '3975.2.0', 'Flatcar Container Linux by Kinvolk 3975.2.0 (Oklo)'],
  ])('%s', (file, id, idLike, versionId, prettyName) => {
    const os = parseOsRelease(fixture(file));
    expect(os).toMatchObject({ id, idLike, versionId, prettyName });
  });

  it('keeps values that contain "=" (docker-machine skipped those lines)', () => {
    const os = parseOsRelease('ID=x\nCPE_NAME="cpe:/o:a=b"\nHOME_URL=https://h/?a=b\n');
    expect(os.fields.CPE_NAME).toBe('cpe:/o:a=b');
    expect(os.fields.HOME_URL).toBe('https://h/?a=b');
  });

  it('unquotes shell style: single quotes, escapes, trailing comments, CRLF', () => {
    const os = parseOsRelease(
      'NAME=\'My "OS"\'\r\nPRETTY_NAME="A \\"quoted\\" \\$name"\r\nID=myos # a comment\r\n# ID=nope\r\n',
    );
    expect(os.name).toBe('My "OS"');
    expect(os.prettyName).toBe('A "quoted" $name');
    expect(os.id).toBe('myos');
  });

  it('lowercases IDs and ignores junk lines', () => {
    const os = parseOsRelease('garbage line\n=x\nID="Debian"\nID_LIKE="  Ubuntu   DEBIAN "\n');
    expect(os.id).toBe('debian');
    expect(os.idLike).toEqual(['ubuntu', 'debian']);
  });
});

describe('detectProvisioner', () => {
  it.each([
    ['debian-12', 'debian'],
    ['ubuntu-24.04', 'ubuntu(systemd)'],
    ['fedora-40', 'fedora'],
    ['centos-stream-9', 'redhat'],
    ['rocky-9', 'redhat'],
    ['arch', 'arch'],
    ['opensuse-leap-15.6', 'SUSE'],
    ['opensuse-tumbleweed', 'SUSE'],
    ['flatcar', 'flatcar'],
  ])('%s → %s', (file, name) => {
    expect(detectProvisioner(parseOsRelease(fixture(file)))?.name).toBe(name);
  });

  it('falls back on ID_LIKE in its order (Linux Mint → ubuntu, Manjaro-like → arch)', () => {
    expect(detectProvisioner(parseOsRelease('ID=linuxmint\nID_LIKE="ubuntu debian"'))?.name).toBe(
      'ubuntu(systemd)',
    );
    expect(detectProvisioner(parseOsRelease('ID=endeavouros\nID_LIKE=arch'))?.name).toBe('arch');
    expect(detectProvisioner(parseOsRelease('ID=almalinux\nID_LIKE="rhel centos fedora"'))?.name).toBe(
      'redhat',
    );
  });

  it('returns null for an OS it does not know', () => {
    expect(detectProvisioner(parseOsRelease('ID=alpine\nNAME="Alpine Linux"'))).toBeNull();
    expect(detectProvisioner(parseOsRelease(''))).toBeNull();
  });
});
