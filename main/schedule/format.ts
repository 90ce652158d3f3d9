/**
 * Times and durations of schedules as people read them (pure): the CLI's `moor schedule` output,
 * the tray's Schedule line and the app's Details all use these.
 */
import { DateTime } from 'luxon';
import { systemZone } from './timeline.js';

/** "Fri 2026-12-04 19:00 +01:00", in the schedule's zone (the system's for a machine without one). */
export function formatWhen(ms: number, zone: string): string {
  return DateTime.fromMillis(ms, { zone: zone || systemZone() }).toFormat('ccc yyyy-MM-dd HH:mm ZZ');
}

/**
 * Short, for a menu line: "Fri 19:00" within the coming week, else "Fri 2026-12-11 19:00"; the
 * zone is added when it is not the viewer's own ("Fri 19:00 Europe/Berlin").
 */
export function formatWhenShort(ms: number, zone: string, now: number, viewerZone = systemZone()): string {
  const z = zone || viewerZone;
  const at = DateTime.fromMillis(ms, { zone: z });
  const soon = ms - now < 6 * 86_400_000 && ms >= now - 86_400_000;
  const text = at.toFormat(soon ? 'ccc HH:mm' : 'ccc yyyy-MM-dd HH:mm');
  return z === viewerZone ? text : `${text} ${z}`;
}

/** Idle minutes as the CLI takes them: 30 → "30m", 120 → "2h", 90 → "1h30m". */
export function formatIdleMinutes(m: number): string {
  if (m % 60 === 0) return `${m / 60}h`;
  return m > 60 ? `${Math.floor(m / 60)}h${m % 60}m` : `${m}m`;
}

/** Whether `ms` falls on the same calendar day as `now` in the zone. */
export function isToday(ms: number, zone: string, now: number): boolean {
  const z = zone || systemZone();
  return DateTime.fromMillis(ms, { zone: z }).hasSame(DateTime.fromMillis(now, { zone: z }), 'day');
}
