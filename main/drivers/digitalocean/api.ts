import { debug } from '../../base/debug.js';
import { MoorError } from '../../base/errors.js';
import { sleep } from '../../base/sleep.js';

/**
 * A small client for the parts of DigitalOcean's API v2 the driver uses, on plain fetch.
 * Shapes follow DigitalOcean's published OpenAPI reference (github.com/digitalocean/openapi).
 */

export const DEFAULT_API_URL = 'https://api.digitalocean.com';

export interface DoRegion {
  slug: string;
  name: string;
  sizes: string[];
  available: boolean;
  features: string[];
}

/** A droplet size (GET /v2/sizes): prices in USD. */
export interface DoSize {
  slug: string;
  memory: number;
  vcpus: number;
  disk: number;
  transfer?: number;
  price_monthly: number;
  price_hourly: number;
  regions: string[];
  available: boolean;
  description?: string;
}

/** A public image (GET /v2/images?type=distribution). */
export interface DoImage {
  id: number;
  name: string;
  distribution: string;
  slug: string | null;
  public: boolean;
  regions: string[];
  type?: string;
  status?: string;
  description?: string;
}

/** The paging part of a list answer: `links.pages.next` is the next page's full URL, absent on the last. */
interface Paged {
  links?: { pages?: { next?: string; last?: string } };
  meta?: { total?: number };
}

/** Pages one list is followed for, at most (200 items each: far more than any account has). */
const MAX_PAGES = 50;

export interface DoSshKey {
  id: number;
  fingerprint: string;
  public_key: string;
  name: string;
}

export interface DoNetwork {
  ip_address: string;
  netmask: string | number;
  gateway: string;
  type: 'public' | 'private';
}

export interface DoDroplet {
  id: number;
  name: string;
  status: 'new' | 'active' | 'off' | 'archive' | string;
  /** An action (power, snapshot) is in progress. */
  locked?: boolean;
  created_at?: string;
  networks: { v4: DoNetwork[]; v6: DoNetwork[] };
  image?: { slug?: string | null; distribution?: string };
  tags?: string[];
  size_slug?: string;
  /** The size's prices in USD (price_monthly caps a calendar month's hourly billing). */
  size?: { slug: string; price_hourly: number; price_monthly: number };
}

export interface DoAction {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type: string;
  resource_id: number;
  resource_type: string;
}

/** A droplet snapshot as `/v2/droplets/{id}/snapshots` and `/v2/images/{id}` show it. */
export interface DoSnapshot {
  id: number;
  name: string;
  type?: string;
  regions: string[];
  created_at?: string;
  /** The compressed size DigitalOcean bills for ($0.06/GB-month). */
  size_gigabytes: number;
  min_disk_size?: number;
  status?: string;
}

export interface DropletCreateRequest {
  name: string;
  region: string;
  size: string;
  image: string | number;
  ssh_keys: Array<number | string>;
  backups: boolean;
  ipv6: boolean;
  private_networking: boolean;
  monitoring: boolean;
  user_data?: string;
  tags: string[];
}

