import { describe, expect, it } from 'vitest';
import type { DriverCatalog, FlagSpec } from '../../../main/api/contract.js';
import { silentProgress } from '../../../main/base/progress.js';
import generic from '../../../main/drivers/generic/index.js';
import { baseDriverConfig } from '../../../main/store/config.js';
import {
  fieldLabel,
  formFields,
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
});
