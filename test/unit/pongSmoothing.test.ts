/**
 * Pong as a browser shows it over a 100 ms round trip (issue 6): the own paddle moves at once on input (predicted
 * with the server's rule), the ball and the other paddle move smoothly between server states, and once the player
 * stops, the prediction settles on the server's position.
 */
import { describe, expect, it } from 'vitest';
import { pong, pongTick, PONG, type PongState } from '../../games/pong.ts';
import { PongSmoother } from '../../games/pongSmoothing.ts';

/** A server running Pong, its states reaching the browser `oneWayMs` later; inputs reach it `oneWayMs` after sent. */
function simulate(opts: { oneWayMs: number; inputAt: number; releaseAt: number; until: number; frameMs: number }) {
  let state: PongState = pong.init(11);
  const smoother = new PongSmoother(0);
  const inFlight: Array<{ arriveAt: number; view: PongState }> = [];
  const frames: Array<{ at: number; own: number; ball: { x: number; y: number }; server: number; serves: number }> = [];
  let nextTick = 0;
  for (let now = 0; now <= opts.until; now += opts.frameMs) {
    while (nextTick <= now) {
      const speed = nextTick >= opts.inputAt + opts.oneWayMs && nextTick < opts.releaseAt + opts.oneWayMs ? -1 : 0;
      const applied = pong.apply(state, 0, { speed });
      if (applied.ok) state = applied.state;
      state = pongTick(state);
      inFlight.push({ arriveAt: nextTick + opts.oneWayMs, view: state });
      nextTick += PONG.tickMs;
    }
    while (inFlight[0] && inFlight[0].arriveAt <= now) {
      const arrived = inFlight.shift()!;
      smoother.push(arrived.view, arrived.arriveAt);
    }
    if (now === opts.inputAt) smoother.setSpeed(-1, now);
    if (now === opts.releaseAt) smoother.setSpeed(0, now);
    const frame = smoother.frame(now);
    if (frame) frames.push({ at: now, own: frame.paddles[0], ball: frame.ball, server: state.paddles[0], serves: state.score[0] + state.score[1] });
  }
  return frames;
}

describe('Pong in the browser over a 100 ms round trip', () => {
  const frames = simulate({ oneWayMs: 50, inputAt: 1000, releaseAt: 1400, until: 3000, frameMs: 10 });

  it('moves the own paddle on the very next frame after the key, not a round trip later', () => {
    const before = frames.find((f) => f.at === 1000)!.own;
    const next = frames.find((f) => f.at === 1010)!.own;
    expect(next).toBeLessThan(before);
    // The server has not even heard of the input yet at that moment.
    expect(frames.find((f) => f.at === 1010)!.server).toBe(PONG.height / 2);
  });

  it('never moves the own paddle faster than the server would', () => {
    for (let i = 1; i < frames.length; i++) {
      const step = Math.abs(frames[i]!.own - frames[i - 1]!.own);
      expect(step).toBeLessThanOrEqual((PONG.paddleSpeed * 10) / PONG.tickMs + 1e-9);
    }
  });

  it('settles on the server’s paddle position once the key is released', () => {
    const last = frames.at(-1)!;
    expect(Math.abs(last.own - last.server)).toBeLessThan(1);
  });

  it('moves the ball smoothly between states (no jumps of a whole tick between frames, except at a serve)', () => {
    // Drawn every 10 ms, the ball travels at most a quarter of a tick's distance (40 ms) between frames; without
    // interpolation it would stand still for three frames and jump a whole tick on the fourth.
    const perFrame = (PONG.maxBallSpeed * 10) / PONG.tickMs;
    let jumps = 0;
    for (let i = 1; i < frames.length; i++) {
      const d = Math.hypot(frames[i]!.ball.x - frames[i - 1]!.ball.x, frames[i]!.ball.y - frames[i - 1]!.ball.y);
      if (d > perFrame * 1.5) jumps += 1;
    }
    expect(jumps).toBeLessThanOrEqual(frames.at(-1)!.serves + 1);
  });
});
