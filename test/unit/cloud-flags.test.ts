import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriverCatalog } from '../../main/api/contract.js';
import {
  diskSizeProblem,
  isInlineUserData,
  parseDigitalOceanTags,
  parseEc2Tags,
  parseGceLabels,
  parseGceNetworkTags,
  USER_DATA_LIMITS,
  userDataValueProblem,
} from '../../main/base/cloud-values.js';
import { flagValueProblem } from '../../main/base/validate-input.js';
import amazonec2 from '../../main/drivers/amazonec2/index.js';
import { loadUserData, userDataFields } from '../../main/drivers/cloud-flags.js';
import digitalocean from '../../main/drivers/digitalocean/index.js';
import google from '../../main/drivers/google/index.js';
import type { DriverModule } from '../../main/drivers/types.js';
import { formFields, toRequest, validate } from '../../renderer/src/form.js';

// The shared cloud flags (user-data, tags/labels, disk size): one definition, each provider's rules,
// the same flag data in the CLI and the create form.
let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-cloud-flags-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const byName = (d: DriverModule) => Object.fromEntries(d.flags.map((f) => [f.name, f]));

describe('one flag set, composed by each cloud driver', () => {
  it.each([
    [digitalocean, 'DIGITALOCEAN_USERDATA'],
    [amazonec2, 'AWS_USERDATA'],
    [google, 'GOOGLE_USERDATA'],
  ] as const)('%s: --<driver>-userdata is the shared definition', (driver, envVar) => {
    const flag = byName(driver)[`${driver.name}-userdata`];
    expect(flag).toMatchObject({
      type: 'string',
      envVar,
      default: '',
      configKey: 'UserDataFile',
      check: `${driver.name}-user-data`,
      label: 'User-data (cloud-init)',
      multiline: true,
    });
    expect(flag?.help).toContain(`at most ${USER_DATA_LIMITS[driver.name as 'google'] / 1024} KiB`);
  });

  it("tags/labels and disk sizes under docker-machine's names (Moor's google-labels beside them)", () => {
    expect(byName(digitalocean)['digitalocean-tags']).toMatchObject({
      envVar: 'DIGITALOCEAN_TAGS',
      check: 'digitalocean-tags',
    });
    expect(byName(amazonec2)['amazonec2-tags']).toMatchObject({
      envVar: 'AWS_TAGS',
      check: 'amazonec2-tags',
    });
    expect(byName(amazonec2)['amazonec2-root-size']).toMatchObject({
      type: 'int',
      envVar: 'AWS_ROOT_SIZE',
      default: 16,
      check: 'amazonec2-disk-size',
    });
    expect(byName(google)['google-tags']).toMatchObject({
      envVar: 'GOOGLE_TAGS',
      check: 'google-network-tags',
    });
    expect(byName(google)['google-labels']).toMatchObject({
      envVar: 'GOOGLE_LABELS',
      configKey: 'Labels',
      check: 'google-labels',
    });
    expect(byName(google)['google-disk-size']).toMatchObject({
      type: 'int',
      default: 10,
      check: 'google-disk-size',
    });
    // DigitalOcean has no root-size flag: the size slug decides the disk (no block volume is attached).
    expect(digitalocean.flags.some((f) => /volume|disk/.test(f.name))).toBe(false);
  });
});

