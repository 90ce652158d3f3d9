import { createSign } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorMessage, MoorError } from '../../base/errors.js';

/**
 * Application Default Credentials without the googleapis SDK: a service-account key JSON (a JWT
 * signed RS256 with its private key, exchanged at its `token_uri`) or gcloud's `authorized_user`
 * file (its refresh token exchanged at the token endpoint). Found at $GOOGLE_APPLICATION_CREDENTIALS,
 * else gcloud's well-known file. The GCE metadata server (credentials of a VM Moor runs on) is not
 * used: Moor runs on the user's machine.
 */

export const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';
export const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';

export interface ServiceAccountKey {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
  project_id?: string;
}

export interface AuthorizedUser {
  type: 'authorized_user';
  client_id: string;
  client_secret: string;
  refresh_token: string;
  token_uri?: string;
  quota_project_id?: string;
}

export type GoogleCredentials = ServiceAccountKey | AuthorizedUser;

/** Where the credentials come from (named in every error about them). */
export interface CredentialsFile {
  path: string;
  source: string;
  credentials: GoogleCredentials;
}

/** gcloud's well-known ADC file (`gcloud auth application-default login`). */
export function wellKnownCredentialsPath(env: Record<string, string | undefined>): string {
  if (process.platform === 'win32' && env.APPDATA) {
    return path.join(env.APPDATA, 'gcloud', 'application_default_credentials.json');
  }
  const configDir = env.CLOUDSDK_CONFIG || path.join(env.HOME || os.homedir(), '.config', 'gcloud');
  return path.join(configDir, 'application_default_credentials.json');
}

export async function findCredentials(env: Record<string, string | undefined>): Promise<CredentialsFile> {
  const explicit = env.GOOGLE_APPLICATION_CREDENTIALS?.trim();
  const file = explicit || wellKnownCredentialsPath(env);
  const source = explicit ? `$GOOGLE_APPLICATION_CREDENTIALS (${file})` : file;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (explicit)
      throw new MoorError(`cannot read the Google credentials file ${source}: ${errorMessage(err)}`);
    throw new MoorError(
      'no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account key JSON file, ' +
        `or run "gcloud auth application-default login" (which writes ${file})`,
    );
  }
  return { path: file, source, credentials: parseCredentials(text, source) };
}

/** Validates a credentials JSON; every error names the file and the field. */
export function parseCredentials(text: string, source: string): GoogleCredentials {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new MoorError(`the Google credentials file ${source} is not JSON`);
  }
  if (typeof json !== 'object' || json === null) {
    throw new MoorError(`the Google credentials file ${source} is not a JSON object`);
  }
  const need = (fields: string[]) => {
    const missing = fields.filter((f) => typeof json[f] !== 'string' || !json[f]);
    if (missing.length > 0) {
      throw new MoorError(
        `the Google credentials file ${source} (type "${json.type}") has no ${missing.join(', ')}`,
      );
    }
  };
  if (json.type === 'service_account') {
    need(['client_email', 'private_key']);
    checkTokenUri(json.token_uri, source);
    return json as unknown as ServiceAccountKey;
  }
  if (json.type === 'authorized_user') {
    need(['client_id', 'client_secret', 'refresh_token']);
    checkTokenUri(json.token_uri, source);
    return json as unknown as AuthorizedUser;
  }
  throw new MoorError(
    `the Google credentials file ${source} has type "${String(json.type ?? '')}"; ` +
      'Moor reads "service_account" key files and "authorized_user" files (gcloud auth application-default login)',
  );
}

/** A token URI gets a signed assertion or a refresh token: https only (plain http on loopback, for tests). */
function checkTokenUri(value: unknown, source: string): void {
  if (value === undefined) return;
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new MoorError(`the token_uri "${String(value)}" in ${source} is not a URL`);
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new MoorError(
      `the token_uri "${url.href}" in ${source} is not https: refusing to send credentials there`,
    );
  }
}

/** The signed JWT of OAuth 2.0 for server-to-server applications (RFC 7523). */
export function signedAssertion(key: ServiceAccountKey, scope: string, nowSeconds: number): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const header = { alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
  const claims = {
    iss: key.client_email,
    scope,
    aud: key.token_uri || DEFAULT_TOKEN_URI,
    iat: nowSeconds,
    exp: nowSeconds + 3600,
  };
  const unsigned = `${b64(header)}.${b64(claims)}`;
  let signature: string;
  try {
    signature = createSign('RSA-SHA256').update(unsigned).sign(key.private_key, 'base64url');
  } catch (err) {
    throw new MoorError(`the private_key of ${key.client_email} cannot sign: ${errorMessage(err)}`);
  }
  return `${unsigned}.${signature}`;
}

export interface AccessToken {
  token: string;
  expiresAt: number;
}

/** Exchanges the credentials for an access token at their token URI. */
export async function fetchAccessToken(
  file: CredentialsFile,
  options: { scope?: string; signal?: AbortSignal; now?: () => number } = {},
): Promise<AccessToken> {
  const now = options.now ?? Date.now;
  const c = file.credentials;
  const tokenUri = c.token_uri || DEFAULT_TOKEN_URI;
  const form = new URLSearchParams(
    c.type === 'service_account'
      ? {
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion: signedAssertion(c, options.scope ?? COMPUTE_SCOPE, Math.floor(now() / 1000)),
        }
      : {
          grant_type: 'refresh_token',
          client_id: c.client_id,
          client_secret: c.client_secret,
          refresh_token: c.refresh_token,
        },
  );
  let res: Response;
  let text: string;
  try {
    res = await fetch(tokenUri, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.any([AbortSignal.timeout(60_000), ...(options.signal ? [options.signal] : [])]),
    });
    text = await res.text();
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new MoorError(
      `Google token request to ${tokenUri} failed: ${errorMessage(err)} ${String((err as Error).cause ?? '')}`.trim(),
    );
  }
  let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } =
    {};
  try {
    body = JSON.parse(text);
  } catch {
    // reported below
  }
  if (!res.ok || typeof body.access_token !== 'string') {
    const why = [body.error, body.error_description].filter((v) => typeof v === 'string').join(': ');
    throw new MoorError(
      `Google refused the credentials of ${file.source} (HTTP ${res.status}${why ? ` ${why}` : ''})`,
    );
  }
  const expiresIn = Number(body.expires_in) > 0 ? Number(body.expires_in) : 3600;
  return { token: body.access_token, expiresAt: now() + expiresIn * 1000 };
}

/** An access token source for one command: fetched once, fetched again a minute before it expires. */
export class TokenSource {
  private current?: AccessToken;

  constructor(
    private readonly env: Record<string, string | undefined>,
    private readonly signal?: AbortSignal,
  ) {}

  file?: CredentialsFile;

  async token(): Promise<string> {
    if (this.current && this.current.expiresAt - Date.now() > 60_000) return this.current.token;
    this.file ??= await findCredentials(this.env);
    this.current = await fetchAccessToken(this.file, { signal: this.signal });
    return this.current.token;
  }

  /** The project of a service-account key, for messages. */
  get source(): string {
    return this.file?.source ?? 'the Google credentials';
  }
}
