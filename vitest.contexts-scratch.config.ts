import { defineConfig } from 'vitest/config';
// Scratch config of the contexts helper; removed before hand-off.
export default defineConfig({ test: { pool: 'forks', globalSetup: ['test/global-setup.ts'], include: ['test/unit/contexts/**/*.test.ts', 'test/integration/contexts*.test.ts'], testTimeout: 120_000, hookTimeout: 300_000 } });
