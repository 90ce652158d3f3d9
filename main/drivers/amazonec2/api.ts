import os from 'node:os';
import path from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import { fromIni } from '@aws-sdk/credential-providers';
import { errorMessage, MoorError } from '../../base/errors.js';
import { endpointUrl } from './config.js';

// The SDK warns on every process under Node 22 about its own future support; in a CLI that is
// noise on stderr of every command (Moor states its own Node requirement).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** An AWS SDK error's HTTP status (undefined when no answer was read) and error code. */
export function awsStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

export function awsCode(err: unknown): string {
  return String((err as { name?: unknown; Code?: unknown })?.Code ?? (err as { name?: unknown })?.name ?? '');
}

/**
 * Whether a failed create may have happened anyway: a 5xx or no answer at all (dropped
 * connection, timeout). A 4xx means EC2 refused before doing anything.
 */
export function mayHaveCommitted(err: unknown): boolean {
  const status = awsStatus(err);
  return status === undefined || status >= 500;
}

export function isNotFound(err: unknown): boolean {
  return /NotFound$/.test(awsCode(err));
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
export type AwsCredentialProvider = () => Promise<AwsCredentials>;

export interface CredentialSource {
  accessKey: string;
  secretKey: string;
  sessionToken: string;
  env: Record<string, string | undefined>;
}

/**
 * The credential chain docker-machine documents: the flags (or AWS_ACCESS_KEY_ID & co, which the
 * CLI reads into the flags), else the shared credentials file's profile (AWS_PROFILE, default
 * "default"; AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE move the files). Instance roles and SSO
 * are not consulted: Moor never dials 169.254.169.254 from a laptop.
 */
export function credentialProvider(source: CredentialSource): AwsCredentialProvider {
  if (source.accessKey) {
    const identity: AwsCredentials = {
      accessKeyId: source.accessKey,
      secretAccessKey: source.secretKey,
      ...(source.sessionToken ? { sessionToken: source.sessionToken } : {}),
    };
    return async () => identity;
  }
  const home = source.env.HOME || os.homedir();
  const profile = source.env.AWS_PROFILE || 'default';
  const ini = fromIni({
    profile,
    filepath: source.env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, '.aws', 'credentials'),
    configFilepath: source.env.AWS_CONFIG_FILE || path.join(home, '.aws', 'config'),
    ignoreCache: true,
  });
  return async () => {
    try {
      return await ini();
    } catch (err) {
      throw new MoorError(
        `amazonec2 driver requires AWS credentials: --amazonec2-access-key and --amazonec2-secret-key, ` +
          `AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile "${profile}" in ~/.aws/credentials ` +
          `(${errorMessage(err)})`,
      );
    }
  };
}

export interface ClientOptions {
  region: string;
  endpoint: string;
  disableSsl: boolean;
  /** docker-machine's --amazonec2-retries: retries after the first attempt; -1 disables them. */
  retries: number;
  credentials: AwsCredentialProvider;
}

export function ec2Client(o: ClientOptions): EC2Client {
  const endpoint = endpointUrl(o.endpoint, o.disableSsl);
  return new EC2Client({
    region: o.region,
    ...(endpoint ? { endpoint } : {}),
    credentials: o.credentials,
    maxAttempts: o.retries < 0 ? 1 : o.retries + 1,
  });
}
