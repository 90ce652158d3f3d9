import { createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type AddressRange,
  type AddressRelay,
  leaseAddress,
  releaseAddress,
  startAddressRelay,
} from '../digitalocean/addresses.js';
import { readBody } from '../http-body.js';
import {
  FakeInstanceBackend,
  type InstanceBackend,
  type InstanceHost,
  parseSshKeys,
  TestHostInstanceBackend,
} from './backends.js';

/**
 * An emulator of the parts of the Compute Engine v1 REST API (and Google's OAuth 2.0 token
 * endpoint) that Moor's google driver uses, answering with the status codes and JSON shapes of the
 * published reference (cloud.google.com/compute/docs/reference/rest/v1). Instances are real test
 * hosts (or nothing, with the fake backend) on loopback addresses of 127.0.55.1–127.0.56.254; an
 * ephemeral external IP changes at every stop/start, as on Compute Engine. Tests inspect `state()`
 * and inject faults.
 */

export const ADDRESS_RANGE: AddressRange = { first: '127.0.55.1', last: '127.0.56.254' };

export interface GoogleEmulatorOptions {
  /** Projects that exist (default ["moor-test-project"]). */
  projects?: string[];
  backend?: 'fake' | 'test-hosts' | InstanceBackend;
  /** Minimum time an operation stays RUNNING (default 50 ms). */
  operationMinMs?: number;
  /** Longest hold of operations.wait before answering a still-running operation (default 2000 ms; Google: 2 min). */
  waitMaxMs?: number;
}

export interface RequestFault {
  method?: string;
  /** Matched against the path below /compute/v1 (or "/token"); a string matches as a prefix. */
  path?: string | RegExp;
  status?: number;
  times?: number;
  /** Handle the request first, then answer with the error (e.g. a 503 after the instance exists). */
  afterCommit?: boolean;
  /** Close the connection instead of answering (with `afterCommit`: after handling it). */
  drop?: boolean;
  delayMs?: number;
}

/**
 * What happens to the next inserted instance(s):
 * - host-fails: the insert operation ends with ZONE_RESOURCE_POOL_EXHAUSTED, no instance remains;
 * - no-ssh: RUNNING with an address where nothing listens;
 * - never-running: stays STAGING, its insert operation never finishes.
 */
export type InstanceFault = 'host-fails' | 'no-ssh' | 'never-running';

interface Operation {
  kind: 'compute#operation';
  id: string;
  name: string;
  zone?: string;
  operationType: string;
  targetLink: string;
  targetId: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  user: string;
  progress: number;
  insertTime: string;
  startTime: string;
  endTime?: string;
  selfLink: string;
  error?: { errors: Array<{ code: string; message: string }> };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
}

interface Instance {
  id: string;
  name: string;
  project: string;
  zone: string;
  status: string;
  creationTimestamp: string;
  machineType: string;
  sourceImage: string;
  diskSizeGb: string;
  diskType: string;
  /** The boot disk (a disk resource of its own) and whether deleting the instance deletes it. */
  diskName: string;
  autoDelete: boolean;
  network: string;
  subnetwork?: string;
  /** Where the host is published (the first external address). */
  hostAddress: string;
  /** The current external IP ('' while stopped, or none for internal-only). */
  natIP: string;
  hasAccessConfig: boolean;
  staticAddress: boolean;
  networkIP: string;
  tags: string[];
  tagsFingerprint: string;
  labels: Record<string, string>;
  labelFingerprint: string;
  metadata: Array<{ key: string; value: string }>;
  metadataFingerprint: string;
  serviceAccounts: unknown[];
  scheduling: Record<string, unknown>;
  description: string;
  fault?: InstanceFault;
  host?: InstanceHost;
  relay?: AddressRelay;
  booting?: boolean;
}

/** A zonal persistent disk: made by an instance insert (initializeParams), or left over. */
interface Disk {
  id: string;
  name: string;
  project: string;
  zone: string;
  sizeGb: string;
  type: string;
  sourceImage: string;
  /** Links of the instances it is attached to. */
  users: string[];
  creationTimestamp: string;
}

interface Firewall {
  id: string;
  name: string;
  description: string;
  network: string;
  sourceRanges: string[];
  targetTags: string[];
  allowed: Array<{ IPProtocol: string; ports?: string[] }>;
  creationTimestamp: string;
}

export interface GoogleEmulatorState {
  instances: Array<{
    id: string;
    name: string;
    zone: string;
    status: string;
    natIP: string;
    networkIP: string;
    machineType: string;
    tags: string[];
    labels: Record<string, string>;
    metadata: Array<{ key: string; value: string }>;
    scheduling: Record<string, unknown>;
    diskName: string;
    diskSizeGb: string;
    diskType: string;
  }>;
  disks: Array<{ name: string; zone: string; sizeGb: string; type: string; users: string[] }>;
  firewalls: Firewall[];
  operations: Operation[];
}

const ZONES = [
  'us-central1-a',
  'us-central1-b',
  'us-central1-c',
  'us-east1-b',
  'europe-west1-b',
  'europe-west4-a',
];
const MACHINE_TYPES = [
  'n1-standard-1',
  'n1-standard-2',
  'e2-micro',
  'e2-small',
  'e2-medium',
  'e2-standard-2',
];
const DISK_TYPES = ['pd-standard', 'pd-balanced', 'pd-ssd'];
/** Public image projects: readable by any caller. */
const IMAGES: Array<{ project: string; name: string; family: string; id: string }> = [
  {
    project: 'ubuntu-os-cloud',
    name: 'ubuntu-2404-noble-amd64-v20251001',
    family: 'ubuntu-2404-lts-amd64',
    id: '1001',
  },
  { project: 'ubuntu-os-cloud', name: 'ubuntu-2204-jammy-v20251001', family: 'ubuntu-2204-lts', id: '1002' },
  { project: 'debian-cloud', name: 'debian-12-bookworm-v20251014', family: 'debian-12', id: '1003' },
];
const NAME_RE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE_RE = /^[a-z0-9_-]{0,63}$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (resource: string) =>
  new HttpError(404, 'notFound', `The resource '${resource}' was not found`);
const invalid = (message: string) => new HttpError(400, 'invalid', message);

const now = () => new Date().toISOString().replace('Z', '-00:00');

