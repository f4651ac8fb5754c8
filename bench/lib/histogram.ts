/**
 * A latency histogram with 1% relative precision over microseconds to hours, small enough to send between
 * processes and mergeable (each load process records its own; the controller adds them up). Values are
 * milliseconds in and out; internally buckets of a geometric series of ratio 1.01 over microseconds.
 *
 * @example
 *   const h = new Histogram();
 *   h.record(0.42);
 *   const merged = Histogram.from(h.toJSON()).merge(other);
 *   merged.percentile(99); // ms
 */

const RATIO = 1.01;
const LOG_RATIO = Math.log(RATIO);

export interface HistogramData {
  /** [bucket, count] pairs; bucket b holds values in [RATIO^b, RATIO^(b+1)) microseconds (b = -1: below 1 µs). */
  buckets: Array<[number, number]>;
  count: number;
  sumMs: number;
  minMs: number;
  maxMs: number;
}

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class Histogram {
  private readonly counts = new Map<number, number>();
  count = 0;
  private sumMs = 0;
  private minMs = Infinity;
  private maxMs = 0;

  static from(data: HistogramData): Histogram {
    const h = new Histogram();
    for (const [bucket, n] of data.buckets) h.counts.set(bucket, n);
    h.count = data.count;
    h.sumMs = data.sumMs;
    h.minMs = data.minMs;
    h.maxMs = data.maxMs;
    return h;
  }

  record(ms: number): void {
    const us = ms * 1000;
    const bucket = us < 1 ? -1 : Math.floor(Math.log(us) / LOG_RATIO);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.count++;
    this.sumMs += ms;
    if (ms < this.minMs) this.minMs = ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  merge(other: Histogram): this {
    for (const [bucket, n] of other.counts) this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + n);
    this.count += other.count;
    this.sumMs += other.sumMs;
    this.minMs = Math.min(this.minMs, other.minMs);
    this.maxMs = Math.max(this.maxMs, other.maxMs);
    return this;
  }

  /** The value at percentile `p` (0-100), in ms: the middle of its bucket, clamped to the exact min and max. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket)!;
      if (seen >= rank) {
        const mid = bucket < 0 ? 0.0005 : (RATIO ** (bucket + 0.5)) / 1000;
        return Math.min(this.maxMs, Math.max(this.minMs, mid));
      }
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      meanMs: this.count === 0 ? 0 : this.sumMs / this.count,
      p50Ms: this.percentile(50),
      p90Ms: this.percentile(90),
      p95Ms: this.percentile(95),
      p99Ms: this.percentile(99),
      p999Ms: this.percentile(99.9),
      maxMs: this.count === 0 ? 0 : this.maxMs,
    };
  }

  /** [percentile, ms] points for a percentile-spectrum plot (50, 75, 90, 95, 99, 99.9, 99.99, max). */
  spectrum(): Array<[number, number]> {
    if (this.count === 0) return [];
    const points: Array<[number, number]> = [0, 50, 75, 90, 95, 97.5, 99, 99.5, 99.9, 99.99].map((p) => [p, this.percentile(p)]);
    points.push([100, this.maxMs]);
    return points;
  }

  toJSON(): HistogramData {
    return {
      buckets: [...this.counts],
      count: this.count,
      sumMs: this.sumMs,
      minMs: this.count === 0 ? 0 : this.minMs,
      maxMs: this.maxMs,
    };
  }
}
