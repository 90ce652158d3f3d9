import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonSyntaxProblem, parseJsonText } from '../../../main/base/json-text.js';
import { readDockerConfig } from '../../../main/docker/contexts/config-file.js';
import { parseContextMeta } from '../../../main/docker/contexts/store.js';
import { planDaemonJson } from '../../../main/provision/engine-config.js';
import { parseHostConfig } from '../../../main/store/store.js';

const SECRET = 'dop_v1_0123456789abcdef';
const broken = `{\n  "Driver": {\n    "AccessToken": ${SECRET}\n  }\n}\n`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'moor-json-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The message of what `fn` throws (or returns as a warning). */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a throw');
}

describe("errors about a file's JSON name the file and the position, never its bytes", () => {
  it('describes a syntax error by line and column', () => {
    expect(jsonSyntaxProblem(broken)).toBe('unexpected character at line 3, column 20 (offset 35)');
    expect(parseJsonText('{"a": 1,}')).toEqual({
      ok: false,
      problem: 'property name expected at line 1, column 9 (offset 8)',
    });
    expect(parseJsonText('')).toMatchObject({
      ok: false,
      problem: 'value expected at line 1, column 1 (offset 0)',
    });
    expect(parseJsonText('{"a":[1]}')).toEqual({ ok: true, value: { a: [1] } });
  });

  it('store config.json', () => {
    const message = messageOf(() => parseHostConfig(broken, 'm', '/s/machines/m/config.json'));
    expect(message).toBe(
      'Error getting migrated host: /s/machines/m/config.json is not valid JSON: unexpected character at line 3, column 20 (offset 35)',
    );
    // A config.json symlinked to a system file: its first line must not show up either.
    expect(messageOf(() => parseHostConfig('root:x:0:0:root:/root:/bin/bash\n', 'm'))).not.toContain(
      'root:x',
    );
  });

  it('docker config.json, context meta.json and the host daemon.json', async () => {
    const file = path.join(dir, 'config.json');
    const target = path.join(dir, 'shadow');
    writeFileSync(target, `root:${SECRET}:19000:0:99999:7:::\n`);
    symlinkSync(target, file);
    const docker = await readDockerConfig(file).then(
      () => '',
      (err: Error) => err.message,
    );
    expect(docker).toContain(
      `Docker config file ${file} is not valid JSON (unexpected character at line 1, column 1`,
    );
    expect(docker).not.toContain(SECRET);
    const meta = messageOf(() => parseContextMeta(broken, '/c/meta.json'));
    expect(meta).toContain('/c/meta.json is not valid JSON: unexpected character at line 3');
    expect(meta).not.toContain(SECRET);
    const plan = planDaemonJson(broken, { listeners: [], vendor: [], options: [] } as never);
    expect(plan.action === 'keep' && plan.warning).toContain('line 3, column 20');
    expect(JSON.stringify(plan)).not.toContain(SECRET);
  });
});
