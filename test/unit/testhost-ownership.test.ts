import { describe, expect, it } from 'vitest';
import { CHECKOUT, checkoutHosts, type HostOwnership, leftoverHosts } from '../hosts/host.js';

// Which test hosts a teardown and `cli.ts clean` may remove, on a shared test dockerd where several
// checkouts (helpers, a person) run tests at the same time. Process liveness is injected.
const LIVE = new Set([1, 100, 200]);
const alive = (pid: number) => LIVE.has(pid);
const here = '/work/wt/here';
const there = '/work/wt/there';

const hosts: HostOwnership[] = [
  { name: 'my-live-run', owner: '100', checkout: here, keep: false },
  { name: 'my-crashed-run', owner: '999', checkout: here, keep: false },
  { name: 'my-kept', owner: '1', checkout: here, keep: true },
  { name: 'other-live-run', owner: '200', checkout: there, keep: false },
  { name: 'other-crashed-run', owner: '997', checkout: there, keep: false },
  { name: 'other-kept', owner: '996', checkout: there, keep: true },
  { name: 'old-unlabelled', owner: '', checkout: '', keep: false },
];

describe('cli.ts clean without a prefix', () => {
  it("removes only this checkout's kept hosts and ended runs' hosts", () => {
    expect(checkoutHosts(hosts, here, alive)).toEqual(['my-crashed-run', 'my-kept']);
    expect(checkoutHosts(hosts, there, alive)).toEqual(['other-crashed-run', 'other-kept']);
  });

  it('knows this checkout as the repository root', () => {
    expect(CHECKOUT).toBe(new URL('../..', import.meta.url).pathname.replace(/\/$/, ''));
  });
});

describe('a test run teardown (removeLeftovers)', () => {
  it("removes its own and crashed runs' hosts, never a live run's or a kept one", () => {
    expect(leftoverHosts(hosts, '100', alive)).toEqual([
      'my-live-run',
      'my-crashed-run',
      'other-crashed-run',
      'old-unlabelled',
    ]);
  });
});
