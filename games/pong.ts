/**
 * Pong with deterministic physics: a fixed tick, integer-free but order-fixed float arithmetic (the same inputs
 * and seed give the same game on every machine running the same JavaScript), randomness only from the seeded
 * generator kept in the state. Players send a paddle speed (-1 to 1 of the top speed) whenever it changes; the
 * server moves paddles itself, so no input can move a paddle faster than the top speed.
 */
import { z } from 'zod';
import { nextRandom, type Applied, type Game, type GameResult, type Seat } from './types.ts';

export const PONG = {
  tickMs: 40,
  width: 640,
  height: 400,
  paddleHeight: 80,
  paddleWidth: 10,
  /** Paddle fronts: the left paddle's right edge and the right paddle's left edge. */
  paddleX: [30, 610] as const,
  /** Units per tick at speed 1 (300 units per second). */
  paddleSpeed: 12,
  ball: 10,
  /** Ball speed at serve and its cap, units per tick. */
  serveSpeed: 8,
  maxBallSpeed: 18,
  /** Ticks between a point and the next serve. */
  serveDelay: 25,
  pointsToWin: 5,
} as const;

export interface PongState {
  tick: number;
  ball: { x: number; y: number; vx: number; vy: number };
  paddles: [number, number];
  speeds: [number, number];
  score: [number, number];
  /** Ticks until the ball moves (after a point). */
  serveIn: number;
  rng: number;
  result: GameResult | null;
}

export type PongView = PongState;

const inputSchema = z.object({ speed: z.number() });

function serve(state: PongState, towards: Seat): PongState {
  const r = nextRandom(state.rng);
  const angle = (r.value - 0.5) * (Math.PI / 3); // within ±30° of horizontal
  const dir = towards === 0 ? -1 : 1;
  return {
    ...state,
    rng: r.state,
    serveIn: PONG.serveDelay,
    ball: {
      x: PONG.width / 2,
      y: PONG.height / 2,
      vx: dir * PONG.serveSpeed * Math.cos(angle),
      vy: PONG.serveSpeed * Math.sin(angle),
    },
  };
}

const clampPaddle = (y: number) => Math.min(PONG.height - PONG.paddleHeight / 2, Math.max(PONG.paddleHeight / 2, y));

/** Moves one paddle by one tick of its speed: shared by the server and the browser's prediction. */
export function movePaddle(y: number, speed: number): number {
  return clampPaddle(y + speed * PONG.paddleSpeed);
}

/** The ball meets a paddle: it bounces back, steeper the further from the middle it hits, a little faster. */
function bounce(ball: PongState['ball'], paddleY: number, seat: Seat): PongState['ball'] | null {
  const half = PONG.paddleHeight / 2 + PONG.ball / 2;
  const offset = ball.y - paddleY;
  if (Math.abs(offset) > half) return null;
  const speed = Math.min(PONG.maxBallSpeed, Math.hypot(ball.vx, ball.vy) * 1.05);
  const angle = (offset / half) * (Math.PI / 3);
  const dir = seat === 0 ? 1 : -1;
  const x = seat === 0 ? PONG.paddleX[0] + PONG.ball / 2 : PONG.paddleX[1] - PONG.ball / 2;
  return { x, y: ball.y, vx: dir * speed * Math.cos(angle), vy: speed * Math.sin(angle) };
}

export function pongTick(state: PongState): PongState {
  if (state.result) return state;
  const paddles: [number, number] = [movePaddle(state.paddles[0], state.speeds[0]), movePaddle(state.paddles[1], state.speeds[1])];
  const tick = state.tick + 1;
  if (state.serveIn > 0) return { ...state, tick, paddles, serveIn: state.serveIn - 1 };
  let { x, y, vx, vy } = state.ball;
  x += vx;
  y += vy;
  const r = PONG.ball / 2;
  if (y < r) {
    y = 2 * r - y;
    vy = -vy;
  } else if (y > PONG.height - r) {
    y = 2 * (PONG.height - r) - y;
    vy = -vy;
  }
  let ball = { x, y, vx, vy };
  if (vx < 0 && x - r <= PONG.paddleX[0] && x - r > PONG.paddleX[0] - PONG.paddleWidth - Math.abs(vx)) {
    ball = bounce(ball, paddles[0], 0) ?? ball;
  } else if (vx > 0 && x + r >= PONG.paddleX[1] && x + r < PONG.paddleX[1] + PONG.paddleWidth + Math.abs(vx)) {
    ball = bounce(ball, paddles[1], 1) ?? ball;
  }
  const next: PongState = { ...state, tick, paddles, ball };
  const scorer: Seat | null = ball.x < 0 ? 1 : ball.x > PONG.width ? 0 : null;
  if (scorer === null) return next;
  const score: [number, number] = [...state.score];
  score[scorer] += 1;
  const result = score[scorer] >= PONG.pointsToWin ? { winner: scorer, reason: `${PONG.pointsToWin} points` } : null;
  return serve({ ...next, score, result }, scorer === 0 ? 1 : 0);
}

export const pong: Game<PongState, PongView> = {
  kind: 'pong',
  title: 'Pong',
  tickMs: PONG.tickMs,
  init(seed) {
    const start: PongState = {
      tick: 0,
      ball: { x: PONG.width / 2, y: PONG.height / 2, vx: 0, vy: 0 },
      paddles: [PONG.height / 2, PONG.height / 2],
      speeds: [0, 0],
      score: [0, 0],
      serveIn: 0,
      rng: seed >>> 0,
      result: null,
    };
    return serve(start, nextRandom(start.rng).value < 0.5 ? 0 : 1);
  },
  apply(state, seat, raw): Applied<PongState> {
    const parsed = inputSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, reason: 'A Pong input is { speed: -1 to 1 }.' };
    const { speed } = parsed.data;
    if (!Number.isFinite(speed) || Math.abs(speed) > 1) return { ok: false, reason: 'The paddle cannot move faster than its top speed (speed -1 to 1).' };
    if (state.result) return { ok: false, reason: 'The game is over.' };
    const speeds: [number, number] = [...state.speeds];
    speeds[seat] = speed;
    return { ok: true, state: { ...state, speeds }, description: '' };
  },
  tick: pongTick,
  result: (state) => state.result,
  turn: () => null,
  view: (state) => state,
};
