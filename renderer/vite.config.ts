import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The renderer bundle: loaded from file:// by Electron (hence base './') and served by the e2e
// test server to headless Chromium. JSX uses React's automatic runtime (no React plugin needed).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  oxc: { jsx: { runtime: 'automatic' } },
});
