// Shared by the bench scripts (run with `node --import tsx`): options, statistics, timing and the
// `moor` binary they measure (--cli PATH, else MOOR_TEST_BIN, else bin/moor.js).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { moorBin } from '../test/harness/moor-cli.ts';

/** The value after `--name` on the command line, else `fallback`. */
export function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

/** --runs N, a positive integer. */
export function runsOption(fallback) {
  const runs = Number(option('--runs', String(fallback)));
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a positive integer');
  return runs;
}

/** The `moor` entry point to measure. */
export const moorCli = option('--cli') ? path.resolve(option('--cli')) : moorBin;

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The p-th percentile, nearest rank below. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

/** Milliseconds as "12.3 ms" (one decimal under 10 ms unless told). */
export const ms = (x, digits = x < 10 ? 1 : 0) => `${x.toFixed(digits)} ms`;
/** Milliseconds as "0.123 s". */
export const seconds = (x, digits = 3) => `${(x / 1000).toFixed(digits)} s`;

/** Wall time of an async step, in ms. */
export async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Wall time in ms of a process that must succeed (blocking: nothing here has to answer it). */
export function timeProcessSync(file, args, env) {
  const started = performance.now();
  const r = spawnSync(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const elapsed = performance.now() - started;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return elapsed;
}

/**
 * Runs a process to completion without blocking this one (a server here may have to answer it):
 * its exit code, output and wall time in ms.
 */
export function timeProcess(file, args, env, timeoutMs) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

/** timeProcess for a process that must succeed: its wall time in ms. */
export async function timeOk(file, args, env, timeoutMs) {
  const r = await timeProcess(file, args, env, timeoutMs);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.ms;
}
