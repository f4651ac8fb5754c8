/**
 * The client's address behind reverse proxies (engine/http/clientAddress.ts): the entry the trusted proxy added to
 * X-Forwarded-For, never one the client wrote itself.
 */
import { describe, expect, it } from 'vitest';
import { addressKey, clientIpOf, clientKeyOf } from '../../engine/http/clientAddress.ts';

function request(forwardedFor: string | string[] | undefined, peer = '127.0.0.1') {
  return { headers: { 'x-forwarded-for': forwardedFor }, socket: { remoteAddress: peer } };
}

describe('clientIpOf', () => {
  it('takes the TCP peer and ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(clientIpOf(request('1.2.3.4', '203.0.113.7'), 0)).toBe('203.0.113.7');
  });

  it('behind one proxy takes the rightmost entry (the one the proxy added), not what the client wrote before it', () => {
    // The client sent "X-Forwarded-For: 6.6.6.6, 7.7.7.7"; nginx appended the address it saw.
    expect(clientIpOf(request('6.6.6.6, 7.7.7.7, 203.0.113.7'), 1)).toBe('203.0.113.7');
  });

  it('behind N proxies takes the N-th entry from the right', () => {
    // client -> CDN (adds the client) -> nginx (adds the CDN) -> Knock
    expect(clientIpOf(request('6.6.6.6, 203.0.113.7, 198.51.100.1'), 2)).toBe('203.0.113.7');
  });

  it('reads repeated X-Forwarded-For headers as one list, in order', () => {
    expect(clientIpOf(request(['6.6.6.6', '203.0.113.7']), 1)).toBe('203.0.113.7');
  });

  it('takes the leftmost entry when the header has fewer than the trusted hops, and the peer when it has none', () => {
    expect(clientIpOf(request('203.0.113.7'), 2)).toBe('203.0.113.7');
    expect(clientIpOf(request(undefined, '192.0.2.5'), 1)).toBe('192.0.2.5');
    expect(clientIpOf(request('', '192.0.2.5'), 1)).toBe('192.0.2.5');
  });

  it('falls back to the peer when the trusted entry is not an address', () => {
    expect(clientIpOf(request('1.1.1.1, not-an-ip', '192.0.2.5'), 1)).toBe('192.0.2.5');
  });

  it('drops ports, brackets and the IPv4-mapped IPv6 prefix', () => {
    expect(clientIpOf(request('203.0.113.7:51234'), 1)).toBe('203.0.113.7');
    expect(clientIpOf(request('[2001:DB8::1]:443'), 1)).toBe('2001:db8::1');
    expect(clientIpOf(request(undefined, '::ffff:203.0.113.7'), 0)).toBe('203.0.113.7');
  });
});

describe('addressKey', () => {
  it('counts IPv4 clients by their address and IPv6 clients by their /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKeyOf(request('2001:db8:1:2::99'), 1)).toBe('2001:db8:1:2::/64');
  });
});
