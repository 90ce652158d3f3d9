import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { requireCommand, tempDir } from '../harness/components.js';

describe('test components', () => {
  it('requireCommand resolves an installed command to its path', () => {
    expect(requireCommand('sh', 'dash')).toMatch(/^\/.*\/sh$/);
  });

  it('requireCommand fails (never skips) naming the apt package of a missing command', () => {
    expect(() => requireCommand('moor-no-such-command', 'moor-test-package')).toThrow(
      /"moor-no-such-command" was not found.*apt-get install -y moor-test-package/,
    );
  });

  it('tempDir makes a directory and removes it', () => {
    const { dir, cleanup } = tempDir('moor test/x');
    expect(existsSync(dir)).toBe(true);
    cleanup();
    expect(existsSync(dir)).toBe(false);
  });
});
