/**
 * The results of main/ssh/check.ts as data (no imports): the API contract re-exports them, so the
 * renderer and the preload can import these types without Node's.
 */

/** What a key file is, as far as logging in with it goes. */
export type KeyFileKind =
  | 'private-key'
  | 'encrypted'
  | 'public-key'
  | 'missing'
  | 'not-a-file'
  | 'unreadable'
  | 'not-a-key';

export interface KeyFileCheck {
  /** The file can log in as it is (an unencrypted private key). */
  ok: boolean;
  kind: KeyFileKind;
  /** One sentence for the form: what the file is, or why it cannot be used. */
  message: string;
  /** "ssh-ed25519", "ssh-rsa", ... when the file parsed as a key. */
  keyType: string;
  /** SHA256 fingerprint of its public half, when known. */
  fingerprint: string;
}

export type ConnectionStepName = 'tcp' | 'banner' | 'host-key' | 'auth' | 'remote';

export interface ConnectionStep {
  step: ConnectionStepName;
  /** "TCP connection to 127.0.42.9:22" */
  label: string;
  ok: boolean;
  /** What it found ("SSH-2.0-OpenSSH_9.2p1", "Debian GNU/Linux 12 (bookworm), Docker 20.10.24") or why it failed. */
  detail: string;
}

export interface ConnectionTestRequest {
  ip: string;
  port: number;
  user: string;
  /** '' for ssh-agent / the default keys, like --generic-ssh-key. */
  keyPath: string;
}

export interface ConnectionTestResult {
  ok: boolean;
  /** The steps run, in order; the last one failed when `ok` is false (the rest were not tried). */
  steps: ConnectionStep[];
  /** The host key it presented, for the user to compare before pinning it on create. */
  hostKey: { type: string; fingerprint: string } | null;
  /** "SSH login as root@127.0.42.9:22 failed: ..." or ''. */
  error: string;
}
