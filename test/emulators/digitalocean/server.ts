import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { readBody } from '../http-body.js';
import {
  type AddressRange,
  type AddressRelay,
  leaseAddress,
  releaseAddress,
  startAddressRelay,
} from './addresses.js';
import { FakeHostBackend, type HostBackend, type HostHandle, TestHostBackend } from './backends.js';

/**
 * An emulator of the parts of DigitalOcean's API v2 that Moor's driver uses, answering with the
 * status codes and JSON shapes of DigitalOcean's published OpenAPI reference. Droplets are real
 * test hosts (or nothing, with the fake backend). Tests inspect `state()` and inject faults.
 */

export interface EmulatorOptions {
  /** Accepted bearer tokens (default ["test-token"]). */
  tokens?: string[];
  /** 'fake' (default): no host at all; 'test-hosts': a systemd + sshd container per droplet. */
  backend?: 'fake' | 'test-hosts' | HostBackend;
  /** Minimum time an action stays "in-progress" (default 100 ms). */
  actionMinMs?: number;
  /** Requests allowed per token per `rateLimitWindowMs` before 429s (default 5000 / hour). */
  rateLimit?: number;
  rateLimitWindowMs?: number;
  /** Where droplets get their addresses (default 127.0.20.1–127.0.29.254): a test's own range. */
  addresses?: AddressRange;
}

/** An HTTP error to answer instead of handling a request. */
export interface RequestFault {
  method?: string;
  /** Matched against the path (without query); a string matches as a prefix. */
  path?: string | RegExp;
  /** Omitted: only delay the request (`delayMs`), then handle it normally. */
  status?: number;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** For 429: RateLimit-Reset = now + this many seconds (default 1). */
  resetInSeconds?: number;
  /** Handle the request first, then answer with the error (a 500 after the droplet exists). */
  afterCommit?: boolean;
  /** Close the connection instead of answering (with `afterCommit`: after handling the request). */
  drop?: boolean;
  /** Delay the answer (ms) — e.g. to cancel a create while a request is in flight. */
  delayMs?: number;
}

/**
 * What happens to the next created droplet(s):
 * - never-ip: stays "new" without networks forever (no host started);
 * - no-ssh: becomes "active" with an address, but no host runs there (SSH never answers);
 * - host-fails: the backend fails to boot the host (the droplet stays "new").
 */
export type DropletFault = 'never-ip' | 'no-ssh' | 'host-fails';

interface Key {
  id: number;
  fingerprint: string;
  public_key: string;
  name: string;
}

interface Droplet {
  id: number;
  name: string;
  status: 'new' | 'active' | 'off';
  locked: boolean;
  created_at: string;
  image: string;
  region: string;
  size: string;
  keyIds: number[];
  tags: string[];
  backups: boolean;
  ipv6: boolean;
  privateNetworking: boolean;
  monitoring: boolean;
  userData: string;
  address: string;
  /** Set once the droplet has its public address. */
  hasIp: boolean;
  /** Its host is being started (a delete meanwhile is finished by the boot). */
  booting?: boolean;
  fault?: DropletFault;
  host?: HostHandle;
  /** Set by readdressOnNextPowerOn: the next power_on moves the droplet to a new address. */
  readdress?: boolean;
  /** The addresses it moved to, each relayed to its host (which stays published on the first). */
  relays?: AddressRelay[];
  /** The snapshot it was created from (its image is then the snapshot's id). */
  fromSnapshot?: number;
}

/**
 * A droplet snapshot (`POST /v2/droplets/{id}/actions {type:"snapshot"}`). With real hosts it
 * keeps the droplet's host (container) stopped, published on `hostAddress`: a droplet created
 * from the snapshot starts that host again and relays its own new address to it — the same disk,
 * the same SSH host key and Docker state, at a new IP, as on DigitalOcean.
 */
interface Snapshot {
  id: number;
  name: string;
  created_at: string;
  region: string;
  /** The droplet it was taken of. */
  resourceId: number;
  /** The base image the droplet ran (distribution, Flatcar or not). */
  image: string;
  size: string;
  sizeGigabytes: number;
  host?: HostHandle;
  hostAddress: string;
}

interface Action {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type: string;
  started_at: string;
  completed_at: string | null;
  resource_id: number;
  resource_type: 'droplet';
  region_slug: string;
}

export interface EmulatorState {
  droplets: Array<{
    id: number;
    name: string;
    status: string;
    address: string;
    image: string;
    region: string;
    size: string;
    keyIds: number[];
    tags: string[];
    /** What the droplet's metadata service would serve at /metadata/v1/user-data. */
    userData: string;
  }>;
  keys: Key[];
  actions: Action[];
  snapshots: Array<{ id: number; name: string; resourceId: number; region: string; sizeGigabytes: number }>;
}

const SIZES: Record<string, { memory: number; vcpus: number; disk: number; price: number }> = {
  's-1vcpu-512mb-10gb': { memory: 512, vcpus: 1, disk: 10, price: 4 },
  's-1vcpu-1gb': { memory: 1024, vcpus: 1, disk: 25, price: 6 },
  's-1vcpu-2gb': { memory: 2048, vcpus: 1, disk: 50, price: 12 },
  's-2vcpu-2gb': { memory: 2048, vcpus: 2, disk: 60, price: 18 },
  's-2vcpu-4gb': { memory: 4096, vcpus: 2, disk: 80, price: 24 },
  's-4vcpu-8gb': { memory: 8192, vcpus: 4, disk: 160, price: 48 },
};

