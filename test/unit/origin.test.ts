/** The Origin rule shared by the HTTP API, matchmaking and the WebSocket handshake (engine/http/origin.ts). */
import { describe, expect, it } from 'vitest';
import { originChecker } from '../../engine/http/origin.ts';

describe('originChecker', () => {
  const sameHost = originChecker(undefined);

  it('allows requests without an Origin (non-browser clients)', () => {
    expect(sameHost(undefined, 'chat.example.com')).toBe(true);
    expect(sameHost(undefined, undefined)).toBe(true);
  });

  it('allows pages of the server\u2019s own host, over http or https', () => {
    expect(sameHost('http://chat.example.com', 'chat.example.com')).toBe(true);
    expect(sameHost('https://chat.example.com', 'chat.example.com')).toBe(true);
    expect(sameHost('http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(true);
  });

  it('refuses other sites, other ports, the opaque "null" origin, and any origin without a Host', () => {
    expect(sameHost('http://evil.example', 'chat.example.com')).toBe(false);
    expect(sameHost('http://chat.example.com.evil.example', 'chat.example.com')).toBe(false);
    expect(sameHost('http://127.0.0.1:9999', '127.0.0.1:8080')).toBe(false);
    expect(sameHost('null', 'chat.example.com')).toBe(false);
    expect(sameHost('http://chat.example.com', undefined)).toBe(false);
  });

  it('allows the configured public URL behind a proxy that rewrites the Host', () => {
    const behindProxy = originChecker('https://chat.example.com/some/path');
    expect(behindProxy('https://chat.example.com', '127.0.0.1:8080')).toBe(true);
    expect(behindProxy('http://chat.example.com', '127.0.0.1:8080')).toBe(false);
    expect(behindProxy('https://evil.example', '127.0.0.1:8080')).toBe(false);
  });

  it('with a public URL, refuses a page whose Origin merely equals the Host (DNS rebinding), and the server\u2019s own address', () => {
    const behindProxy = originChecker('https://chat.example.com');
    expect(behindProxy('http://rebound.example:8080', 'rebound.example:8080')).toBe(false);
    expect(behindProxy('http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(false);
    expect(behindProxy('https://chat.example.com', 'chat.example.com')).toBe(true);
  });

  it('accepts a page of an owner\u2019s active domain asking its own host, and nothing else by that rule', () => {
    const active = new Set(['alice.example', 'alice.example:8443']);
    const checker = originChecker('https://chat.example.com', () => false, (host) => active.has(host));
    expect(checker('https://alice.example', 'alice.example')).toBe(true);
    expect(checker('https://alice.example:8443', 'alice.example:8443')).toBe(true);
    // Another page asking the domain's host, or the domain's page asking another host, is still refused.
    expect(checker('https://evil.example', 'alice.example')).toBe(false);
    expect(checker('https://alice.example', 'chat.example.com')).toBe(false);
    // A host that is no active domain (pending, or an attacker's rebinding name) gains nothing.
    expect(checker('http://rebound.example', 'rebound.example')).toBe(false);
  });
});
