import { describe, expect, it } from 'vitest';
import { pack } from '@colyseus/msgpackr';
import { containsReplacementChar, hasMalformedText } from '../../rooms/malformedText.ts';

describe('malformed text in socket messages', () => {
  it('accepts well-formed strings of every msgpack string size, including a real U+FFFD', () => {
    for (const body of ['ok', 'x'.repeat(40), 'y'.repeat(300), 'z'.repeat(70_000), 'a real \uFFFD and 😀']) {
      expect(hasMalformedText(pack({ clientMsgId: 'abcdefgh', body, n: 12345, ok: true, list: [1.5, null] }), 0)).toBe(false);
    }
  });

  it('finds a string whose bytes are a UTF-8-encoded lone surrogate', () => {
    // fixmap(1) "b" -> fixstr(3) ED A0 BD: how a naive encoder writes "\uD83D".
    const bytes = Uint8Array.from([0x81, 0xa1, 0x62, 0xa3, 0xed, 0xa0, 0xbd]);
    expect(hasMalformedText(bytes, 0)).toBe(true);
  });

  it('treats truncated input as malformed', () => {
    expect(hasMalformedText(Uint8Array.from([0x81, 0xa1, 0x62, 0xa9, 0x61]), 0)).toBe(true);
  });

  it('looks for U+FFFD in nested values only as deep as messages go', () => {
    expect(containsReplacementChar({ a: ['x', { b: 'bad \uFFFD' }] })).toBe(true);
    expect(containsReplacementChar({ a: ['x', { b: 'fine' }], n: 1 })).toBe(false);
  });
});
