/**
 * The web push channel's VAPID keys (adapters/channels/push/vapid.ts) as the engine keeps them through
 * Storage.serverValue: made once, written as one string, read back, and refused with a clear message when the stored
 * text is damaged; and the notification payload (payload.ts): cut to fit, whole characters, a Topic per conversation.
 */
import { createECDH } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fitted, forwardPayload, MAX_PAYLOAD_BYTES, topicOf } from '../../adapters/channels/push/payload.ts';
import { makeVapidKeys, storedVapidKeys, vapidKeysFromStored } from '../../adapters/channels/push/vapid.ts';

describe('VAPID keys', () => {
  it('are a P-256 pair in base64url: a 65-byte public point and a 32-byte private scalar that belong together', () => {
    const keys = makeVapidKeys();
    const publicKey = Buffer.from(keys.publicKey, 'base64url');
    expect(publicKey).toHaveLength(65);
    expect(publicKey[0]).toBe(0x04);
    expect(Buffer.from(keys.privateKey, 'base64url')).toHaveLength(32);
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(keys.privateKey, 'base64url'));
    expect(ecdh.getPublicKey().toString('base64url')).toBe(keys.publicKey);
    expect(makeVapidKeys().publicKey).not.toBe(keys.publicKey);
  });

  it('survive being stored as one string and read back', () => {
    const keys = makeVapidKeys();
    const stored = storedVapidKeys(keys);
    expect(JSON.parse(stored)).toEqual(keys);
    expect(vapidKeysFromStored(stored)).toEqual(keys);
  });

  it('refuse stored text that is not JSON, not an object, or misses a half', () => {
    expect(() => vapidKeysFromStored('not json')).toThrow('The stored VAPID keys are not JSON');
    expect(() => vapidKeysFromStored('[]')).toThrow(/expected an object \{"publicKey"/);
    expect(() => vapidKeysFromStored(JSON.stringify({ publicKey: makeVapidKeys().publicKey }))).toThrow(/privateKey must be a base64url string/);
  });

  it('refuse halves of the wrong length, a public key off the curve, and halves of two different pairs', () => {
    const keys = makeVapidKeys();
    const read = (changed: Partial<typeof keys>) => () => vapidKeysFromStored(JSON.stringify({ ...keys, ...changed }));
    expect(read({ privateKey: Buffer.alloc(31, 1).toString('base64url') })).toThrow('privateKey must be 32 bytes, base64url.');
    expect(read({ publicKey: keys.publicKey.slice(0, 40) })).toThrow('publicKey must be 65 bytes, base64url.');
    const offCurve = Buffer.from(keys.publicKey, 'base64url');
    offCurve[64] = offCurve[64]! ^ 1;
    expect(read({ publicKey: offCurve.toString('base64url') })).toThrow('publicKey must be an uncompressed P-256 point.');
    expect(read({ privateKey: makeVapidKeys().privateKey })).toThrow('publicKey is not the public half of privateKey.');
    expect(() => storedVapidKeys({ ...keys, privateKey: 'x' })).toThrow(/VAPID keys cannot be used/);
  });
});

describe('push payload', () => {
  const forward = {
    conversationId: 'c_1',
    tag: '1',
    threadId: 'knock-c_1',
    visitorName: 'Ada',
    texts: ['Hello'],
    link: 'https://knock.example.org/_/console/c/c_1',
  };

  it('keeps a short forward whole and cuts a long one under the limit, counting JSON escapes and multi-byte characters', () => {
    expect(forwardPayload(forward).body).toBe('Hello');
    for (const unit of ['a', '"', '\n', 'é', '🚪', '\u0001']) {
      const payload = forwardPayload({ ...forward, texts: [unit.repeat(10_000)] });
      const size = Buffer.byteLength(JSON.stringify(payload));
      expect(size, JSON.stringify(unit)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
      // Close to the limit: no more than one more unit (escaped, at most 6 bytes) would have fitted.
      expect(size, JSON.stringify(unit)).toBeGreaterThan(MAX_PAYLOAD_BYTES - 8);
      expect(payload.body.endsWith('…')).toBe(true);
      expect(Array.from(payload.body.slice(0, -1)).every((c) => c === unit)).toBe(true);
    }
  });

  it('refuses a notification whose title and link alone do not fit', () => {
    const payload = { type: 'knock.forward' as const, title: 't', body: '', url: 'x'.repeat(100), tag: 'c' };
    expect(() => fitted(payload, 'body', 50)).toThrow(/title and link alone/);
  });

  it('names an unnamed visitor, and gives each conversation a 32-character base64url Topic', () => {
    expect(forwardPayload({ ...forward, visitorName: '  ' }).title).toBe('A visitor knocked');
    expect(topicOf('c_1')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(topicOf('c_1')).toBe(topicOf('c_1'));
    expect(topicOf('c_2')).not.toBe(topicOf('c_1'));
  });
});
