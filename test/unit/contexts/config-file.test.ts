import { lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withCurrentContext } from '../../../main/docker/contexts/config-edit.js';
import {
  DockerConfigError,
  readCurrentContext,
  writeCurrentContext,
} from '../../../main/docker/contexts/config-file.js';
import { ContextLayout } from '../../../main/docker/contexts/layout.js';
import { tempDir } from '../../harness/components.js';

describe('withCurrentContext (pure edit of config.json text)', () => {
  it('replaces only the value, keeping every other byte', () => {
    const text =
      '{\n    "auths": {"r": {"auth": "eDp5"}},\n  "currentContext" :  "old",\n "psFormat": "x"\n}\n';
    expect(withCurrentContext(text, 'new')).toBe(text.replace('"old"', '"new"'));
  });

  it('returns null when nothing changes', () => {
    expect(withCurrentContext('{"currentContext": "a"}', 'a')).toBeNull();
    expect(withCurrentContext('{"auths": {}}', null)).toBeNull();
    expect(withCurrentContext('', null)).toBeNull();
  });

  it('appends in the file style: tabs (the docker CLI), spaces, CRLF, inline', () => {
    expect(withCurrentContext('{\n\t"auths": {}\n}', 'a')).toBe(
      '{\n\t"auths": {},\n\t"currentContext": "a"\n}',
    );
    expect(withCurrentContext('{\n  "a": [1,2],\n  "b": {"c":1}\n}\n', 'x')).toBe(
      '{\n  "a": [1,2],\n  "b": {"c":1},\n  "currentContext": "x"\n}\n',
    );
    expect(withCurrentContext('{\r\n  "a": 1\r\n}\r\n', 'x')).toBe(
      '{\r\n  "a": 1,\r\n  "currentContext": "x"\r\n}\r\n',
    );
    expect(withCurrentContext('{"a":1}', 'x')).toBe('{"a":1, "currentContext":"x"}');
    expect(withCurrentContext('{}', 'x')).toBe('{\n\t"currentContext": "x"\n}');
    expect(withCurrentContext('', 'x')).toBe('{\n\t"currentContext": "x"\n}');
  });

  it('removes the member and its comma, whatever its position', () => {
    expect(withCurrentContext('{\n  "a": [1,2],\n  "currentContext": "x",\n  "b": 2\n}', null)).toBe(
      '{\n  "a": [1,2],\n  "b": 2\n}',
    );
    expect(withCurrentContext('{\n  "currentContext": "x",\n  "b": 2\n}', null)).toBe('{\n  "b": 2\n}');
    expect(withCurrentContext('{\n  "a": 1,\n  "currentContext": "x"\n}\n', null)).toBe('{\n  "a": 1\n}\n');
    expect(withCurrentContext('{\n\t"currentContext": "x"\n}', null)).toBe('{}');
  });

  it('leaves nested currentContext keys alone and sets duplicate top-level ones together', () => {
    expect(withCurrentContext('{"p": {"currentContext": "n"}}', 'x')).toBe(
      '{"p": {"currentContext": "n"}, "currentContext": "x"}',
    );
    expect(withCurrentContext('{"currentContext": "a", "currentContext": "b"}', 'c')).toBe(
      '{"currentContext": "c", "currentContext": "c"}',
    );
  });
});

describe('writeCurrentContext (files)', () => {
  let dir: string;
  let cleanup: () => void;
  let layout: ContextLayout;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir('moor-ctx-config'));
    layout = new ContextLayout(path.join(dir, 'docker'));
  });
  afterEach(() => cleanup());

  it('creates config.json (0600) in a new config dir (0700), and `default` removes the key', async () => {
    expect(await readCurrentContext(layout)).toBe('default');
    expect(await writeCurrentContext(layout, 'a1')).toBe(true);
    expect(statSync(layout.configFile).mode & 0o777).toBe(0o600);
    expect(statSync(layout.configDir).mode & 0o777).toBe(0o700);
    expect(await readCurrentContext(layout)).toBe('a1');
    expect(await writeCurrentContext(layout, 'a1')).toBe(false);
    expect(await writeCurrentContext(layout, 'default')).toBe(true);
    expect(readFileSync(layout.configFile, 'utf8')).toBe('{}');
    expect(await readCurrentContext(layout)).toBe('default');
  });

  it('keeps the mode and every other byte of an existing file', async () => {
    mkdirSync(layout.configDir);
    const original =
      '{\n  "auths": {\n    "registry.example": {"auth": "dXNlcjpwYXNz"}\n  },\n  "credsStore": "pass",\n  "psFormat": "table {{.ID}}",\n  "somethingNew": [1, {"x": null}]\n}\n';
    writeFileSync(layout.configFile, original, { mode: 0o640 });
    await writeCurrentContext(layout, 'b2');
    const after = readFileSync(layout.configFile, 'utf8');
    expect(after).toBe(original.replace('null}]\n}', 'null}],\n  "currentContext": "b2"\n}'));
    expect(statSync(layout.configFile).mode & 0o777).toBe(0o640);
    await writeCurrentContext(layout, 'default');
    expect(readFileSync(layout.configFile, 'utf8')).toBe(original);
  });

  it('follows a symlinked config.json and keeps the link', async () => {
    mkdirSync(layout.configDir);
    const dotfiles = path.join(dir, 'dotfiles');
    mkdirSync(dotfiles);
    const target = path.join(dotfiles, 'docker-config.json');
    writeFileSync(target, '{\n\t"auths": {}\n}', { mode: 0o600 });
    symlinkSync(target, layout.configFile);
    await writeCurrentContext(layout, 'c3');
    expect(lstatSync(layout.configFile).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('{\n\t"auths": {},\n\t"currentContext": "c3"\n}');
    expect(await readCurrentContext(layout)).toBe('c3');
  });

  it('refuses a corrupt config.json with an error naming it, and leaves it as it was', async () => {
    mkdirSync(layout.configDir);
    for (const broken of ['{"auths": {', '[1, 2]', '{"currentContext": 5}']) {
      writeFileSync(layout.configFile, broken);
      const err = await writeCurrentContext(layout, 'x1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DockerConfigError);
      expect((err as Error).message).toContain(layout.configFile);
      expect((err as Error).message).toContain('Moor did not change it');
      expect(readFileSync(layout.configFile, 'utf8')).toBe(broken);
      await expect(readCurrentContext(layout)).rejects.toThrow(layout.configFile);
    }
  });

  it('treats an empty config.json like the CLI does (no context)', async () => {
    mkdirSync(layout.configDir);
    writeFileSync(layout.configFile, '');
    expect(await readCurrentContext(layout)).toBe('default');
    await writeCurrentContext(layout, 'x1');
    expect(await readCurrentContext(layout)).toBe('x1');
  });
});
