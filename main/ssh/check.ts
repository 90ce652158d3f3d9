/**
 * Checks the create form runs before a generic host is created: is a key file a usable private
 * key, and does an SSH host answer, step by step (TCP, SSH banner, host key, login, the remote
 * system), so a failure names the step that failed instead of one long create that times out.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { errorMessage } from '../base/errors.js';
import { NotRegularFileError, readRegularFileBytes } from '../store/regular-file.js';
import type {
  ConnectionStep,
  ConnectionStepName,
  ConnectionTestRequest,
  ConnectionTestResult,
  KeyFileCheck,
  KeyFileKind,
} from './check-types.js';
import { fingerprint, keyBlobType } from './fingerprint.js';
import { addHostKey } from './known-hosts.js';
import { probeTcp } from './reachability.js';

export type * from './check-types.js';

export interface ConnectionTestOptions {
  /** Per step (default 5 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Checks a private key file (never throws: every outcome is a KeyFileCheck). */
export async function checkKeyFile(file: string): Promise<KeyFileCheck> {
  const result = (kind: KeyFileKind, message: string, keyType = '', fp = ''): KeyFileCheck => ({
    ok: kind === 'private-key',
    kind,
    message,
    keyType,
    fingerprint: fp,
  });
  if (!file) return result('missing', 'No key file given');
  if (!path.isAbsolute(file)) return result('missing', `"${file}" is not an absolute path`);
  let data: Buffer;
  try {
    data = await readRegularFileBytes(file);
  } catch (err) {
    if (err instanceof NotRegularFileError) return result('not-a-file', `It is ${err.kind}, not a key file`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return result('missing', 'The file does not exist');
    return result('unreadable', `Cannot read it (${code ?? errorMessage(err)})`);
  }
  const parsed = ssh2.utils.parseKey(data);
  if (parsed instanceof Error) {
    if (/passphrase|encrypted/i.test(parsed.message)) {
      return result(
        'encrypted',
        'The key is passphrase-protected: add it to ssh-agent (ssh-add) and leave the key path empty',
      );
    }
    const text = data.toString('latin1');
    if (text.includes('BEGIN PRIVATE KEY') || text.includes('BEGIN ENCRYPTED PRIVATE KEY')) {
      return result(
        'not-a-key',
        `PKCS#8 keys are not supported; convert it to OpenSSH format with: ssh-keygen -p -f ${file}`,
      );
    }
    return result('not-a-key', `Not an SSH private key (${parsed.message})`);
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) return result('not-a-key', 'Not an SSH private key (no key in the file)');
  const blob = key.getPublicSSH();
  const type = key.type;
  const fp = fingerprint(blob);
  if (!key.isPrivateKey()) {
    const base = file.endsWith('.pub') ? file.slice(0, -4) : '';
    const hint = base ? `; the private key is probably ${base}` : '; give the private key file';
    return result('public-key', `It is a public key, and logging in needs the private key${hint}`, type, fp);
  }
  return result('private-key', `${type} private key ${fp}`, type, fp);
}

// ---------------------------------------------------------------------------------------------
// Test connection

/** Reads the server's identification line (RFC 4253 4.2), skipping lines sent before it. */
function readBanner(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buffered = '';
    const finish = (err: Error | null, banner = '') => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(banner);
    };
    const timer = setTimeout(
      () =>
        finish(new Error(`no SSH banner within ${Math.round(timeoutMs / 1000)} s (is this an SSH port?)`)),
      timeoutMs,
    );
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\n');
        if (end < 0) break;
        const line = buffered.slice(0, end).replace(/\r$/, '');
        buffered = buffered.slice(end + 1);
        if (line.startsWith('SSH-')) return finish(null, line);
      }
      if (buffered.length > 8192) finish(new Error('the port answers, but not with an SSH banner'));
    });
    socket.once('error', (err) => finish(err));
    socket.once('end', () => finish(new Error('the connection closed before an SSH banner')));
  });
}