describe('value rules (main/base/cloud-values.ts)', () => {
  it('user-data is inline when it has a line break or starts like a cloud-init document', () => {
    expect(isInlineUserData('#cloud-config\nruncmd: []')).toBe(true);
    expect(isInlineUserData('#!/bin/sh')).toBe(true);
    expect(isInlineUserData('line one\nline two')).toBe(true);
    expect(isInlineUserData('/home/me/user-data.yaml')).toBe(false);
    expect(isInlineUserData('user-data.yaml')).toBe(false);
    expect(userDataFields('#cloud-config\n')).toEqual({ UserDataFile: '', UserData: '#cloud-config\n' });
    expect(userDataFields('ud.yaml', '/work')).toEqual({ UserDataFile: '/work/ud.yaml' });
    expect(userDataFields('  ')).toEqual({ UserDataFile: '' });
  });

  it('size limits per provider, in bytes of UTF-8', () => {
    const at = (n: number) => `#!/bin/sh\n${'é'.repeat((n - 10) / 2)}`; // 10 bytes of prefix, 2 per é
    expect(userDataValueProblem('amazonec2', at(16 * 1024))).toBeNull();
    expect(userDataValueProblem('amazonec2', `${at(16 * 1024)}x`)).toBe(
      'the inline user-data is 16385 bytes; Amazon EC2 takes at most 16 KiB of user-data',
    );
    expect(userDataValueProblem('digitalocean', at(64 * 1024))).toBeNull();
    expect(userDataValueProblem('digitalocean', `${at(64 * 1024)}x`)).toMatch(/at most 64 KiB/);
    expect(userDataValueProblem('google', `${at(256 * 1024)}x`)).toMatch(/at most 256 KiB/);
    expect(userDataValueProblem('google', '/some/path')).toBeNull(); // a path: checked on create
  });

  it('DigitalOcean tags', () => {
    expect(parseDigitalOceanTags(' a, b:c ,d_e,,a')).toEqual(['a', 'b:c', 'd_e']);
    expect(() => parseDigitalOceanTags('ok,not ok')).toThrow('"not ok" is not a DigitalOcean tag name');
    expect(() => parseDigitalOceanTags('a/b')).toThrow('letters, digits, ":", "-" and "_" only');
  });

  it('EC2 tags (docker-machine k1,v1,k2,v2)', () => {
    expect(parseEc2Tags('a,1,b,')).toEqual([
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '' },
    ]);
    expect(parseEc2Tags('')).toEqual([]);
    expect(() => parseEc2Tags('a')).toThrow('must be key,value pairs');
    expect(() => parseEc2Tags('moor-create,x')).toThrow('"moor-create" is set by Moor itself');
    expect(() => parseEc2Tags('AWS:x,y')).toThrow('keys starting with "aws:"');
  });

  it('GCE labels and network tags', () => {
    expect(parseGceLabels('env=dev, team=infra,empty=,bare')).toEqual({
      env: 'dev',
      team: 'infra',
      empty: '',
      bare: '',
    });
    expect(() => parseGceLabels('1env=x')).toThrow('"1env" is not a label key');
    expect(() => parseGceLabels(`k=${'v'.repeat(64)}`)).toThrow('is not a label value');
    expect(() => parseGceLabels(Array.from({ length: 64 }, (_, i) => `k${i}=v`).join(','))).toThrow(
      'has 64 labels; GCE allows 64, one of them Moor',
    );
    expect(parseGceNetworkTags('web, db-1')).toEqual(['web', 'db-1']);
    expect(() => parseGceNetworkTags('web-')).toThrow('"web-" is not a network tag');
  });

  it('disk sizes', () => {
    expect(diskSizeProblem('amazonec2', 1)).toBeNull();
    expect(diskSizeProblem('amazonec2', '16384')).toBeNull();
    expect(diskSizeProblem('amazonec2', 16385)).toBe("16385 GB is outside Amazon EC2's 1–16384 GB");
    expect(diskSizeProblem('google', 9)).toBe("9 GB is outside Google Compute Engine's 10–65536 GB");
    expect(diskSizeProblem('google', '1.5')).toBe('"1.5" is not a size in GB (a whole number)');
  });

  it('flagValueProblem dispatches every shared check', () => {
    expect(flagValueProblem('digitalocean-tags', 'a b')).toMatch(/not a DigitalOcean tag name/);
    expect(flagValueProblem('amazonec2-tags', 'a')).toMatch(/key,value pairs/);
    expect(flagValueProblem('google-labels', 'A=b')).toMatch(/not a label key/);
    expect(flagValueProblem('google-network-tags', 'A')).toMatch(/not a network tag/);
    expect(flagValueProblem('amazonec2-disk-size', 0)).toMatch(/outside/);
    expect(flagValueProblem('google-disk-size', 5)).toMatch(/outside/);
    expect(flagValueProblem('amazonec2-user-data', `#!/bin/sh\n${'x'.repeat(17000)}`)).toMatch(/16 KiB/);
    expect(flagValueProblem('google-labels', 'env=dev')).toBeNull();
  });
});

