/**
 * How big and how long each part of a run is. `quick` (the default, under 3 minutes) stops the connection ramps at
 * 5,000; `full` goes to 19,500 connections (the open-files limit is 20,000 per process) with longer windows;
 * `smoke` (CI) uses a handful of clients and checks that every scenario produces numbers.
 */

/** Issue 24's moderate rate (msg/s): a quarter to a third of Knock's saturation on a 2-core machine. */
export const MODERATE_RATE = 4000;

export type ModeName = 'smoke' | 'quick' | 'full';

export interface Phase {
  warmupMs: number;
  measureMs: number;
  /** How long to wait, after sending stops, for messages still in flight. */
  drainMs: number;
}

export interface Mode {
  name: ModeName;
  /** Load processes (all pinned to the load CPUs): several, so no one process holds more than ~5,000 sockets. */
  workers: number;
  throughput: {
    pairs: number;
    /** Closed loop: messages in flight per pair while finding saturation. */
    window: number;
    saturation: Phase;
    step: Phase;
    /** Open-loop rates as fractions of Knock's saturation (every server runs these absolute rates). */
    knockFractions: number[];
    /** More open-loop rates for ws and bare Colyseus, as fractions of their own saturation. */
    ownFractions: number[];
    /** Open-loop rates every server runs whatever its saturation (issue 24's moderate rate: 4,000 msg/s). */
    fixedRates: number[];
  };
  connections: {
    /** Idle visitors (and plain sockets) held at each point. */
    visitorCounts: number[];
    /** Owners online (one room each) at each point; the last is the "rooms open" of the second activation. */
    ownerCounts: number[];
    /** The URLs idle visitors have open (their rooms are open before the baseline). */
    anchors: number;
    /** Wait before reading memory at each point (the server's CPU over it is the idle CPU). */
    settleMs: number;
    /** Joins in flight across all load processes. */
    concurrency: number;
    /** Time limit of each step of a ramp: no join starts after it, and the ramp stops where it got to. */
    stepBudgetMs: number;
  };
  activation: { handles: number; concurrency: number };
  openUrl: { visitors: number; owners: number; concurrency: number };
  cluster: { pairs: number; window: number; saturation: Phase };
  driverMicro: { sizes: number[]; operations: number; maxMs: number };
  /**
   * Document sync (`docs`): `docs` documents, two editors each (both in one load process). Closed loop with `window`
   * keystrokes in flight per document, then open loop at `fractions` of that saturation.
   */
  docs: { docs: number; window: number; saturation: Phase; step: Phase; fractions: number[] };
  /** Pong games running at once at each point (`games`); the clients' ticks and the server's CPU over `measureMs`. */
  games: { counts: number[]; settleMs: number; measureMs: number; concurrency: number };
  /** Visitor memory and owner memory each on a fresh server (else one server: smoke, where memory means nothing). */
  freshServers: boolean;
  /** Bare Colyseus's owner ramp and activation on Colyseus's LocalDriver (in the `colyseus` scenario). */
  colyseusRooms: boolean;
  /**
   * The same on Knock's IndexedDriver (the `colyseusIndexed` scenario): next to the above, what the driver alone
   * changes end to end. Quick mode leaves both out; its driver comparison is the in-process one (`drivers`).
   */
  colyseusIndexed: boolean;
}