export class GoogleComputeEmulator {
  readonly id = randomBytes(3).toString('hex');
  readonly projects: Set<string>;
  readonly backend: InstanceBackend;
  readonly requests: Array<{ method: string; path: string; status: number; body?: unknown }> = [];
  /** The service account whose key file `writeServiceAccountKey` writes. */
  readonly serviceAccount: { email: string; keyId: string; privateKey: string; publicKey: string };
  readonly backgroundErrors: string[] = [];
  private server?: http.Server;
  private baseUrl = '';
  private nextId = 4_000_000_000_000_000_000n;
  private readonly instances = new Map<string, Instance>(); // "project/zone/name"
  private readonly disks = new Map<string, Disk>(); // "project/zone/name"
  private readonly firewalls = new Map<string, Firewall>(); // "project/name"
  private readonly operations = new Map<string, Operation>(); // name
  private readonly requestIds = new Map<string, Operation>();
  private readonly reserved = new Map<string, { address: string; region: string; project: string }>();
  private readonly tokens = new Map<string, number>(); // access token → expiry (ms)
  private readonly refreshTokens = new Map<string, { clientId: string; clientSecret: string }>();
  private requestFaults: RequestFault[] = [];
  private instanceFaults: InstanceFault[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly opMinMs: number;
  private readonly waitMaxMs: number;

  constructor(options: GoogleEmulatorOptions = {}) {
    this.projects = new Set(options.projects ?? ['moor-test-project']);
    const backend = options.backend ?? 'fake';
    this.backend =
      backend === 'fake'
        ? new FakeInstanceBackend()
        : backend === 'test-hosts'
          ? new TestHostInstanceBackend(this.id)
          : backend;
    this.opMinMs = options.operationMinMs ?? 50;
    this.waitMaxMs = options.waitMaxMs ?? 2000;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const project = [...this.projects][0]!;
    this.serviceAccount = {
      email: `moor-test@${project}.iam.gserviceaccount.com`,
      keyId: randomBytes(20).toString('hex'),
      privateKey,
      publicKey,
    };
  }

  get url(): string {
    return this.baseUrl;
  }

  /** What MOOR_GOOGLE_COMPUTE_URL is set to. */
  get computeUrl(): string {
    return `${this.baseUrl}/compute/v1`;
  }

  get tokenUri(): string {
    return `${this.baseUrl}/token`;
  }

  /** A service-account key file as the Cloud console downloads it, its token_uri pointing here. */
  serviceAccountKey(): Record<string, string> {
    return {
      type: 'service_account',
      project_id: [...this.projects][0]!,
      private_key_id: this.serviceAccount.keyId,
      private_key: this.serviceAccount.privateKey,
      client_email: this.serviceAccount.email,
      client_id: '100000000000000000001',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: this.tokenUri,
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(this.serviceAccount.email)}`,
      universe_domain: 'googleapis.com',
    };
  }

  async writeServiceAccountKey(dir: string): Promise<string> {
    const file = path.join(dir, 'service-account.json');
    await fs.writeFile(file, JSON.stringify(this.serviceAccountKey(), null, 2), { mode: 0o600 });
    return file;
  }

  /** gcloud's authorized_user ADC file, valid here. */
  authorizedUser(): Record<string, string> {
    const refreshToken = `1//${randomBytes(24).toString('base64url')}`;
    const user = {
      clientId: '764086051850-emulator.apps.googleusercontent.com',
      clientSecret: randomBytes(12).toString('hex'),
    };
    this.refreshTokens.set(refreshToken, user);
    return {
      type: 'authorized_user',
      client_id: user.clientId,
      client_secret: user.clientSecret,
      refresh_token: refreshToken,
      token_uri: this.tokenUri,
    };
  }

  /** A static external address (addresses.insert done by hand beforehand), leased in the range. */
  async reserveAddress(
    name: string,
    region = 'us-central1',
    project = [...this.projects][0]!,
  ): Promise<string> {
    const address = await leaseAddress(await this.backend.usedAddresses(), ADDRESS_RANGE);
    this.reserved.set(`${project}/${region}/${name}`, { address, region, project });
    return address;
  }

  /** An instance made by someone else (another tool, a colleague): Moor must never touch it. */
  addForeignInstance(
    name: string,
    options: {
      zone?: string;
      labels?: Record<string, string>;
      tags?: string[];
      metadata?: Array<{ key: string; value: string }>;
    } = {},
  ): void {
    const { zone = 'us-central1-a', labels = {}, tags = [], metadata = [] } = options;
    const project = [...this.projects][0]!;
    const instance = this.newInstance(project, zone, {
      name,
      machineType: `zones/${zone}/machineTypes/e2-micro`,
      labels,
      tags: { items: tags },
      metadata: { items: metadata },
    });
    instance.status = 'RUNNING';
    instance.natIP = '203.0.113.10'; // TEST-NET-3: never contacted
    instance.hostAddress = '';
    instance.hasAccessConfig = true;
    this.instances.set(`${project}/${zone}/${name}`, instance);
    this.addForeignDisk(instance.diskName, zone);
    this.disks.get(`${project}/${zone}/${instance.diskName}`)!.users = [
      this.link(`projects/${project}/zones/${zone}/instances/${name}`),
    ];
  }

  /** A disk nobody uses (left by an instance made with autoDelete off): Moor must not take its name. */
  addForeignDisk(name: string, zone = 'us-central1-a'): void {
    const project = [...this.projects][0]!;
    this.disks.set(`${project}/${zone}/${name}`, {
      id: this.newId(),
      name,
      project,
      zone,
      sizeGb: '10',
      type: 'pd-standard',
      sourceImage: '',
      users: [],
      creationTimestamp: now(),
    });
  }

  removeForeignDisk(name: string, zone = 'us-central1-a'): void {
    this.disks.delete(`${[...this.projects][0]}/${zone}/${name}`);
  }

  removeForeignInstance(name: string, zone = 'us-central1-a'): void {
    const instance = this.instances.get(`${[...this.projects][0]}/${zone}/${name}`);
    this.instances.delete(`${[...this.projects][0]}/${zone}/${name}`);
    if (instance) this.detachDisk(instance);
  }

  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => {
      // Tracked: idle() also waits for requests being handled (one held by a delay fault may land
      // after its client was killed).
      const handled = this.handle(req, res).catch((err) => {
        this.sendError(res, new HttpError(500, 'backendError', String(err)));
      });
      this.pending.add(handled);
      void handled.finally(() => this.pending.delete(handled));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    await this.idle();
    for (const instance of [...this.instances.values()]) await this.destroy(instance);
    this.disks.clear();
    for (const r of this.reserved.values()) await releaseAddress(r.address);
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  injectFault(fault: RequestFault): void {
    this.requestFaults.push({ times: 1, ...fault });
  }

  injectInstanceFault(fault: InstanceFault, times = 1): void {
    for (let i = 0; i < times; i++) this.instanceFaults.push(fault);
  }

  clearFaults(): void {
    this.requestFaults = [];
    this.instanceFaults = [];
  }

  state(): GoogleEmulatorState {
    return {
      instances: [...this.instances.values()].map((i) => ({
        id: i.id,
        name: i.name,
        zone: i.zone,
        status: i.status,
        natIP: i.natIP,
        networkIP: i.networkIP,
        machineType: i.machineType.split('/').pop()!,
        tags: i.tags,
        labels: i.labels,
        metadata: i.metadata,
        scheduling: i.scheduling,
        diskName: i.diskName,
        diskSizeGb: i.diskSizeGb,
        diskType: i.diskType,
      })),
      disks: [...this.disks.values()].map((d) => ({
        name: d.name,
        zone: d.zone,
        sizeGb: d.sizeGb,
        type: d.type,
        users: d.users.map((u) => u.split('/').pop()!),
      })),
      firewalls: [...this.firewalls.values()],
      operations: [...this.operations.values()],
    };
  }

  private track<T>(work: Promise<T>): Promise<T> {
    const p = work.catch((err) => {
      this.backgroundErrors.push(String(err));
      return undefined as T;
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private newId(): string {
    this.nextId += 1_000_003n;
    return this.nextId.toString();
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private send(res: http.ServerResponse, status: number, body?: unknown) {
    if (res.headersSent) return;
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, text ? { 'Content-Type': 'application/json; charset=UTF-8' } : {});
    res.end(text);
  }

  private sendError(res: http.ServerResponse, e: HttpError) {
    const status = {
      400: 'INVALID_ARGUMENT',
      401: 'UNAUTHENTICATED',
      403: 'PERMISSION_DENIED',
      404: 'NOT_FOUND',
      409: 'ALREADY_EXISTS',
      412: 'FAILED_PRECONDITION',
    }[e.status];
    this.send(res, e.status, {
      error: {
        code: e.status,
        message: e.message,
        errors: [{ message: e.message, domain: 'global', reason: e.reason }],
        ...(status ? { status } : {}),
      },
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://emulator');
    const raw = await readBody(req);
    const log = { method, path: url.pathname, status: 0, body: undefined as unknown };
    this.requests.push(log);
    const reply = (status: number, body?: unknown) => {
      log.status = status;
      this.send(res, status, body);
    };
    const fail = (e: HttpError) => {
      log.status = e.status;
      this.sendError(res, e);
    };

    if (url.pathname === '/token' && method === 'POST') {
      const fault = this.takeFault(method, '/token');
      if (fault?.delayMs) await delay(fault.delayMs);
      if (fault?.drop) return void res.socket?.destroy();
      if (fault?.status)
        return reply(fault.status, { error: 'internal_failure', error_description: 'Injected fault' });
      const [status, body] = this.token(new URLSearchParams(raw));
      return reply(status, body);
    }
    if (!url.pathname.startsWith('/compute/v1/')) return fail(new HttpError(404, 'notFound', 'Not Found'));
    const apiPath = url.pathname.slice('/compute/v1'.length);

    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() ?? '';
    const expiry = this.tokens.get(bearer);
    if (!expiry || expiry < Date.now()) {
      return fail(
        new HttpError(
          401,
          'authError',
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        ),
      );
    }
    let body: unknown;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return fail(invalid('Invalid JSON payload received.'));
      }
    }
    log.body = body;

    const fault = this.takeFault(method, apiPath);
    if (fault?.delayMs) await delay(fault.delayMs);
    if (fault?.drop && !fault.afterCommit) return void res.socket?.destroy();
    if (fault?.status && !fault.afterCommit) {
      return fail(
        new HttpError(fault.status, fault.status >= 500 ? 'backendError' : 'injected', 'Injected fault'),
      );
    }
    try {
      const [status, result] = await this.route(method, apiPath, body, url.searchParams);
      if (fault?.drop) return void res.socket?.destroy();
      if (fault?.status) {
        return fail(new HttpError(fault.status, 'backendError', 'Injected fault (after commit)'));
      }
      reply(status, result);
    } catch (err) {
      if (err instanceof HttpError) return fail(err);
      throw err;
    }
  }

  private takeFault(method: string, path: string): RequestFault | undefined {
    const index = this.requestFaults.findIndex(
      (f) =>
        (!f.method || f.method.toUpperCase() === method) &&
        (!f.path || (typeof f.path === 'string' ? path.startsWith(f.path) : f.path.test(path))),
    );
    if (index < 0) return undefined;
    const fault = this.requestFaults[index]!;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.requestFaults.splice(index, 1);
    return fault;
  }

  /** Google's OAuth 2.0 token endpoint: a service account's JWT (RFC 7523) or a refresh token. */
  private token(form: URLSearchParams): [number, unknown] {
    const bad = (error: string, description: string): [number, unknown] => [
      400,
      { error, error_description: description },
    ];
    const grant = form.get('grant_type');
    if (grant === 'refresh_token') {
      const user = this.refreshTokens.get(form.get('refresh_token') ?? '');
      if (
        !user ||
        user.clientId !== form.get('client_id') ||
        user.clientSecret !== form.get('client_secret')
      ) {
        return bad('invalid_grant', 'Bad Request');
      }
      return [200, this.issueToken()];
    }
    if (grant !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return bad('unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`);
    }
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3)
      return bad(
        'invalid_request',
        'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe',
      );
    const [h, c, sig] = parts as [string, string, string];
    let header: { alg?: string; kid?: string };
    let claims: { iss?: string; aud?: string; scope?: string; iat?: number; exp?: number };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString());
      claims = JSON.parse(Buffer.from(c, 'base64url').toString());
    } catch {
      return bad('invalid_request', 'Invalid JWT');
    }
    if (header.alg !== 'RS256') return bad('invalid_grant', 'Invalid JWT Signature.');
    if (claims.iss !== this.serviceAccount.email)
      return bad('invalid_grant', 'Invalid grant: account not found');
    if (header.kid && header.kid !== this.serviceAccount.keyId)
      return bad('invalid_grant', 'Invalid JWT Signature.');
    const valid = createVerify('RSA-SHA256')
      .update(`${h}.${c}`)
      .verify(this.serviceAccount.publicKey, sig, 'base64url');
    if (!valid) return bad('invalid_grant', 'Invalid JWT Signature.');
    const t = Math.floor(Date.now() / 1000);
    if (claims.aud !== this.tokenUri) return bad('invalid_grant', 'Invalid JWT: Failed audience check.');
    if (
      typeof claims.iat !== 'number' ||
      typeof claims.exp !== 'number' ||
      claims.exp <= t ||
      claims.iat > t + 300 ||
      claims.exp - claims.iat > 3600
    ) {
      return bad(
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.',
      );
    }
    const scopes = (claims.scope ?? '').split(' ');
    if (
      !scopes.some(
        (s) =>
          s === 'https://www.googleapis.com/auth/compute' ||
          s === 'https://www.googleapis.com/auth/cloud-platform',
      )
    ) {
      return bad('invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    }
    return [200, this.issueToken()];
  }

  private issueToken() {
    const token = `ya29.emulator-${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, Date.now() + 3599_000);
    return { access_token: token, expires_in: 3599, token_type: 'Bearer' };
  }

  // --- Compute Engine --------------------------------------------------------------------------

  private link(p: string): string {
    return `${this.computeUrl}/${p.replace(/^\//, '')}`;
  }

  private async route(
    method: string,
    p: string,
    body: unknown,
    query: URLSearchParams,
  ): Promise<[number, unknown]> {
    const seg = p.split('/').filter(Boolean).map(decodeURIComponent);
    if (seg[0] !== 'projects' || !seg[1]) throw notFound(p);
    const project = seg[1];
    const image = this.imageRoute(project, seg.slice(2), method);
    if (image) return [200, image];
    if (!this.projects.has(project)) throw notFound(`projects/${project}`);
    const rest = seg.slice(2);
    const [a, b, c, d, e] = rest;
    if (!a && method === 'GET') {
      return [
        200,
        {
          kind: 'compute#project',
          id: '7000000000000000001',
          name: project,
          selfLink: this.link(`projects/${project}`),
        },
      ];
    }
    if (a === 'global' && b === 'firewalls') return this.firewallRoute(project, method, c, body, query);
    if (a === 'global' && b === 'operations' && c)
      return this.operationRoute(`projects/${project}/global`, c, d, method);
    if (a === 'regions' && b && c === 'addresses' && d && method === 'GET') {
      const r = this.reserved.get(`${project}/${b}/${d}`);
      if (!r) throw notFound(`projects/${project}/regions/${b}/addresses/${d}`);
      return [
        200,
        {
          kind: 'compute#address',
          name: d,
          address: r.address,
          status: 'RESERVED',
          region: this.link(`projects/${project}/regions/${b}`),
        },
      ];
    }
    if (a === 'aggregated' && b === 'instances' && method === 'GET') {
      const items: Record<string, unknown> = {};
      for (const zone of ZONES) {
        const list = [...this.instances.values()].filter((i) => i.project === project && i.zone === zone);
        items[`zones/${zone}`] = list.length
          ? { instances: list.map((i) => this.instanceBody(i)) }
          : {
              warning: {
                code: 'NO_RESULTS_ON_PAGE',
                message: `There are no results for scope 'zones/${zone}' on this page.`,
              },
            };
      }
      return [
        200,
        { kind: 'compute#instanceAggregatedList', id: `projects/${project}/aggregated/instances`, items },
      ];
    }
    if (a === 'zones' && b) {
      if (!ZONES.includes(b)) throw notFound(`projects/${project}/zones/${b}`);
      if (c === 'operations' && d) return this.operationRoute(`projects/${project}/zones/${b}`, d, e, method);
      if (c === 'instances') return this.instanceRoute(project, b, method, d, e, body, query);
      if (c === 'disks' && !e) return this.diskRoute(project, b, method, d, query);
    }
    throw notFound(p);
  }

  private diskBody(d: Disk) {
    return {
      kind: 'compute#disk',
      id: d.id,
      creationTimestamp: d.creationTimestamp,
      name: d.name,
      sizeGb: d.sizeGb,
      zone: this.link(`projects/${d.project}/zones/${d.zone}`),
      status: 'READY',
      selfLink: this.link(`projects/${d.project}/zones/${d.zone}/disks/${d.name}`),
      ...(d.sourceImage ? { sourceImage: this.link(d.sourceImage) } : {}),
      type: this.link(`projects/${d.project}/zones/${d.zone}/diskTypes/${d.type}`),
      ...(d.users.length ? { users: d.users } : {}),
    };
  }

  /** disks.list / disks.get / disks.delete (refused while an instance uses the disk). */
  private diskRoute(
    project: string,
    zone: string,
    method: string,
    name: string | undefined,
    query: URLSearchParams,
  ): [number, unknown] {
    const resource = `projects/${project}/zones/${zone}/disks`;
    if (!name && method === 'GET') {
      const items = [...this.disks.values()]
        .filter((d) => d.project === project && d.zone === zone)
        .map((d) => this.diskBody(d));
      return [200, { kind: 'compute#diskList', items }];
    }
    if (!name) throw notFound(resource);
    const key = `${project}/${zone}/${name}`;
    const disk = this.disks.get(key);
    if (!disk) throw notFound(`${resource}/${name}`);
    if (method === 'GET') return [200, this.diskBody(disk)];
    if (method === 'DELETE') {
      if (disk.users.length > 0) {
        throw new HttpError(
          400,
          'resourceInUseByAnotherResource',
          `The disk resource '${resource}/${name}' is already being used by '${disk.users[0]!.replace(/^.*\/(projects\/)/, '$1')}'`,
        );
      }
      return [
        200,
        this.operation(
          { project, zone },
          'delete',
          { link: this.link(`${resource}/${name}`), id: disk.id },
          query.get('requestId'),
          async () => {
            this.disks.delete(key);
          },
        ),
      ];
    }
    throw notFound(`${resource}/${name}`);
  }

  private imageRoute(project: string, rest: string[], method: string): unknown {
    if (method !== 'GET' || rest[0] !== 'global' || rest[1] !== 'images') return undefined;
    const publicProject = IMAGES.some((i) => i.project === project);
    if (!publicProject) return undefined;
    const image =
      rest[2] === 'family'
        ? IMAGES.find((i) => i.project === project && i.family === rest[3])
        : IMAGES.find((i) => i.project === project && i.name === rest[2]);
    if (!image) throw notFound(`projects/${project}/global/images/${rest.slice(2).join('/')}`);
    return {
      kind: 'compute#image',
      id: image.id,
      name: image.name,
      family: image.family,
      status: 'READY',
      diskSizeGb: '10',
      architecture: 'X86_64',
      selfLink: this.link(`projects/${image.project}/global/images/${image.name}`),
    };
  }

  /** `projects/ubuntu-os-cloud/global/images/family/x` or a full URL → the image (404 if unknown). */
  private resolveImage(ref: string) {
    const m = /projects\/([^/]+)\/global\/images\/(.+)$/.exec(ref);
    if (!m)
      throw invalid(`Invalid value for field 'resource.disks[0].initializeParams.sourceImage': '${ref}'.`);
    const found = this.imageRoute(m[1]!, ['global', 'images', ...m[2]!.split('/')], 'GET');
    if (!found) throw notFound(`projects/${m[1]}/global/images/${m[2]}`);
    return found as { name: string; selfLink: string };
  }

  private operationRoute(
    scope: string,
    name: string,
    action: string | undefined,
    method: string,
  ): Promise<[number, unknown]> | [number, unknown] {
    const op = this.operations.get(name);
    if (!op?.selfLink.includes(`/${scope}/operations/`)) throw notFound(`${scope}/operations/${name}`);
    if (!action && method === 'GET') return [200, op];
    if (action === 'wait' && method === 'POST') {
      return (async () => {
        const until = Date.now() + this.waitMaxMs;
        while (op.status !== 'DONE' && Date.now() < until) await delay(20);
        return [200, op] as [number, unknown];
      })();
    }
    throw notFound(`${scope}/operations/${name}/${action ?? ''}`);
  }

  /** A new operation; `work` runs in the background and its error (an HttpError) becomes the operation's. */
  private operation(
    scope: { project: string; zone?: string },
    type: string,
    target: { link: string; id: string },
    requestId: string | null,
    work: () => Promise<void>,
  ): Operation {
    if (requestId) {
      const seen = this.requestIds.get(`${scope.project}/${requestId}`);
      if (seen) return seen; // the same request again: Compute Engine runs it once
    }
    const name = `operation-${Date.now()}-${randomBytes(6).toString('hex')}-${randomBytes(4).toString('hex')}`;
    const base = scope.zone
      ? `projects/${scope.project}/zones/${scope.zone}`
      : `projects/${scope.project}/global`;
    const op: Operation = {
      kind: 'compute#operation',
      id: this.newId(),
      name,
      ...(scope.zone ? { zone: this.link(`projects/${scope.project}/zones/${scope.zone}`) } : {}),
      operationType: type,
      targetLink: target.link,
      targetId: target.id,
      status: 'PENDING',
      user: this.serviceAccount.email,
      progress: 0,
      insertTime: now(),
      startTime: now(),
      selfLink: this.link(`${base}/operations/${name}`),
    };
    this.operations.set(name, op);
    if (requestId) this.requestIds.set(`${scope.project}/${requestId}`, op);
    const started = Date.now();
    this.track(
      (async () => {
        op.status = 'RUNNING';
        try {
          await work();
        } catch (err) {
          const e = err instanceof HttpError ? err : new HttpError(500, 'INTERNAL_ERROR', String(err));
          op.error = { errors: [{ code: e.reason, message: e.message }] };
          op.httpErrorStatusCode = e.status;
          op.httpErrorMessage = e.status >= 500 ? 'SERVICE UNAVAILABLE' : 'BAD REQUEST';
        }
        const rest = this.opMinMs - (Date.now() - started);
        if (rest > 0) await delay(rest);
        if (op.status === 'RUNNING' && (op as { hold?: boolean }).hold) return;
        op.status = 'DONE';
        op.progress = 100;
        op.endTime = now();
      })(),
    );
    return op;
  }

  private firewallRoute(
    project: string,
    method: string,
    name: string | undefined,
    body: unknown,
    query: URLSearchParams,
  ): [number, unknown] {
    const key = (n: string) => `${project}/${n}`;
    const link = (n: string) => this.link(`projects/${project}/global/firewalls/${n}`);
    const body_ = (f: Firewall) => ({
      kind: 'compute#firewall',
      ...f,
      direction: 'INGRESS',
      priority: 1000,
      selfLink: link(f.name),
    });
    if (!name && method === 'GET') {
      return [
        200,
        {
          kind: 'compute#firewallList',
          items: [...this.firewalls.entries()]
            .filter(([k]) => k.startsWith(`${project}/`))
            .map(([, f]) => body_(f)),
        },
      ];
    }
    const requestId = query.get('requestId');
    if (!name && method === 'POST') {
      const f = this.validFirewall(body);
      if (this.firewalls.has(key(f.name)) && !this.requestIds.has(`${project}/${requestId}`)) {
        throw new HttpError(
          409,
          'alreadyExists',
          `The resource 'projects/${project}/global/firewalls/${f.name}' already exists`,
        );
      }
      const id = this.newId();
      return [
        200,
        this.operation({ project }, 'insert', { link: link(f.name), id }, requestId, async () => {
          this.firewalls.set(key(f.name), { ...f, id, creationTimestamp: now() });
        }),
      ];
    }
    if (!name) throw notFound(`projects/${project}/global/firewalls`);
    const existing = this.firewalls.get(key(name));
    if (method === 'GET') {
      if (!existing) throw notFound(`projects/${project}/global/firewalls/${name}`);
      return [200, body_(existing)];
    }
    if (method === 'PUT' || method === 'PATCH') {
      if (!existing) throw notFound(`projects/${project}/global/firewalls/${name}`);
      const f = this.validFirewall({ ...(method === 'PATCH' ? existing : {}), ...(body as object), name });
      return [
        200,
        this.operation(
          { project },
          method === 'PUT' ? 'update' : 'patch',
          { link: link(name), id: existing.id },
          requestId,
          async () => {
            this.firewalls.set(key(name), {
              ...f,
              id: existing.id,
              creationTimestamp: existing.creationTimestamp,
            });
          },
        ),
      ];
    }
    if (method === 'DELETE') {
      if (!existing && !this.requestIds.has(`${project}/${requestId}`))
        throw notFound(`projects/${project}/global/firewalls/${name}`);
      return [
        200,
        this.operation(
          { project },
          'delete',
          { link: link(name), id: existing?.id ?? '' },
          requestId,
          async () => {
            this.firewalls.delete(key(name));
          },
        ),
      ];
    }
    throw notFound(`projects/${project}/global/firewalls/${name}`);
  }

  private validFirewall(body: unknown): Omit<Firewall, 'id' | 'creationTimestamp'> {
    const b = (body ?? {}) as Record<string, unknown>;
    if (typeof b.name !== 'string' || !NAME_RE.test(b.name))
      throw invalid(`Invalid value for field 'resource.name': '${String(b.name)}'.`);
    const allowed = Array.isArray(b.allowed) ? (b.allowed as Array<Record<string, unknown>>) : [];
    for (const [i, a] of allowed.entries()) {
      if (!['tcp', 'udp', 'icmp', 'all'].includes(String(a.IPProtocol))) {
        throw invalid(
          `Invalid value for field 'resource.allowed[${i}].IPProtocol': '${String(a.IPProtocol)}'.`,
        );
      }
      for (const port of (a.ports as unknown[]) ?? []) {
        if (!/^\d{1,5}(-\d{1,5})?$/.test(String(port)))
          throw invalid(`Invalid value for field 'resource.allowed[${i}].ports': '${String(port)}'.`);
      }
    }
    return {
      name: b.name,
      description: typeof b.description === 'string' ? b.description : '',
      network: typeof b.network === 'string' ? b.network : 'global/networks/default',
      sourceRanges: Array.isArray(b.sourceRanges) ? b.sourceRanges.map(String) : [],
      targetTags: Array.isArray(b.targetTags) ? b.targetTags.map(String) : [],
      allowed: allowed.map((a) => ({
        IPProtocol: String(a.IPProtocol),
        ...(a.ports ? { ports: (a.ports as unknown[]).map(String) } : {}),
      })),
    };
  }

  private newInstance(project: string, zone: string, b: Record<string, unknown>): Instance {
    const name = String(b.name);
    const ni = ((b.networkInterfaces as Array<Record<string, unknown>> | undefined) ?? [{}])[0] ?? {};
    const access = (ni.accessConfigs as Array<Record<string, unknown>> | undefined) ?? [];
    const disk = ((b.disks as Array<Record<string, unknown>> | undefined) ?? [{}])[0] ?? {};
    const params = (disk.initializeParams as Record<string, unknown> | undefined) ?? {};
    const metadata = (
      (b.metadata as { items?: Array<{ key: string; value: string }> } | undefined)?.items ?? []
    ).map((i) => ({
      key: String(i.key),
      value: String(i.value ?? ''),
    }));
    const n = this.instances.size + 2;
    return {
      id: this.newId(),
      name,
      project,
      zone,
      status: 'PROVISIONING',
      creationTimestamp: now(),
      machineType: String(b.machineType ?? ''),
      sourceImage: String(params.sourceImage ?? ''),
      diskSizeGb: String(params.diskSizeGb ?? '10'),
      diskType:
        String(params.diskType ?? 'pd-standard')
          .split('/')
          .pop() ?? 'pd-standard',
      diskName: String(params.diskName ?? name),
      autoDelete: disk.autoDelete !== false,
      network: String(ni.network ?? 'global/networks/default'),
      ...(ni.subnetwork ? { subnetwork: String(ni.subnetwork) } : {}),
      hostAddress: '',
      natIP: '',
      hasAccessConfig: access.length > 0,
      staticAddress: typeof access[0]?.natIP === 'string',
      networkIP: `10.128.${Math.floor(n / 250)}.${(n % 250) + 2}`,
      tags: ((b.tags as { items?: string[] } | undefined)?.items ?? []).map(String),
      tagsFingerprint: randomBytes(8).toString('base64'),
      labels: (b.labels as Record<string, string> | undefined) ?? {},
      labelFingerprint: randomBytes(8).toString('base64'),
      metadata,
      metadataFingerprint: randomBytes(8).toString('base64'),
      serviceAccounts: (b.serviceAccounts as unknown[]) ?? [],
      scheduling: (b.scheduling as Record<string, unknown>) ?? {},
      description: String(b.description ?? ''),
    };
  }

  private instanceRoute(
    project: string,
    zone: string,
    method: string,
    name: string | undefined,
    action: string | undefined,
    body: unknown,
    query: URLSearchParams,
  ): [number, unknown] {
    const key = (n: string) => `${project}/${zone}/${n}`;
    const link = (n: string) => this.link(`projects/${project}/zones/${zone}/instances/${n}`);
    const requestId = query.get('requestId');
    if (!name && method === 'GET') {
      const items = [...this.instances.values()]
        .filter((i) => i.project === project && i.zone === zone)
        .map((i) => this.instanceBody(i));
      return [200, { kind: 'compute#instanceList', items }];
    }
    if (!name && method === 'POST') {
      const seen = requestId ? this.requestIds.get(`${project}/${requestId}`) : undefined;
      if (seen) return [200, seen];
      const instance = this.validInstance(project, zone, body);
      if (this.instances.has(key(instance.name))) {
        throw new HttpError(
          409,
          'alreadyExists',
          `The resource 'projects/${project}/zones/${zone}/instances/${instance.name}' already exists`,
        );
      }
      const diskKey = `${project}/${zone}/${instance.diskName}`;
      if (this.disks.has(diskKey)) {
        throw new HttpError(
          409,
          'alreadyExists',
          `The resource 'projects/${project}/zones/${zone}/disks/${instance.diskName}' already exists`,
        );
      }
      instance.fault = this.instanceFaults.shift();
      this.instances.set(key(instance.name), instance);
      this.disks.set(diskKey, {
        id: this.newId(),
        name: instance.diskName,
        project,
        zone,
        sizeGb: instance.diskSizeGb,
        type: instance.diskType,
        sourceImage: instance.sourceImage,
        users: [link(instance.name)],
        creationTimestamp: now(),
      });
      const op = this.operation(
        { project, zone },
        'insert',
        { link: link(instance.name), id: instance.id },
        requestId,
        () => this.boot(instance),
      );
      if (instance.fault === 'never-running') (op as { hold?: boolean }).hold = true;
      return [200, op];
    }
    if (!name) throw notFound(`projects/${project}/zones/${zone}/instances`);
    const instance = this.instances.get(key(name));
    const seen = requestId ? this.requestIds.get(`${project}/${requestId}`) : undefined;
    if (seen && method !== 'GET') return [200, seen];
    if (!instance) throw notFound(`projects/${project}/zones/${zone}/instances/${name}`);
    const target = { link: link(name), id: instance.id };
    if (!action && method === 'GET') return [200, this.instanceBody(instance)];
    if (!action && method === 'DELETE') {
      return [
        200,
        this.operation({ project, zone }, 'delete', target, requestId, async () => {
          instance.status = 'STOPPING';
          await this.destroy(instance);
        }),
      ];
    }
    if (method !== 'POST') throw notFound(`projects/${project}/zones/${zone}/instances/${name}/${action}`);
    if (action === 'stop') {
      return [
        200,
        this.operation({ project, zone }, 'stop', target, requestId, async () => {
          if (instance.status !== 'RUNNING') return;
          instance.status = 'STOPPING';
          await instance.host?.stop();
          await this.dropEphemeralAddress(instance);
          instance.status = 'TERMINATED';
        }),
      ];
    }
    if (action === 'start') {
      return [
        200,
        this.operation({ project, zone }, 'start', target, requestId, async () => {
          if (instance.status !== 'TERMINATED') return;
          instance.status = 'STAGING';
          await instance.host?.start();
          await this.assignEphemeralAddress(instance);
          instance.status = 'RUNNING';
        }),
      ];
    }
    if (action === 'reset') {
      if (instance.status !== 'RUNNING')
        throw new HttpError(400, 'resourceNotReady', `The resource '${target.link}' is not ready`);
      return [
        200,
        this.operation({ project, zone }, 'reset', target, requestId, async () => {
          await instance.host?.restart();
        }),
      ];
    }
    if (action === 'setMetadata') {
      const b = (body ?? {}) as { fingerprint?: string; items?: Array<{ key: string; value?: string }> };
      if (b.fingerprint !== instance.metadataFingerprint) {
        throw new HttpError(
          412,
          'conditionNotMet',
          'Supplied fingerprint does not match current metadata fingerprint.',
        );
      }
      instance.metadata = (b.items ?? []).map((i) => ({ key: String(i.key), value: String(i.value ?? '') }));
      instance.metadataFingerprint = randomBytes(8).toString('base64');
      return [
        200,
        this.operation({ project, zone }, 'setMetadata', target, requestId, async () => {
          await instance.host?.setSshKeys(
            parseSshKeys(instance.metadata.find((i) => i.key === 'ssh-keys')?.value ?? ''),
          );
        }),
      ];
    }
    if (action === 'setTags') {
      const b = (body ?? {}) as { fingerprint?: string; items?: string[] };
      if (b.fingerprint !== instance.tagsFingerprint) {
        throw new HttpError(
          412,
          'conditionNotMet',
          'Supplied fingerprint does not match current tags fingerprint.',
        );
      }
      instance.tags = (b.items ?? []).map(String);
      instance.tagsFingerprint = randomBytes(8).toString('base64');
      return [200, this.operation({ project, zone }, 'setTags', target, requestId, async () => undefined)];
    }
    throw notFound(`projects/${project}/zones/${zone}/instances/${name}/${action}`);
  }

  private validInstance(project: string, zone: string, body: unknown): Instance {
    const b = (body ?? {}) as Record<string, unknown>;
    if (typeof b.name !== 'string' || !NAME_RE.test(b.name)) {
      throw invalid(
        `Invalid value for field 'resource.name': '${String(b.name)}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
      );
    }
    const machineType =
      String(b.machineType ?? '')
        .split('/')
        .pop() ?? '';
    if (!MACHINE_TYPES.includes(machineType)) {
      throw invalid(
        `Invalid value for field 'resource.machineType': '${String(b.machineType)}'. Machine type with name '${machineType}' does not exist in zone '${zone}'.`,
      );
    }
    const disks = Array.isArray(b.disks) ? (b.disks as Array<Record<string, unknown>>) : [];
    const boot = disks.find((d) => d.boot === true);
    if (!boot) throw invalid("Invalid value for field 'resource.disks': ''. Boot disk must be specified.");
    const params = (boot.initializeParams ?? {}) as Record<string, unknown>;
    this.resolveImage(String(params.sourceImage ?? ''));
    const diskType =
      String(params.diskType ?? 'pd-standard')
        .split('/')
        .pop() ?? '';
    if (!DISK_TYPES.includes(diskType)) {
      throw invalid(
        `Invalid value for field 'resource.disks[0].initializeParams.diskType': '${String(params.diskType)}'.`,
      );
    }
    if (Number(params.diskSizeGb) > 65536) {
      throw invalid(
        `Invalid value for field 'resource.disks[0].initializeParams.diskSizeGb': '${String(params.diskSizeGb)}'. Disk size cannot be larger than 65536 GB.`,
      );
    }
    if (!/^\d+$/.test(String(params.diskSizeGb ?? '10')) || Number(params.diskSizeGb ?? 10) < 10) {
      throw invalid(
        `Invalid value for field 'resource.disks[0].initializeParams.diskSizeGb': '${String(params.diskSizeGb)}'. Requested disk size cannot be smaller than the image size (10 GB)`,
      );
    }
    const ni = (Array.isArray(b.networkInterfaces) ? b.networkInterfaces[0] : undefined) as
      | Record<string, unknown>
      | undefined;
    const network = String(ni?.network ?? 'global/networks/default');
    if (!/(^|\/)global\/networks\/default$/.test(network)) {
      throw invalid(
        `Invalid value for field 'resource.networkInterfaces[0].network': '${network}'. The referenced network resource cannot be found.`,
      );
    }
    const labels = (b.labels ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(labels)) {
      if (!/^[a-z][a-z0-9_-]{0,62}$/.test(k) || typeof v !== 'string' || !LABEL_VALUE_RE.test(v)) {
        throw invalid(`Invalid value for field 'resource.labels': '${k}=${String(v)}'.`);
      }
    }
    const items = ((b.metadata as { items?: unknown } | undefined)?.items ?? []) as Array<{
      key?: unknown;
      value?: unknown;
    }>;
    for (const [index, item] of (Array.isArray(items) ? items : []).entries()) {
      if (typeof item.value === 'string' && Buffer.byteLength(item.value) > 256 * 1024) {
        throw invalid(
          `Invalid value for field 'resource.metadata.items[${index}].value'. Metadata value for key '${String(item.key)}' exceeds 262144 bytes.`,
        );
      }
    }
    const scheduling = (b.scheduling ?? {}) as Record<string, unknown>;
    if (scheduling.preemptible === true && scheduling.automaticRestart !== false) {
      throw invalid(
        "Invalid value for field 'resource.scheduling.automaticRestart': 'true'. Preemptible instances cannot be automatically restarted.",
      );
    }
    const instance = this.newInstance(project, zone, b);
    const natIP = ((ni?.accessConfigs as Array<Record<string, unknown>> | undefined) ?? [])[0]?.natIP;
    if (typeof natIP === 'string') {
      const region = zone.replace(/-[a-z]$/, '');
      const owned = [...this.reserved.values()].some(
        (r) => r.address === natIP && r.region === region && r.project === project,
      );
      if (!owned)
        throw invalid(
          `Invalid value for field 'resource.networkInterfaces[0].accessConfigs[0].natIP': '${natIP}'. The specified external IP address '${natIP}' was not found in region '${region}'.`,
        );
      instance.hostAddress = natIP;
    }
    return instance;
  }

  private async boot(instance: Instance): Promise<void> {
    if (instance.fault === 'never-running') {
      instance.status = 'STAGING';
      return;
    }
    instance.booting = true;
    let host: InstanceHost | undefined;
    try {
      if (!instance.hostAddress) {
        instance.hostAddress = await leaseAddress(await this.backend.usedAddresses(), ADDRESS_RANGE);
      }
      instance.status = 'STAGING';
      if (instance.fault === 'host-fails') {
        this.instances.delete(`${instance.project}/${instance.zone}/${instance.name}`);
        this.detachDisk(instance, true);
        if (!instance.staticAddress) await releaseAddress(instance.hostAddress);
        throw new HttpError(
          503,
          'ZONE_RESOURCE_POOL_EXHAUSTED',
          `The zone 'projects/${instance.project}/zones/${instance.zone}' does not have enough resources available to fulfill the request.`,
        );
      }
      if (instance.fault !== 'no-ssh' && this.instances.has(this.key(instance))) {
        host = await this.backend.create({
          instanceId: instance.id,
          name: instance.name,
          address: instance.hostAddress,
          sshKeys: parseSshKeys(instance.metadata.find((m) => m.key === 'ssh-keys')?.value ?? ''),
          userData: instance.metadata.find((m) => m.key === 'user-data')?.value ?? '',
        });
      }
    } finally {
      instance.booting = false;
      if (!this.instances.has(this.key(instance)) && instance.fault !== 'host-fails') {
        await host?.remove(); // deleted while booting
        if (instance.hostAddress && !instance.staticAddress) await releaseAddress(instance.hostAddress);
      }
    }
    if (!this.instances.has(this.key(instance))) return;
    instance.host = host;
    if (instance.hasAccessConfig) instance.natIP = instance.hostAddress;
    instance.status = 'RUNNING';
  }

  private key(i: Instance): string {
    return `${i.project}/${i.zone}/${i.name}`;
  }

  /** Stopping releases an ephemeral external IP (a static one stays). */
  private async dropEphemeralAddress(instance: Instance): Promise<void> {
    if (instance.staticAddress || !instance.hasAccessConfig) return;
    if (instance.relay) {
      await instance.relay.close();
      await releaseAddress(instance.relay.address);
      instance.relay = undefined;
    }
    instance.natIP = '';
  }

  /** Starting gets a new ephemeral IP, relayed (22, 2376) to the host, which stays where it was published. */
  private async assignEphemeralAddress(instance: Instance): Promise<void> {
    if (!instance.hasAccessConfig) return;
    if (instance.staticAddress || !instance.host) {
      instance.natIP = instance.hostAddress;
      return;
    }
    const address = await leaseAddress(await this.backend.usedAddresses(), ADDRESS_RANGE);
    instance.relay = await startAddressRelay(address, instance.hostAddress, [22, 2376]);
    instance.natIP = address;
  }

  /** The instance is gone: its boot disk goes with it (autoDelete, or `force`) or is left unattached. */
  private detachDisk(instance: Instance, force = false): void {
    const key = `${instance.project}/${instance.zone}/${instance.diskName}`;
    const disk = this.disks.get(key);
    if (!disk) return;
    const link = this.link(`projects/${instance.project}/zones/${instance.zone}/instances/${instance.name}`);
    disk.users = disk.users.filter((u) => u !== link);
    if ((instance.autoDelete || force) && disk.users.length === 0) this.disks.delete(key);
  }

  private async destroy(instance: Instance): Promise<void> {
    this.instances.delete(this.key(instance));
    this.detachDisk(instance);
    if (instance.booting) return; // boot() cleans up
    const host = instance.host;
    instance.host = undefined;
    await this.track(
      (async () => {
        await host?.remove();
        if (instance.relay) {
          await instance.relay.close();
          await releaseAddress(instance.relay.address);
        }
        if (instance.hostAddress && !instance.staticAddress) await releaseAddress(instance.hostAddress);
      })(),
    );
  }

  private instanceBody(i: Instance) {
    const link = this.link(`projects/${i.project}/zones/${i.zone}/instances/${i.name}`);
    return {
      kind: 'compute#instance',
      id: i.id,
      creationTimestamp: i.creationTimestamp,
      name: i.name,
      description: i.description,
      tags: { items: i.tags, fingerprint: i.tagsFingerprint },
      machineType: this.link(
        `projects/${i.project}/zones/${i.zone}/machineTypes/${i.machineType.split('/').pop()}`,
      ),
      status: i.status,
      zone: this.link(`projects/${i.project}/zones/${i.zone}`),
      canIpForward: false,
      networkInterfaces: [
        {
          kind: 'compute#networkInterface',
          network: this.link(`projects/${i.project}/global/networks/default`),
          ...(i.subnetwork ? { subnetwork: i.subnetwork } : {}),
          networkIP: i.networkIP,
          name: 'nic0',
          accessConfigs: i.hasAccessConfig
            ? [
                {
                  kind: 'compute#accessConfig',
                  type: 'ONE_TO_ONE_NAT',
                  name: 'External NAT',
                  ...(i.natIP ? { natIP: i.natIP } : {}),
                  networkTier: 'PREMIUM',
                },
              ]
            : [],
          fingerprint: 'nic0-fingerprint',
          stackType: 'IPV4_ONLY',
        },
      ],
      disks: [
        {
          kind: 'compute#attachedDisk',
          type: 'PERSISTENT',
          mode: 'READ_WRITE',
          source: this.link(`projects/${i.project}/zones/${i.zone}/disks/${i.diskName}`),
          deviceName: 'persistent-disk-0',
          index: 0,
          boot: true,
          autoDelete: i.autoDelete,
          diskSizeGb: i.diskSizeGb,
          interface: 'SCSI',
        },
      ],
      metadata: { kind: 'compute#metadata', fingerprint: i.metadataFingerprint, items: i.metadata },
      serviceAccounts: i.serviceAccounts,
      selfLink: link,
      scheduling: i.scheduling,
      cpuPlatform: 'Intel Broadwell',
      labels: i.labels,
      labelFingerprint: i.labelFingerprint,
      startRestricted: false,
      deletionProtection: false,
      fingerprint: 'instance-fingerprint',
      lastStartTimestamp: i.creationTimestamp,
    };
  }
}

export async function startGoogleEmulator(
  options: GoogleEmulatorOptions = {},
): Promise<GoogleComputeEmulator> {
  const emulator = new GoogleComputeEmulator(options);
  await emulator.start();
  return emulator;
}
