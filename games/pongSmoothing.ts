/**
 * How a browser shows Pong smoothly over an ordinary network (issue 6): the other paddle and the ball are drawn a
 * little in the past, interpolated between the two server states around that moment; this device's own paddle is
 * predicted from its own input at once (with the same paddle rule as the server, games/pong.ts), and eased onto
 * the server's position once the player stops. Plain TypeScript: unit-testable without a browser.
 */
import { PONG, movePaddle, type PongView } from './pong.ts';

export interface PongFrame {
  ball: { x: number; y: number };
  paddles: [number, number];
  score: [number, number];
}

/** 2.5 ticks: enough to have a state on each side of the drawn moment through ordinary jitter. */
export const INTERPOLATION_DELAY_MS = 100;

export class PongSmoother {
  private readonly states: Array<{ at: number; view: PongView }> = [];
  private predicted: number | null = null;
  private speed = 0;
  private speedSince = 0;
  private lastFrameAt: number | null = null;

  constructor(private readonly seat: 0 | 1 | null, private readonly delayMs = INTERPOLATION_DELAY_MS) {}

  push(view: PongView, at: number): void {
    this.states.push({ at, view });
    // A second of states is plenty to interpolate from.
    while (this.states.length > 2 && this.states[0]!.at < at - 1000) this.states.shift();
    if (this.predicted === null && this.seat !== null) this.predicted = view.paddles[this.seat];
  }

  /** This device's paddle input changed (what it also sends to the server). */
  setSpeed(speed: number, now: number): void {
    this.speed = speed;
    this.speedSince = now;
  }

  frame(now: number): PongFrame | null {
    const latest = this.states.at(-1);
    if (!latest) return null;
    const at = now - this.delayMs;
    let a = this.states[0]!;
    let b = latest;
    for (let i = this.states.length - 1; i > 0; i--) {
      if (this.states[i - 1]!.at <= at) {
        a = this.states[i - 1]!;
        b = this.states[i]!;
        break;
      }
    }
    const span = b.at - a.at;
    const t = span <= 0 ? 1 : Math.max(0, Math.min(1, (at - a.at) / span));
    const jumped = Math.abs(b.view.ball.x - a.view.ball.x) > PONG.width / 3; // a serve: no sliding across the field
    const lerp = (x: number, y: number) => x + (y - x) * t;
    const ball = jumped ? { x: b.view.ball.x, y: b.view.ball.y } : { x: lerp(a.view.ball.x, b.view.ball.x), y: lerp(a.view.ball.y, b.view.ball.y) };
    const paddles: [number, number] = [lerp(a.view.paddles[0], b.view.paddles[0]), lerp(a.view.paddles[1], b.view.paddles[1])];
    if (this.seat !== null) paddles[this.seat] = this.predict(now, latest.view.paddles[this.seat]);
    return { ball, paddles, score: latest.view.score };
  }

  private predict(now: number, server: number): number {
    const dt = this.lastFrameAt === null ? 0 : Math.min(100, now - this.lastFrameAt);
    this.lastFrameAt = now;
    let y = this.predicted ?? server;
    if (this.speed !== 0) {
      // The server moves the paddle `speed × paddleSpeed` per tick; predict the same per elapsed time.
      y = movePaddle(y, (this.speed * dt) / PONG.tickMs);
    } else if (now - this.speedSince > this.delayMs) {
      // Still: the server has our last input by now; settle onto its position (smoothly, no snap).
      y += (server - y) * Math.min(1, dt / 80);
    }
    this.predicted = y;
    return y;
  }
}