/** A non-2xx answer; `id` is DigitalOcean's error id ("not_found", "unauthorized", ...). */
export class DigitalOceanApiError extends MoorError {
  constructor(
    message: string,
    readonly status: number,
    readonly errorId: string,
    readonly requestId: string,
  ) {
    super(message);
    this.name = 'DigitalOceanApiError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof DigitalOceanApiError && err.status === 404;
}

/**
 * Whether a failed create may have happened anyway: a 5xx, or no readable answer (dropped
 * connection, timeout). A 4xx (and a 429) means DigitalOcean refused before doing anything.
 */
export function mayHaveCommitted(err: unknown): boolean {
  return !(err instanceof DigitalOceanApiError) || err.status >= 500;
}

export interface ApiOptions {
  token: string;
  baseUrl?: string;
  /** Cancels waits and idempotent requests (see `request`). */
  signal?: AbortSignal;
  /** Attempts after the first for 429 / 5xx / network errors. */
  maxRetries?: number;
  /** First backoff delay; doubles each attempt (with jitter). */
  retryBaseMs?: number;
  /** Longest wait for a rate-limit reset before giving up with a clear error. */
  maxRateLimitWaitMs?: number;
  /** Called before each retry with a human-readable reason (progress output). */
  onRetry?: (message: string) => void;
  /** Where the token came from, named in the 401 error. */
  tokenSource?: string;
  /** One request (answer included) may take this long before it counts as a network failure. */
  requestTimeoutMs?: number;
  /** Items per page of list calls (default 200, DigitalOcean's maximum). */
  perPage?: number;
}

interface RequestOptions {
  body?: unknown;
  /**
   * Safe to repeat after a 5xx or a dropped connection. Creates are not: a 500 may come after the
   * droplet exists, and a retry would make a second one. A 429 is always retried (DigitalOcean
   * rejects the request before doing anything).
   */
  idempotent: boolean;
  /**
   * Whether the AbortSignal may interrupt the request in flight. Creates run to completion so the
   * ID of what they made is known (and recorded, and rolled back); the signal is checked after.
   */
  abortable: boolean;
}

const RETRYABLE_NETWORK = /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|socket|fetch failed|timed out/i;
/** A wedged connection must not hang a create forever; DigitalOcean answers in well under this. */
const REQUEST_TIMEOUT_MS = 60_000;

export class DigitalOceanApi {
  readonly baseUrl: string;

  constructor(private readonly options: ApiOptions) {
    this.baseUrl = (options.baseUrl || DEFAULT_API_URL).replace(/\/+$/, '');
  }

  async listRegions(): Promise<DoRegion[]> {
    return this.listAll<DoRegion>('/v2/regions', 'regions');
  }

  async listSizes(): Promise<DoSize[]> {
    return this.listAll<DoSize>('/v2/sizes', 'sizes');
  }

  /** Public distribution images (the ones with a slug a create can name). */
  async listDistributionImages(): Promise<DoImage[]> {
    return this.listAll<DoImage>('/v2/images?type=distribution', 'images');
  }

  /**
   * Every item of a paginated list: page after page by `links.pages.next` (DigitalOcean's
   * pagination), each a GET of the path with `page` and `per_page`.
   */
  async listAll<T>(path: string, key: string): Promise<T[]> {
    const perPage = this.options.perPage ?? 200;
    const items: T[] = [];
    const join = path.includes('?') ? '&' : '?';
    for (let page = 1; page <= MAX_PAGES; page++) {
      const res = await this.request<Paged & Record<string, unknown>>(
        'GET',
        `${path}${join}page=${page}&per_page=${perPage}`,
      );
      const list = res?.[key];
      if (!Array.isArray(list)) {
        throw new MoorError(
          `DigitalOcean API GET ${path.replace(/\?.*$/, '')}: the answer has no "${key}" list`,
        );
      }
      items.push(...(list as T[]));
      if (!res.links?.pages?.next || list.length === 0) return items;
    }
    throw new MoorError(`DigitalOcean API GET ${path.replace(/\?.*$/, '')}: more than ${MAX_PAGES} pages`);
  }

  async createKey(name: string, publicKey: string): Promise<DoSshKey> {
    const res = await this.request<{ ssh_key: DoSshKey }>('POST', '/v2/account/keys', {
      body: { name, public_key: publicKey },
      idempotent: false,
      abortable: false,
    });
    return res.ssh_key;
  }

  /** By numeric ID or MD5 fingerprint. */
  async getKey(idOrFingerprint: string | number): Promise<DoSshKey> {
    // The colons of a fingerprint are legal in a path and sent as-is, as DigitalOcean's own clients do.
    const segment = encodeURIComponent(String(idOrFingerprint)).replace(/%3A/gi, ':');
    const res = await this.request<{ ssh_key: DoSshKey }>('GET', `/v2/account/keys/${segment}`);
    return res.ssh_key;
  }

  async deleteKey(id: number): Promise<void> {
    await this.request('DELETE', `/v2/account/keys/${id}`);
  }

  async createDroplet(request: DropletCreateRequest): Promise<DoDroplet> {
    const res = await this.request<{ droplet: DoDroplet }>('POST', '/v2/droplets', {
      body: request,
      idempotent: false,
      abortable: false,
    });
    return res.droplet;
  }

