/**
 * The system's time moved forward by hand: a server started on it (startKnock's `clock`) runs in real time, and a test
 * makes an hour pass at once (a link or a session expiring) without faking timers.
 *
 * @example
 *   const clock = new SkewedClock();
 *   const knock = await startKnock({}, { clock });
 *   clock.advance(31 * 60_000); // the server's links of 30 minutes are over
 */
import type { Clock } from '../../engine/ports/clock.ts';

export class SkewedClock implements Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
