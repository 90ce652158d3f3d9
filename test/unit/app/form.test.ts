import { describe, expect, it } from 'vitest';
import type { DriverCatalog, FlagSpec } from '../../../main/api/contract.js';
import { silentProgress } from '../../../main/base/progress.js';
import amazonec2 from '../../../main/drivers/amazonec2/index.js';
import digitalocean from '../../../main/drivers/digitalocean/index.js';
import generic from '../../../main/drivers/generic/index.js';
import google from '../../../main/drivers/google/index.js';
import none from '../../../main/drivers/none/index.js';
import qemu from '../../../main/drivers/qemu/index.js';
import virtualbox from '../../../main/drivers/virtualbox/index.js';
import { baseDriverConfig } from '../../../main/store/config.js';
import {
  choiceAvailability,
  credentialsOf,
  fieldLabel,
  filterChoices,
  formFields,
  groupFields,
  initialValues,
  toRequest,
  validate,
  valuesFromRequest,
} from '../../../renderer/src/form.js';

const flags: FlagSpec[] = [
  { name: 'generic-ip-address', type: 'string', help: 'IP Address of machine', required: true },
  { name: 'generic-ssh-user', type: 'string', help: 'SSH user', default: 'root', envVar: 'GENERIC_SSH_USER' },
  { name: 'generic-ssh-port', type: 'int', help: 'SSH port', default: 22, envVar: 'GENERIC_SSH_PORT' },
  { name: 'generic-engine-port', type: 'int', help: 'Docker engine port', default: 2376 },
  {
    name: 'generic-ssh-key',
    type: 'string',
    help: 'SSH private key path',
    default: '',
    envVar: 'GENERIC_SSH_KEY',
  },
  { name: 'token', type: 'string', help: 'API token', required: true, envVar: 'TOKEN', secret: true },
  { name: 'generic-flag', type: 'bool', help: 'a switch' },
];
const catalog: DriverCatalog = {
  drivers: [
    { name: 'generic', description: '', provisions: true, capabilities: generic.capabilities, flags },
  ],
  commonFlags: [{ name: 'engine-opt', type: 'string[]', help: 'opts' }],
  envSet: ['TOKEN'],
};

