/**
 * The notification a few minutes before a scheduled stop. Pure (no electron): the lifecycle shows
 * it through an injected notifier. Electron offers buttons on macOS only; elsewhere a click on the
 * notification itself is the "Postpone 1 h", and its text says so.
 */
import { DateTime } from 'luxon';
import type { MoorEvents } from '../api/contract.js';

/** What a desktop notification shows (Electron's Notification): title, text, buttons where the OS has them. */
export interface DesktopNotice {
  title: string;
  body: string;
  /** Button labels, where the OS shows buttons. */
  actions?: string[];
}

export interface StopSoonNotice {
  notification: DesktopNotice;
  /** A click on the notification (not a button) postpones: there are no buttons on this OS. */
  clickPostpones: boolean;
}

export function stopSoonNotice(
  payload: MoorEvents['scheduleStopSoon'],
  platform: NodeJS.Platform,
  zone?: string,
): StopSoonNotice {
  const time = DateTime.fromMillis(payload.at, zone ? { zone } : {}).toFormat('HH:mm');
  const label = `Postpone ${payload.postponeHours} h`;
  const buttons = platform === 'darwin';
  return {
    notification: {
      title: `"${payload.name}" stops at ${time}`,
      body: buttons
        ? 'Its schedule stops it then.'
        : `Its schedule stops it then. Click to postpone the stop by ${payload.postponeHours} h.`,
      actions: buttons ? [label] : [],
    },
    clickPostpones: !buttons,
  };
}
