import { debug } from '../base/debug.js';
import { CancelledError, errorMessage, MoorError } from '../base/errors.js';
import { sleep } from '../base/sleep.js';
import { readRegularFileBytes } from '../store/regular-file.js';
import { isEngineUrl, parseEngineUrl } from './engine-url.js';

export { isEngineUrl };

/** The client side of a TLS-secured engine: CA to trust, client cert and key to present. */
export interface EngineTls {
  ca: string | Buffer;
  cert: string | Buffer;
  key: string | Buffer;
}

export async function readEngineTls(paths: {
  caCert: string;
  clientCert: string;
  clientKey: string;
}): Promise<EngineTls> {
  const [ca, cert, key] = await Promise.all([
    readRegularFileBytes(paths.caCert),
    readRegularFileBytes(paths.clientCert),
    readRegularFileBytes(paths.clientKey),
  ]);
  return { ca, cert, key };
}

/** tcp://host:port (what DOCKER_HOST holds) → the https origin the engine API answers on. */
export function engineOrigin(dockerHost: string): URL {
  const url = parseEngineUrl(dockerHost);
  if (!url) throw new MoorError(`"${dockerHost}" is not an engine URL (tcp://host:port)`);
  return url;
}

export class EngineUnreachableError extends MoorError {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'EngineUnreachableError';
  }
}

/** An engine API request beyond a GET: method and JSON body. */
export interface EngineRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Sent as JSON. Never logged: swarm join tokens travel in bodies. */
  body?: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * GET on the engine API over mutual TLS. Rejects with EngineUnreachableError (with the socket
 * error code, e.g. ECONNREFUSED or ETIMEDOUT) when it gets no HTTP answer within `timeoutMs`;
 * `signal` ends the request (and its socket) early, e.g. when `ls` gave up on the host.
 */
export function engineGet(
  dockerHost: string,
  apiPath: string,
  tls: EngineTls,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string> {
  return engineRequest(dockerHost, apiPath, tls, { method: 'GET', timeoutMs, signal });
}

/**
 * One engine API call over mutual TLS; resolves with the body of a 2xx answer. An HTTP error is a
 * MoorError with the status and the engine's message; no answer at all is EngineUnreachableError.
 */
export async function engineRequest(
  dockerHost: string,
  apiPath: string,
  tls: EngineTls,
  request: EngineRequest,
): Promise<string> {
  const { timeoutMs, signal } = request;
  const origin = engineOrigin(dockerHost);
  // Loaded on the first request: `moor env` imports this module (via core/list) but asks the
  // engine nothing, and node:http alone is ~20 M instructions of start-up.
  const [{ default: http }, { connectEngine }] = await Promise.all([
    import('node:http'),
    import('./engine-tls.js'),
  ]);
  const started = Date.now();
  const took = () => `${Date.now() - started} ms`;
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  return new Promise((resolve, reject) => {
    // Plain http over a TLS socket that engine-tls.ts opened and verified (by hand, see there
    // why): nothing of the request is written before the engine's certificate passed.
    const req = http.request(
      {
        host: origin.hostname,
        port: origin.port || 2376,
        path: apiPath,
        method: request.method,
        headers: payload === undefined ? {} : { 'Content-Type': 'application/json' },
        createConnection: (_options, oncreate) => {
          connectEngine(origin.hostname, Number(origin.port || 2376), tls, { timeoutMs, signal }).then(
            (socket) => oncreate(null, socket),
            (err: Error) => oncreate(err, undefined as never),
          );
          return undefined;
        },
        timeout: timeoutMs,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          debug(
            'engine',
            () => `${request.method} ${origin.host}${apiPath} → ${res.statusCode} in ${took()}`,
          );
          if ((res.statusCode ?? 500) >= 400) {
            reject(new EngineHttpError(res.statusCode ?? 500, res.statusMessage ?? '', body));
          } else {
            resolve(body);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`timeout after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      debug(
        'engine',
        () => `${request.method} ${origin.host}${apiPath} failed in ${took()}: ${errorMessage(err)}`,
      );
      reject(new EngineUnreachableError(`${origin.host}: ${errorMessage(err)}`, err.code));
    });
    req.end(payload);
  });
}

/** The engine answered with an HTTP error; `engineMessage` is its own `{"message": ...}` text. */
export class EngineHttpError extends MoorError {
  readonly engineMessage: string;
  constructor(
    readonly status: number,
    statusText: string,
    body: string,
  ) {
    super(`${status} ${statusText}: ${body.trim()}`);
    this.name = 'EngineHttpError';
    this.engineMessage = parseEngineMessage(body);
  }
}

function parseEngineMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: the raw text is the message
  }
  return body.trim();
}

export async function pingEngine(
  dockerHost: string,
  tls: EngineTls,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  await engineGet(dockerHost, '/_ping', tls, timeoutMs, signal);
}

/**
 * The engine's version. Unversioned path on purpose: docker-machine asked /v1.15/version, which
 * Engine ≥ 25 rejects ("client version 1.15 is too old"), leaving DOCKER as Unknown.
 */
export async function engineVersion(
  dockerHost: string,
  tls: EngineTls,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string> {
  const body = await engineGet(dockerHost, '/version', tls, timeoutMs, signal);
  const version = (JSON.parse(body) as { Version?: string }).Version;
  if (!version) throw new MoorError('engine /version answered without a Version');
  return version;
}

export interface EngineWaitOptions {
  /** Give up after this many pings... */
  tries?: number;
  /** ...or once this much time has passed (whichever is set; at least one ping either way). */
  deadlineMs?: number;
  /** Pause between pings. */
  intervalMs: number;
  /** How long one ping may take. */
  pingTimeoutMs: number;
  /** Ends the wait with CancelledError. */
  signal?: AbortSignal;
  /** Which ping errors mean "not yet" (default: all); others are thrown at once. */
  retryOn?: (err: unknown) => boolean;
}

export type EngineWaitResult = { up: true } | { up: false; attempts: number; lastError: unknown };

/**
 * Pings the engine over TLS until it answers, the tries or the deadline run out, or `signal`
 * aborts. Callers word their own failure from the result (attempts made, last ping error).
 */
export async function waitForEngine(
  dockerHost: string,
  tls: EngineTls,
  options: EngineWaitOptions,
): Promise<EngineWaitResult> {
  const { signal, retryOn = () => true } = options;
  const deadline =
    options.deadlineMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.deadlineMs;
  const maxTries = options.tries ?? Number.POSITIVE_INFINITY;
  let attempts = 0;
  let lastError: unknown;
  for (;;) {
    if (signal?.aborted) throw new CancelledError();
    attempts++;
    try {
      await pingEngine(dockerHost, tls, options.pingTimeoutMs);
      return { up: true };
    } catch (err) {
      if (!retryOn(err)) throw err;
      lastError = err;
    }
    if (attempts >= maxTries || Date.now() + options.intervalMs >= deadline) break;
    await sleep(options.intervalMs, signal, () => new CancelledError());
  }
  return { up: false, attempts, lastError };
}
