import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import digitalocean from '../../../main/drivers/digitalocean/index.js';
import { configKeyOf, REDACTED, redactHostConfig } from '../../../main/drivers/redact.js';
import type { FlagSpec } from '../../../main/drivers/types.js';
import { machineDetails } from '../../../main/services/inspect.js';
import { baseDriverConfig, newHostConfig } from '../../../main/store/config.js';
import { goMarshalIndent } from '../../../main/store/go-json.js';
import { Store } from '../../../main/store/store.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'moor-redact-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function machine(name: string, driverName: string, extra: Record<string, unknown>) {
  const config = newHostConfig({
    name,
    storePath: root,
    driverName,
    driver: { ...baseDriverConfig(name, root), ...extra },
  });
  mkdirSync(path.join(root, 'machines', name), { recursive: true });
  writeFileSync(path.join(root, 'machines', name, 'config.json'), goMarshalIndent(config));
  return config;
}

const summary = (name: string) => ({ name }) as Parameters<typeof machineDetails>[1];

describe('inspect redacts credentials before config.json leaves main', () => {
  it('replaces a DigitalOcean token kept in plain text (no keychain) and keeps the rest', async () => {
    machine('do', 'digitalocean', { AccessToken: 'dop_v1_secret', Region: 'fra1', AccessTokenRef: '' });
    const details = await machineDetails(new Store(root), summary('do'));
    const text = JSON.stringify(details);
    expect(text).not.toContain('dop_v1_secret');
    const driver = (details.config as { Driver: Record<string, unknown> }).Driver;
    expect(driver.AccessToken).toBe(REDACTED);
    expect(driver.Region).toBe('fra1');
  });

  it('redacts by field name for a driver Moor does not have (amazonec2 SecretKey, a password)', async () => {
    machine('aws', 'amazonec2', { AccessKey: 'AKIA', SecretKey: 'aws-secret', SSHKeyPath: '/k/id_rsa' });
    machine('plug', 'vsphere', { Password: 'hunter2', Username: 'admin' });
    const store = new Store(root);
    expect(JSON.stringify(await machineDetails(store, summary('aws')))).not.toContain('aws-secret');
    const plug = JSON.stringify(await machineDetails(store, summary('plug')));
    expect(plug).not.toContain('hunter2');
    expect(plug).toContain('admin');
  });

  it('follows every driver flag marked secret, by declared or derived config key', () => {
    const flags: FlagSpec[] = [
      { name: 'cloud-api-blob', type: 'string', help: '', secret: true },
      { name: 'cloud-creds', type: 'string', help: '', secret: true, configKey: 'Opaque' },
    ];
    expect(configKeyOf(flags[0]!, 'cloud')).toBe('ApiBlob');
    const config = { DriverName: 'cloud', Driver: { ApiBlob: 'a', Opaque: 'b', Empty: '', Zone: 'z' } };
    expect(redactHostConfig(config, flags).Driver).toEqual({
      ApiBlob: REDACTED,
      Opaque: REDACTED,
      Empty: '',
      Zone: 'z',
    });
    expect(config.Driver.ApiBlob).toBe('a'); // the input is untouched
    const token = digitalocean.flags.find((f) => f.secret)!;
    expect(configKeyOf(token, 'digitalocean')).toBe('AccessToken');
  });
});
