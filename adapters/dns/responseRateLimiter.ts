/**
 * Response rate limiting for UDP (as BIND's and Knot's RRL): a DNS server answering forged-source queries would
 * flood the forged address (reflection), and amplify it. Identical responses to one client network (IPv4 /24, IPv6
 * /56) are limited to `responsesPerSecond` (a token bucket with a one-second burst); past it, responses are dropped,
 * except every `slip`-th, which is sent empty and truncated (TC=1): a real resolver behind that network, whose answers
 * were dropped with the attacker's, retries over TCP and is answered there (a forged source cannot do TCP's handshake).
 *
 * @example
 *   const rrl = new ResponseRateLimiter({ responsesPerSecond: 20, slip: 2, clock });
 *   rrl.check('203.0.113.7', 'alice.example/1'); // 'send' | 'drop' | 'slip'
 */
import { isIP } from 'node:net';
import type { Clock } from '../../engine/ports/clock.ts';

export type RrlVerdict = 'send' | 'drop' | 'slip';

export interface ResponseRateLimiterOptions {
  responsesPerSecond: number;
  /** Every slip-th limited response goes out truncated; 0: all are dropped; 1: none is. BIND's default is 2. */
  slip: number;
  clock: Clock;
  /** Buckets kept at most (one per client network and response); beyond it the oldest go. Default 100,000. */
  maxEntries?: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  limited: number;
}

export class ResponseRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private checksSinceSweep = 0;

  constructor(private readonly opts: ResponseRateLimiterOptions) {}

  /** Buckets held now (bounded by maxEntries). */
  get size(): number {
    return this.buckets.size;
  }

  check(clientAddress: string, responseKey: string): RrlVerdict {
    const now = this.opts.clock.now();
    const key = `${networkOf(clientAddress)} ${responseKey}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (++this.checksSinceSweep >= 10_000 || this.buckets.size >= (this.opts.maxEntries ?? 100_000)) this.sweep(now);
      bucket = { tokens: this.opts.responsesPerSecond, updatedAt: now, limited: 0 };
      this.buckets.set(key, bucket);
    }
    this.refill(bucket, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 'send';
    }
    bucket.limited += 1;
    return this.opts.slip > 0 && bucket.limited % this.opts.slip === 0 ? 'slip' : 'drop';
  }

  private refill(bucket: Bucket, now: number): void {
    const rate = this.opts.responsesPerSecond;
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.updatedAt) * rate) / 1000);
    bucket.updatedAt = now;
  }

  private sweep(now: number): void {
    this.checksSinceSweep = 0;
    for (const [key, bucket] of this.buckets) {
      this.refill(bucket, now);
      if (bucket.tokens >= this.opts.responsesPerSecond) this.buckets.delete(key);
    }
    // A flood from many networks at once: nothing is full yet; forget the oldest half rather than grow.
    const max = this.opts.maxEntries ?? 100_000;
    if (this.buckets.size >= max) {
      let drop = Math.floor(this.buckets.size / 2);
      for (const key of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}

/** The network a client counts under: its IPv4 /24 or IPv6 /56 (one site's resolvers, one subscriber's addresses). */
export function networkOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  const kind = isIP(ip);
  if (kind === 4) return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
  if (kind !== 6) return ip;
  const groups = expandIpv6(ip);
  // 56 bits: three groups and the high byte of the fourth.
  return `${groups.slice(0, 3).join(':')}:${(parseInt(groups[3]!, 16) & 0xff00).toString(16)}::/56`;
}

/** The eight groups of an IPv6 address (zone id dropped), lower-case, without leading zeros. */
function expandIpv6(ip: string): string[] {
  const text = ip.toLowerCase().replace(/%.*$/, '');
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const tailIsV4 = right.length > 0 && right[right.length - 1]!.includes('.');
  if (tailIsV4) {
    const v4 = right.pop()!.split('.').map(Number);
    right.push(((v4[0]! << 8) | v4[1]!).toString(16), ((v4[2]! << 8) | v4[3]!).toString(16));
  }
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((group) => parseInt(group, 16).toString(16));
}
