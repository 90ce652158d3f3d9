import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { requireCommand, tempDir } from './components.js';

/**
 * A real OpenSSH sshd for tests: runs as root in the foreground (-D -e) on a loopback address and
 * a free port, with its own config, host keys, pid file and authorized_keys in a temp dir.
 * Everything it starts is stopped by PID in stop(), also when startup fails.
 */
export interface SshdOptions {
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** Login user (default root). A non-root user is created when missing. */
  user?: string;
  /** Enables PasswordAuthentication and sets this password for `user` (must not be root). */
  password?: string;
  /** Extra sshd_config lines (e.g. `MaxSessions 10`). */
  extraConfig?: string[];
}

export interface HostKeyFiles {
  ed25519: string;
  rsa: string;
}

export interface Sshd {
  host: string;
  port: number;
  user: string;
  /** An ed25519 client key (OpenSSH format, 0600) listed in authorized_keys. */
  clientKeyPath: string;
  /** Private host key files; `<file>.pub` holds the public key. */
  hostKeys: HostKeyFiles;
  dir: string;
  pid: number;
  /** sshd's stderr so far (for failure messages). */
  log(): string;
  /** Stops sshd and starts it again on the same address and port; `newHostKeys` regenerates them. */
  restart(options?: { newHostKeys?: boolean }): Promise<void>;
  /** Stops the daemon only (a host that went down); start it again with restart(). */
  halt(): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const sshdBin = requireCommand('sshd', 'openssh-server');
  const keygen = requireCommand('ssh-keygen', 'openssh-client');
  const host = options.host ?? '127.0.0.1';
  const user = options.user ?? 'root';
  if (options.password && user === 'root') throw new Error('startSshd: a password needs a non-root user');
  const { dir, cleanup } = tempDir('moor-sshd');
  let child: ChildProcess | undefined;
  let stderr = '';

  const hostKeys: HostKeyFiles = {
    ed25519: path.join(dir, 'ssh_host_ed25519_key'),
    rsa: path.join(dir, 'ssh_host_rsa_key'),
  };
  const generateHostKeys = () => {
    for (const [type, file] of Object.entries(hostKeys)) {
      execFileSync('rm', ['-f', file, `${file}.pub`]);
      execFileSync(keygen, [
        '-q',
        '-t',
        type,
        ...(type === 'rsa' ? ['-b', '2048'] : []),
        '-N',
        '',
        '-f',
        file,
      ]);
    }
  };

  const stopChild = async () => {
    const running = child;
    child = undefined;
    if (!running?.pid || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    try {
      process.kill(running.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(running.pid as number, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 3000);
    await exited;
    clearTimeout(timer);
  };

  let port = 0;
  const launch = async () => {
    let resolveReady!: () => void;
    let rejectReady!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    stderr = '';
    const proc = spawn(sshdBin, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes(`Server listening on ${host} port ${port}`)) resolveReady();
    });
    proc.once('error', rejectReady);
    proc.once('exit', (code, signal) =>
      rejectReady(new Error(`sshd exited (${code ?? signal}) before listening:\n${stderr}`)),
    );
    const timer = setTimeout(
      () => rejectReady(new Error(`sshd did not listen within ${READY_TIMEOUT_MS} ms:\n${stderr}`)),
      READY_TIMEOUT_MS,
    );
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
  };

  try {
    mkdirSync('/run/sshd', { recursive: true }); // privilege-separation directory
    if (user !== 'root') ensureUser(user, options.password);
    generateHostKeys();
    const clientKeyPath = path.join(dir, 'client_ed25519');
    execFileSync(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'moor-test', '-f', clientKeyPath]);
    const authorizedKeys = path.join(dir, 'authorized_keys');
    writeFileSync(authorizedKeys, readFileSync(`${clientKeyPath}.pub`), { mode: 0o644 });
    // sshd reads authorized_keys as the login user: let a non-root user through the temp dir.
    if (user !== 'root') chmodSync(dir, 0o711);

    // A port taken between probing and binding makes sshd exit; try a few ports.
    for (let attempt = 1; ; attempt++) {
      port = await freePort(host);
      writeFileSync(
        path.join(dir, 'sshd_config'),
        [
          `Port ${port}`,
          `ListenAddress ${host}`,
          `HostKey ${hostKeys.ed25519}`,
          `HostKey ${hostKeys.rsa}`,
          `PidFile ${path.join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${authorizedKeys}`,
          `PasswordAuthentication ${options.password ? 'yes' : 'no'}`,
          'KbdInteractiveAuthentication no',
          'PermitRootLogin prohibit-password',
          'UsePAM no',
          'StrictModes no',
          'MaxSessions 10',
          'Subsystem sftp internal-sftp',
          'AcceptEnv LANG LC_*',
          ...(options.extraConfig ?? []),
          '',
        ].join('\n'),
      );
      try {
        await launch();
        break;
      } catch (err) {
        await stopChild();
        if (attempt >= 3 || !/Address already in use|Bind to port/.test(stderr)) throw err;
      }
    }

    return {
      host,
      port,
      user,
      clientKeyPath,
      hostKeys,
      dir,
      get pid() {
        return child?.pid ?? 0;
      },
      log: () => stderr,
      halt: stopChild,
      async restart(restartOptions = {}) {
        await stopChild();
        if (restartOptions.newHostKeys) generateHostKeys();
        await launch();
      },
      async stop() {
        await stopChild();
        cleanup();
      },
    };
  } catch (err) {
    await stopChild();
    cleanup();
    throw err;
  }
}

function ensureUser(user: string, password?: string): void {
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
  } catch {
    execFileSync(requireCommand('useradd', 'passwd'), ['-m', '-s', '/bin/sh', user]);
  }
  if (password) {
    execFileSync(requireCommand('chpasswd', 'passwd'), { input: `${user}:${password}\n` });
  } else {
    // useradd leaves the account locked ("!"), and sshd without PAM refuses locked accounts even
    // for keys; "*" means "no password login" without the lock.
    execFileSync(requireCommand('usermod', 'passwd'), ['-p', '*', user]);
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}