/** The key the host presents, without logging in (the handshake stops once it is seen). */
function presentedHostKey(host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let key: Buffer | undefined;
    client.on('error', (err) => (key ? resolve(key) : reject(err)));
    client.on('close', () =>
      key ? resolve(key) : reject(new Error('the connection closed before the host showed its key')),
    );
    client.connect({
      host,
      port,
      username: 'moor-test',
      readyTimeout: timeoutMs,
      hostVerifier: (blob: Buffer) => {
        key = blob;
        return false;
      },
    });
  });
}

/** The remote system's name and its Docker, if any (a shell command: `$` is the shell's). */
const REMOTE_COMMAND = [
  '. /etc/os-release 2>/dev/null',
  'echo "$PRETTY_NAME"',
  'docker --version 2>/dev/null || echo "no docker"',
].join('; ');

/**
 * Tries a generic host step by step, stopping at the first failure: the TCP port, the SSH
 * banner, the host key (shown, not pinned: nothing is written outside a temporary directory),
 * the login with the key, then the remote system and its Docker (create installs one if missing).
 */
export async function testConnection(
  request: ConnectionTestRequest,
  options: ConnectionTestOptions = {},
): Promise<ConnectionTestResult> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const { ip, port, user, keyPath } = request;
  const where = `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
  const steps: ConnectionStep[] = [];
  let hostKey: ConnectionTestResult['hostKey'] = null;
  const done = (): ConnectionTestResult => {
    const failed = steps.find((s) => !s.ok);
    return { ok: !failed, steps, hostKey, error: failed ? `${failed.label} failed: ${failed.detail}` : '' };
  };
  const run = async (
    step: ConnectionStepName,
    label: string,
    work: () => Promise<string>,
  ): Promise<boolean> => {
    try {
      steps.push({ step, label, ok: true, detail: await work() });
      return true;
    } catch (err) {
      steps.push({ step, label, ok: false, detail: errorMessage(err) });
      return false;
    }
  };

  if (
    !(await run('tcp', `TCP connection to ${where}`, async () => {
      const failure = await probeTcp(ip, port, timeoutMs, options.signal);
      if (failure) throw new Error(failure.reason);
      return 'the port accepts connections';
    }))
  )
    return done();
  if (!(await run('banner', `SSH banner from ${where}`, () => readBanner(ip, port, timeoutMs))))
    return done();
  let presented: Buffer | undefined;
  if (
    !(await run('host-key', 'Host key', async () => {
      presented = await presentedHostKey(ip, port, timeoutMs);
      hostKey = { type: keyBlobType(presented), fingerprint: fingerprint(presented) };
      return `${hostKey.type} ${hostKey.fingerprint} (pinned on create)`;
    }))
  )
    return done();

  const dir = await mkdtemp(path.join(os.tmpdir(), 'moor-test-connection-'));
  try {
    // The login must meet the key just shown: it is the only one trusted for this test.
    const knownHostsPath = path.join(dir, 'known_hosts');
    if (presented) await addHostKey(knownHostsPath, ip, port, presented);
    const { connect } = await import('./connect.js');
    let session: Awaited<ReturnType<typeof connect>> | undefined;
    const login = `SSH login as ${user}@${where}`;
    const authed = await run('auth', login, async () => {
      session = await connect(
        { host: ip, port, user, keyPath, knownHostsPath, machineName: 'connection test' },
        { hostKeyPolicy: 'strict', readyTimeoutMs: timeoutMs, retryForMs: 0, signal: options.signal },
      );
      return keyPath ? `logged in with ${keyPath}` : 'logged in (ssh-agent or default keys)';
    });
    if (!authed || !session) return done();
    const open = session;
    try {
      await run('remote', 'Remote system', async () => {
        const r = await open.exec(REMOTE_COMMAND, { signal: options.signal });
        if (r.code !== 0) throw new Error(`the command failed (exit ${r.code}): ${r.stderr.trim()}`);
        const [system = '', docker = ''] = r.stdout.split('\n');
        const named = system.trim() || 'unknown system';
        const engine = docker.trim() === 'no docker' ? 'no Docker yet (create installs it)' : docker.trim();
        return `${named}; ${engine}`;
      });
    } finally {
      open.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return done();
}
