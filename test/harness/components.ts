import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The absolute path of a system command the tests drive for real (sshd, dockerd, openssl, ...).
 * A missing component is an error, never a skip: on CI the test fails and names the apt package.
 * Searches PATH plus the sbin directories (daemons live there and a test runner's PATH may lack them).
 */
export function requireCommand(cmd: string, aptPackage: string): string {
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter),
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
  ].filter(Boolean);
  const candidates = cmd.includes('/') ? [cmd] : dirs.map((dir) => path.join(dir, cmd));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  throw new Error(
    `Required test component "${cmd}" was not found (searched ${dirs.join(':')}). ` +
      `Install it with: apt-get install -y ${aptPackage}`,
  );
}

/** A fresh private temp directory (0700) and the function that removes it. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${prefix.replace(/[^\w.-]/g, '-')}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