const REGIONS: Array<{ slug: string; name: string; available: boolean }> = [
  { slug: 'nyc1', name: 'New York 1', available: true },
  { slug: 'nyc2', name: 'New York 2', available: false },
  { slug: 'nyc3', name: 'New York 3', available: true },
  { slug: 'ams3', name: 'Amsterdam 3', available: true },
  { slug: 'sfo3', name: 'San Francisco 3', available: true },
  { slug: 'sgp1', name: 'Singapore 1', available: true },
  { slug: 'lon1', name: 'London 1', available: true },
  { slug: 'fra1', name: 'Frankfurt 1', available: true },
  { slug: 'tor1', name: 'Toronto 1', available: true },
  { slug: 'blr1', name: 'Bangalore 1', available: true },
  { slug: 'syd1', name: 'Sydney 1', available: true },
];

/** A size only some regions offer (as DigitalOcean's General Purpose sizes are). */
const REGIONAL_SIZES: Record<
  string,
  { memory: number; vcpus: number; disk: number; price: number; regions: string[] }
> = {
  'g-2vcpu-8gb': { memory: 8192, vcpus: 2, disk: 25, price: 63, regions: ['nyc3', 'sfo3'] },
};

/** The sizes a region offers (none when it takes no new droplets). */
function regionSizes(region: { slug: string; available: boolean }): string[] {
  if (!region.available) return [];
  const regional = Object.entries(REGIONAL_SIZES).filter(([, s]) => s.regions.includes(region.slug));
  return [...Object.keys(SIZES), ...regional.map(([slug]) => slug)];
}

/** Sizes DigitalOcean lists but no region offers (GET /v2/sizes shows them with available: false). */
const RETIRED_SIZES: Record<string, { memory: number; vcpus: number; disk: number; price: number }> = {
  '512mb': { memory: 512, vcpus: 1, disk: 20, price: 5 },
};

const IMAGES: Array<{ id: number; slug: string; name: string; distribution: string }> = [
  { id: 129211873, slug: 'ubuntu-24-04-x64', name: '24.04 (LTS) x64', distribution: 'Ubuntu' },
  { id: 112929454, slug: 'ubuntu-22-04-x64', name: '22.04 (LTS) x64', distribution: 'Ubuntu' },
  { id: 135929412, slug: 'debian-12-x64', name: '12 x64', distribution: 'Debian' },
  {
    id: 140000001,
    slug: 'flatcar-stable',
    name: 'Flatcar Container Linux (stable)',
    distribution: 'Unknown OS',
  },
  { id: 140000002, slug: 'flatcar-beta', name: 'Flatcar Container Linux (beta)', distribution: 'Unknown OS' },
];

const REGION_FEATURES = ['backups', 'ipv6', 'metadata', 'install_agent', 'storage', 'image_transfer'];

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = () => new HttpError(404, 'not_found', 'The resource you were accessing could not be found.');
const unprocessable = (message: string) => new HttpError(422, 'unprocessable_entity', message);

export function md5Fingerprint(publicKey: string): string {
  const b64 = publicKey.trim().split(/\s+/)[1] ?? '';
  return createHash('md5').update(Buffer.from(b64, 'base64')).digest('hex').match(/../g)!.join(':');
}

