import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ProgressEvent, progressReporter } from '../../main/base/progress.js';
import { createMachine } from '../../main/core/create.js';
import { recoverInterruptedCreates } from '../../main/core/interrupted-create.js';
import { fetchAccessToken, findCredentials, parseCredentials } from '../../main/drivers/google/auth.js';
import google from '../../main/drivers/google/index.js';
import { baseDriverConfig } from '../../main/store/config.js';
import { Store } from '../../main/store/store.js';
import {
  type GoogleComputeEmulator,
  type InstanceFault,
  type RequestFault,
  startGoogleEmulator,
} from '../emulators/google/server.js';

// The google driver against the Compute Engine emulator's fake backend (no hosts: SSH never
// answers, so every createMachine here fails at provisioning and must roll back). After every
// injected fault the project holds no instance and no firewall rule Moor made, a foreign instance
// is never touched, and the store holds no machine directory.
let emulator: GoogleComputeEmulator;
let root: string;
let keyFile: string;
let store: Store;
let events: ProgressEvent[];
const PROJECT = 'moor-test-project';

beforeAll(async () => {
  process.env.MOOR_SSH_WAIT_SECONDS = '1'; // read when createMachine first imports the provisioner
  emulator = await startGoogleEmulator({ operationMinMs: 10 });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-gce-unit-'));
  keyFile = await emulator.writeServiceAccountKey(root);
  store = new Store(path.join(root, 'store'));
  events = [];
  emulator.clearFaults();
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH,
  HOME: root,
  GOOGLE_APPLICATION_CREDENTIALS: keyFile,
  MOOR_GOOGLE_COMPUTE_URL: emulator.computeUrl,
  MOOR_GOOGLE_POLL_MS: '10',
  MOOR_GOOGLE_RETRY_BASE_MS: '5',
  MOOR_GOOGLE_WAIT_SECONDS: '2',
  ...extra,
});

function create(name: string, flags: Record<string, unknown> = {}, signal?: AbortSignal) {
  return createMachine({
    store,
    name,
    driverName: 'google',
    flagValues: { 'google-project': PROJECT, ...flags } as never,
    engine: { InstallURL: 'distro' },
    progress: progressReporter(name, (e) => events.push(e)),
    env: env(),
    signal,
    wait: { tries: 5, intervalMs: 20 },
  });
}

async function expectNoLeaks(name: string, keep: { instances?: string[]; firewalls?: string[] } = {}) {
  await emulator.idle();
  expect(emulator.state().instances.map((i) => i.name)).toEqual(keep.instances ?? []);
  expect(emulator.state().firewalls.map((f) => f.name)).toEqual(keep.firewalls ?? []);
  // No orphaned boot disk: each disk left is one of an instance left.
  expect(emulator.state().disks.map((d) => d.name)).toEqual(
    emulator.state().instances.map((i) => i.diskName),
  );
  expect(emulator.backgroundErrors).toEqual([]);
  expect(await store.exists(name)).toBe(false);
}

function ctx(name: string, extra: Record<string, string> = {}) {
  return {
    storePath: store.root,
    machineDir: store.machineDir(name),
    progress: progressReporter(name, (e) => events.push(e)),
    env: env(extra),
  };
}