describe('loadUserData: read and checked before any API call', () => {
  it('reads a file; refuses a missing path, a directory and an oversized file by its size', async () => {
    const file = path.join(dir, 'ud.yaml');
    await fs.writeFile(file, '#cloud-config\n');
    expect((await loadUserData('google', { UserDataFile: file }))?.toString()).toBe('#cloud-config\n');
    expect(await loadUserData('google', { UserDataFile: '' })).toBeNull();
    await expect(loadUserData('google', { UserDataFile: path.join(dir, 'nope') })).rejects.toThrow(
      `--google-userdata: the user-data file ${path.join(dir, 'nope')} could not be read: ENOENT`,
    );
    await expect(loadUserData('amazonec2', { UserDataFile: dir })).rejects.toThrow(
      `--amazonec2-userdata: ${dir} is not a file`,
    );
    const big = path.join(dir, 'big');
    await fs.writeFile(big, Buffer.alloc(16 * 1024 + 1));
    await expect(loadUserData('amazonec2', { UserDataFile: big })).rejects.toThrow(
      `--amazonec2-userdata: the user-data file ${big} is 16385 bytes; Amazon EC2 takes at most 16 KiB`,
    );
    expect((await loadUserData('digitalocean', { UserDataFile: big }))?.length).toBe(16 * 1024 + 1);
    const empty = path.join(dir, 'empty');
    await fs.writeFile(empty, '');
    await expect(loadUserData('google', { UserDataFile: empty })).rejects.toThrow('is empty');
  });
});

describe('the create form shows them through the same flag data', () => {
  const catalog: DriverCatalog = {
    drivers: [google, amazonec2, digitalocean].map((d) => ({
      name: d.name,
      description: d.description,
      provisions: d.provisions,
      capabilities: d.capabilities,
      flags: d.flags,
    })),
    commonFlags: [],
    envSet: [],
  };

  it('a text area labelled by the flag data; inline text is sent as written, a path trimmed', () => {
    const { driverFields } = formFields(catalog, 'google');
    const userData = driverFields.find((f) => f.flag.name === 'google-userdata')!;
    expect(userData).toMatchObject({ label: 'User-data (cloud-init)', input: 'multiline' });
    expect(driverFields.find((f) => f.flag.name === 'google-tags')?.label).toBe('Network tags');
    expect(driverFields.find((f) => f.flag.name === 'google-labels')?.label).toBe('Labels');
    expect(driverFields.find((f) => f.flag.name === 'google-disk-size')?.label).toBe('Disk size (GB)');
    const values = {
      'google-project': 'p',
      'google-userdata': '#cloud-config\nruncmd: [ls]\n',
      'google-labels': 'env=dev',
    };
    expect(validate('m', driverFields, values)).toEqual({});
    expect(toRequest('m', 'google', driverFields, values).flags).toMatchObject({
      'google-userdata': '#cloud-config\nruncmd: [ls]\n',
      'google-labels': 'env=dev',
    });
    const asPath = { ...values, 'google-userdata': '  /home/me/ud.yaml\n' };
    expect(toRequest('m', 'google', driverFields, asPath).flags['google-userdata']).toBe('/home/me/ud.yaml');
  });

  it("the form refuses what the driver refuses, with the driver's words", () => {
    const gce = formFields(catalog, 'google').driverFields;
    expect(
      validate('m', gce, {
        'google-project': 'p',
        'google-labels': 'Env=dev',
        'google-disk-size': '5',
        'google-tags': 'Web',
      }),
    ).toEqual({
      'google-labels': expect.stringContaining('"Env" is not a label key'),
      'google-disk-size': "5 GB is outside Google Compute Engine's 10–65536 GB",
      'google-tags': expect.stringContaining('"Web" is not a network tag'),
    });
    const ec2 = formFields(catalog, 'amazonec2').driverFields;
    expect(validate('m', ec2, { 'amazonec2-tags': 'a,b,c', 'amazonec2-root-size': '0' })).toEqual({
      'amazonec2-tags': expect.stringContaining('must be key,value pairs'),
      'amazonec2-root-size': "0 GB is outside Amazon EC2's 1–16384 GB",
    });
    const ocean = formFields(catalog, 'digitalocean').driverFields;
    expect(
      validate('m', ocean, {
        'digitalocean-access-token': 't',
        'digitalocean-tags': 'a b',
        'digitalocean-userdata': `#cloud-config\n${'x'.repeat(64 * 1024)}`,
      }),
    ).toEqual({
      'digitalocean-tags': expect.stringContaining('not a DigitalOcean tag name'),
      'digitalocean-userdata': expect.stringContaining('DigitalOcean takes at most 64 KiB'),
    });
  });
});
