/** Links in message text (client/src/linkify.ts): only http(s) becomes a link, and text never becomes markup. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linkify, type TextPart } from '../../client/src/linkify.ts';

const text = (t: string): TextPart => ({ kind: 'text', text: t });
const link = (t: string, href = t): TextPart => ({ kind: 'link', text: t, href });

describe('linkify', () => {
  it('leaves sentence punctuation out of a link, as its example says', () => {
    expect(linkify('see https://example.com/a.')).toEqual([text('see '), link('https://example.com/a'), text('.')]);
  });

  it('returns text without links as one text part, and nothing for an empty string', () => {
    expect(linkify('hello, world')).toEqual([text('hello, world')]);
    expect(linkify('')).toEqual([]);
  });

  it('links several URLs, http and https, in upper or lower case, with a normalized href', () => {
    expect(linkify('HTTPS://Example.COM and http://b.org/x?y=1#z')).toEqual([
      link('HTTPS://Example.COM', 'https://example.com/'),
      text(' and '),
      link('http://b.org/x?y=1#z'),
    ]);
  });

  it.each([
    'javascript:alert(1)',
    'JaVaScRiPt://%0aalert(1)',
    'data:text/html,<script>alert(1)</script>',
    'ftp://files.example.com/a',
    'mailto:someone@example.com',
    'https://',
    'vbscript:msgbox',
  ])('does not make a link of %s', (input) => {
    expect(linkify(input)).toEqual([text(input)]);
  });

  it('keeps markup as plain text and ends a link where markup starts', () => {
    const parts = linkify('<b>hi</b> https://x.org/<img src=x onerror=alert(1)>');
    expect(parts).toEqual([text('<b>hi</b> '), link('https://x.org/'), text('<img src=x onerror=alert(1)>')]);
  });

  it('ends a link at a quote, so an href can never break out of an attribute', () => {
    expect(linkify('"https://a.org/x"onmouseover="alert(1)"')).toEqual([
      text('"'), link('https://a.org/x'), text('"onmouseover="alert(1)"'),
    ]);
  });

  it('keeps balanced brackets inside a link and drops an unbalanced closing one', () => {
    expect(linkify('(see https://en.wikipedia.org/wiki/Foo_(bar)).')).toEqual([
      text('(see '), link('https://en.wikipedia.org/wiki/Foo_(bar)'), text(').'),
    ]);
  });

  it('links a URL glued to a word only at a word boundary', () => {
    expect(linkify('xhttps://a.org')).toEqual([text('xhttps://a.org')]);
  });
});

describe('linkify properties', () => {
  const fragments = fc.constantFrom(
    'https://', 'http://', 'HTTP://', 'javascript:', 'example.com', '/path', '?q=1', '#f', '(', ')', '[', ']', '.', ',', '!',
    ' ', '\n', '<', '>', '"', "'", '`', '_', '*', '://', 'é', '😀', '\uD800',
  );
  const messages = fc.array(fc.oneof(fragments, fc.string(), fc.string({ unit: 'binary' })), { maxLength: 12 }).map((a) => a.join(''));

  it('gives back the input text exactly when its parts are joined', () => {
    fc.assert(
      fc.property(messages, (input) => {
        expect(linkify(input).map((p) => p.text).join('')).toBe(input);
      }),
      { numRuns: 2000 },
    );
  });

  it('makes links only to http and https, and never an empty part', () => {
    fc.assert(
      fc.property(messages, (input) => {
        for (const part of linkify(input)) {
          expect(part.text).not.toBe('');
          if (part.kind === 'link') expect(new URL(part.href).protocol).toMatch(/^https?:$/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