  /** Droplets carrying this tag (the API's `tag_name` filter; checked again here). */
  async listDropletsTagged(tag: string): Promise<DoDroplet[]> {
    const res = await this.request<{ droplets: DoDroplet[] }>(
      'GET',
      `/v2/droplets?per_page=200&tag_name=${encodeURIComponent(tag)}`,
    );
    return res.droplets.filter((d) => d.tags?.includes(tag));
  }

  async getDroplet(id: number): Promise<DoDroplet> {
    const res = await this.request<{ droplet: DoDroplet }>('GET', `/v2/droplets/${id}`);
    return res.droplet;
  }

  async deleteDroplet(id: number): Promise<void> {
    await this.request('DELETE', `/v2/droplets/${id}`);
  }

  /** power_on / shutdown / reboot / power_off. Repeating one is harmless, so it is retried. */
  async dropletAction(id: number, type: string): Promise<DoAction> {
    const res = await this.request<{ action: DoAction }>('POST', `/v2/droplets/${id}/actions`, {
      body: { type },
      idempotent: true,
      abortable: true,
    });
    return res.action;
  }

  /** `snapshot` action: DigitalOcean makes an image of the droplet's disk, named `name`. */
  async snapshotAction(id: number, name: string): Promise<DoAction> {
    const res = await this.request<{ action: DoAction }>('POST', `/v2/droplets/${id}/actions`, {
      body: { type: 'snapshot', name },
      // Not repeated: a repeat after a lost answer would make a second snapshot.
      idempotent: false,
      abortable: false,
    });
    return res.action;
  }

  /** The droplet's snapshots (`GET /v2/droplets/{id}/snapshots`). */
  async listDropletSnapshots(id: number): Promise<DoSnapshot[]> {
    const res = await this.request<{ snapshots: DoSnapshot[] }>(
      'GET',
      `/v2/droplets/${id}/snapshots?per_page=200`,
    );
    return res.snapshots;
  }

  /** Every droplet snapshot of the account (`GET /v2/snapshots?resource_type=droplet`), ids as numbers. */
  async listSnapshots(): Promise<DoSnapshot[]> {
    const res = await this.request<{ snapshots: Array<Omit<DoSnapshot, 'id'> & { id: string | number }> }>(
      'GET',
      '/v2/snapshots?per_page=200&resource_type=droplet',
    );
    return res.snapshots.map((x) => ({ ...x, id: Number(x.id) }));
  }

  /** A snapshot by id, as an image (`GET /v2/images/{id}`): 404 once it is gone. */
  async getImage(id: number): Promise<DoSnapshot> {
    const res = await this.request<{ image: DoSnapshot }>('GET', `/v2/images/${id}`);
    return res.image;
  }

  async deleteSnapshot(id: number): Promise<void> {
    await this.request('DELETE', `/v2/snapshots/${id}`);
  }

