/** Cookie parsing and writing (engine/cookies.ts). */
import { describe, expect, it } from 'vitest';
import { SESSION_COOKIE, parseCookies, serializeCookie, visitorCookieName } from '../../engine/cookies.ts';

describe('parseCookies', () => {
  it('reads every cookie of a header, trimming the spaces around them', () => {
    const cookies = parseCookies(' knock_session=abc ;knock_v_alice=def;theme=dark');
    expect([...cookies]).toEqual([['knock_session', 'abc'], ['knock_v_alice', 'def'], ['theme', 'dark']]);
  });

  it('reads nothing from a missing or empty header', () => {
    expect(parseCookies(undefined).size).toBe(0);
    expect(parseCookies('').size).toBe(0);
  });

  it('decodes percent-encoding and keeps "=" inside a value', () => {
    expect(parseCookies('a=x%3By%20z; b=abc==').get('a')).toBe('x;y z');
    expect(parseCookies('a=x%3By%20z; b=abc==').get('b')).toBe('abc==');
  });

  it('skips broken parts without losing the good ones', () => {
    const cookies = parseCookies('bad=%E0%A4%A;=nameless; novalue; good=1');
    expect([...cookies]).toEqual([['good', '1']]);
  });
});

describe('serializeCookie', () => {
  it('writes an HttpOnly, SameSite=Lax cookie for the whole site', () => {
    const header = serializeCookie(SESSION_COOKIE, 'tok', { maxAgeSeconds: 60, secure: false });
    expect(header).toBe('knock_session=tok; Path=/; Max-Age=60; SameSite=Lax; HttpOnly');
  });

  it('adds Secure on HTTPS deployments and leaves out HttpOnly only when asked', () => {
    expect(serializeCookie('a', 'b', { maxAgeSeconds: 1, secure: true }).split('; ')).toContain('Secure');
    expect(serializeCookie('a', 'b', { maxAgeSeconds: 1, secure: false, httpOnly: false }).split('; ')).not.toContain('HttpOnly');
  });

  it('encodes the value so parseCookies gives it back unchanged', () => {
    const value = 'a;b c=d,é';
    const pair = serializeCookie('x', value, { maxAgeSeconds: 1, secure: false }).split('; ')[0];
    expect(parseCookies(pair).get('x')).toBe(value);
  });

  it('clears a cookie with Max-Age=0', () => {
    expect(serializeCookie(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: false })).toMatch(/^knock_session=; Path=\/; Max-Age=0;/);
  });
});

describe('visitorCookieName', () => {
  it('names one visitor cookie per owner', () => {
    expect(visitorCookieName('alice')).toBe('knock_v_alice');
    expect(visitorCookieName('bob')).not.toBe(visitorCookieName('alice'));
  });
});
