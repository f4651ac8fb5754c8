/**
 * Quiet hours in the owner's own time zone (issue 18): whether an instant falls inside them, and the first instant
 * after them. Wall-clock arithmetic goes through Intl.DateTimeFormat, so it is right in any IANA zone whatever the
 * machine's zone is, across DST changes, and in zones with half-hour offsets (Asia/Kolkata).
 */
import type { ForwardingSettings } from '../ports/channel.ts';

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** Minutes after local midnight, [start, end); `start > end` spans midnight. */
export type QuietHoursSpan = NonNullable<ForwardingSettings['quietHours']>;

/**
 * The owner's quiet hours, bound to their zone. One instance per plan: it holds the zone's formatter.
 *
 * @example
 *   const quiet = new QuietHours({ start: 22 * 60, end: 7 * 60 }, 'America/New_York');
 *   quiet.contains(Date.UTC(2024, 0, 10, 4)); // true: 23:00 in New York
 *   quiet.nextAllowed(Date.UTC(2024, 0, 10, 4)); // Date.UTC(2024, 0, 10, 12): 07:00 in New York
 */
export class QuietHours {
  private readonly format: Intl.DateTimeFormat;

  /** Throws a RangeError for a zone Intl does not know; Settings validates the zone before it is stored. */
  constructor(
    private readonly span: QuietHoursSpan | null,
    timeZone: string,
  ) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Whether the local wall time at `at` (epoch ms) is inside the quiet hours. An empty span (start = end) never is. */
  contains(at: number): boolean {
    if (this.span === null || this.span.start === this.span.end) return false;
    const wall = this.wallMsOfDay(at);
    const start = this.span.start * MINUTE_MS;
    const end = this.span.end * MINUTE_MS;
    return start < end ? wall >= start && wall < end : wall >= start || wall < end;
  }

  /** `at` itself when it is outside the quiet hours, else the first instant after them (their local end). */
  nextAllowed(at: number): number {
    let from = at;
    // Each round leaves one quiet stretch; a second round is only needed when the wall-clock arithmetic lands in a
    // later stretch's neighbourhood (it cannot, but a bound keeps a zone database oddity from looping forever).
    for (let round = 0; round < 4 && this.contains(from); round++) from = this.endOfStretch(from);
    return from;
  }

  /** The end of the quiet stretch `at` is in: `end` o'clock on the local wall clock, corrected for a DST change. */
  private endOfStretch(at: number): number {
    const endWall = (this.span?.end ?? 0) * MINUTE_MS;
    const wallUntilEnd = (endWall - this.wallMsOfDay(at) + DAY_MS) % DAY_MS || DAY_MS;
    const naive = at + wallUntilEnd;
    // Wall time = instant + offset: if the offset changed between `at` and the end, the instant moves against it.
    const corrected = naive - (this.offsetMs(naive) - this.offsetMs(at));
    if (corrected > at && !this.contains(corrected)) return corrected;
    // The end's wall time does not exist that day: it is inside a spring-forward gap (02:30 in New York on the second
    // Sunday of March) or a skipped day (Samoa, 30 December 2011). The quiet hours end at the jump, which lies between
    // the last instant known inside and `naive`, whose wall clock is past the end.
    const inside = corrected > at ? corrected : at;
    if (naive <= inside || this.contains(naive)) return Math.max(naive, inside + 1); // nextAllowed goes round again
    return this.firstInstantOutside(inside, naive);
  }

  /** Bisects (inside, outside] for the first instant outside; `inside` is in the quiet hours, `outside` is not. */
  private firstInstantOutside(inside: number, outside: number): number {
    let lo = inside;
    let hi = outside;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.contains(mid)) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  /** Milliseconds since local midnight at `at`. */
  private wallMsOfDay(at: number): number {
    const p = this.fields(at);
    return ((p.hour * 60 + p.minute) * 60 + p.second) * SECOND_MS + mod(at, SECOND_MS);
  }

  /** The zone's offset from UTC at `at` (positive east of Greenwich), in milliseconds. */
  private offsetMs(at: number): number {
    const p = this.fields(at);
    const wallAsUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    return wallAsUtc - (at - mod(at, SECOND_MS));
  }

  private fields(at: number) {
    const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
    for (const part of this.format.formatToParts(at)) {
      if (part.type in out) out[part.type as keyof typeof out] = Number(part.value);
    }
    return out;
  }
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}
