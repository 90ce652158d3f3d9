import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateServerCert, serverCertHosts } from '../../main/certs/index.js';
import { serverCertNamesIp } from '../../main/core/new-address.js';
import { bootstrapStoreCerts } from '../harness/store-fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'moor-new-address-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a machine on a new address', () => {
  it('tells whether the server certificate already names the new IP (e.g. through --tls-san)', async () => {
    const certs = await bootstrapStoreCerts(dir);
    const serverCert = path.join(dir, 'server.pem');
    await generateServerCert({
      ...certs,
      serverCert,
      serverKey: path.join(dir, 'server-key.pem'),
      org: 'test.m',
      hosts: serverCertHosts(['203.0.113.9'], '203.0.113.5'),
    });
    expect(await serverCertNamesIp(serverCert, '203.0.113.5')).toBe(true);
    expect(await serverCertNamesIp(serverCert, '203.0.113.9')).toBe(true);
    expect(await serverCertNamesIp(serverCert, '203.0.113.6')).toBe(false);
    expect(await serverCertNamesIp(path.join(dir, 'missing.pem'), '203.0.113.5')).toBe(false);
  });
});
