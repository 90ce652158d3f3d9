import { describe, expect, it } from 'vitest';
import { goMarshalIndent } from '../../main/store/go-json.js';

describe('goMarshalIndent', () => {
  it('indents with 4 spaces, no trailing newline, and escapes like Go', () => {
    expect(goMarshalIndent({ a: '<&>', b: [], c: {}, d: null })).toBe(
      '{\n    "a": "\\u003c\\u0026\\u003e",\n    "b": [],\n    "c": {},\n    "d": null\n}',
    );
  });
});
