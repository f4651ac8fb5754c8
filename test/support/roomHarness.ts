/**
 * What unit tests of the plain room logic (rooms/conversation/conversationLogic.ts, rooms/user/userLogic.ts) need
 * to drive it without Colyseus (CONVENTIONS 1): a clock the test moves by hand, a transport per peer that records
 * what it was sent, peers built like the Colyseus shells build them, and a Storage whose calls a test can hold
 * open to reproduce a write or a read "in flight".
 */
import type { Clock, Timers } from '../../engine/ports/clock.ts';
import type { Storage } from '../../engine/ports/storage.ts';
import type { RateLimitConfig } from '../../engine/config.ts';
import { TokenBucket } from '../../engine/rateLimit.ts';
import type { Identity, Peer, PeerTransport } from '../../rooms/peer.ts';

/** A fixed epoch keeps times readable in failures. */
export const T0 = 1_700_000_000_000;

/** A clock and timers the test moves by hand: `advance` runs the timers that fall due, in order of their time. */
export class ManualClock implements Clock, Timers {
  private readonly pending: Array<{ at: number; seq: number; fn: () => void }> = [];
  private seq = 0;

  constructor(public t: number = T0) {}

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.push(timer);
    return () => {
      const i = this.pending.indexOf(timer);
      if (i >= 0) this.pending.splice(i, 1);
    };
  }

  /** Timers not yet run. */
  get pendingTimers(): number {
    return this.pending.length;
  }

  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      const due = this.pending.filter((p) => p.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.pending.splice(this.pending.indexOf(due), 1);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = until;
  }
}

/** One recorded `send`, typed by message type. */
export type Sent<M> = { [K in keyof M & string]: { type: K; payload: M[K] } }[keyof M & string];

export class RecordingTransport<M> implements PeerTransport<M> {
  readonly sent: Array<Sent<M>> = [];
  readonly closes: Array<{ code: number; reason: string }> = [];

  send<T extends keyof M & string>(type: T, payload: M[T]): void {
    this.sent.push({ type, payload } as Sent<M>);
  }

  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }

  /** The types sent, in order. */
  types(): string[] {
    return this.sent.map((s) => s.type);
  }

  /** The payloads of one type, in order. */
  of<T extends keyof M & string>(type: T): Array<M[T]> {
    return this.sent.filter((s) => s.type === type).map((s) => s.payload as M[T]);
  }

  clear(): void {
    this.sent.length = 0;
  }
}

/** Generous limits, so only tests about rate limits meet them. */
export const roomyRate: RateLimitConfig = { perWindow: 1000, windowMs: 1000 };

export interface TestPeer<M> extends Peer<M> {
  readonly transport: RecordingTransport<M>;
}

/** A peer as the Colyseus shells build it (rooms/*Room.ts onJoin), with a recording transport. */
export function makePeer<M>(
  id: string,
  identity: Identity,
  clock: Clock,
  rates: { messages?: RateLimitConfig; signals?: RateLimitConfig } = {},
): TestPeer<M> {
  return {
    id,
    identity,
    transport: new RecordingTransport<M>(),
    state: { kind: 'joining', buffered: [] },
    messageBucket: new TokenBucket(rates.messages ?? roomyRate, clock),
    signalBucket: new TokenBucket(rates.signals ?? roomyRate, clock),
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Where a held call waits: `before` the real storage runs it (the write has not happened yet), or `after` (the
 * database has done it, the answer has not come back yet, as with a networked database).
 */
export type HoldMode = 'before' | 'after';

export interface Hold {
  /** Resolves once the held call has been made. */
  readonly entered: Promise<void>;
  release(): void;
}

type StorageMethod = { [K in keyof Storage]: Storage[K] extends (...args: never[]) => unknown ? K : never }[keyof Storage];

export interface GatedStorage {
  storage: Storage;
  /** Holds the next call of `method` until `release()`. */
  hold(method: StorageMethod, mode: HoldMode): Hold;
}

/** Wraps a real Storage; calls pass through unless a test holds the next call of a method. */
export function gatedStorage(inner: Storage): GatedStorage {
  const holds = new Map<string, Array<{ mode: HoldMode; entered: Deferred<void>; gate: Deferred<void> }>>();
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        const hold = holds.get(String(prop))?.shift();
        if (!hold) return method.apply(target, args);
        hold.entered.resolve();
        if (hold.mode === 'before') {
          await hold.gate.promise;
          return method.apply(target, args);
        }
        const result = await method.apply(target, args);
        await hold.gate.promise;
        return result;
      };
    },
  });
  return {
    storage,
    hold(method, mode) {
      const entry = { mode, entered: deferred(), gate: deferred() };
      const queue = holds.get(method) ?? [];
      queue.push(entry);
      holds.set(method, queue);
      return { entered: entry.entered.promise, release: () => entry.gate.resolve() };
    },
  };
}

/** Lets every pending promise callback run (storage here is in-memory SQLite: its answers are microtasks). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
