import { MoorError } from '../base/errors.js';

/** Where a connection went: `user@host:port`. */
export function describeTarget(t: { user: string; host: string; port: number }): string {
  return `${t.user}@${t.host}:${t.port}`;
}

/** The server refused every credential we offered. */
export class SshAuthError extends MoorError {
  constructor(
    readonly address: string,
    readonly tried: string[],
  ) {
    super(
      `ssh: permission denied for ${address} with ${tried.length ? tried.join(', ') : 'no credentials (no key file, no ssh-agent)'}: ` +
        `the server refused ${tried.length > 1 ? 'them' : 'it'} (is the public key in ~/.ssh/authorized_keys of that user?)`,
    );
    this.name = 'SshAuthError';
  }
}

/** TCP or handshake failure: refused, timed out, unreachable, dropped before login. */
export class SshConnectError extends MoorError {
  constructor(
    readonly address: string,
    readonly reason: string,
    readonly code?: string,
  ) {
    super(`ssh: cannot connect to ${address}: ${reason}`);
    this.name = 'SshConnectError';
  }
}

/** An established connection dropped (host rebooted, network gone, keepalive timeout). */
export class SshConnectionLostError extends SshConnectError {
  constructor(address: string, detail?: string) {
    super(address, 'connection lost', 'ECONNRESET');
    this.message = `ssh: the connection to ${address} was lost${detail ? ` (${detail})` : ''}`;
    this.name = 'SshConnectionLostError';
  }
}

/** A key file that cannot be used (missing, unreadable, unsupported format, encrypted). */
export class SshKeyError extends MoorError {
  constructor(
    readonly keyPath: string,
    reason: string,
  ) {
    super(`ssh: cannot use key ${keyPath}: ${reason}`);
    this.name = 'SshKeyError';
  }
}

/**
 * The host presented a key other than the one pinned in the machine's known_hosts. Never bypassed
 * automatically: the user re-trusts with `moor ssh-trust NAME --fingerprint <new>` after checking.
 */
export class HostKeyChangedError extends MoorError {
  constructor(
    readonly machine: string,
    readonly address: string,
    readonly pinnedFingerprints: string[],
    readonly presentedFingerprint: string,
    readonly presentedType: string,
    readonly knownHostsPath: string,
  ) {
    super(
      `ssh: the host key of machine "${machine}" (${address}) has changed: pinned ${pinnedFingerprints.join(', ')}, ` +
        `now ${presentedType} ${presentedFingerprint}. Moor refused to connect: the host may have been ` +
        `reinstalled, or someone may be intercepting the connection. If you expect the change, trust the new key with:\n` +
        `  moor ssh-trust ${machine} --fingerprint ${presentedFingerprint}\n` +
        `(pinned keys: ${knownHostsPath})`,
    );
    this.name = 'HostKeyChangedError';
  }
}

/** hostKeyPolicy 'strict' and no key pinned yet. */
export class HostKeyUnknownError extends MoorError {
  constructor(
    readonly machine: string,
    readonly address: string,
    readonly presentedFingerprint: string,
    readonly knownHostsPath: string,
  ) {
    super(
      `ssh: no host key pinned for machine "${machine}" (${address}); it presents ${presentedFingerprint}. ` +
        `Trust it with: moor ssh-trust ${machine} --fingerprint ${presentedFingerprint}`,
    );
    this.name = 'HostKeyUnknownError';
  }
}
