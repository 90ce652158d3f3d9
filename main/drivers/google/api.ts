import { randomUUID } from 'node:crypto';
import { debug } from '../../base/debug.js';
import { errorMessage, MoorError } from '../../base/errors.js';
import { sleep } from '../../base/sleep.js';
import { backoff } from '../digitalocean/api.js';

/**
 * A small client for the parts of the Compute Engine v1 REST API the driver uses, on plain fetch.
 * Shapes follow the published reference (cloud.google.com/compute/docs/reference/rest/v1).
 */

export const DEFAULT_COMPUTE_URL = 'https://compute.googleapis.com/compute/v1';

export interface GceOperation {
  kind?: string;
  id?: string;
  name: string;
  operationType?: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  targetLink?: string;
  targetId?: string;
  zone?: string;
  selfLink?: string;
  error?: { errors?: Array<{ code?: string; message?: string }> };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
}

export interface GceAccessConfig {
  type?: string;
  name?: string;
  natIP?: string;
}

export interface GceInstance {
  id: string;
  name: string;
  status: string;
  zone?: string;
  labels?: Record<string, string>;
  labelFingerprint?: string;
  tags?: { items?: string[]; fingerprint?: string };
  metadata?: { fingerprint?: string; items?: Array<{ key: string; value?: string }> };
  networkInterfaces?: Array<{ networkIP?: string; accessConfigs?: GceAccessConfig[] }>;
}

export interface GceDisk {
  name: string;
  sizeGb?: string;
  type?: string;
  users?: string[];
}

export interface GceFirewall {
  name: string;
  description?: string;
  network?: string;
  sourceRanges?: string[];
  targetTags?: string[];
  allowed?: Array<{ IPProtocol: string; ports?: string[] }>;
}

/** A non-2xx answer; `reason` is the first error's reason ("notFound", "alreadyExists", ...). */
export class GoogleApiError extends MoorError {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'GoogleApiError';
  }
}

export const isNotFound = (err: unknown) => err instanceof GoogleApiError && err.status === 404;
export const isConflict = (err: unknown) => err instanceof GoogleApiError && err.status === 409;

export interface ComputeApiOptions {
  project: string;
  token: () => Promise<string>;
  /** Where the credentials came from, named in 401/403 errors. */
  credentialsSource: () => string;
  baseUrl?: string;
  signal?: AbortSignal;
  maxRetries?: number;
  retryBaseMs?: number;
  onRetry?: (message: string) => void;
  requestTimeoutMs?: number;
}

const RETRYABLE_NETWORK = /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|socket|fetch failed|timed out/i;

export class ComputeApi {
  readonly baseUrl: string;

  constructor(private readonly options: ComputeApiOptions) {
    this.baseUrl = (options.baseUrl || DEFAULT_COMPUTE_URL).replace(/\/+$/, '');
  }

  private get project(): string {
    return encodeURIComponent(this.options.project);
  }

  private zonePath(zone: string): string {
    return `/projects/${this.project}/zones/${encodeURIComponent(zone)}`;
  }

  getProject(): Promise<{ name: string; id?: string }> {
    return this.request('GET', `/projects/${this.project}`);
  }

