/**
 * What a cloud host costs this month, from its provider's hourly price. Pure. DigitalOcean bills
 * by the hour up to the size's monthly price per calendar month (UTC), and bills a powered-off
 * droplet as a running one: there, a stop schedule saves nothing; a hibernating one does.
 */
import { DateTime } from 'luxon';
import { type Schedule, scheduledRunningMs } from './timeline.js';

/** A host's price as its provider states it (Driver.price). */
export interface HostPrice {
  /** e.g. "s-1vcpu-1gb". */
  size: string;
  hourly: number;
  /** The most one calendar month costs (DigitalOcean's price_monthly cap). */
  monthly: number;
  currency: string;
  /** A stopped machine still bills (DigitalOcean droplets do). */
  billedWhileStopped: boolean;
  /** When the host was created (epoch ms), when the provider says. */
  createdAt?: number;
}

export interface MonthCost {
  currency: string;
  hourly: number;
  /** Billed from the start of the month (or the host's creation) to now. */
  soFar: number;
  /** The whole month's bill if the schedule (or always-on) holds. */
  projected: number;
  /** Why a stop schedule does not lower the projection, when it does not. */
  note?: string;
}

const HOUR_MS = 3_600_000;

function roundCents(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * The month's cost so far and projected. `runningNow` and `schedule` matter only for a host not
 * billed while stopped (the projection counts the hours its schedule keeps it running).
 */
export function monthCost(
  price: HostPrice,
  now: number,
  options: { schedule?: Schedule; runningNow?: boolean } = {},
): MonthCost {
  const monthStart = DateTime.fromMillis(now, { zone: 'UTC' }).startOf('month');
  const monthEnd = monthStart.plus({ months: 1 }).toMillis();
  const billedFrom = Math.max(monthStart.toMillis(), price.createdAt ?? monthStart.toMillis());
  const cap = (amount: number) => roundCents(Math.min(amount, price.monthly));
  // Billing counts started hours.
  const hours = (ms: number) => Math.ceil(Math.max(0, ms) / HOUR_MS);
  const soFar = cap(hours(now - billedFrom) * price.hourly);
  let projected: number;
  let note: string | undefined;
  // A hibernating schedule deletes the server for its off hours: only they stop the bill there.
  const offHoursFree = !price.billedWhileStopped || options.schedule?.hibernate === true;
  if (!options.schedule || !offHoursFree) {
    projected = cap(hours(monthEnd - billedFrom) * price.hourly);
    if (price.billedWhileStopped && options.schedule?.stop) {
      note = 'billed while stopped: a stop schedule does not lower the cost';
    }
  } else {
    const ahead = scheduledRunningMs(options.schedule, now, monthEnd, options.runningNow ?? true);
    projected = cap(soFar + hours(ahead) * price.hourly);
    if (price.billedWhileStopped) note = 'hibernated while off: the snapshot bills instead (per GB-month)';
  }
  return { currency: price.currency, hourly: price.hourly, soFar, projected, note };
}

/** "$0.00893/h", "$4.12". */
export function formatMoney(amount: number, currency: string, digits = 2): string {
  const symbol = currency === 'USD' ? '$' : `${currency} `;
  return `${symbol}${amount.toFixed(digits)}`;
}