export class DigitalOceanEmulator {
  readonly id = randomBytes(3).toString('hex');
  readonly tokens: Set<string>;
  readonly backend: HostBackend;
  private readonly addresses?: AddressRange;
  /** Every request, in order: for asserting what the driver called. */
  readonly requests: Array<{ method: string; path: string; status: number; body?: unknown }> = [];
  private server?: http.Server;
  private baseUrl = '';
  private nextKeyId = 41_000_000;
  private nextDropletId = 480_000_000;
  private nextActionId = 2_200_000_000;
  private nextSnapshotId = 170_000_000;
  private readonly snapshots = new Map<number, Snapshot>();
  private readonly keys = new Map<number, Key>();
  private readonly droplets = new Map<number, Droplet>();
  private readonly actions = new Map<number, Action>();
  private requestFaults: RequestFault[] = [];
  private dropletFaults: DropletFault[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly usage = new Map<string, { count: number; windowStart: number }>();
  private readonly options: Required<Omit<EmulatorOptions, 'backend' | 'tokens' | 'addresses'>>;
  /**
   * Called for every authenticated API request before it is handled and again after (phase
   * 'after', the resource made): answering 'drop' closes the connection there without an answer,
   * unhandled before. The fault suite kills the `moor create` process from here, at an exact step.
   */
  onRequest?: (
    request: { index: number; method: string; path: string },
    phase: 'before' | 'after',
  ) => Promise<'drop' | undefined> | 'drop' | undefined;
  private apiRequests = 0;
  /** Errors of background work (host boots, removals), for tests to assert none happened. */
  readonly backgroundErrors: string[] = [];

  constructor(options: EmulatorOptions = {}) {
    this.tokens = new Set(options.tokens ?? ['test-token']);
    this.addresses = options.addresses;
    const backend = options.backend ?? 'fake';
    this.backend =
      backend === 'fake'
        ? new FakeHostBackend()
        : backend === 'test-hosts'
          ? new TestHostBackend(this.id)
          : backend;
    this.options = {
      actionMinMs: options.actionMinMs ?? 100,
      rateLimit: options.rateLimit ?? 5000,
      rateLimitWindowMs: options.rateLimitWindowMs ?? 3_600_000,
    };
  }

  get url(): string {
    return this.baseUrl;
  }

  get token(): string {
    return [...this.tokens][0]!;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = http.createServer((req, res) => {
      // Tracked so idle() also waits for a request whose client gave up (a timed-out create still lands).
      void this.track(
        this.handle(req, res).catch((err) => {
          this.send(res, 500, { id: 'server_error', message: String(err), request_id: randomUUID() });
        }),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    this.baseUrl = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  /** Deletes every droplet's host (no leaks from the emulator itself) and stops listening. */
  async close(): Promise<void> {
    await this.idle();
    for (const d of [...this.droplets.values()]) await this.destroyDroplet(d);
    await this.idle();
    for (const snap of [...this.snapshots.values()]) await this.deleteSnapshot(snap);
    await this.idle();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** Resolves when requests being handled and background work (host boots, power actions, removals) have finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  injectFault(fault: RequestFault): void {
    this.requestFaults.push({ times: 1, ...fault });
  }

  injectDropletFault(fault: DropletFault, times = 1): void {
    for (let i = 0; i < times; i++) this.dropletFaults.push(fault);
  }

  /**
   * The droplet named `name` comes back on another public IPv4 at its next power_on, as a cloud
   * VM without a reserved IP does (DigitalOcean keeps a droplet's address; EC2, DHCP VMs and
   * others do not). Its host keeps running on the old address; the new one relays ports 22 and
   * 2376 to it, so clients see one machine at a new IP, with the same host key and engine.
   */
  readdressOnNextPowerOn(name: string): void {
    const droplet = [...this.droplets.values()].find((d) => d.name === name);
    if (!droplet) throw new Error(`no droplet named ${name}`);
    droplet.readdress = true;
  }

  clearFaults(): void {
    this.requestFaults = [];
    this.dropletFaults = [];
  }

  state(): EmulatorState {
    return {
      droplets: [...this.droplets.values()].map((d) => ({
        id: d.id,
        name: d.name,
        status: d.status,
        address: d.hasIp ? d.address : '',
        image: d.image,
        region: d.region,
        size: d.size,
        keyIds: d.keyIds,
        tags: d.tags,
        userData: d.userData,
      })),
      keys: [...this.keys.values()],
      actions: [...this.actions.values()],
      snapshots: [...this.snapshots.values()].map((x) => ({
        id: x.id,
        name: x.name,
        resourceId: x.resourceId,
        region: x.region,
        sizeGigabytes: x.sizeGigabytes,
      })),
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

  // ---------------------------------------------------------------------------------------------

  private send(
    res: http.ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    if (res.headersSent) return;
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      ...(text ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
      ...headers,
    });
    res.end(text);
  }

  private rateHeaders(token: string, exhausted = false, resetInSeconds?: number): Record<string, string> {
    const now = Date.now();
    let u = this.usage.get(token);
    if (!u || now - u.windowStart >= this.options.rateLimitWindowMs) {
      u = { count: 0, windowStart: now };
      this.usage.set(token, u);
    }
    const reset =
      resetInSeconds !== undefined
        ? Math.ceil(now / 1000 + resetInSeconds)
        : Math.ceil((u.windowStart + this.options.rateLimitWindowMs) / 1000);
    return {
      'RateLimit-Limit': String(this.options.rateLimit),
      'RateLimit-Remaining': String(exhausted ? 0 : Math.max(0, this.options.rateLimit - u.count)),
      'RateLimit-Reset': String(reset),
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const raw = await readBody(req);
    const log = { method, path, status: 0, body: undefined as unknown };
    this.requests.push(log);
    const reply = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      log.status = status;
      this.send(res, status, body, headers);
    };
    const requestId = randomUUID();
    const fail = (e: HttpError, headers: Record<string, string> = {}) =>
      reply(e.status, { id: e.id, message: e.message, request_id: requestId }, headers);

    if (path.startsWith('/_emulator/')) return this.control(method, path, raw, reply);

    const auth = req.headers.authorization ?? '';
    const token = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim() ?? '';
    if (!this.tokens.has(token)) {
      return fail(new HttpError(401, 'unauthorized', 'Unable to authenticate you'));
    }

    let body: unknown;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return fail(new HttpError(400, 'bad_request', 'unexpected end of JSON input'));
      }
    }
    log.body = body;

    const step = { index: this.apiRequests++, method, path };
    if ((await this.onRequest?.(step, 'before')) === 'drop') return void res.socket?.destroy();
    const fault = this.takeFault(method, path);
    if (fault?.delayMs) await delay(fault.delayMs);
    if (fault?.drop && !fault.afterCommit) return void res.socket?.destroy();
    if (fault?.status && !fault.afterCommit) {
      if (fault.status === 429) {
        return fail(
          new HttpError(429, 'too_many_requests', 'API Rate limit exceeded.'),
          this.rateHeaders(token, true, fault.resetInSeconds ?? 1),
        );
      }
      return fail(
        new HttpError(fault.status, errorIdFor(fault.status), 'Injected fault'),
        this.rateHeaders(token),
      );
    }

    this.rateHeaders(token); // opens a new window when the old one is over
    const usage = this.usage.get(token)!;
    usage.count++;
    const headers = this.rateHeaders(token);
    if (usage.count > this.options.rateLimit) {
      return fail(
        new HttpError(429, 'too_many_requests', 'API Rate limit exceeded.'),
        this.rateHeaders(token, true),
      );
    }

    try {
      const [status, result] = await this.route(method, path, body, url.searchParams);
      if ((await this.onRequest?.(step, 'after')) === 'drop') return void res.socket?.destroy();
      if (fault?.drop) return void res.socket?.destroy();
      if (fault?.status && fault.afterCommit) {
        return fail(
          new HttpError(fault.status, errorIdFor(fault.status), 'Injected fault (after commit)'),
          headers,
        );
      }
      reply(status, result, headers);
    } catch (err) {
      if (err instanceof HttpError) return fail(err, headers);
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

  /** Unauthenticated control API, for a test that runs the emulator in another process. */
  private control(
    method: string,
    path: string,
    raw: string,
    reply: (status: number, body?: unknown) => void,
  ): void {
    if (method === 'GET' && path === '/_emulator/state') {
      reply(200, this.state());
      return;
    }
    if (method === 'POST' && path === '/_emulator/faults') {
      const f = JSON.parse(raw || '{}') as RequestFault & { droplet?: DropletFault };
      if (f.droplet) this.injectDropletFault(f.droplet, f.times ?? 1);
      else this.injectFault(f);
      reply(204);
      return;
    }
    if (method === 'DELETE' && path === '/_emulator/faults') {
      this.clearFaults();
      reply(204);
      return;
    }
    reply(404, { id: 'not_found', message: 'unknown emulator control path' });
  }

  private async route(
    method: string,
    path: string,
    body: unknown,
    query: URLSearchParams,
  ): Promise<[number, unknown]> {
    const seg = path.split('/').filter(Boolean); // ["v2", ...]
    if (seg[0] !== 'v2') throw notFound();
    const [, a, b, c, d] = seg;
    if (a === 'regions' && !b && method === 'GET') return [200, this.regionsBody(query)];
    if (a === 'sizes' && !b && method === 'GET') return [200, this.sizesBody(query)];
    if (a === 'images' && !b && method === 'GET') return [200, this.imagesBody(query)];
    if (a === 'account' && b === 'keys') {
      if (!c && method === 'GET')
        return [200, { ssh_keys: [...this.keys.values()], links: {}, meta: { total: this.keys.size } }];
      if (!c && method === 'POST') return [201, { ssh_key: this.createKey(body) }];
      if (c && !d) {
        const key = this.findKey(decodeURIComponent(c));
        if (method === 'GET') return [200, { ssh_key: key }];
        if (method === 'DELETE') {
          this.keys.delete(key.id);
          return [204, undefined];
        }
      }
    }
    if (a === 'droplets') {
      if (!b && method === 'GET') {
        const list = [...this.droplets.values()]
          .filter((x) => !query.get('name') || x.name === query.get('name'))
          .filter((x) => !query.get('tag_name') || x.tags.includes(query.get('tag_name')!))
          .map((x) => this.dropletBody(x));
        return [200, { droplets: list, links: {}, meta: { total: list.length } }];
      }
      if (!b && method === 'POST') return this.createDroplet(body);
      if (b) {
        const droplet = this.droplets.get(Number(b));
        if (!droplet || !/^\d+$/.test(b)) throw notFound();
        if (!c && method === 'GET') return [200, { droplet: this.dropletBody(droplet) }];
        if (!c && method === 'DELETE') {
          await this.destroyDroplet(droplet);
          return [204, undefined];
        }
        if (c === 'actions' && !d && method === 'POST')
          return [201, { action: this.startAction(droplet, body) }];
        if (c === 'snapshots' && !d && method === 'GET') {
          const list = [...this.snapshots.values()]
            .filter((x) => x.resourceId === droplet.id)
            .map((x) => this.imageBody(x));
          return [200, { snapshots: list, links: {}, meta: { total: list.length } }];
        }
        if (c === 'actions' && d && method === 'GET') {
          const action = this.actions.get(Number(d));
          if (!action || action.resource_id !== droplet.id) throw notFound();
          return [200, { action }];
        }
      }
    }
    if (a === 'snapshots') {
      if (!b && method === 'GET') {
        const type = query.get('resource_type');
        const list = [...this.snapshots.values()]
          .filter(() => !type || type === 'droplet')
          .map((x) => this.snapshotBody(x));
        return [200, { snapshots: list, links: {}, meta: { total: list.length } }];
      }
      if (b && !c) {
        const snap = this.snapshots.get(Number(b));
        if (!snap || !/^\d+$/.test(b)) throw notFound();
        if (method === 'GET') return [200, { snapshot: this.snapshotBody(snap) }];
        if (method === 'DELETE') {
          await this.deleteSnapshot(snap);
          return [204, undefined];
        }
      }
    }
    if (a === 'images' && b && !c) {
      const snap = this.snapshots.get(Number(b));
      if (snap && method === 'GET') return [200, { image: this.imageBody(snap) }];
      if (snap && method === 'DELETE') {
        await this.deleteSnapshot(snap);
        return [204, undefined];
      }
      const base = IMAGES.find((i) => String(i.id) === b || i.slug === b);
      if (base && method === 'GET') return [200, { image: imageBody(base) }];
      throw notFound();
    }
    if (a === 'actions' && b && !c && method === 'GET') {
      const action = this.actions.get(Number(b));
      if (!action) throw notFound();
      return [200, { action }];
    }
    throw notFound();
  }

  private regionsBody(query: URLSearchParams) {
    const regions = REGIONS.map((r) => ({
      slug: r.slug,
      name: r.name,
      sizes: regionSizes(r),
      available: r.available,
      features: REGION_FEATURES,
    }));
    return this.page('/v2/regions', 'regions', regions, query);
  }

  private sizesBody(query: URLSearchParams) {
    const sizes = [
      ...Object.entries(SIZES).map(([slug, s]) => sizeBody(slug, s, true)),
      ...Object.entries(REGIONAL_SIZES).map(([slug, s]) => sizeBody(slug, s, true, s.regions)),
      ...Object.entries(RETIRED_SIZES).map(([slug, s]) => sizeBody(slug, s, false)),
    ];
    return this.page('/v2/sizes', 'sizes', sizes, query);
  }

  /** `type=distribution` lists the distribution images; other types (application, private) none here. */
  private imagesBody(query: URLSearchParams) {
    const type = query.get('type');
    const images = type && type !== 'distribution' ? [] : IMAGES.map((i) => imageBody(i));
    return this.page('/v2/images', 'images', images, query, type ? { type } : {});
  }

  /**
   * One page of a list, as DigitalOcean pages them: `page` (from 1) and `per_page` (default 20,
   * at most 200), `links.pages` with absolute first/prev/next/last URLs where they exist, and
   * `meta.total`.
   */
  private page<T>(
    path: string,
    key: string,
    all: T[],
    query: URLSearchParams,
    keep: Record<string, string> = {},
  ): Record<string, unknown> {
    const perPage = Math.min(200, Math.max(1, Number(query.get('per_page')) || 20));
    const page = Math.max(1, Math.floor(Number(query.get('page')) || 1));
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const url = (n: number) =>
      `${this.baseUrl}${path}?${new URLSearchParams({ ...keep, page: String(n), per_page: String(perPage) })}`;
    const pages: Record<string, string> = {};
    if (page > 1) {
      pages.first = url(1);
      pages.prev = url(Math.min(page - 1, last));
    }
    if (page < last) {
      pages.next = url(page + 1);
      pages.last = url(last);
    }
    return {
      [key]: all.slice((page - 1) * perPage, page * perPage),
      links: Object.keys(pages).length ? { pages } : {},
      meta: { total: all.length },
    };
  }

  private createKey(body: unknown): Key {
    const { name, public_key } = (body ?? {}) as { name?: unknown; public_key?: unknown };
    if (typeof name !== 'string' || !name) throw unprocessable('Name is required');
    if (
      typeof public_key !== 'string' ||
      !/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-\S+) [A-Za-z0-9+/]+=*( .*)?\s*$/.test(public_key)
    ) {
      throw unprocessable('Key invalid, key should be of the format `type key [comment]`');
    }
    const fingerprint = md5Fingerprint(public_key);
    if ([...this.keys.values()].some((k) => k.fingerprint === fingerprint)) {
      throw unprocessable('SSH Key is already in use on your account');
    }
    const key: Key = { id: this.nextKeyId++, fingerprint, public_key, name };
    this.keys.set(key.id, key);
    return key;
  }

  private findKey(idOrFingerprint: string): Key {
    const key = /^\d+$/.test(idOrFingerprint)
      ? this.keys.get(Number(idOrFingerprint))
      : [...this.keys.values()].find((k) => k.fingerprint === idOrFingerprint);
    if (!key) throw notFound();
    return key;
  }

  private async createDroplet(body: unknown): Promise<[number, unknown]> {
    const b = (body ?? {}) as Record<string, unknown>;
    const name = b.name;
    if (typeof name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9.-]*$/.test(name)) {
      throw unprocessable('Name Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)');
    }
    const region = REGIONS.find((r) => r.slug === b.region);
    if (!region) throw unprocessable('You specified an invalid region for Droplet creation.');
    if (!region.available) throw unprocessable('Sorry, this region is not available for new Droplets.');
    if (typeof b.size !== 'string' || !(SIZES[b.size] || REGIONAL_SIZES[b.size]))
      throw unprocessable('You specified an invalid size for Droplet creation.');
    if (!regionSizes(region).includes(b.size)) throw unprocessable('Size is not available in this region.');
    const snapshot = typeof b.image === 'number' ? this.snapshots.get(b.image) : undefined;
    const image = snapshot
      ? IMAGES.find((i) => i.slug === snapshot.image)
      : IMAGES.find((i) => i.slug === b.image || i.id === b.image);
    if (!image) throw unprocessable('You specified an invalid image for Droplet creation.');
    if (snapshot && snapshot.region !== region.slug) {
      throw unprocessable(`The image ${snapshot.id} is not available in the region ${region.slug}.`);
    }
    if (snapshot?.host && [...this.droplets.values()].some((x) => x.host === snapshot.host)) {
      // An emulator limit (DigitalOcean makes any number): its droplets share the snapshot's host.
      throw unprocessable(`emulator: a droplet created from snapshot ${snapshot.id} still runs`);
    }
    const keyRefs = Array.isArray(b.ssh_keys) ? b.ssh_keys : [];
    const keys = keyRefs.map((ref) => {
      try {
        return this.findKey(String(ref));
      } catch {
        throw unprocessable(`ssh_keys: key ${String(ref)} was not found`);
      }
    });
    for (const flag of ['backups', 'ipv6', 'private_networking', 'monitoring']) {
      if (b[flag] !== undefined && typeof b[flag] !== 'boolean')
        throw unprocessable(`${flag} must be a boolean`);
    }
    if (b.tags !== undefined && b.tags !== null && !Array.isArray(b.tags))
      throw unprocessable('tags must be an array');
    for (const tag of (b.tags as unknown[] | null) ?? []) {
      // DigitalOcean's rule for tag names (the API answers 422 otherwise).
      if (typeof tag !== 'string' || !/^[a-zA-Z0-9_:-]{1,255}$/.test(tag)) {
        throw unprocessable(
          `tags: "${String(tag)}" is invalid: tag names may contain letters, numbers, colons, dashes, and underscores, up to 255 characters`,
        );
      }
    }
    if (b.user_data !== undefined && b.user_data !== null && typeof b.user_data !== 'string')
      throw unprocessable('user_data must be a string');
    if (typeof b.user_data === 'string' && Buffer.byteLength(b.user_data) > 64 * 1024)
      throw unprocessable('user_data must be 64 KiB or less');

    const droplet: Droplet = {
      id: this.nextDropletId++,
      name,
      status: 'new',
      locked: false,
      created_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      image: image.slug,
      region: region.slug,
      size: b.size,
      keyIds: keys.map((k) => k.id),
      tags: ((b.tags as string[] | null) ?? []).map(String),
      backups: b.backups === true,
      ipv6: b.ipv6 === true,
      privateNetworking: b.private_networking === true,
      monitoring: b.monitoring === true,
      userData: typeof b.user_data === 'string' ? b.user_data : '',
      address: '',
      hasIp: false,
      fault: snapshot ? undefined : this.dropletFaults.shift(),
      fromSnapshot: snapshot?.id,
    };
    this.droplets.set(droplet.id, droplet);
    const action = this.newAction(droplet, 'create');
    this.track(
      snapshot ? this.bootFromSnapshot(droplet, snapshot, action) : this.boot(droplet, keys, action),
    );
    return [
      202,
      {
        droplet: this.dropletBody(droplet),
        links: {
          actions: [{ id: action.id, rel: 'create', href: `${this.baseUrl}/v2/actions/${action.id}` }],
        },
      },
    ];
  }

  private async boot(droplet: Droplet, keys: Key[], action: Action): Promise<void> {
    if (droplet.fault === 'never-ip') return; // stays "new", the create action never completes
    droplet.booting = true;
    let host: HostHandle | undefined;
    try {
      const skip = await this.backend.usedAddresses();
      droplet.address = await leaseAddress(skip, this.addresses);
      if (!this.droplets.has(droplet.id)) return; // deleted meanwhile
      if (droplet.fault === 'host-fails') {
        this.finishAction(action, 'errored');
        return;
      }
      if (droplet.fault !== 'no-ssh') {
        host = await this.backend.create({
          dropletId: droplet.id,
          name: droplet.name,
          image: droplet.image,
          address: droplet.address,
          authorizedKeys: keys.map((k) => k.public_key.trim()).join('\n'),
          userData: droplet.userData,
        });
      }
    } finally {
      droplet.booting = false;
      if (!this.droplets.has(droplet.id)) {
        // Deleted while booting: the delete already answered 204; finish its job here.
        await host?.remove();
        if (droplet.address) await releaseAddress(droplet.address);
      }
    }
    if (!this.droplets.has(droplet.id)) return;
    droplet.host = host;
    droplet.status = 'active';
    droplet.hasIp = true;
    this.finishAction(action, 'completed');
  }

  /** A droplet from a snapshot: the snapshot's host starts again, reached at a new address. */
  private async bootFromSnapshot(droplet: Droplet, snapshot: Snapshot, action: Action): Promise<void> {
    droplet.booting = true;
    droplet.host = snapshot.host; // claimed now: deleting the snapshot meanwhile keeps the host
    try {
      const skip = await this.backend.usedAddresses();
      droplet.address = await leaseAddress(skip, this.addresses);
      if (!this.droplets.has(droplet.id)) return;
      if (snapshot.host) {
        await snapshot.host.start();
        droplet.relays = [await startAddressRelay(droplet.address, snapshot.hostAddress, [22, 2376])];
      }
    } finally {
      droplet.booting = false;
      if (!this.droplets.has(droplet.id)) await this.releaseHost(droplet);
    }
    if (!this.droplets.has(droplet.id)) return;
    const rest = this.options.actionMinMs;
    if (rest > 0) await delay(rest);
    if (!this.droplets.has(droplet.id)) return;
    droplet.status = 'active';
    droplet.hasIp = true;
    this.finishAction(action, 'completed');
  }

  /** Whether a snapshot (other than `except`) or a droplet still uses this host. */
  private hostInUse(host: HostHandle, except?: Snapshot): boolean {
    return (
      [...this.droplets.values()].some((d) => d.host === host) ||
      [...this.snapshots.values()].some((x) => x !== except && x.host === host)
    );
  }

  /**
   * A destroyed droplet's host and addresses: kept (stopped) while a snapshot holds the host, else
   * removed; relays of the addresses it moved to always go.
   */
  private async releaseHost(droplet: Droplet): Promise<void> {
    const host = droplet.host;
    droplet.host = undefined;
    const relays = droplet.relays ?? [];
    droplet.relays = undefined;
    const hostAddress = relays[0]?.target ?? droplet.address;
    const held = host !== undefined && this.hostInUse(host);
    if (host) await (held ? host.stop() : host.remove());
    for (const relay of relays) {
      await relay.close();
      await releaseAddress(relay.address);
    }
    if (!held && hostAddress) await releaseAddress(hostAddress);
  }

  private async deleteSnapshot(snapshot: Snapshot): Promise<void> {
    this.snapshots.delete(snapshot.id);
    const host = snapshot.host;
    if (!host || this.hostInUse(host)) return;
    await this.track(
      (async () => {
        await host.remove();
        await releaseAddress(snapshot.hostAddress);
      })(),
    );
  }

  private takeSnapshot(droplet: Droplet, name: string): Snapshot {
    const snapshot: Snapshot = {
      id: this.nextSnapshotId++,
      name,
      created_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      region: droplet.region,
      resourceId: droplet.id,
      image: droplet.image,
      size: droplet.size,
      sizeGigabytes: 2.36,
      host: droplet.host,
      hostAddress: droplet.relays?.[0]?.target ?? droplet.address,
    };
    this.snapshots.set(snapshot.id, snapshot);
    return snapshot;
  }

  private async moveToNewAddress(droplet: Droplet): Promise<void> {
    droplet.readdress = false;
    const hostAddress = droplet.relays?.[0]?.target ?? droplet.address;
    const skip = await this.backend.usedAddresses();
    const address = await leaseAddress(skip, this.addresses);
    droplet.relays = [...(droplet.relays ?? []), await startAddressRelay(address, hostAddress, [22, 2376])];
    droplet.address = address;
  }

  private async destroyDroplet(droplet: Droplet): Promise<void> {
    this.droplets.delete(droplet.id);
    if (droplet.booting) return; // boot() cleans up when it finishes
    await this.track(this.releaseHost(droplet));
  }

  private newAction(droplet: Droplet, type: string): Action {
    const action: Action = {
      id: this.nextActionId++,
      status: 'in-progress',
      type,
      started_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      completed_at: null,
      resource_id: droplet.id,
      resource_type: 'droplet',
      region_slug: droplet.region,
    };
    this.actions.set(action.id, action);
    return action;
  }

  private finishAction(action: Action, status: 'completed' | 'errored'): void {
    action.status = status;
    action.completed_at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  }

  private startAction(droplet: Droplet, body: unknown): Action {
    const type = (body as { type?: unknown } | undefined)?.type;
    const power: Record<string, () => Promise<'active' | 'off'>> = {
      power_on: async () => {
        if (droplet.status === 'off') await droplet.host?.start();
        if (droplet.readdress) await this.moveToNewAddress(droplet);
        return 'active';
      },
      shutdown: async () => {
        if (droplet.status === 'active') await droplet.host?.stop();
        return 'off';
      },
      power_off: async () => {
        if (droplet.status === 'active') await droplet.host?.kill();
        return 'off';
      },
      reboot: async () => {
        await droplet.host?.restart();
        return 'active';
      },
      power_cycle: async () => {
        await droplet.host?.restart();
        return 'active';
      },
    };
    const snapshotName = (body as { name?: unknown } | undefined)?.name;
    if (type === 'snapshot') {
      if (snapshotName !== undefined && (typeof snapshotName !== 'string' || !snapshotName)) {
        throw unprocessable('name must be a non-empty string');
      }
      const name = typeof snapshotName === 'string' ? snapshotName : `${droplet.name}-${Date.now()}`;
      power.snapshot = async () => {
        this.takeSnapshot(droplet, name);
        return droplet.status === 'off' ? 'off' : 'active';
      };
    }
    if (typeof type !== 'string' || !power[type]) {
      throw unprocessable(`Invalid action type ${String(type)}`);
    }
    if (droplet.locked || droplet.status === 'new') {
      throw unprocessable('Droplet already has a pending event.');
    }
    droplet.locked = true;
    const action = this.newAction(droplet, type);
    const started = Date.now();
    this.track(
      (async () => {
        try {
          const status = await power[type]!();
          const rest = this.options.actionMinMs - (Date.now() - started);
          if (rest > 0) await delay(rest);
          droplet.status = status;
          this.finishAction(action, 'completed');
        } catch (err) {
          this.finishAction(action, 'errored');
          throw err;
        } finally {
          droplet.locked = false;
        }
      })(),
    );
    return action;
  }

  /** A snapshot as `/v2/images/{id}` and `/v2/droplets/{id}/snapshots` show it (numeric id). */
  private imageBody(x: Snapshot) {
    const base = IMAGES.find((i) => i.slug === x.image);
    return {
      id: x.id,
      name: x.name,
      distribution: base?.distribution ?? 'Unknown',
      slug: null,
      public: false,
      regions: [x.region],
      created_at: x.created_at,
      min_disk_size: SIZES[x.size]?.disk ?? 25,
      type: 'snapshot',
      size_gigabytes: x.sizeGigabytes,
      description: '',
      tags: [],
      status: 'available',
      error_message: '',
    };
  }

  /** A snapshot as `/v2/snapshots` shows it (string ids, as DigitalOcean's reference has them). */
  private snapshotBody(x: Snapshot) {
    return {
      id: String(x.id),
      name: x.name,
      created_at: x.created_at,
      regions: [x.region],
      resource_id: String(x.resourceId),
      resource_type: 'droplet',
      min_disk_size: SIZES[x.size]?.disk ?? 25,
      size_gigabytes: x.sizeGigabytes,
      tags: [],
    };
  }

  private dropletBody(d: Droplet) {
    const size = SIZES[d.size] ?? REGIONAL_SIZES[d.size]!;
    const image = IMAGES.find((i) => i.slug === d.image)!;
    const region = REGIONS.find((r) => r.slug === d.region)!;
    const fromSnapshot = d.fromSnapshot !== undefined ? this.snapshots.get(d.fromSnapshot) : undefined;
    const v4 = d.hasIp
      ? [
          { ip_address: d.address, netmask: '255.0.0.0', gateway: '127.0.0.1', type: 'public' },
          ...(d.privateNetworking
            ? [
                {
                  ip_address: `10.110.0.${(d.id % 250) + 2}`,
                  netmask: '255.255.240.0',
                  gateway: '10.110.0.1',
                  type: 'private',
                },
              ]
            : []),
        ]
      : [];
    // 2001:db8::/32 is the documentation prefix: never routed, never contacted.
    const v6 =
      d.hasIp && d.ipv6
        ? [
            {
              ip_address: `2001:db8::${d.id.toString(16)}`,
              netmask: 64,
              gateway: '2001:db8::1',
              type: 'public',
            },
          ]
        : [];
    return {
      id: d.id,
      name: d.name,
      memory: size.memory,
      vcpus: size.vcpus,
      disk: size.disk,
      locked: d.locked,
      status: d.status,
      kernel: null,
      created_at: d.created_at,
      features: [
        ...(d.backups ? ['backups'] : []),
        ...(d.ipv6 ? ['ipv6'] : []),
        ...(d.privateNetworking ? ['private_networking'] : []),
        ...(d.monitoring ? ['monitoring'] : []),
      ],
      backup_ids: [],
      next_backup_window: null,
      snapshot_ids: [...this.snapshots.values()].filter((x) => x.resourceId === d.id).map((x) => x.id),
      image: fromSnapshot ? this.imageBody(fromSnapshot) : imageBody(image),
      volume_ids: [],
      size: sizeBody(d.size, size, true, REGIONAL_SIZES[d.size]?.regions),
      size_slug: d.size,
      networks: { v4, v6 },
      region: {
        name: region.name,
        slug: region.slug,
        features: REGION_FEATURES,
        available: region.available,
        sizes: regionSizes(region),
      },
      tags: d.tags,
      vpc_uuid: '5a4981aa-9653-4bd1-bef5-d6bff52042e4',
    };
  }
}

/** A size object of the API (GET /v2/sizes, a droplet's `size`); monthly is 672 hours' price. */
function sizeBody(
  slug: string,
  s: { memory: number; vcpus: number; disk: number; price: number },
  available: boolean,
  regions = REGIONS.filter((r) => r.available).map((r) => r.slug),
) {
  return {
    slug,
    memory: s.memory,
    vcpus: s.vcpus,
    disk: s.disk,
    transfer: s.memory >= 2048 ? 2 : 1,
    price_monthly: s.price,
    price_hourly: Number((s.price / 672).toFixed(5)),
    regions: available ? regions : [],
    available,
    description: slug.startsWith('g-') ? 'General Purpose' : 'Basic',
  };
}

/** An image object of the API (GET /v2/images, a droplet's `image`). */
function imageBody(image: { id: number; slug: string; name: string; distribution: string }) {
  return {
    id: image.id,
    name: image.name,
    distribution: image.distribution,
    slug: image.slug,
    public: true,
    regions: REGIONS.filter((r) => r.available).map((r) => r.slug),
    created_at: '2024-04-25T00:00:00Z',
    min_disk_size: 7,
    type: 'base',
    size_gigabytes: 2.36,
    description: image.name,
    status: 'available',
  };
}

function errorIdFor(status: number): string {
  return (
    {
      400: 'bad_request',
      404: 'not_found',
      422: 'unprocessable_entity',
      429: 'too_many_requests',
      503: 'service_unavailable',
    }[status] ?? 'server_error'
  );
}

/** Starts an emulator on 127.0.0.1 (random port). */
export async function startDigitalOceanEmulator(
  options: EmulatorOptions = {},
): Promise<DigitalOceanEmulator> {
  const emulator = new DigitalOceanEmulator(options);
  await emulator.start();
  return emulator;
}