describe('create form model', () => {
  const { driverFields, commonFields } = formFields(catalog, 'generic');

  it('is generated from the flag metadata', () => {
    expect(driverFields.map((f) => [f.label, f.input, f.required])).toEqual([
      ['IP address', 'text', true],
      ['SSH user', 'text', false],
      ['SSH port', 'number', false],
      ['Engine port', 'number', false],
      ['SSH key', 'text', false],
      ['Token', 'password', false], // required, but set in the environment
      ['Flag', 'checkbox', false],
    ]);
    expect(driverFields.find((f) => f.flag.name === 'token')!.fromEnv).toBe(true);
    expect(commonFields[0]!.input).toBe('lines');
    expect(fieldLabel({ name: 'digitalocean-access-token', type: 'string', help: '' }, 'digitalocean')).toBe(
      'Access token',
    );
  });

  it('validates before submit: name, required fields, whole numbers', () => {
    const values = initialValues(flags);
    expect(validate('', driverFields, values)).toMatchObject({
      name: 'A name is required',
      'generic-ip-address': 'IP address is required',
    });
    expect(validate('-x', driverFields, values).name).toMatch(/letters, digits/i);
    values['generic-ip-address'] = '127.0.30.2';
    values['generic-ssh-port'] = '22a';
    expect(validate('ok', driverFields, values)).toEqual({
      'generic-ssh-port': 'SSH port must be a whole number',
    });
    values['generic-ssh-port'] = '2222';
    expect(validate('ok', driverFields, values)).toEqual({});
  });

  it("applies the CLI's own rules, declared by the real driver's flags, and refuses a name in use", async () => {
    const real = formFields(
      { ...catalog, drivers: [{ ...catalog.drivers[0]!, flags: generic.flags }] },
      'generic',
    );
    const values = initialValues(generic.flags);
    values['generic-ip-address'] = '999.1.2';
    values['generic-ssh-port'] = '70000';
    const errors = validate('web', real.driverFields, values, ['web']);
    expect(errors.name).toBe('A host named "web" already exists');
    expect(errors['generic-ip-address']).toMatch(/not an IPv4 address/);
    expect(errors['generic-ssh-port']).toMatch(/not a port number/);
    // The driver refuses the same value with the same words (one validator).
    const ctx = { storePath: '/s', machineDir: '/s/machines/web', progress: silentProgress('web'), env: {} };
    await expect(
      Promise.resolve().then(() =>
        generic.configFromFlags({ 'generic-ip-address': '999.1.2' }, baseDriverConfig('web', '/s'), ctx),
      ),
    ).rejects.toThrow(errors['generic-ip-address']!);
    values['generic-ip-address'] = 'tcp://10.0.0.1';
    expect(validate('new', real.driverFields, values)['generic-ip-address']).toMatch(/is a URL/);
  });

  it('sends only what differs from the defaults, typed', () => {
    const all = [...driverFields, ...commonFields];
    const values = { ...initialValues([...flags, ...catalog.commonFlags]) };
    values['generic-ip-address'] = ' 127.0.30.2 ';
    values['generic-ssh-port'] = '2222';
    values['generic-flag'] = true;
    values['engine-opt'] = 'log-level=debug\n\n  bip=10.1.0.1/16 ';
    const request = toRequest('web', 'generic', all, values);
    expect(request).toEqual({
      name: 'web',
      driver: 'generic',
      flags: {
        'generic-ip-address': '127.0.30.2',
        'generic-ssh-port': 2222,
        'generic-flag': true,
        'engine-opt': ['log-level=debug', 'bip=10.1.0.1/16'],
      },
    });
    // and back, for a retry
    const back = valuesFromRequest([...flags, ...catalog.commonFlags], request);
    expect(back['generic-ssh-port']).toBe('2222');
    expect(back['engine-opt']).toBe('log-level=debug\nbip=10.1.0.1/16');
    expect(back['generic-ssh-user']).toBe('root');
  });

  it('groups fields and labels them from the flag data; a required field is always shown', () => {
    const catalog2: DriverCatalog = {
      ...catalog,
      drivers: [{ ...catalog.drivers[0]!, name: 'digitalocean', flags: digitalocean.flags }],
      envSet: [],
    };
    const { driverFields: doFields } = formFields(catalog2, 'digitalocean');
    const { common, advanced } = groupFields(doFields);
    expect(common.map((f) => [f.label, f.choices ?? ''])).toEqual([
      ['Access token', ''],
      ['Image', 'images'],
      ['Region', 'regions'],
      ['Size', 'sizes'],
    ]);
    expect(advanced.map((f) => f.flag.name)).toContain('digitalocean-ssh-user');
    expect(advanced.every((f) => !f.choices)).toBe(true);
    // Required but declared advanced: shown anyway.
    const forced = formFields(
      {
        ...catalog,
        drivers: [
          {
            ...catalog.drivers[0]!,
            flags: [{ name: 'generic-x', type: 'string', help: '', required: true, group: 'advanced' }],
          },
        ],
      },
      'generic',
    );
    expect(groupFields(forced.driverFields).common.map((f) => f.flag.name)).toEqual(['generic-x']);
    // Only the secret values go along to fetch lists.
    const values = initialValues(digitalocean.flags);
    values['digitalocean-access-token'] = ' tok ';
    expect(credentialsOf(doFields, values)).toEqual({ 'digitalocean-access-token': 'tok' });
  });

  it('every driver labels and places every flag (data, not guessed from names)', () => {
    for (const d of [none, generic, digitalocean, amazonec2, google, qemu, virtualbox]) {
      for (const f of d.flags) {
        expect(f.label, `${d.name} ${f.name}`).toMatch(/^\S/);
        expect(['common', 'advanced'], `${d.name} ${f.name}`).toContain(f.group);
      }
      expect(
        d.flags.some((f) => f.group === 'common'),
        d.name,
      ).toBe(true);
    }
  });

  it('filters choices by every typed word in value, label or detail', () => {
    const choices = [
      { value: 'ams3', label: 'Amsterdam 3', detail: 'ams3', available: true },
      {
        value: 's-2vcpu-2gb',
        label: 'Basic · 2 vCPUs · 2 GB RAM',
        detail: '$0.027/h · $18/mo',
        available: true,
      },
      {
        value: 's-1vcpu-1gb',
        label: 'Basic · 1 vCPU · 1 GB RAM',
        detail: '$0.009/h · $6/mo',
        available: true,
      },
    ];
    expect(filterChoices(choices, '')).toHaveLength(3);
    expect(filterChoices(choices, 'AMSTER').map((c) => c.value)).toEqual(['ams3']);
    expect(filterChoices(choices, 'basic $18').map((c) => c.value)).toEqual(['s-2vcpu-2gb']);
    expect(filterChoices(choices, ' 1gb ').map((c) => c.value)).toEqual(['s-1vcpu-1gb']);
    expect(filterChoices(choices, 'mars')).toEqual([]);
  });

  it('judges a choice tied to another flag by that flag’s value (a size in the chosen region)', () => {
    const size = {
      value: 'g-2vcpu-8gb',
      label: 'General Purpose',
      detail: '$0.094/h',
      available: true,
      onlyWith: { flag: 'digitalocean-region', values: ['nyc3', 'sfo3'] },
    };
    expect(choiceAvailability(size, { 'digitalocean-region': 'nyc3' })).toEqual({ available: true, why: '' });
    expect(choiceAvailability(size, { 'digitalocean-region': ' fra1 ' })).toEqual({
      available: false,
      why: 'not offered in fra1',
    });
    // No region typed yet: nothing to judge by.
    expect(choiceAvailability(size, { 'digitalocean-region': '' }).available).toBe(true);
    expect(choiceAvailability({ ...size, available: false }, {}).available).toBe(false);
  });
});