describe('credentials (Application Default Credentials)', () => {
  it('a service-account key: a JWT signed RS256 is exchanged at its token_uri', async () => {
    const file = await findCredentials({ GOOGLE_APPLICATION_CREDENTIALS: keyFile });
    expect(file.source).toBe(`$GOOGLE_APPLICATION_CREDENTIALS (${keyFile})`);
    const token = await fetchAccessToken(file);
    expect(token.token).toMatch(/^ya29\.emulator-/);
    const exchange = emulator.requests.filter((r) => r.path === '/token').at(-1);
    expect(exchange?.status).toBe(200);
  });

  it('a key signed by another private key is refused, naming the file', async () => {
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const forged = path.join(root, 'forged.json');
    await fs.writeFile(
      forged,
      JSON.stringify({ ...emulator.serviceAccountKey(), private_key: other.privateKey }),
    );
    const file = await findCredentials({ GOOGLE_APPLICATION_CREDENTIALS: forged });
    await expect(fetchAccessToken(file)).rejects.toThrow(
      `Google refused the credentials of $GOOGLE_APPLICATION_CREDENTIALS (${forged}) (HTTP 400 invalid_grant: Invalid JWT Signature.)`,
    );
  });

  it("gcloud's authorized_user file at the well-known path", async () => {
    const dir = path.join(root, '.config', 'gcloud');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(
      path.join(dir, 'application_default_credentials.json'),
      JSON.stringify(emulator.authorizedUser()),
    );
    const file = await findCredentials({ HOME: root });
    expect(file.credentials.type).toBe('authorized_user');
    expect((await fetchAccessToken(file)).token).toMatch(/^ya29\./);
  });

  it('no credentials at all: says how to get some', async () => {
    await expect(findCredentials({ HOME: path.join(root, 'nobody') })).rejects.toThrow(
      /no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS .* or run "gcloud auth application-default login"/,
    );
    await expect(
      findCredentials({ GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/key.json' }),
    ).rejects.toThrow(
      /cannot read the Google credentials file \$GOOGLE_APPLICATION_CREDENTIALS \(\/nonexistent\/key\.json\)/,
    );
  });

  it.each([
    ['not json', '{', /is not JSON/],
    [
      'wrong type',
      '{"type":"external_account"}',
      /has type "external_account"; Moor reads "service_account"/,
    ],
    [
      'missing fields',
      '{"type":"service_account","client_email":"a@b"}',
      /\(type "service_account"\) has no private_key/,
    ],
    [
      'a token_uri that is not https',
      '{"type":"service_account","client_email":"a@b","private_key":"k","token_uri":"http://example.com/token"}',
      /token_uri "http:\/\/example.com\/token" .* is not https: refusing to send credentials there/,
    ],
  ])('a bad file (%s) is refused', (_label, text, message) => {
    expect(() => parseCredentials(text, 'key.json')).toThrow(message);
  });
});

describe('flags → config.json', () => {
  const base = () => baseDriverConfig('g1', '/store');
  const fromFlags = (values: Record<string, unknown>) =>
    google.configFromFlags(values as never, base(), ctx('g1')) as Promise<Record<string, unknown>>;

  it("docker-machine's fields, order and defaults (with a current image)", async () => {
    const config = await fromFlags({ 'google-project': 'p1' });
    expect(Object.keys(config).slice(9)).toEqual([
      'Zone',
      'MachineType',
      'MachineImage',
      'DiskType',
      'Address',
      'Network',
      'Subnetwork',
      'Preemptible',
      'UseInternalIP',
      'UseInternalIPOnly',
      'ServiceAccount',
      'Scopes',
      'DiskSize',
      'Project',
      'Tags',
      'UseExisting',
      'OpenPorts',
    ]);
    expect(config).toMatchObject({
      SSHUser: 'docker-user',
      SSHPort: 22,
      Zone: 'us-central1-a',
      MachineType: 'n1-standard-1',
      MachineImage: 'ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64',
      DiskType: 'pd-standard',
      DiskSize: 10,
      Network: 'default',
      ServiceAccount: 'default',
      OpenPorts: null,
    });
  });

  it('no project: the docker-machine message', async () => {
    await expect(fromFlags({})).rejects.toThrow('no Google Cloud Project name specified (--google-project)');
  });

  it('an image URL loses its prefix; internal-ip-only implies internal-ip', async () => {
    const config = await fromFlags({
      'google-project': 'p1',
      'google-machine-image':
        'https://www.googleapis.com/compute/v1/projects/debian-cloud/global/images/family/debian-12',
      'google-use-internal-ip-only': true,
    });
    expect(config).toMatchObject({
      MachineImage: 'debian-cloud/global/images/family/debian-12',
      UseInternalIP: true,
      UseInternalIPOnly: true,
    });
  });

  it.each([
    [
      { 'google-open-port': ['80/tcp', 'http'] },
      '--google-open-port "http" is not PORT[/tcp|/udp] (e.g. 8080/tcp)',
    ],
    [{ 'google-open-port': ['70000'] }, '--google-open-port "70000" is not PORT[/tcp|/udp]'],
    [{ 'google-zone': 'mars' }, '--google-zone "mars" is not a zone name such as us-central1-a'],
    [{ 'google-disk-size': 'big' }, '--google-disk-size: "big" is not a size in GB'],
    [{ 'google-disk-size': 5 }, "--google-disk-size: 5 GB is outside Google Compute Engine's 10–65536 GB"],
    [{ 'google-disk-type': 'SSD!' }, '--google-disk-type "SSD!" is not a disk type name'],
    [{ 'google-tags': 'Web' }, '--google-tags: "Web" is not a network tag'],
    [{ 'google-labels': 'Env=dev' }, '--google-labels: "Env" is not a label key'],
    [{ 'google-labels': 'env=Dev' }, '--google-labels: the value "Dev" of "env" is not a label value'],
    [{ 'google-labels': 'moor-create-id=x' }, '--google-labels: "moor-create-id" is set by Moor itself'],
    [{ 'google-labels': 'a=1,a=2' }, '--google-labels: the key "a" is given twice'],
    [
      { 'google-userdata': '/nonexistent/user-data.yaml' },
      '--google-userdata: the user-data file /nonexistent/user-data.yaml could not be read',
    ],
    [{ 'google-userdata': `#cloud-config\n${'x'.repeat(256 * 1024)}` }, 'takes at most 256 KiB of user-data'],
    [
      { 'google-use-existing': true, 'google-labels': 'env=dev' },
      '--google-userdata and --google-labels apply to a new instance',
    ],
    [
      { 'google-address': '203.0.113.5', 'google-use-internal-ip-only': true },
      '--google-address and --google-use-internal-ip-only exclude each other',
    ],
  ])('bad input %o is refused', async (values, message) => {
    await expect(fromFlags({ 'google-project': 'p1', ...values })).rejects.toThrow(message);
  });

  it("user-data (inline or a file) and labels are Moor fields after docker-machine's", async () => {
    const inline = await fromFlags({
      'google-project': 'p1',
      'google-userdata': '#cloud-config\npackages: [jq]\n',
      'google-labels': 'env=dev, team=infra',
    });
    expect(Object.keys(inline).slice(-2)).toEqual(['UserData', 'Labels']);
    expect(inline).toMatchObject({
      UserData: '#cloud-config\npackages: [jq]\n',
      Labels: 'env=dev, team=infra',
    });
    expect(inline).not.toHaveProperty('UserDataFile');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moor-gce-ud-'));
    await fs.writeFile(path.join(dir, 'ud.yaml'), '#cloud-config\n');
    const fromFile = await fromFlags({
      'google-project': 'p1',
      'google-userdata': path.join(dir, 'ud.yaml'),
    });
    expect(fromFile).toMatchObject({ UserDataFile: path.join(dir, 'ud.yaml') });
    expect(fromFile).not.toHaveProperty('UserData');
    await fs.rm(dir, { recursive: true });
  });
});

describe('driver against the emulator (fake backend)', () => {
  it('create: firewall rule for 2376 + open ports, labelled instance with the SSH key; power; remove', async () => {
    const name = 'gce-drv';
    const values = {
      'google-project': PROJECT,
      'google-tags': 'web,db',
      'google-open-port': ['8080/tcp', '53/udp'],
      'google-preemptible': true,
      'google-machine-type': 'e2-small',
    };
    const config = await google.configFromFlags(
      (await import('../../main/core/create.js')).withFlagDefaults(google, values as never),
      baseDriverConfig(name, store.root),
      ctx(name),
    );
    await fs.mkdir(store.machineDir(name), { recursive: true });
    const driver = google.open(config, ctx(name));
    await driver.preCreateCheck();
    await driver.create();
    const [instance] = emulator.state().instances;
    expect(instance).toMatchObject({
      name,
      status: 'RUNNING',
      machineType: 'e2-small',
      tags: ['docker-machine', 'web', 'db'],
      labels: { 'moor-create-id': driver.config.CreateID },
      scheduling: { preemptible: true, automaticRestart: false, onHostMaintenance: 'TERMINATE' },
    });
    const pub = (await fs.readFile(path.join(store.machineDir(name), 'id_rsa.pub'), 'utf8')).trim();
    expect(instance!.metadata).toEqual([{ key: 'ssh-keys', value: `docker-user:${pub} docker-user` }]);
    expect(driver.config.IPAddress).toBe(instance!.natIP);
    expect(driver.config.InstanceID).toBe(instance!.id);
    expect(emulator.state().firewalls).toMatchObject([
      {
        name: 'docker-machines',
        targetTags: ['docker-machine'],
        sourceRanges: ['0.0.0.0/0'],
        allowed: [
          { IPProtocol: 'tcp', ports: ['2376', '8080'] },
          { IPProtocol: 'udp', ports: ['53'] },
        ],
      },
    ]);
    // Every mutating call carried a requestId; every operation was waited for.
    expect(emulator.state().operations.every((op) => op.status === 'DONE')).toBe(true);

    expect(await driver.state()).toBe('Running');
    await driver.stop();
    expect(await driver.state()).toBe('Stopped');
    await driver.start();
    expect(await driver.state()).toBe('Running');
    await driver.restart();
    await driver.kill();
    expect(emulator.state().instances[0]?.status).toBe('TERMINATED');
    expect(emulator.state().operations.map((op) => op.operationType)).toEqual([
      'insert',
      'insert',
      'stop',
      'start',
      'stop',
      'start',
      'stop',
    ]);
    await driver.remove();
    await emulator.idle();
    expect(emulator.state().instances).toEqual([]);
    expect(emulator.state().disks).toEqual([]); // the boot disk went with it (autoDelete)
    expect(emulator.state().firewalls).toEqual([]); // made by this create, used by no one else
  });

  it('the shared cloud flags: user-data metadata, labels, boot disk size and type, as the API shows them', async () => {
    const name = 'gce-shared';
    const userDataFile = path.join(root, 'user-data.yaml');
    await fs.writeFile(userDataFile, '#cloud-config\nwrite_files: [{path: /etc/moor, content: hi}]\n');
    const values = {
      'google-project': PROJECT,
      'google-userdata': userDataFile,
      'google-labels': 'env=dev,team=infra',
      'google-disk-size': 42,
      'google-disk-type': 'pd-ssd',
    };
    const config = await google.configFromFlags(
      (await import('../../main/core/create.js')).withFlagDefaults(google, values as never),
      baseDriverConfig(name, store.root),
      ctx(name),
    );
    await fs.mkdir(store.machineDir(name), { recursive: true });
    const driver = google.open(config, ctx(name));
    await driver.preCreateCheck();
    await driver.create();
    const [instance] = emulator.state().instances;
    expect(instance).toMatchObject({
      labels: { env: 'dev', team: 'infra', 'moor-create-id': driver.config.CreateID },
      diskName: `${name}-disk`,
      diskSizeGb: '42',
      diskType: 'pd-ssd',
    });
    expect(instance!.metadata.find((m) => m.key === 'user-data')?.value).toBe(
      await fs.readFile(userDataFile, 'utf8'),
    );
    expect(emulator.state().disks).toEqual([
      { name: `${name}-disk`, zone: 'us-central1-a', sizeGb: '42', type: 'pd-ssd', users: [name] },
    ]);
    // Through the API as a client sees it: the instance's boot disk and the disk resource.
    const api = await import('../../main/drivers/google/api.js');
    const { TokenSource } = await import('../../main/drivers/google/auth.js');
    const tokens = new TokenSource(env());
    const client = new api.ComputeApi({
      project: PROJECT,
      token: () => tokens.token(),
      credentialsSource: () => tokens.source,
      baseUrl: emulator.computeUrl,
    });
    const disk = await client.getDisk('us-central1-a', `${name}-disk`);
    expect(disk).toMatchObject({ sizeGb: '42', type: expect.stringMatching(/\/diskTypes\/pd-ssd$/) });
    expect(disk.users?.[0]).toMatch(new RegExp(`/instances/${name}$`));
    await driver.remove();
    await emulator.idle();
    expect(emulator.state().disks).toEqual([]);
  });

  it("a leftover disk of the boot disk's name is refused before anything is made", async () => {
    emulator.addForeignDisk('gce-left-disk');
    const seen = emulator.requests.length;
    try {
      await expect(create('gce-left')).rejects.toThrow(
        /a disk named \\?"gce-left-disk\\?" already exists in zone \\?"us-central1-a\\?" \(not attached to any instance/,
      );
      const made = emulator.requests.slice(seen).filter((r) => r.method !== 'GET' && r.path !== '/token');
      expect(made).toEqual([]);
      expect(emulator.state().disks.map((d) => d.name)).toEqual(['gce-left-disk']);
    } finally {
      emulator.removeForeignDisk('gce-left-disk');
    }
  });

  it('an existing rule of the user gets the missing port added, and is never deleted', async () => {
    const api = await import('../../main/drivers/google/api.js');
    const { TokenSource } = await import('../../main/drivers/google/auth.js');
    const tokens = new TokenSource(env());
    const client = new api.ComputeApi({
      project: PROJECT,
      token: () => tokens.token(),
      credentialsSource: () => tokens.source,
      baseUrl: emulator.computeUrl,
    });
    const op = await client.insertFirewall({
      name: 'docker-machines',
      description: 'made by hand',
      targetTags: ['docker-machine'],
      sourceRanges: ['10.0.0.0/8'],
      allowed: [{ IPProtocol: 'tcp', ports: ['22'] }],
    });
    await client.waitFor(op, Date.now() + 5000, 10);
    await expect(create('gce-rule')).rejects.toThrow(/Error creating machine/);
    await emulator.idle();
    expect(emulator.state().firewalls).toMatchObject([
      {
        description: 'made by hand',
        sourceRanges: ['10.0.0.0/8'],
        allowed: [
          { IPProtocol: 'tcp', ports: ['22'] },
          { IPProtocol: 'tcp', ports: ['2376'] },
        ],
      },
    ]);
    await client.waitFor(await client.deleteFirewall('docker-machines'), Date.now() + 5000, 10);
    await expectNoLeaks('gce-rule');
  });
});

describe('address and existing-instance options (fake backend)', () => {
  async function opened(name: string, values: Record<string, unknown>) {
    const { withFlagDefaults } = await import('../../main/core/create.js');
    const config = await google.configFromFlags(
      withFlagDefaults(google, { 'google-project': PROJECT, ...values } as never),
      baseDriverConfig(name, store.root),
      ctx(name),
    );
    await fs.mkdir(store.machineDir(name), { recursive: true });
    return google.open(config, ctx(name));
  }

  it("--google-address NAME: the reserved address is the instance's, and stays across stop/start", async () => {
    const ip = await emulator.reserveAddress('web-ip', 'europe-west1');
    const driver = await opened('gce-static', {
      'google-address': 'web-ip',
      'google-zone': 'europe-west1-b',
    });
    await driver.preCreateCheck();
    await driver.create();
    expect(driver.config.IPAddress).toBe(ip);
    await driver.stop();
    await driver.start();
    expect(driver.config.IPAddress).toBe(ip);
    await driver.remove();
    await fs.rm(store.machineDir('gce-static'), { recursive: true });
    await expectNoLeaks('gce-static');
  });

  it('--google-address of an unknown name fails with the region named; nothing is left', async () => {
    await expect(create('gce-noaddr', { 'google-address': 'nope' })).rejects.toThrow(
      '--google-address "nope" is neither an IPv4 address nor a reserved address in region us-central1',
    );
    await expectNoLeaks('gce-noaddr');
  });

  it('--google-use-internal-ip-only: no external IP, Moor talks to the internal one', async () => {
    const driver = await opened('gce-internal', { 'google-use-internal-ip-only': true });
    await driver.preCreateCheck();
    await driver.create();
    const instance = emulator.state().instances[0]!;
    expect(instance.natIP).toBe('');
    expect(driver.config.IPAddress).toBe(instance.networkIP);
    expect(driver.config.IPAddress).toMatch(/^10\.128\./);
    await driver.remove();
    await fs.rm(store.machineDir('gce-internal'), { recursive: true });
    await expectNoLeaks('gce-internal');
  });

  it('--google-use-existing: tag and key added, other metadata kept; rm leaves the instance', async () => {
    emulator.addForeignInstance('mine', {
      tags: ['http-server'],
      metadata: [
        { key: 'startup-script', value: 'echo hi' },
        { key: 'ssh-keys', value: 'alice:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE alice' },
      ],
    });
    const missing = await opened('gone', { 'google-use-existing': true });
    await expect(missing.preCreateCheck()).rejects.toThrow(
      'unable to find instance "gone" in zone "us-central1-a"',
    );
    const driver = await opened('mine', { 'google-use-existing': true, 'google-username': 'bob' });
    await driver.preCreateCheck();
    await driver.create();
    const instance = emulator.state().instances.find((i) => i.name === 'mine')!;
    expect(instance.tags).toEqual(['http-server', 'docker-machine']);
    const pub = (await fs.readFile(path.join(store.machineDir('mine'), 'id_rsa.pub'), 'utf8')).trim();
    expect(instance.metadata).toEqual([
      { key: 'startup-script', value: 'echo hi' },
      { key: 'ssh-keys', value: `alice:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE alice\nbob:${pub} bob` },
    ]);
    expect(driver.config.IPAddress).toBe('203.0.113.10');
    await driver.remove();
    await fs.rm(store.machineDir('mine'), { recursive: true });
    // The user's instance stays, and so does the rule it now uses.
    await expectNoLeaks('mine', { instances: ['mine'], firewalls: ['docker-machines'] });
    emulator.removeForeignInstance('mine');
    await driver.remove(); // the rule's last user is gone: now it goes
    await expectNoLeaks('mine');
  });
});

describe('create rollback (emulator, no hosts)', () => {
  const requestFaults: Array<[string, RequestFault]> = [
    [
      'the firewall insert fails for good (503 × 10)',
      { method: 'POST', path: '/projects/moor-test-project/global/firewalls', status: 503, times: 10 },
    ],
    ['the instance insert is refused (400)', { method: 'POST', path: /\/instances$/, status: 400 }],
    [
      'the instance insert answers 503 after the instance exists (repeated with its requestId)',
      { method: 'POST', path: /\/instances$/, status: 503, afterCommit: true },
    ],
    [
      'the instance insert loses every connection after the instance exists (adopted by its label)',
      { method: 'POST', path: /\/instances$/, drop: true, afterCommit: true, times: 10 },
    ],
    [
      'waiting for the insert fails for good (503 × 6)',
      { method: 'POST', path: /\/zones\/.*\/operations\/.*\/wait$/, status: 503, times: 6 },
    ],
  ];

  it.each(requestFaults)('%s: deletes what it made, leaves no machine directory', async (_label, fault) => {
    const before = emulator.state().operations.length;
    emulator.injectFault(fault);
    await expect(create('rb')).rejects.toThrow(/Error creating machine/);
    await expectNoLeaks('rb');
    const inserts = emulator
      .state()
      .operations.slice(before)
      .filter((op) => op.operationType === 'insert' && op.targetLink.includes('/instances/'));
    expect(inserts.length).toBeLessThanOrEqual(1); // never a second instance
  });

  const instanceFaults: Array<[InstanceFault, RegExp]> = [
    ['host-fails', /ZONE_RESOURCE_POOL_EXHAUSTED/],
    ['never-running', /still RUNNING after the wait/],
    ['no-ssh', /Error creating machine/],
  ];
  it.each(instanceFaults)('instance fault %s: rollback', async (fault, message) => {
    emulator.injectInstanceFault(fault);
    await expect(create('rb2')).rejects.toThrow(message);
    await expectNoLeaks('rb2');
  });

  it('a foreign instance of the same name: the pre-create check stops, the instance is untouched', async () => {
    emulator.addForeignInstance('taken', { labels: { owner: 'colleague' } });
    await expect(create('taken')).rejects.toThrow(
      /^Error with pre-create check: "instance \\?"taken\\?" already exists in zone \\?"us-central1-a/,
    );
    expect(
      emulator.requests.filter((r) => r.method !== 'GET' && r.path.includes('/instances/taken')),
    ).toEqual([]);
    await expectNoLeaks('taken', { instances: ['taken'] });
    emulator.removeForeignInstance('taken');
  });

  it('a foreign instance appears during an ambiguous insert: not adopted, not deleted', async () => {
    // Every insert attempt fails before it is handled; meanwhile someone else makes "race".
    emulator.injectFault({ method: 'POST', path: /\/instances$/, status: 503, times: 10 });
    let added = false;
    const seen = emulator.requests.length;
    const poll = setInterval(() => {
      if (
        !added &&
        emulator.requests.slice(seen).some((r) => r.method === 'POST' && /\/instances$/.test(r.path))
      ) {
        added = true;
        emulator.addForeignInstance('race', { labels: { owner: 'someone-else' } });
      }
    }, 1);
    try {
      await expect(create('race')).rejects.toThrow(/HTTP 503/);
    } finally {
      clearInterval(poll);
    }
    const warnings = events.filter((e) => e.level === 'warn').map((e) => e.message);
    expect(warnings.join('\n')).toMatch(
      /instance "race" in zone us-central1-a was not made by this machine's create .*: left alone/,
    );
    await expectNoLeaks('race', { instances: ['race'] });
    expect(
      emulator.requests.filter((r) => r.method === 'DELETE' && r.path.includes('/instances/race')),
    ).toEqual([]);
    emulator.removeForeignInstance('race');
  });

  it('a cancelled create (AbortSignal) rolls back', async () => {
    const controller = new AbortController();
    emulator.injectFault({ method: 'POST', path: /\/instances$/, delayMs: 300 });
    const pending = create('cx', {}, controller.signal);
    const started = Date.now();
    while (!emulator.requests.some((r) => r.method === 'POST' && /\/instances$/.test(r.path))) {
      if (Date.now() - started > 10_000) throw new Error('create never reached the instance insert');
      await new Promise((r) => setTimeout(r, 5));
    }
    controller.abort();
    await expect(pending).rejects.toMatchObject({ message: 'Cancelled', exitCode: 130 });
    await expectNoLeaks('cx');
  });

  it('a create killed after the insert (marker of a dead pid): the next ls cleans up by create id', async () => {
    emulator.injectInstanceFault('never-running');
    await expect(
      createMachine({
        store,
        name: 'killed',
        driverName: 'google',
        flagValues: { 'google-project': PROJECT },
        progress: progressReporter('killed', () => {}),
        env: env(),
        keepOnFailure: true,
      }),
    ).rejects.toThrow();
    expect(emulator.state().instances).toHaveLength(1);
    const marker = { pid: 0, hostname: os.hostname(), bootId: '', startTime: '', startedAt: '' };
    await fs.writeFile(
      path.join(store.machineDir('killed'), '.moor-create-in-progress'),
      JSON.stringify(marker),
    );
    expect(await recoverInterruptedCreates(store, { env: env() })).toEqual([
      { name: 'killed', cleaned: true },
    ]);
    await expectNoLeaks('killed');
  });
});
