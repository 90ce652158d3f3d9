import { describe, expect, it } from 'vitest';
import { formatMoney, type HostPrice, monthCost } from '../../../main/schedule/cost.js';
import { parseTimeOfWeek } from '../../../main/schedule/spec.js';

const at = (iso: string) => Date.parse(iso);
// DigitalOcean's s-1vcpu-1gb: $6/month, price_hourly 0.00893 (6 / 672).
const droplet: HostPrice = {
  size: 's-1vcpu-1gb',
  hourly: 0.00893,
  monthly: 6,
  currency: 'USD',
  billedWhileStopped: true,
};
const office = {
  zone: 'UTC',
  start: parseTimeOfWeek('mon-fri 08:00'),
  stop: parseTimeOfWeek('mon-fri 18:00'),
};

describe('month cost from the hourly price', () => {
  it('counts started hours from the start of the month (UTC), capped at the monthly price', () => {
    // 4 Dec 2026 12:30: 3 days 12.5 hours = 85 started hours.
    expect(monthCost(droplet, at('2026-12-04T12:30:00Z')).soFar).toBe(0.76);
    // By the 29th, 672 hours have been billed: the monthly cap holds for the rest of December.
    expect(monthCost(droplet, at('2026-12-30T00:00:00Z')).soFar).toBe(6);
    expect(monthCost(droplet, at('2026-12-04T12:30:00Z')).projected).toBe(6);
  });

  it('a host created this month is billed from its creation', () => {
    const fresh = { ...droplet, createdAt: at('2026-12-20T00:00:00Z') };
    expect(monthCost(fresh, at('2026-12-20T10:00:00Z')).soFar).toBe(0.09);
    // 12 days left in December: 288 h × 0.00893 = 2.57.
    expect(monthCost(fresh, at('2026-12-20T10:00:00Z')).projected).toBe(2.57);
  });

  it('says that a stop schedule saves nothing on a host billed while stopped', () => {
    const c = monthCost(droplet, at('2026-12-04T12:30:00Z'), { schedule: office });
    expect(c.projected).toBe(6);
    expect(c.note).toBe('billed while stopped: a stop schedule does not lower the cost');
  });

  it('projects only the scheduled hours for a host billed while running', () => {
    const vm: HostPrice = { ...droplet, hourly: 0.1, monthly: 1000, billedWhileStopped: false };
    // From Monday 7 Dec 00:00 (already 144 h billed): weeks of 5 × 10 h until 1 Jan.
    const c = monthCost(vm, at('2026-12-07T00:00:00Z'), { schedule: office, runningNow: false });
    expect(c.soFar).toBe(14.4);
    // 7–31 Dec: 19 weekdays × 10 h = 190 h → 19.00 more.
    expect(c.projected).toBe(33.4);
    expect(c.note).toBeUndefined();
  });

  it('a hibernating schedule counts only the scheduled hours, even where a stopped host bills', () => {
    const big: HostPrice = { ...droplet, hourly: 0.1, monthly: 1000 };
    const c = monthCost(big, at('2026-12-07T00:00:00Z'), {
      schedule: { ...office, hibernate: true },
      runningNow: false,
    });
    expect(c.projected).toBe(33.4);
    expect(c.note).toBe('hibernated while off: the snapshot bills instead (per GB-month)');
  });

  it('formats money', () => {
    expect(formatMoney(0.00893, 'USD', 5)).toBe('$0.00893');
    expect(formatMoney(6, 'EUR')).toBe('EUR 6.00');
  });
});
