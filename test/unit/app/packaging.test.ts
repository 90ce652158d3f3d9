/**
 * The desktop package's Electron fuses (issue 9 item 5), read from electron-builder.yml and checked
 * against electron-builder's own schema: a misspelt fuse would be ignored at package time.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');

interface BuilderConfig {
  asar?: boolean;
  electronFuses?: Record<string, boolean>;
}

const config = load(readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const schema = JSON.parse(
  readFileSync(path.join(root, 'node_modules/app-builder-lib/scheme.json'), 'utf8'),
) as { definitions: Record<string, { properties: Record<string, unknown> }> };

describe('packaged app fuses', () => {
  it('turns off every way to run the signed binary as a plain Node, and requires the checked asar', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
    // onlyLoadAppFromAsar needs the app packed into an asar.
    expect(config.asar).toBe(true);
  });

  it("names only fuses electron-builder knows (its schema's FuseOptionsV1)", () => {
    const known = Object.keys(schema.definitions.FuseOptionsV1?.properties ?? {});
    expect(known.length).toBeGreaterThan(5);
    for (const name of Object.keys(config.electronFuses ?? {})) expect(known).toContain(name);
  });
});
