import { defineConfig } from 'vitest/config';

// Three suites, one command (`npm test`). Integration and e2e tests drive real sshd, dockerd,
// systemd test hosts and Chromium: they never skip when one is missing, they fail.
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/harness/file-docker-config.ts'],
    // On CI a skipped test fails the run (see the reporter).
    reporters: ['default', './test/harness/skip-guard-reporter.ts'],
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/unit/**/*.test.tsx'],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 600_000 },
      },
    ],
  },
});