  /** `ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64` or `…/global/images/NAME`. */
  getImage(imagePath: string): Promise<{ name: string; status?: string; selfLink?: string }> {
    const path = imagePath.replace(/^projects\//, '');
    return this.request('GET', `/projects/${path.split('/').map(encodeURIComponent).join('/')}`);
  }

  getAddress(region: string, name: string): Promise<{ name: string; address: string }> {
    return this.request(
      'GET',
      `/projects/${this.project}/regions/${encodeURIComponent(region)}/addresses/${encodeURIComponent(name)}`,
    );
  }

  getFirewall(name: string): Promise<GceFirewall> {
    return this.request('GET', `/projects/${this.project}/global/firewalls/${encodeURIComponent(name)}`);
  }

  insertFirewall(rule: GceFirewall): Promise<GceOperation> {
    return this.mutate('POST', `/projects/${this.project}/global/firewalls`, rule, undefined, false);
  }

  updateFirewall(rule: GceFirewall): Promise<GceOperation> {
    return this.mutate(
      'PUT',
      `/projects/${this.project}/global/firewalls/${encodeURIComponent(rule.name)}`,
      rule,
    );
  }

  deleteFirewall(name: string): Promise<GceOperation> {
    return this.mutate('DELETE', `/projects/${this.project}/global/firewalls/${encodeURIComponent(name)}`);
  }

  getInstance(zone: string, name: string): Promise<GceInstance> {
    return this.request('GET', `${this.zonePath(zone)}/instances/${encodeURIComponent(name)}`);
  }

  /** A zonal persistent disk (disks.get): `users` are the instances it is attached to. */
  getDisk(zone: string, name: string): Promise<GceDisk> {
    return this.request('GET', `${this.zonePath(zone)}/disks/${encodeURIComponent(name)}`);
  }

  /** Every instance of the project, all zones (instances.aggregatedList), all pages. */
  async listAllInstances(): Promise<GceInstance[]> {
    const out: GceInstance[] = [];
    let pageToken = '';
    do {
      const query = pageToken ? `?pageToken=${encodeURIComponent(pageToken)}` : '';
      const page = await this.request<{
        items?: Record<string, { instances?: GceInstance[] }>;
        nextPageToken?: string;
      }>('GET', `/projects/${this.project}/aggregated/instances${query}`);
      for (const scope of Object.values(page.items ?? {})) out.push(...(scope.instances ?? []));
      pageToken = page.nextPageToken ?? '';
    } while (pageToken);
    return out;
  }

  /**
   * instances.insert with a `requestId`: Compute Engine runs a request id once, so repeating the
   * insert after a 5xx or a dropped connection cannot make a second instance (it answers with the
   * first request's operation).
   */
  insertInstance(zone: string, body: unknown, requestId: string): Promise<GceOperation> {
    return this.mutate('POST', `${this.zonePath(zone)}/instances`, body, requestId, false);
  }

  deleteInstance(zone: string, name: string): Promise<GceOperation> {
    return this.mutate('DELETE', `${this.zonePath(zone)}/instances/${encodeURIComponent(name)}`);
  }

  instanceAction(zone: string, name: string, action: 'start' | 'stop' | 'reset'): Promise<GceOperation> {
    return this.mutate('POST', `${this.zonePath(zone)}/instances/${encodeURIComponent(name)}/${action}`);
  }

  setMetadata(zone: string, name: string, metadata: unknown): Promise<GceOperation> {
    return this.mutate(
      'POST',
      `${this.zonePath(zone)}/instances/${encodeURIComponent(name)}/setMetadata`,
      metadata,
    );
  }

  setTags(zone: string, name: string, tags: unknown): Promise<GceOperation> {
    return this.mutate('POST', `${this.zonePath(zone)}/instances/${encodeURIComponent(name)}/setTags`, tags);
  }

  /**
   * Waits until the operation is DONE (zoneOperations.wait / globalOperations.wait answer when it
   * is, or after up to two minutes: asked again until `deadline`). Fails with the operation's error.
   */
  async waitFor(op: GceOperation, deadline: number, pollMs: number): Promise<GceOperation> {
    const scope = op.zone
      ? `${this.zonePath(op.zone.split('/').pop() ?? '')}/operations`
      : `/projects/${this.project}/global/operations`;
    let current = op;
    while (current.status !== 'DONE') {
      if (Date.now() > deadline) {
        throw new MoorError(
          `Compute Engine operation ${op.name} (${op.operationType ?? 'request'}) is still ${current.status} after the wait; it may finish later`,
        );
      }
      const next = await this.request<GceOperation>('POST', `${scope}/${encodeURIComponent(op.name)}/wait`, {
        idempotent: true,
      });
      if (next.status !== 'DONE') await sleep(pollMs, this.options.signal);
      current = next;
    }
    const first = current.error?.errors?.[0];
    if (first) {
      throw new GoogleApiError(
        `Compute Engine operation ${op.operationType ?? ''} ${targetName(op)} failed: ${first.code ?? ''} ${first.message ?? ''}`.replace(
          /\s+/g,
          ' ',
        ),
        current.httpErrorStatusCode ?? 0,
        first.code ?? '',
      );
    }
    return current;
  }

  /**
   * A request that changes something: a fresh requestId, so that repeating it is safe. Inserts are
   * not `abortable`: a cancel must not cut one off mid-flight (it may still land, unrecorded); it
   * runs to its answer, and the caller checks the signal after.
   */
  private mutate(
    method: string,
    path: string,
    body?: unknown,
    requestId: string = randomUUID() as string,
    abortable = true,
  ): Promise<GceOperation> {
    return this.request(method, `${path}?requestId=${requestId}`, {
      body,
      idempotent: true,
      abortable,
    });
  }

  async request<T = unknown>(
    method: string,
    path: string,
    opts: { body?: unknown; idempotent?: boolean; abortable?: boolean } = {},
  ): Promise<T> {
    const { signal } = this.options;
    const idempotent = opts.idempotent ?? method === 'GET';
    const maxRetries = this.options.maxRetries ?? 5;
    const baseMs = this.options.retryBaseMs ?? 500;
    const what = `${method} ${path.replace(/\?.*$/, '')}`;
    const timeoutMs = this.options.requestTimeoutMs ?? 150_000; // operations.wait holds up to 2 min
    const abortable = opts.abortable ?? true;
    for (let attempt = 0; ; attempt++) {
      if (abortable || attempt === 0) signal?.throwIfAborted();
      const token = await this.options.token();
      const timeout = AbortSignal.timeout(timeoutMs);
      let res: Response;
      let text: string;
      const started = Date.now();
      try {
        res = await fetch(this.baseUrl + path, {
          method,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: 'application/json',
            'User-Agent': 'moor',
            ...(opts.body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: signal && abortable ? AbortSignal.any([signal, timeout]) : timeout,
        });
        text = await res.text();
      } catch (err) {
        debug('google', () => `${what} failed after ${Date.now() - started} ms`);
        if (signal?.aborted && abortable) throw signal.reason;
        const message = timeout.aborted
          ? 'no answer (timed out)'
          : `${errorMessage(err)} ${String((err as Error).cause ?? '')}`.trim();
        if (idempotent && attempt < maxRetries && RETRYABLE_NETWORK.test(message)) {
          const delay = backoff(baseMs, attempt);
          this.options.onRetry?.(`${what}: ${message}; retrying in ${(delay / 1000).toFixed(1)}s`);
          await sleep(delay, abortable ? signal : undefined);
          continue;
        }
        throw new MoorError(`Compute Engine API ${what} failed: ${message} (API URL ${this.baseUrl})`);
      }
      debug('google', () => `${what} → ${res.status} in ${Date.now() - started} ms`);
      if (res.ok) {
        try {
          return (text ? JSON.parse(text) : undefined) as T;
        } catch {
          throw new MoorError(`Compute Engine API ${what}: answer is not JSON (HTTP ${res.status})`);
        }
      }
      const error = parseError(text);
      const retryable = res.status === 429 || (res.status >= 500 && idempotent);
      if (retryable && attempt < maxRetries) {
        const delay = backoff(baseMs, attempt);
        this.options.onRetry?.(`${what}: HTTP ${res.status}; retrying in ${(delay / 1000).toFixed(1)}s`);
        await sleep(delay, abortable ? signal : undefined);
        continue;
      }
      if (res.status === 401) {
        throw new GoogleApiError(
          `Google rejected the access token from ${this.options.credentialsSource()} (401 ${error.message || 'UNAUTHENTICATED'})`,
          401,
          error.reason,
        );
      }
      throw new GoogleApiError(
        `Compute Engine API ${what}: HTTP ${res.status}${error.reason ? ` ${error.reason}` : ''}${error.message ? `: ${error.message}` : ''}`,
        res.status,
        error.reason,
      );
    }
  }
}

function targetName(op: GceOperation): string {
  return op.targetLink?.split('/').pop() ?? '';
}

function parseError(text: string): { reason: string; message: string } {
  try {
    const body = JSON.parse(text) as {
      error?: { message?: unknown; status?: unknown; errors?: Array<{ reason?: unknown }> };
    };
    const e = body.error ?? {};
    return {
      reason: String(e.errors?.[0]?.reason ?? e.status ?? ''),
      message: typeof e.message === 'string' ? e.message : '',
    };
  } catch {
    return { reason: '', message: text.slice(0, 200) };
  }
}