const smoke: Mode = {
  name: 'smoke',
  workers: 2,
  throughput: {
    pairs: 4,
    window: 2,
    saturation: { warmupMs: 200, measureMs: 600, drainMs: 2000 },
    step: { warmupMs: 100, measureMs: 500, drainMs: 2000 },
    knockFractions: [0.5],
    ownFractions: [],
    fixedRates: [],
  },
  connections: { visitorCounts: [20, 40], ownerCounts: [20, 40], anchors: 4, settleMs: 200, concurrency: 8, stepBudgetMs: 30_000 },
  activation: { handles: 10, concurrency: 4 },
  openUrl: { visitors: 4, owners: 2, concurrency: 2 },
  // Longer than the other smoke windows: two processes on PostgreSQL + Redis warm up slowly on a busy CI machine,
  // and a window that catches no message would fail the smoke test for nothing.
  cluster: { pairs: 4, window: 2, saturation: { warmupMs: 1500, measureMs: 2000, drainMs: 3000 } },
  driverMicro: { sizes: [0, 200], operations: 200, maxMs: 200 },
  docs: { docs: 3, window: 2, saturation: { warmupMs: 200, measureMs: 800, drainMs: 3000 }, step: { warmupMs: 100, measureMs: 600, drainMs: 3000 }, fractions: [0.5] },
  games: { counts: [1], settleMs: 300, measureMs: 2000, concurrency: 1 },
  freshServers: false,
  colyseusRooms: true,
  colyseusIndexed: true,
};

const quick: Mode = {
  name: 'quick',
  workers: 2,
  throughput: {
    pairs: 100,
    window: 8,
    saturation: { warmupMs: 700, measureMs: 2500, drainMs: 4000 },
    step: { warmupMs: 300, measureMs: 1700, drainMs: 3000 },
    knockFractions: [0.25, 0.5, 0.75],
    ownFractions: [0.5],
    fixedRates: [MODERATE_RATE],
  },
  connections: { visitorCounts: [1000, 5000], ownerCounts: [1000, 5000], anchors: 50, settleMs: 1000, concurrency: 64, stepBudgetMs: 60_000 },
  // 500 activations took under half a second on Knock: too short a window to compare two of them.
  activation: { handles: 800, concurrency: 32 },
  openUrl: { visitors: 100, owners: 10, concurrency: 4 },
  cluster: { pairs: 60, window: 8, saturation: { warmupMs: 500, measureMs: 2000, drainMs: 4000 } },
  driverMicro: { sizes: [0, 5000, 19000], operations: 2000, maxMs: 300 },
  docs: { docs: 20, window: 8, saturation: { warmupMs: 700, measureMs: 2500, drainMs: 3000 }, step: { warmupMs: 300, measureMs: 2000, drainMs: 3000 }, fractions: [0.5] },
  games: { counts: [1, 50], settleMs: 1000, measureMs: 3000, concurrency: 4 },
  freshServers: true,
  colyseusRooms: false,
  colyseusIndexed: false,
};

const full: Mode = {
  name: 'full',
  workers: 4,
  throughput: {
    pairs: 200,
    window: 8,
    saturation: { warmupMs: 2000, measureMs: 10_000, drainMs: 10_000 },
    step: { warmupMs: 2000, measureMs: 8000, drainMs: 10_000 },
    knockFractions: [0.1, 0.25, 0.5, 0.75, 0.9],
    ownFractions: [0.25, 0.5, 0.75, 0.9],
    fixedRates: [MODERATE_RATE],
  },
  connections: { visitorCounts: [1000, 5000, 19_500], ownerCounts: [1000, 5000, 19_000], anchors: 100, settleMs: 3000, concurrency: 64, stepBudgetMs: 360_000 },
  activation: { handles: 3000, concurrency: 32 },
  openUrl: { visitors: 500, owners: 20, concurrency: 4 },
  cluster: { pairs: 200, window: 8, saturation: { warmupMs: 2000, measureMs: 10_000, drainMs: 10_000 } },
  driverMicro: { sizes: [0, 1000, 5000, 10_000, 19_000], operations: 5000, maxMs: 2000 },
  docs: { docs: 50, window: 8, saturation: { warmupMs: 2000, measureMs: 8000, drainMs: 10_000 }, step: { warmupMs: 2000, measureMs: 6000, drainMs: 10_000 }, fractions: [0.25, 0.5, 0.75] },
  games: { counts: [1, 50, 100], settleMs: 2000, measureMs: 8000, concurrency: 4 },
  freshServers: true,
  colyseusRooms: true,
  colyseusIndexed: true,
};

export const modes: Record<ModeName, Mode> = { smoke, quick, full };
