/** How a typed domain becomes the one form Knock keeps (engine/domains.ts normalizeDomain), and what is no domain. */
import { describe, expect, it } from 'vitest';
import { normalizeDomain } from '../../engine/domains.ts';

describe('normalizeDomain', () => {
  it('keeps one spelling: lower case, no root dot, the host of a pasted URL, xn-- for internationalized names', () => {
    expect(normalizeDomain('Alice.Example.')).toBe('alice.example');
    expect(normalizeDomain('  chat.ACME.example  ')).toBe('chat.acme.example');
    expect(normalizeDomain('https://Chat.Acme.Example/alice?x=1')).toBe('chat.acme.example');
    expect(normalizeDomain('bücher.example')).toBe('xn--bcher-kva.example');
  });

  it('refuses what is no domain of two labels or more', () => {
    for (const typed of ['', '.', 'localhost', 'example', '1.2.3.4', 'a..example', '-a.example', 'a-.example', 'a_b.example', `${'x'.repeat(64)}.example`, `${'a.'.repeat(127)}example`, 'alice example', 'ftp://x.example', '[::1]']) {
      expect(normalizeDomain(typed), typed).toBeNull();
    }
  });
});
