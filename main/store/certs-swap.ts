/**
 * A machine's own certificate directory (machines/NAME/certs, made by `regenerate-certs
 * --client-certs`) is replaced by two renames: certs → certs.old-X, then .certs-next-X → certs.
 * A crash between them left the machine without certs/, and the old and staged folders (one holds
 * the old CA private key) were never swept. recoverCertsSwap puts a certs/ back and sweeps them;
 * the caller holds the machine's lock, as swapCertsDir's caller does.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { faultPoint } from '../base/faults.js';

export const MACHINE_CERTS_DIR = 'certs';
const NEXT_PREFIX = '.certs-next-';
const OLD_PREFIX = `${MACHINE_CERTS_DIR}.old-`;
/** What bootstrapCertificates writes; a staged folder with all four (each written atomically) is complete. */
const CERT_FILES = ['ca.pem', 'ca-key.pem', 'cert.pem', 'key.pem'];

export type SwapRecovery = 'none' | 'restored-old' | 'finished-new' | 'swept';

/**
 * Replaces machineDir/certs with a folder that `fill` writes, by renames only; returns the new
 * certs/ path. Leftovers of an earlier, interrupted swap are recovered first. Fault points
 * (MOOR_FAULT): certs-swap:staged, certs-swap:old-moved, certs-swap:swapped.
 */
export async function swapCertsDir(
  machineDir: string,
  fill: (dir: string) => Promise<void>,
): Promise<string> {
  await recoverCertsSwap(machineDir);
  // node:crypto on a swap only: store.ts loads this module for every command (`moor url` too).
  const { randomBytes } = await import('node:crypto');
  const suffix = randomBytes(4).toString('hex');
  const certDir = path.join(machineDir, MACHINE_CERTS_DIR);
  const next = path.join(machineDir, `${NEXT_PREFIX}${suffix}`);
  const old = path.join(machineDir, `${OLD_PREFIX}${suffix}`);
  try {
    await fill(next);
  } catch (err) {
    await fs.rm(next, { recursive: true, force: true });
    throw err;
  }
  await faultPoint('certs-swap:staged');
  await fs.rename(certDir, old).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err; // the first rotation: the machine used the store's certs
  });
  await faultPoint('certs-swap:old-moved');
  await fs.rename(next, certDir);
  await faultPoint('certs-swap:swapped');
  await fs.rm(old, { recursive: true, force: true });
  return certDir;
}

/**
 * After a crash: when certs/ is missing, the old folder comes back (it matches what the engine
 * trusts: the engine is only reconfigured after a complete swap), else a complete staged folder
 * takes its place; then every other leftover goes. Cheap when there is nothing to do (one readdir).
 */
export async function recoverCertsSwap(machineDir: string): Promise<SwapRecovery> {
  let entries: string[];
  try {
    entries = await fs.readdir(machineDir);
  } catch {
    return 'none';
  }
  const nexts = entries.filter((e) => e.startsWith(NEXT_PREFIX));
  const olds = entries.filter((e) => e.startsWith(OLD_PREFIX));
  if (nexts.length === 0 && olds.length === 0) return 'none';
  const certDir = path.join(machineDir, MACHINE_CERTS_DIR);
  let outcome: SwapRecovery = 'swept';
  if (!entries.includes(MACHINE_CERTS_DIR)) {
    const old = await newest(machineDir, olds);
    const next = old ? undefined : await firstComplete(machineDir, nexts);
    const back = old ?? next;
    if (back) {
      await fs.rename(path.join(machineDir, back), certDir);
      outcome = old ? 'restored-old' : 'finished-new';
    }
  }
  const left = (await fs.readdir(machineDir)).filter(
    (e) => e.startsWith(NEXT_PREFIX) || e.startsWith(OLD_PREFIX),
  );
  await Promise.all(left.map((e) => fs.rm(path.join(machineDir, e), { recursive: true, force: true })));
  return outcome;
}

/** Whether a machine's recorded certificate directory is its own certs/ and that is missing. */
export async function certsDirMissing(machineDir: string, recordedCertDir: string): Promise<boolean> {
  if (path.basename(recordedCertDir) !== MACHINE_CERTS_DIR) return false;
  if (path.basename(path.dirname(recordedCertDir)) !== path.basename(machineDir)) return false;
  return fs.lstat(path.join(machineDir, MACHINE_CERTS_DIR)).then(
    () => false,
    () => true,
  );
}

async function newest(dir: string, names: string[]): Promise<string | undefined> {
  const stats = await Promise.all(
    names.map(async (name) => ({ name, mtime: (await fs.lstat(path.join(dir, name))).mtimeMs })),
  );
  return stats.sort((a, b) => b.mtime - a.mtime)[0]?.name;
}

async function firstComplete(dir: string, names: string[]): Promise<string | undefined> {
  for (const name of names) {
    const complete = await Promise.all(
      CERT_FILES.map((f) =>
        fs.lstat(path.join(dir, name, f)).then(
          (s) => s.isFile(),
          () => false,
        ),
      ),
    );
    if (complete.every(Boolean)) return name;
  }
  return undefined;
}
