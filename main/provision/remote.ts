import { StringDecoder } from 'node:string_decoder';
import { MoorError } from '../base/errors.js';
import type { ProgressReporter } from '../base/progress.js';
import type { SshTarget } from '../drivers/types.js';
import type { SshSession } from '../ssh/types.js';
import { parseSections, splitMarkers } from './scripts.js';

/** Marker steps a script may announce, mapped to progress step ids and docker-machine's wording. */
const SCRIPT_STEPS: Record<string, { id: string; message: string }> = {
  'Setting hostname': { id: 'hostname', message: 'Setting hostname...' },
  'Configuring engine': { id: 'configure', message: 'Setting Docker configuration on the remote daemon...' },
  'Restarting engine': { id: 'restart', message: 'Restarting engine...' },
  'Upgrading Docker': { id: 'upgrade', message: 'Upgrading Docker...' },
};

export interface ScriptResult {
  code: number;
  stdout: string;
  sections: Record<string, string>;
  /** The @@fail reason, when the script gave one. */
  failure: string;
  /** The last lines of output, for error messages. */
  tail: string[];
}

/**
 * Runs one script over ONE exec (`sh -s`, script on stdin), as root through `sudo -n` when the
 * login user is not root. Marker lines become progress steps and log lines as they arrive.
 */
export async function runScript(
  session: SshSession,
  script: string,
  options: { asRoot: boolean; isRoot: boolean; progress: ProgressReporter; signal?: AbortSignal },
): Promise<ScriptResult> {
  const { progress } = options;
  const command = options.asRoot && !options.isRoot ? 'sudo -n sh -s' : 'sh -s';
  let failure = '';
  let inSection = false;
  const tail: string[] = [];
  const onLine = (raw: string) => {
    const [first, marker] = splitMarkers(raw);
    if (marker !== undefined) {
      onLine(first ?? '');
      onLine(marker);
      return;
    }
    const line = first ?? '';
    if (line.startsWith('@@section ')) {
      inSection = line !== '@@section end';
      return;
    }
    if (line.startsWith('@@step ')) {
      const text = line.slice(7).trim();
      const step = SCRIPT_STEPS[text];
      progress.step(step?.id ?? text.toLowerCase().replace(/\s+/g, '-'), step?.message ?? `${text}...`);
      return;
    }
    if (line.startsWith('@@info ')) return progress.log(line.slice(7));
    if (line.startsWith('@@fail ')) {
      failure = line.slice(7);
      return;
    }
    if (inSection || !line.trim()) return;
    tail.push(line);
    if (tail.length > 20) tail.shift();
    progress.log(line);
  };
  const stdoutLines = lineSplitter(onLine);
  const stderrLines = lineSplitter((line) => {
    if (!line.trim()) return;
    tail.push(line);
    if (tail.length > 20) tail.shift();
    progress.log(line);
  });
  const result = await session.exec(command, {
    stdin: script,
    onStdout: stdoutLines.push,
    onStderr: stderrLines.push,
    signal: options.signal,
  });
  stdoutLines.end();
  stderrLines.end();
  if (/sudo: (a password is required|a terminal is required)/.test(result.stderr)) {
    throw new MoorError(
      `user "${session.target.user}" on ${session.target.host} needs passwordless sudo for provisioning (sudo asked for a password)`,
    );
  }
  return { code: result.code, stdout: result.stdout, sections: parseSections(result.stdout), failure, tail };
}

function lineSplitter(onLine: (line: string) => void) {
  // A UTF-8 character may be split across chunks: decode it whole.
  const decoder = new StringDecoder('utf8');
  let buffered = '';
  return {
    push: (chunk: Buffer) => {
      buffered += decoder.write(chunk);
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        onLine(buffered.slice(0, nl).replace(/\r$/, ''));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
      }
    },
    end: () => {
      buffered += decoder.end();
      if (buffered) onLine(buffered);
      buffered = '';
    },
  };
}

/** Connection retries: a booting host refuses for a while; a wrong key stays wrong. */
const AUTH_RETRY_MS = 10_000;
/** Failed attempts are only logged (-D) this long, then reported as warnings too. */
export const QUIET_WAIT_MS = 10_000;

/**
 * Connects for provisioning, waiting up to `waitMs` for sshd (docker-machine's WaitForSSH waited
 * 3 minutes). Authentication failures are retried only briefly (cloud-init may still be
 * installing the key) and then reported as they are, with the credentials that were tried. Each
 * failed attempt is logged, and after 10 s reported as a warning (again when the reason changes,
 * and every 30 s), so a host that
 * never answers is not three silent minutes.
 */
export async function connectForProvisioning(
  target: SshTarget,
  options: { waitMs: number; signal?: AbortSignal; progress?: ProgressReporter },
): Promise<SshSession> {
  const { connect, SshAuthError, SshConnectError } = await import('../ssh/index.js');
  const started = Date.now();
  let lastWarnedReason = '';
  let lastWarned = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(target, { retryForMs: 0, signal: options.signal, readyTimeoutMs: 15_000 });
    } catch (err) {
      const elapsed = Date.now() - started;
      const retry =
        (err instanceof SshConnectError && elapsed < options.waitMs) ||
        (err instanceof SshAuthError && elapsed < Math.min(AUTH_RETRY_MS, options.waitMs));
      if (!retry || options.signal?.aborted) {
        if (err instanceof SshConnectError && attempt > 1) {
          err.message += ` (gave up after ${Math.round(elapsed / 1000)} s and ${attempt} attempts)`;
        }
        throw err;
      }
      const reason = err instanceof SshConnectError ? err.reason : 'permission denied';
      const line = `Waiting for SSH on ${target.user}@${target.host}:${target.port}: ${reason} (attempt ${attempt}, ${Math.round(elapsed / 1000)} s)`;
      options.progress?.log(line);
      // Quiet for the first seconds: a booting host is normal, a long silence is not.
      if (elapsed >= QUIET_WAIT_MS && (reason !== lastWarnedReason || Date.now() - lastWarned >= 30_000)) {
        options.progress?.warn(line);
        lastWarned = Date.now();
        lastWarnedReason = reason;
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/** An error for a script that failed: its own reason, else its last output lines. */
export function scriptError(what: string, result: ScriptResult): MoorError {
  const reason = result.failure || `exit status ${result.code}`;
  const output = result.tail.length ? `\n${result.tail.map((l) => `  ${l}`).join('\n')}` : '';
  return new MoorError(`${what}: ${reason}${output}`);
}