  async getAction(id: number): Promise<DoAction> {
    const res = await this.request<{ action: DoAction }>('GET', `/v2/actions/${id}`);
    return res.action;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    opts: RequestOptions = { idempotent: method !== 'POST', abortable: true },
  ): Promise<T> {
    const { signal } = this.options;
    const maxRetries = this.options.maxRetries ?? 5;
    const baseMs = this.options.retryBaseMs ?? 500;
    const what = `${method} ${path.replace(/\?.*$/, '')}`;
    const timeoutMs = this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      // Creates are not cancelled mid-flight (see RequestOptions), but they do time out: the
      // caller treats that like a dropped connection (the create may have happened).
      const timeout = AbortSignal.timeout(timeoutMs);
      const requestSignal = opts.abortable && signal ? AbortSignal.any([signal, timeout]) : timeout;
      let res: Response;
      let text: string;
      const started = Date.now();
      try {
        res = await fetch(this.baseUrl + path, {
          method,
          headers: {
            Authorization: `Bearer ${this.options.token}`,
            'Content-Type': 'application/json',
            Accept: 'application/json',
            'User-Agent': 'moor',
          },
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: requestSignal,
        });
        text = await res.text();
      } catch (err) {
        debug('digitalocean', () => `${what} failed after ${Date.now() - started} ms`);
        if (signal?.aborted) throw signal.reason;
        const message = timeout.aborted
          ? `no answer within ${formatSeconds(timeoutMs)} (timed out)`
          : err instanceof Error
            ? `${err.message} ${String(err.cause ?? '')}`
            : String(err);
        if (opts.idempotent && attempt < maxRetries && RETRYABLE_NETWORK.test(message)) {
          const delay = backoff(baseMs, attempt);
          this.options.onRetry?.(`${what}: ${message.trim()}; retrying in ${formatSeconds(delay)}`);
          await sleep(delay, signal);
          continue;
        }
        throw new MoorError(`DigitalOcean API ${what} failed: ${message.trim()} (API URL ${this.baseUrl})`);
      }
      // The method, path (no query) and status only: the token is in a header and never logged.
      debug('digitalocean', () => `${what} → ${res.status} in ${Date.now() - started} ms`);
      if (res.ok) {
        if (!text) return undefined as T;
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new MoorError(`DigitalOcean API ${what}: answer is not JSON (HTTP ${res.status})`);
        }
      }
      const error = parseError(text);
      if (res.status === 429 && attempt < maxRetries) {
        const delay = rateLimitDelay(res.headers, baseMs, attempt);
        const maxWait = this.options.maxRateLimitWaitMs ?? 120_000;
        if (delay > maxWait) {
          throw new DigitalOceanApiError(
            `DigitalOcean API rate limit exceeded (${what}); it resets at ${new Date(Date.now() + delay).toISOString()}`,
            429,
            error.id,
            error.requestId,
          );
        }
        this.options.onRetry?.(`${what}: rate limited (429); retrying in ${formatSeconds(delay)}`);
        await sleep(delay, signal);
        continue;
      }
      if (res.status >= 500 && opts.idempotent && attempt < maxRetries) {
        const delay = backoff(baseMs, attempt);
        this.options.onRetry?.(`${what}: HTTP ${res.status}; retrying in ${formatSeconds(delay)}`);
        await sleep(delay, signal);
        continue;
      }
      throw this.toError(what, res.status, error);
    }
  }

  private toError(
    what: string,
    status: number,
    error: { id: string; message: string; requestId: string },
  ): DigitalOceanApiError {
    if (status === 401) {
      const source = this.options.tokenSource || '--digitalocean-access-token or $DIGITALOCEAN_ACCESS_TOKEN';
      return new DigitalOceanApiError(
        `invalid DigitalOcean access token (401 ${error.id || 'unauthorized'}: ${error.message || 'Unable to authenticate you'}); check ${source}`,
        status,
        error.id,
        error.requestId,
      );
    }
    const detail = [error.id, error.message].filter(Boolean).join(': ');
    const req = error.requestId ? ` (request ${error.requestId})` : '';
    return new DigitalOceanApiError(
      `DigitalOcean API ${what}: HTTP ${status}${detail ? ` ${detail}` : ''}${req}`,
      status,
      error.id,
      error.requestId,
    );
  }
}

function parseError(text: string): { id: string; message: string; requestId: string } {
  try {
    const body = JSON.parse(text) as { id?: unknown; message?: unknown; request_id?: unknown };
    return {
      id: typeof body.id === 'string' ? body.id : '',
      message: typeof body.message === 'string' ? body.message : '',
      requestId: typeof body.request_id === 'string' ? body.request_id : '',
    };
  } catch {
    return { id: '', message: text.slice(0, 200), requestId: '' };
  }
}

/** Exponential backoff with ±25 % jitter, capped at 30 s. */
export function backoff(baseMs: number, attempt: number): number {
  const raw = Math.min(30_000, baseMs * 2 ** attempt);
  return Math.round(raw * (0.75 + Math.random() * 0.5));
}

/**
 * How long to wait after a 429: until `RateLimit-Reset` (epoch seconds) when given, else
 * `Retry-After` (seconds), else exponential backoff.
 */
export function rateLimitDelay(headers: Headers, baseMs: number, attempt: number, now = Date.now()): number {
  const reset = Number(headers.get('ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) {
    // Whole seconds: wait to the start of the reset second, plus a little slack.
    return Math.max(0, reset * 1000 - now) + 100;
  }
  const retryAfter = Number(headers.get('retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000;
  return backoff(baseMs, attempt);
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
