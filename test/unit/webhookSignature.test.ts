/**
 * The webhook signature scheme (adapters/channels/webhook/signature.ts) and the reply a bot posts back (reply.ts):
 * what a receiver accepts and what it refuses, with the clock passed in.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReply, ReplyParseError } from '../../adapters/channels/webhook/reply.ts';
import {
  computeSignature,
  generateWebhookSecret,
  isWebhookSecret,
  signatureHeaders,
  verifySignature,
} from '../../adapters/channels/webhook/signature.ts';
import { forwardPayload, replyPayload, verifyPayload } from '../../adapters/channels/webhook/wireFormat.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const secret = generateWebhookSecret();
const body = JSON.stringify({ type: 'knock.forward', texts: ['hello'] });

function signed(overrides: { secrets?: string[]; atMs?: number; id?: string } = {}) {
  return signatureHeaders(overrides.secrets ?? [secret], { id: overrides.id ?? 'msg_1', timestampMs: overrides.atMs ?? NOW, body });
}

describe('webhook signatures', () => {
  it('makes whsec_ secrets of 32 random bytes, different each time', () => {
    const other = generateWebhookSecret();
    expect(isWebhookSecret(secret)).toBe(true);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64url')).toHaveLength(32);
    expect(other).not.toBe(secret);
  });

  it('accepts a call it signed, within the tolerance, and says its id and timestamp', () => {
    expect(verifySignature(secret, signed(), body, NOW + 60_000)).toEqual({ ok: true, id: 'msg_1', timestamp: NOW / 1000 });
  });

  it('signs HMAC-SHA256 over "<id>.<timestamp>.<body>" with the secret string as key, in hex', async () => {
    const { createHmac } = await import('node:crypto');
    const expected = createHmac('sha256', secret).update(`msg_1.${NOW / 1000}.${body}`).digest('hex');
    expect(signed()['Knock-Signature']).toBe(`v1=${expected}`);
    expect(computeSignature(secret, 'msg_1', NOW / 1000, Buffer.from(body))).toBe(expected);
  });

  it('reads Node-style lowercased headers and fetch Headers alike', () => {
    const lower = Object.fromEntries(Object.entries(signed()).map(([k, v]) => [k.toLowerCase(), v]));
    expect(verifySignature(secret, lower, body, NOW).ok).toBe(true);
    expect(verifySignature(secret, new Headers(signed()), Buffer.from(body), NOW).ok).toBe(true);
  });

  it('refuses a forged signature (made with another secret)', () => {
    const forged = signed({ secrets: [generateWebhookSecret()] });
    expect(verifySignature(secret, forged, body, NOW)).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });

  it('refuses a body changed after signing', () => {
    const tampered = body.replace('hello', 'hellO');
    expect(verifySignature(secret, signed(), tampered, NOW)).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });

  it('refuses an id or timestamp changed after signing', () => {
    expect(verifySignature(secret, { ...signed(), 'Knock-Webhook-Id': 'msg_2' }, body, NOW)).toMatchObject({ ok: false, reason: 'signature_mismatch' });
    expect(verifySignature(secret, { ...signed(), 'Knock-Webhook-Timestamp': String(NOW / 1000 + 1) }, body, NOW)).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });

  it('refuses a replay: a correctly signed call older than the tolerance', () => {
    const old = signed({ atMs: NOW - 5 * 60_000 - 1000 });
    expect(verifySignature(secret, old, body, NOW)).toMatchObject({ ok: false, reason: 'timestamp_out_of_tolerance' });
    expect(verifySignature(secret, old, body, NOW, 10 * 60_000).ok).toBe(true);
  });

  it('refuses a timestamp further in the future than the tolerance', () => {
    expect(verifySignature(secret, signed({ atMs: NOW + 6 * 60_000 }), body, NOW)).toMatchObject({ ok: false, reason: 'timestamp_out_of_tolerance' });
    expect(verifySignature(secret, signed({ atMs: NOW + 4 * 60_000 }), body, NOW).ok).toBe(true);
  });

  it('supports rotation: a call signed with the new and old secrets passes with either, and a receiver may hold both', () => {
    const next = generateWebhookSecret();
    const both = signed({ secrets: [next, secret] });
    expect(both['Knock-Signature']).toMatch(/^v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(verifySignature(secret, both, body, NOW).ok).toBe(true);
    expect(verifySignature(next, both, body, NOW).ok).toBe(true);
    expect(verifySignature([next, secret], signed(), body, NOW).ok).toBe(true);
    expect(verifySignature(generateWebhookSecret(), both, body, NOW).ok).toBe(false);
  });

  it('ignores signatures of other schemes beside v1', () => {
    const headers = signed();
    expect(verifySignature(secret, { ...headers, 'Knock-Signature': `v2=abc, ${headers['Knock-Signature']}` }, body, NOW).ok).toBe(true);
  });

  it('refuses missing and malformed headers, saying which', () => {
    const headers = signed();
    const { 'Knock-Signature': _signature, ...unsigned } = headers;
    expect(verifySignature(secret, unsigned, body, NOW)).toMatchObject({ ok: false, reason: 'missing_header', message: expect.stringContaining('Knock-Signature') });
    expect(verifySignature(secret, {}, body, NOW)).toMatchObject({ ok: false, reason: 'missing_header' });
    const malformed: Record<string, string>[] = [
      { ...headers, 'Knock-Webhook-Timestamp': '1.7e9' },
      { ...headers, 'Knock-Webhook-Timestamp': '-5' },
      { ...headers, 'Knock-Webhook-Timestamp': '' },
      { ...headers, 'Knock-Webhook-Id': 'a.b' },
      { ...headers, 'Knock-Webhook-Id': '' },
      { ...headers, 'Knock-Signature': 'v1=zz' },
      { ...headers, 'Knock-Signature': `v1=${'A'.repeat(64)}` },
      { ...headers, 'Knock-Signature': 'sha256=abc' },
      { ...headers, 'Knock-Signature': '' },
    ];
    for (const bad of malformed) expect(verifySignature(secret, bad, body, NOW), JSON.stringify(bad)).toMatchObject({ ok: false, reason: 'malformed_header' });
  });

  it('refuses a header sent twice rather than picking one', () => {
    const headers = signed();
    const twice = { ...headers, 'knock-signature': [headers['Knock-Signature'], headers['Knock-Signature']] } as Record<string, string | string[]>;
    delete twice['Knock-Signature'];
    expect(verifySignature(secret, twice, body, NOW).ok).toBe(false);
  });
});

describe('webhook replies', () => {
  it('reads a reply naming its conversation as a ChannelReply with externalId webhook:<id>', () => {
    const reply = parseReply('ch1', Buffer.from(JSON.stringify({ conversationId: 'c42', text: 'On my way', id: 'slack-1712.0001' })));
    expect(reply).toEqual({ channelId: 'ch1', conversationId: 'c42', tag: null, text: 'On my way', externalId: 'webhook:slack-1712.0001' });
  });

  it('reads a reply by tag, and one naming neither (the last conversation forwarded)', () => {
    expect(parseReply('ch1', '{"tag":"#3","text":"yes","id":"m2"}')).toMatchObject({ conversationId: null, tag: '#3' });
    expect(parseReply('ch1', '{"text":"yes","id":"m3"}')).toMatchObject({ conversationId: null, tag: null });
  });

  it('refuses bad replies with a message saying what to fix', () => {
    const cases: [string, RegExp][] = [
      ['not json', /not JSON/],
      ['[]', /JSON object/],
      ['"text"', /JSON object/],
      ['{"id":"m1"}', /text is required/],
      ['{"text":"hi"}', /id is required/],
      ['{"text":"","id":"m1"}', /text must not be empty/],
      [JSON.stringify({ text: 'x'.repeat(16_001), id: 'm1' }), /text is at most 16000 characters/],
      [JSON.stringify({ text: 'hi', id: 'x'.repeat(201) }), /id is at most 200 characters/],
      ['{"text":"hi","id":""}', /id must not be empty/],
      ['{"text":5,"id":"m1"}', /text/],
      ['{"text":"hi","id":"m1","conversationId":7}', /conversationId/],
      ['{"text":"hi","id":"m1","channel":"x"}', /Unknown field.*"channel"/],
    ];
    for (const [input, message] of cases) {
      expect(() => parseReply('ch1', input), input.slice(0, 40)).toThrow(ReplyParseError);
      expect(() => parseReply('ch1', input), input.slice(0, 40)).toThrow(message);
    }
  });

  it('keeps a reply of exactly 16000 characters', () => {
    expect(parseReply('ch1', JSON.stringify({ text: 'x'.repeat(16_000), id: 'm1' })).text).toHaveLength(16_000);
  });
});

describe('the saved samples', () => {
  const sample = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../adapters/channels/webhook/samples/${name}`, import.meta.url), 'utf8'));

  it('match the wire format the code speaks', () => {
    expect(forwardPayload.parse(sample('forward.json'))).toBeTruthy();
    expect(verifyPayload.parse(sample('verify.json'))).toBeTruthy();
    expect(replyPayload.parse(sample('reply.json'))).toBeTruthy();
  });
});
