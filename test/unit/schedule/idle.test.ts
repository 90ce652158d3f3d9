import { describe, expect, it } from 'vitest';
import { idleDecision, parseActivity, parseIdleMinutes, probeCommand } from '../../../main/schedule/idle.js';

describe('idle stop', () => {
  it('parses the probe: containers, docker-ps failure, connections minus its own SSH session', () => {
    expect(parseActivity('0\n0\n1\n')).toEqual({ runningContainers: 0, connections: 0 });
    expect(parseActivity('2\n0\n3\n')).toEqual({ runningContainers: 2, connections: 2 });
    expect(() => parseActivity('1\n1\n1\n')).toThrow(/cannot list containers/);
    expect(() => parseActivity('sh: ss: not found\n')).toThrow(
      /unexpected activity probe output: "sh: ss: not found\\n"/,
    );
  });

  it('asks for the engine and SSH ports given', () => {
    expect(probeCommand(2377, 2222)).toContain('sport = :2377 or sport = :2222');
  });

  it('starts the idle clock at the first idle probe, resets it on activity, stops after N minutes', () => {
    const idle = { runningContainers: 0, connections: 0 };
    const t0 = Date.parse('2026-12-04T10:00:00Z');
    expect(idleDecision(30, undefined, idle, t0)).toEqual({ idleSince: t0, stop: false });
    expect(idleDecision(30, t0, idle, t0 + 29 * 60_000 + 59_999)).toEqual({ idleSince: t0, stop: false });
    expect(idleDecision(30, t0, idle, t0 + 30 * 60_000)).toEqual({ idleSince: t0, stop: true });
    expect(idleDecision(30, t0, { runningContainers: 1, connections: 0 }, t0 + 40 * 60_000)).toEqual({
      idleSince: undefined,
      stop: false,
    });
    expect(idleDecision(30, t0, { runningContainers: 0, connections: 1 }, t0 + 40 * 60_000).stop).toBe(false);
  });

  it('reads durations', () => {
    expect(parseIdleMinutes('30')).toBe(30);
    expect(parseIdleMinutes('45m')).toBe(45);
    expect(parseIdleMinutes('2h')).toBe(120);
    expect(parseIdleMinutes('1h30m')).toBe(90);
    expect(parseIdleMinutes('0')).toBe(0);
    expect(parseIdleMinutes('off')).toBe(0);
    expect(() => parseIdleMinutes('5x')).toThrow(/"5x" is not a duration/);
    expect(() => parseIdleMinutes('200h')).toThrow(/longer than a week/);
  });
});
