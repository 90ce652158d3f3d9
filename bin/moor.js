#!/usr/bin/env node
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('moor: dist/ is missing; run `npm run build` (npm install runs it too).\n');
  process.exit(1);
}
await import(cli.href);
