import { defineConfig } from 'vitest/config';
export default defineConfig({ test: { pool: 'forks', include: ['test/unit/certs.test.ts', 'test/unit/components.test.ts', 'test/integration/certs*.test.ts', 'test/integration/none-tls.test.ts', 'test/integration/dockerd-harness.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } });
