import { execFileSync } from 'node:child_process';

/** Tests run the real `moor` binary, so dist/ must match the sources under test. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
