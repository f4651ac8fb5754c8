/**
 * Records kept `retentionDays`, then deleted: monitored visitors' page views (KNOCK_PAGEVIEW_RETENTION_DAYS, 30 by
 * default; issue 19, "Privacy") and the accounts' audit logs (KNOCK_AUDIT_RETENTION_DAYS; issue 22). Purged once when
 * the process starts (it may have been down when they fell due), then every `intervalMs`. Every process of a cluster
 * purges; the deletes are idempotent, so that costs only a query.
 *
 * @example
 *   const retention = new Retention({ what: 'page views', purge: (before) => storage.purgePageViews(before), clock, logger, retentionDays: 30 });
 *   retention.start();
 *   await retention.purge(Date.parse('2027-01-01')); // deletes views started before 2 December 2026
 *   await retention.close();
 */
import type { Logger } from './logger.ts';
import type { Clock } from './ports/clock.ts';

const DAY_MS = 24 * 3600_000;
/** Hourly: a record is never kept more than an hour past its time. */
const DEFAULT_INTERVAL_MS = 3600_000;

export interface RetentionOptions {
  /** What is purged, in words, for the log ("page views"). */
  what: string;
  /** Deletes the records older than `before`; resolves with how many. */
  purge: (before: number) => Promise<number>;
  clock: Clock;
  logger: Pick<Logger, 'error' | 'info'>;
  retentionDays: number;
  intervalMs?: number;
}

export class Retention {
  private timer: NodeJS.Timeout | null = null;
  /** The purges under way, so close() can wait for them before storage closes. */
  private running: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: RetentionOptions) {}

  /** Purges now, then every interval, until close(). Idempotent. */
  start(): void {
    if (this.closed || this.timer !== null) return;
    this.timer = setInterval(() => this.purgeInBackground(), this.options.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
    this.purgeInBackground();
  }

  /** Deletes the records more than `retentionDays` older than `now`; resolves with how many. */
  purge(now: number = this.options.clock.now()): Promise<number> {
    const done = this.options.purge(now - this.options.retentionDays * DAY_MS);
    this.running = Promise.all([this.running, done.catch(() => undefined)]);
    return done;
  }

  /** Stops the timer and waits for a purge under way. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private purgeInBackground(): void {
    this.purge().then(
      (deleted) => {
        if (deleted > 0) this.options.logger.info({ deleted, retentionDays: this.options.retentionDays }, `deleted old ${this.options.what}`);
      },
      (err: unknown) => this.options.logger.error({ err }, `could not delete old ${this.options.what}`),
    );
  }
}
