/**
 * Hands inbound texts to the engine's handlers: one sender's texts in the order they came (a reply in two messages
 * stays in order even when the handler is slow), senders independent of each other, at most `perWindow` texts per
 * sender per `windowMs` (a token bucket: a burst of that many, then one every windowMs/perWindow), the rest dropped
 * with one warning per burst. A handler that throws or rejects is logged; the queue goes on.
 *
 * @example
 *   const queue = new InboundQueue({ perWindow: 30, windowMs: 60_000 }, systemClock, logger);
 *   queue.onText(async (text) => engine.textCameIn(text));
 *   queue.push(inboundText);
 */
import type { Logger } from '../../../engine/logger.ts';
import type { InboundText } from '../../../engine/ports/channel.ts';
import type { Clock } from '../../../engine/ports/clock.ts';
import { KeyedRateLimiter } from '../../../engine/rateLimit.ts';

export type TextHandler = (text: InboundText) => Promise<void>;

export class InboundQueue {
  private readonly handlers: TextHandler[] = [];
  private readonly limiter: KeyedRateLimiter;
  /** The end of each sender's chain of handler calls, while one runs. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Texts dropped per sender since its last accepted one. */
  private readonly dropped = new Map<string, number>();

  constructor(
    limit: { perWindow: number; windowMs: number },
    clock: Clock,
    private readonly logger: Pick<Logger, 'warn' | 'error' | 'info'>,
  ) {
    this.limiter = new KeyedRateLimiter(limit, clock);
  }

  onText(handler: TextHandler): void {
    this.handlers.push(handler);
  }

  /** Queues `text` for the handlers, or drops it when its sender is over the limit. Returns whether it was taken. */
  push(text: InboundText): boolean {
    if (!this.limiter.take(text.from).ok) {
      const count = (this.dropped.get(text.from) ?? 0) + 1;
      this.dropped.set(text.from, count);
      if (count === 1) this.logger.warn({ from: text.from }, 'xmpp: a sender writes too fast; its texts are dropped until it slows down');
      return false;
    }
    const dropped = this.dropped.get(text.from);
    if (dropped !== undefined) {
      this.dropped.delete(text.from);
      this.logger.info({ from: text.from, dropped }, 'xmpp: a sender slowed down; texts of it were dropped');
    }
    const previous = this.chains.get(text.from) ?? Promise.resolve();
    const next = previous.then(() => this.deliver(text));
    this.chains.set(text.from, next);
    void next.then(() => {
      if (this.chains.get(text.from) === next) this.chains.delete(text.from);
    });
    return true;
  }

  /** Resolves once every text queued so far has been handled. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all(this.chains.values());
  }

  private async deliver(text: InboundText): Promise<void> {
    for (const handler of this.handlers) {
      try {
        await handler(text);
      } catch (err) {
        this.logger.error({ err, from: text.from, externalId: text.externalId }, 'xmpp: the handler of an inbound text failed');
      }
    }
  }
}
