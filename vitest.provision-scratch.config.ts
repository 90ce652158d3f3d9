import { defineConfig } from 'vitest/config';
// Scratch config of the provisioning helper (no global build step); the lead may delete it.
export default defineConfig({
  test: {
    pool: 'forks',
    include: [
      'test/unit/provision/**/*.test.ts',
      'test/unit/generic*.test.ts',
      'test/integration/generic*.test.ts',
    ],
    testTimeout: 300_000,
    hookTimeout: 900_000,
  },
});
