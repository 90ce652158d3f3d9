/**
 * On CI (`CI` set) a skipped or todo test fails the run: a missing component must never pass as a
 * skip. The one exception is the Electron e2e while no Electron binary is installed (it cannot be
 * downloaded on CI); that file prints its reason. Locally, `-t`/file filters skip freely.
 */
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import { electronBinary } from './electron-binary.js';

const ELECTRON_E2E = 'test/e2e/electron.test.ts';

export default class SkipGuardReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (!process.env.CI) return;
    const electronMissing = 'reason' in electronBinary();
    const root = path.resolve(import.meta.dirname, '../..');
    const unexpected: string[] = [];
    for (const module of testModules) {
      const file = path.relative(root, module.moduleId);
      if (file === ELECTRON_E2E && electronMissing) continue;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'skipped' || state === 'pending')
          unexpected.push(`${file} > ${test.fullName} (${state})`);
      }
    }
    if (unexpected.length === 0) return;
    console.error(
      `\n[skip guard] ${unexpected.length} test(s) did not run on CI:\n  ${unexpected.join('\n  ')}`,
    );
    process.exitCode = 1;
  }
}
