/**
 * Each test file gets its own DOCKER_CONFIG: every machine a test creates gets a Docker context named
 * after it, and two files running at once with a machine of the same name ("mgr") would otherwise
 * share (and remove) one context. Tests that check contexts still set their own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const dir = mkdtempSync(path.join(os.tmpdir(), 'moor-test-docker-config-'));
process.env.DOCKER_CONFIG = dir;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
