/**
 * The create form's SSH calls through the contract (pickFile, checkKeyFile, testConnection): their
 * argument validation, and the services' behaviour without a file picker or with a bad address.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INVOKE_METHODS } from '../../../main/api/contract.js';
import { validateArgs } from '../../../main/api/validate.js';
import { AppServices, type FilePicker } from '../../../main/services/app-services.js';
import type { ActiveHostBackend, MachineBackend } from '../../../main/services/backend.js';
import { Store } from '../../../main/store/store.js';

/** Services with backends that are never reached by these calls. */
function services(pickFile?: FilePicker): AppServices {
  const unused = () => {
    throw new Error('not used here');
  };
  return new AppServices({
    store: new Store(mkdtempSync(path.join(os.tmpdir(), 'moor-ssh-form-'))),
    machines: { list: async () => [] } as unknown as MachineBackend,
    active: { current: unused, use: unused, watch: () => () => {} } as unknown as ActiveHostBackend,
    openShell: unused,
    pollIntervalMs: 60_000,
    pickFile,
  });
}

describe('SSH form contract', () => {
  it('lists the three methods', () => {
    expect(INVOKE_METHODS).toEqual(expect.arrayContaining(['pickFile', 'checkKeyFile', 'testConnection']));
  });

  it('validates pickFile', () => {
    expect(validateArgs('pickFile', { title: 'SSH key' })).toEqual({ title: 'SSH key' });
    expect(validateArgs('pickFile', { title: 'k', defaultPath: '/root/.ssh' })).toEqual({
      title: 'k',
      defaultPath: '/root/.ssh',
    });
    expect(() => validateArgs('pickFile', {})).toThrow(/Invalid arguments for pickFile: title/);
    expect(() => validateArgs('pickFile', { title: 'k', filters: [] })).toThrow(/pickFile/);
    expect(() => validateArgs('pickFile', { title: 'k', defaultPath: 'x'.repeat(5000) })).toThrow(
      /defaultPath/,
    );
  });

  it('validates checkKeyFile', () => {
    expect(validateArgs('checkKeyFile', { path: '/k' })).toEqual({ path: '/k' });
    expect(() => validateArgs('checkKeyFile', { path: 7 })).toThrow(/checkKeyFile: path/);
    expect(() => validateArgs('checkKeyFile', undefined)).toThrow(/checkKeyFile/);
  });

  it('validates testConnection', () => {
    const ok = { ip: '127.0.42.9', port: 22, user: 'root', keyPath: '' };
    expect(validateArgs('testConnection', ok)).toEqual(ok);
    expect(() => validateArgs('testConnection', { ...ok, port: 0 })).toThrow(/testConnection: port/);
    expect(() => validateArgs('testConnection', { ...ok, port: 70000 })).toThrow(/port/);
    expect(() => validateArgs('testConnection', { ...ok, port: '22' })).toThrow(/port/);
    expect(() => validateArgs('testConnection', { ...ok, ip: '' })).toThrow(/ip/);
    expect(() => validateArgs('testConnection', { ...ok, user: '' })).toThrow(/user/);
    const { keyPath: _k, ...noKey } = ok;
    expect(() => validateArgs('testConnection', noKey)).toThrow(/keyPath/);
  });
});

describe('SSH form services', () => {
  it('pickFile asks the picker and returns its path, or null when cancelled', async () => {
    const asked: unknown[] = [];
    const answers = ['/root/.ssh/id_ed25519', null];
    const s = services(async (options) => {
      asked.push(options);
      return answers.shift() ?? null;
    });
    await expect(s.pickFile({ title: 'SSH key', defaultPath: '/root/.ssh' })).resolves.toEqual({
      path: '/root/.ssh/id_ed25519',
    });
    await expect(s.pickFile({ title: 'SSH key' })).resolves.toEqual({ path: null });
    expect(asked).toEqual([{ title: 'SSH key', defaultPath: '/root/.ssh' }, { title: 'SSH key' }]);
  });

  it('pickFile without a picker says so', async () => {
    await expect(services().pickFile({ title: 'k' })).rejects.toThrow('Choosing files is not available here');
  });

  it('testConnection refuses a bad address before any network', async () => {
    await expect(
      services().testConnection({ ip: 'bad host!', port: 22, user: 'root', keyPath: '' }),
    ).rejects.toThrow(/^invalid IP address: /);
  });

  it('checkKeyFile reports a missing file', async () => {
    await expect(services().checkKeyFile({ path: '/nonexistent/moor/key' })).resolves.toMatchObject({
      ok: false,
      kind: 'missing',
    });
  });
});
