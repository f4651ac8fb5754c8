/**
 * Response rate limiting of Knock's DNS server (adapters/dns/responseRateLimiter.ts), on an injected clock: identical
 * responses to one client network are limited per second, every second limited one slips out truncated, networks and
 * responses count apart, and the table stays bounded under a flood from many networks.
 */
import { describe, expect, it } from 'vitest';
import { networkOf, ResponseRateLimiter, type RrlVerdict } from '../../adapters/dns/responseRateLimiter.ts';

function limiter(responsesPerSecond = 5, slip = 2, maxEntries?: number) {
  const clock = { t: 1_000_000, now() { return this.t; } };
  return { clock, rrl: new ResponseRateLimiter({ responsesPerSecond, slip, clock, ...(maxEntries ? { maxEntries } : {}) }) };
}

const run = (rrl: ResponseRateLimiter, n: number, address = '198.51.100.7', key = 'alice.example/1'): RrlVerdict[] =>
  Array.from({ length: n }, () => rrl.check(address, key));

describe('response rate limiting', () => {
  it('sends N per second to one network, then drops, slipping every second limited response as truncated', () => {
    const { rrl } = limiter(5, 2);
    expect(run(rrl, 11)).toEqual(['send', 'send', 'send', 'send', 'send', 'drop', 'slip', 'drop', 'slip', 'drop', 'slip']);
  });

  it('refills over time: after a second the network gets its N again', () => {
    const { rrl, clock } = limiter(5, 2);
    run(rrl, 20);
    clock.t += 200;
    expect(run(rrl, 2)).toEqual(['send', expect.stringMatching(/drop|slip/)]);
    clock.t += 1000;
    expect(run(rrl, 6)).toEqual(['send', 'send', 'send', 'send', 'send', expect.stringMatching(/drop|slip/)]);
  });

  it('slip 0 drops every limited response; slip 1 sends every one truncated', () => {
    expect(run(limiter(1, 0).rrl, 4)).toEqual(['send', 'drop', 'drop', 'drop']);
    expect(run(limiter(1, 1).rrl, 4)).toEqual(['send', 'slip', 'slip', 'slip']);
  });

  it('counts a /24 (IPv4) and a /56 (IPv6) as one client, other networks and other responses apart', () => {
    const { rrl } = limiter(2, 0);
    run(rrl, 2, '198.51.100.7');
    expect(rrl.check('198.51.100.200', 'alice.example/1')).toBe('drop');
    expect(rrl.check('::ffff:198.51.100.9', 'alice.example/1')).toBe('drop');
    expect(rrl.check('198.51.101.7', 'alice.example/1')).toBe('send');
    expect(rrl.check('198.51.100.7', 'alice.example/16')).toBe('send');
    run(rrl, 2, '2001:db8:1:2200::1');
    expect(rrl.check('2001:db8:1:22ff:ffff::9', 'alice.example/1')).toBe('drop');
    expect(rrl.check('2001:db8:1:2300::1', 'alice.example/1')).toBe('send');
  });

  it('names networks by their prefix', () => {
    expect(networkOf('203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:abcd:12ff::1')).toBe('2001:db8:abcd:1200::/56');
    expect(networkOf('::1')).toBe('0:0:0:0::/56');
  });

  it('stays bounded under a flood from many networks', () => {
    const { rrl } = limiter(5, 2, 1000);
    for (let i = 0; i < 50_000; i++) rrl.check(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `n${i}.alice.example/1`);
    expect(rrl.size).toBeLessThanOrEqual(1000);
  });
});
