/** How times appear in the views. Pure functions of a timestamp (and of "now" for relative times). */

function pad2(n: number): string {
  return n.toString().padStart(2, '0');
}

/** "14:05": the 24-hour local time, the same on every locale so a glance reads the same everywhere. */
export function clockTime(at: number): string {
  const d = new Date(at);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** "Saturday, 29 November 2025 at 14:05", in the reader's locale, for the title of a <time>. */
export function fullDate(at: number): string {
  return new Date(at).toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' });
}

/** "29 Nov 2025": the day alone, in the reader's locale (when a mail device was created, last used). */
export function dayDate(at: number): string {
  return new Date(at).toLocaleDateString(undefined, { dateStyle: 'medium' });
}

export function isoDate(at: number): string {
  return new Date(at).toISOString();
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Compact age for lists: "now", "5m", "3h", "Yesterday", "Mon", "12 Mar", "12 Mar 2024". */
export function relativeTime(at: number, now: number): string {
  const age = now - at;
  if (age < MINUTE) return 'now';
  if (age < HOUR) return `${Math.floor(age / MINUTE)}m`;
  const then = new Date(at);
  const today = new Date(now);
  const startOfToday = new Date(today.getFullYear(), today.getMonth(), today.getDate()).getTime();
  if (at >= startOfToday) return `${Math.floor(age / HOUR)}h`;
  if (at >= startOfToday - DAY) return 'Yesterday';
  if (at >= startOfToday - 6 * DAY) return then.toLocaleDateString(undefined, { weekday: 'short' });
  if (then.getFullYear() === today.getFullYear()) {
    return then.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
  }
  return then.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

/** "4:07": minutes and seconds since `since` (time on a page), never negative when this device's clock is behind. */
export function elapsedTime(since: number, now: number): string {
  const seconds = Math.max(0, Math.floor((now - since) / 1000));
  return `${Math.floor(seconds / 60)}:${pad2(seconds % 60)}`;
}
