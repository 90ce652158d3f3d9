import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { childPath, localEndpoint } from '../../../main/ssh/scp.js';

describe('childPath (names from a directory listing)', () => {
  it('joins a single file name', () => {
    expect(childPath(localEndpoint, '/d', 'a.txt', 'm:x')).toBe(path.join('/d', 'a.txt'));
    expect(childPath(localEndpoint, '/d', '..hidden', 'm:x')).toBe('/d/..hidden');
  });

  it.each(['', '.', '..', '../x', 'a/b', 'a/', '/etc/passwd', 'a\0b'])('refuses %j', (name) => {
    expect(() => childPath(localEndpoint, '/d', name, 'm:x')).toThrow(/not a file name inside the directory/);
  });
});
