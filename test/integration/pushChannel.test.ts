/**
 * The web push channel (adapters/channels/push/) against a loopback push service on 127.0.0.1 (test/support/
 * pushService.ts) that checks each request as FCM or Mozilla's autopush would (VAPID JWT signature and claims,
 * aes128gcm, TTL) and decrypts it with the keys of a browser-like subscription the test made: what the device gets,
 * how each answer is classified for the outbox (sent, temporary, permanent, gone), that a long forward is cut to fit,
 * that endpoints inside Knock's network are refused before any connection (SSRF), and what parseSubscription refuses.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Resolve } from '../../adapters/channels/webhook/addressPolicy.ts';
import { MAX_PAYLOAD_BYTES, pushPayload, topicOf } from '../../adapters/channels/push/payload.ts';
import { MAX_ENDPOINT_LENGTH, parseSubscription, storedSubscription, subscriptionOf } from '../../adapters/channels/push/subscription.ts';
import { makeVapidKeys } from '../../adapters/channels/push/vapid.ts';
import { WebPushChannel, type WebPushChannelOptions } from '../../adapters/channels/push/webPushChannel.ts';
import { createLogger } from '../../engine/logger.ts';
import type { ForwardMessage, OwnerChannel } from '../../engine/ports/channel.ts';
import { checkVapid, makeBrowserSubscription, startPushService, type BrowserSubscriptionJson, type PushService } from '../support/pushService.ts';

const logger = createLogger(process.env.KNOCK_TEST_LOG ?? 'silent');
const vapid = makeVapidKeys();
const subject = 'mailto:admin@knock.example.org';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function pushService(): Promise<PushService> {
  const service = await startPushService();
  cleanups.push(service.close);
  return service;
}

/** The channel as the tests run it: http and loopback allowed, so the loopback push service can be reached. */
function pushChannel(options: Partial<WebPushChannelOptions> = {}): WebPushChannel {
  const channel = new WebPushChannel({ vapid: { ...vapid, subject }, logger, allowHttp: true, allowPrivateNetworks: true, ...options });
  cleanups.push(() => channel.close());
  return channel;
}

/** The owner channel the engine stores for a subscription (subscription.ts's stored form). */
function ownerChannel(subscription: BrowserSubscriptionJson): OwnerChannel {
  return { id: 'ch_push1', accountId: 'acc1', kind: 'push', verified: true, position: 0, delayMs: 0, ...storedSubscription(subscription) };
}

const forward: ForwardMessage = {
  conversationId: 'c_8f3k2m',
  tag: '3',
  threadId: 'knock-c_8f3k2m',
  visitorName: 'Ada',
  texts: ['Hi! Are you around?', 'I have a question about the flat.'],
  link: 'https://knock.example.org/_/console/c/c_8f3k2m',
};

describe('web push forwards', () => {
  it('delivers the forward, decrypted by the browser keys, with its title, texts, link and tag, Urgency high, a Topic and a TTL', async () => {
    const service = await pushService();
    const browser = service.subscribe({ applicationServerKey: vapid.publicKey });
    const sent = await pushChannel().send(ownerChannel(browser.subscription), forward);
    expect(service.refused).toEqual([]);
    const [message] = service.delivered;
    expect(pushPayload.parse(message?.json)).toEqual({
      type: 'knock.forward',
      title: 'Ada knocked',
      body: 'Hi! Are you around?\nI have a question about the flat.',
      url: 'https://knock.example.org/_/console/c/c_8f3k2m',
      tag: 'c_8f3k2m',
    });
    expect(message?.headers).toMatchObject({ 'content-encoding': 'aes128gcm', urgency: 'high', ttl: '86400', topic: topicOf('c_8f3k2m') });
    expect(message?.headers.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // The VAPID claims the service checked: its own origin, Knock's contact, an expiry within a day.
    const nowSeconds = Date.now() / 1000;
    expect(message?.claims).toMatchObject({ aud: service.origin, sub: subject });
    expect(message!.claims.exp).toBeGreaterThan(nowSeconds);
    expect(message!.claims.exp).toBeLessThanOrEqual(nowSeconds + 24 * 3600);
    expect(message?.headers.authorization).toContain(`k=${vapid.publicKey}`);
    expect(sent.externalId).toMatch(new RegExp(`^${service.origin}/message/`));
    if (process.env.KNOCK_WRITE_PUSH_SAMPLES === '1') writeSamples(message!.plaintext, message!.headers);
  });

  it('gives each conversation its own Topic, so a newer forward replaces the one still waiting for an offline device', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe({ applicationServerKey: vapid.publicKey });
    const channel = pushChannel();
    service.setOnline(subscription.endpoint, false);
    await channel.send(ownerChannel(subscription), { ...forward, texts: ['Hi! Are you around?'] });
    await channel.send(ownerChannel(subscription), { ...forward, conversationId: 'c_other', link: 'https://knock.example.org/_/console/c/c_other', visitorName: 'Bob' });
    await channel.send(ownerChannel(subscription), { ...forward, texts: ['Hi! Are you around?', 'Hello?'] });
    expect(service.waiting(subscription.endpoint).map((m) => pushPayload.parse(m.json).body)).toEqual([
      'Hi! Are you around?\nI have a question about the flat.',
      'Hi! Are you around?\nHello?',
    ]);
    service.setOnline(subscription.endpoint, true);
    expect(service.delivered.map((m) => pushPayload.parse(m.json).title)).toEqual(['Bob knocked', 'Ada knocked']);
  });

  it('is refused (403, permanent) by a subscription made with another server key', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe({ applicationServerKey: vapid.publicKey });
    const other = pushChannel({ vapid: { ...makeVapidKeys(), subject } });
    await expect(other.send(ownerChannel(subscription), forward)).rejects.toMatchObject({
      name: 'PushSendError',
      permanent: true,
      status: 403,
      message: expect.stringContaining('VAPID'),
    });
    expect(service.delivered).toEqual([]);
  });

  it('has the push service refuse a forged or altered VAPID token', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    await pushChannel().send(ownerChannel(subscription), forward);
    const authorization = service.delivered[0]!.headers.authorization!;
    expect(checkVapid(authorization, service.origin, null)).toMatchObject({ claims: { aud: service.origin } });
    // The same token presented with another key: the signature does not verify with it.
    const forged = authorization.replace(/k=[A-Za-z0-9_-]+/, `k=${makeVapidKeys().publicKey}`);
    expect(checkVapid(forged, service.origin, null)).toMatchObject({ refused: 403, reason: expect.stringContaining('signature') });
    // Claims changed after signing (another audience): the signature no longer covers them.
    const token = /t=([^,\s]+)/.exec(authorization)![1]!;
    const [head, claims, signature] = token.split('.');
    const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(claims!, 'base64url').toString()), aud: 'https://evil.example' })).toString('base64url');
    expect(checkVapid(authorization.replace(token, `${head}.${altered}.${signature}`), service.origin, null)).toMatchObject({ refused: 403 });
    // The token sent to another push service's origin is not valid there.
    expect(checkVapid(authorization, 'https://fcm.googleapis.com', null)).toMatchObject({ refused: 403, reason: expect.stringContaining('aud') });
    expect(checkVapid(undefined, service.origin, null)).toMatchObject({ refused: 401 });
  });

  it('refuses at start a VAPID pair whose halves do not belong together, or a subject that is not mailto: or https:', () => {
    const mismatched = { publicKey: vapid.publicKey, privateKey: makeVapidKeys().privateKey };
    expect(() => new WebPushChannel({ vapid: { ...mismatched, subject }, logger })).toThrow(/not the public half/);
    expect(() => new WebPushChannel({ vapid: { ...vapid, subject: 'admin@knock.example.org' }, logger })).toThrow(/mailto/);
    expect(() => new WebPushChannel({ vapid: { ...vapid, subject: 'http://knock.example.org' }, logger })).toThrow(/mailto/);
  });

  it('reports a subscription the push service says is gone (410, 404) as permanent: the device unsubscribed', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    service.answer(subscription.endpoint, { status: 410, body: 'push subscription has unsubscribed or expired.' });
    const channel = pushChannel();
    await expect(channel.send(ownerChannel(subscription), forward)).rejects.toMatchObject({
      permanent: true,
      gone: true,
      status: 410,
      message: expect.stringContaining('unsubscribed'),
    });
    const unknown = { ...subscription, endpoint: `${service.origin}/push/never-issued` };
    await expect(channel.send(ownerChannel(unknown), forward)).rejects.toMatchObject({ permanent: true, gone: true, status: 404 });
  });

  it('treats 429 (passing on Retry-After) and 500 as temporary, and sends once the service recovers', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    const channel = pushChannel();
    const owner = ownerChannel(subscription);
    service.answer(subscription.endpoint, { status: 429, retryAfter: '30' });
    await expect(channel.send(owner, forward)).rejects.toMatchObject({ permanent: false, gone: false, status: 429, retryAfterMs: 30_000 });
    service.answer(subscription.endpoint, { status: 500, body: 'backend unavailable' });
    await expect(channel.send(owner, forward)).rejects.toMatchObject({ permanent: false, status: 500, retryAfterMs: null, message: expect.stringContaining('backend unavailable') });
    service.answer(subscription.endpoint, null);
    await expect(channel.send(owner, forward)).resolves.toMatchObject({ externalId: expect.any(String) });
    expect(service.delivered).toHaveLength(1);
  });

  it('treats 400 and 413 as permanent', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    const channel = pushChannel();
    for (const status of [400, 413]) {
      service.answer(subscription.endpoint, { status });
      await expect(channel.send(ownerChannel(subscription), forward)).rejects.toMatchObject({ permanent: true, gone: false, status });
    }
  });

  it('cuts a long forward to fit, whole characters, ending in an ellipsis', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    const texts = Array.from({ length: 10 }, (_, i) => `Message ${i}: ${'ünïcödé 🚪 "quoted" \\ '.repeat(60)}`);
    await pushChannel().send(ownerChannel(subscription), { ...forward, visitorName: 'N'.repeat(500), texts });
    expect(service.refused).toEqual([]);
    const [message] = service.delivered;
    expect(Buffer.byteLength(message!.plaintext)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    const payload = pushPayload.parse(message?.json);
    expect(payload.body.startsWith(`Message 0: ünïcödé 🚪`)).toBe(true);
    expect(payload.body.endsWith('…')).toBe(true);
    expect(payload.body.length).toBeGreaterThan(1000);
    expect(Buffer.from(payload.body, 'utf8').toString('utf8')).toBe(payload.body); // no half of a surrogate pair
    expect(payload.title.length).toBeLessThan(80);
    expect(payload.url).toBe(forward.link);
  });

  it('pushes a test notification for sendCode, which a push subscription needs no code for', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    expect(await pushChannel({ serviceName: 'knock.example.org' }).sendCode(ownerChannel(subscription), '482913')).toEqual({ echoed: false });
    const payload = pushPayload.parse(service.delivered[0]?.json);
    expect(payload).toMatchObject({ type: 'knock.test', title: 'Notifications are on for knock.example.org', url: null });
    expect(service.delivered[0]?.plaintext).not.toContain('482913');
  });

  it('gives up on a push service that does not answer within the timeout, as a temporary failure', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    service.answer(subscription.endpoint, 'hang');
    await expect(pushChannel({ timeoutMs: 300 }).send(ownerChannel(subscription), forward)).rejects.toMatchObject({
      permanent: false,
      status: null,
      message: expect.stringContaining('did not answer in time'),
    });
  });

  it('fails a push under way as temporary when the channel closes (Knock is stopping)', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    service.answer(subscription.endpoint, 'hang');
    const channel = pushChannel();
    const arrived = service.nextRequest();
    const sending = channel.send(ownerChannel(subscription), forward);
    await arrived;
    await channel.close();
    await expect(sending).rejects.toMatchObject({ name: 'PushSendError', permanent: false, status: null });
  });

  it('treats a refused connection, and a send after close, as temporary', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    await service.close();
    const channel = pushChannel();
    await expect(channel.send(ownerChannel(subscription), forward)).rejects.toMatchObject({ permanent: false, message: expect.stringContaining('could not be reached') });
    await channel.close();
    await channel.close();
    await expect(channel.send(ownerChannel(subscription), forward)).rejects.toMatchObject({ permanent: false, message: expect.stringContaining('closed') });
  });

  it('fails for good, without calling out, on a stored channel whose keys are damaged', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    const channel = pushChannel();
    await expect(channel.send({ ...ownerChannel(subscription), secret: null }, forward)).rejects.toMatchObject({ permanent: true, message: expect.stringContaining('subscribe the device again') });
    await expect(channel.send({ ...ownerChannel(subscription), secret: '{"p256dh":"x","auth":"y"}' }, forward)).rejects.toMatchObject({ permanent: true, message: expect.stringContaining('keys.p256dh') });
    expect(service.connections).toBe(0);
  });

  it('says presence is unknown', () => {
    const { subscription } = makeBrowserSubscription('https://fcm.googleapis.com/fcm/send/abc');
    expect(pushChannel().presence(ownerChannel(subscription))).toBe('unknown');
  });
});

describe('web push endpoints (SSRF)', () => {
  /** The channel as production runs it, except that http is allowed so the loopback push service could be reached. */
  const guarded = (resolve?: Resolve) => pushChannel({ allowPrivateNetworks: false, ...(resolve ? { resolve } : {}) });

  it('refuses endpoints at loopback, private and link-local addresses without connecting', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    const channel = guarded();
    const endpoints = [
      subscription.endpoint,
      `http://localhost:${service.port}/push/x`,
      'http://10.0.0.5/push/x',
      'http://169.254.169.254/latest/meta-data/',
      `http://[::1]:${service.port}/push/x`,
      `http://[::ffff:127.0.0.1]:${service.port}/push/x`,
      'http://[fd00::1]/push/x',
    ];
    for (const endpoint of endpoints) {
      await expect(channel.send(ownerChannel({ ...subscription, endpoint }), forward), endpoint).rejects.toMatchObject({
        name: 'PushSendError',
        permanent: true,
        message: expect.stringContaining('non-public address'),
      });
    }
    expect(service.connections).toBe(0);
  });

  it('refuses a host name that resolves to a private address, and a DNS answer that changes to loopback before connecting', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    const endpoint = `http://push.example.com:${service.port}${new URL(subscription.endpoint).pathname}`;
    const privateName: Resolve = async () => [{ address: '192.168.1.20', family: 4 }];
    await expect(guarded(privateName).send(ownerChannel({ ...subscription, endpoint }), forward)).rejects.toMatchObject({ permanent: true, message: expect.stringContaining('192.168.1.20') });
    let lookups = 0;
    const rebinding: Resolve = async () => (lookups++ === 0 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
    await expect(guarded(rebinding).send(ownerChannel({ ...subscription, endpoint }), forward)).rejects.toMatchObject({ permanent: true, message: expect.stringContaining('127.0.0.1') });
    expect(lookups).toBe(2);
    expect(service.connections).toBe(0);
  });

  it('refuses an http endpoint unless told otherwise', async () => {
    const service = await pushService();
    const { subscription } = service.subscribe();
    const production = pushChannel({ allowHttp: false, allowPrivateNetworks: false });
    await expect(production.send(ownerChannel(subscription), forward)).rejects.toMatchObject({ permanent: true, message: expect.stringContaining('https://') });
    expect(service.connections).toBe(0);
  });
});

describe('parseSubscription', () => {
  const browser = makeBrowserSubscription('https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH');
  const valid = browser.subscription;
  /** The message parseSubscription throws for `input`. */
  const refusal = (input: unknown, policy = {}): string => {
    try {
      parseSubscription(input, policy);
    } catch (err) {
      expect(err).toMatchObject({ name: 'SubscriptionError', permanent: true });
      return (err as Error).message;
    }
    throw new Error('parseSubscription accepted it');
  };
  const withKeys = (keys: Record<string, unknown>) => ({ ...valid, keys: { ...valid.keys, ...keys } });
  const bytes = (n: number) => Buffer.alloc(n, 7).toString('base64url');

  it('takes what subscription.toJSON() gives, and stores it as the channel address and keys', () => {
    const parsed = parseSubscription({ ...valid, somethingNew: true });
    expect(parsed).toEqual(valid);
    expect(parseSubscription({ endpoint: valid.endpoint, keys: valid.keys }).expirationTime).toBeNull();
    const stored = storedSubscription(parsed);
    expect(stored).toEqual({ address: valid.endpoint, secret: JSON.stringify(valid.keys) });
    expect(subscriptionOf(stored)).toEqual(parsed);
  });

  it('refuses what is not a subscription, naming what to send', () => {
    expect(refusal('https://fcm.googleapis.com/x')).toContain('subscription.toJSON()');
    expect(refusal(null)).toContain('subscription.toJSON()');
    expect(refusal({ endpoint: valid.endpoint })).toContain('keys must be an object');
    expect(refusal({ ...valid, endpoint: 42 })).toContain('endpoint must be a string');
    expect(refusal({ ...valid, expirationTime: 'tomorrow' })).toContain('expirationTime');
  });

  it('refuses endpoints that are not https, hold credentials, are too long or are at a non-public address', () => {
    expect(refusal({ ...valid, endpoint: 'fcm.googleapis.com/fcm/send/x' })).toBe('endpoint is not a URL.');
    expect(refusal({ ...valid, endpoint: 'http://fcm.googleapis.com/fcm/send/x' })).toContain('https://');
    expect(refusal({ ...valid, endpoint: 'javascript:alert(1)' })).toContain('https://');
    expect(refusal({ ...valid, endpoint: 'https://u:p@fcm.googleapis.com/x' })).toContain('password');
    expect(refusal({ ...valid, endpoint: `https://fcm.googleapis.com/${'x'.repeat(MAX_ENDPOINT_LENGTH)}` })).toContain(`at most ${MAX_ENDPOINT_LENGTH}`);
    expect(refusal({ ...valid, endpoint: 'https://127.0.0.1/push/x' })).toContain('non-public');
    expect(refusal({ ...valid, endpoint: 'https://localhost/push/x' })).toContain('non-public');
    expect(refusal({ ...valid, endpoint: 'https://[fe80::1]/push/x' })).toContain('non-public');
    expect(parseSubscription({ ...valid, endpoint: 'http://127.0.0.1:8080/push/x' }, { allowHttp: true, allowPrivateNetworks: true }).endpoint).toBe('http://127.0.0.1:8080/push/x');
  });

  it('refuses keys of the wrong length, off the curve, oversized or not base64url', () => {
    expect(refusal(withKeys({ p256dh: bytes(64) }))).toBe('keys.p256dh must be 65 bytes, base64url.');
    expect(refusal(withKeys({ p256dh: Buffer.from(valid.keys.p256dh, 'base64url').subarray(0, 33).toString('base64url') }))).toContain('65 bytes');
    const offCurve = Buffer.from(valid.keys.p256dh, 'base64url');
    offCurve[64] = offCurve[64]! ^ 1;
    expect(refusal(withKeys({ p256dh: offCurve.toString('base64url') }))).toContain('P-256 point');
    expect(refusal(withKeys({ p256dh: 'A'.repeat(100_000) }))).toContain('too long');
    expect(refusal(withKeys({ auth: bytes(15) }))).toBe('keys.auth must be 16 bytes, base64url.');
    expect(refusal(withKeys({ auth: bytes(17) }))).toContain('keys.auth must be 16 bytes');
    expect(refusal(withKeys({ auth: 'not base64url!!!!!!!!!' }))).toContain('base64url');
    expect(refusal(withKeys({ auth: 12 }))).toContain('keys.auth must be a base64url string');
    // Every problem is named at once.
    const both = refusal(withKeys({ p256dh: bytes(64), auth: bytes(15) }));
    expect(both).toContain('keys.p256dh');
    expect(both).toContain('keys.auth');
  });
});

describe('samples', () => {
  it('are what the push service got: a payload of the schema and the headers of a forward', () => {
    const sample = (name: string) => JSON.parse(readFileSync(new URL(`../../adapters/channels/push/samples/${name}`, import.meta.url), 'utf8')) as unknown;
    expect(pushPayload.parse(sample('payload.json'))).toMatchObject({ type: 'knock.forward', tag: 'c_8f3k2m' });
    expect(sample('request-headers.json')).toMatchObject({
      'content-encoding': 'aes128gcm',
      urgency: 'high',
      ttl: '86400',
      topic: topicOf('c_8f3k2m'),
      authorization: expect.stringMatching(/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]{87}$/),
    });
  });
});

/** Saves what the first test's device got as the README's samples (KNOCK_WRITE_PUSH_SAMPLES=1). */
function writeSamples(plaintext: string, headers: Record<string, unknown>): void {
  const dir = new URL('../../adapters/channels/push/samples/', import.meta.url);
  writeFileSync(new URL('payload.json', dir), `${JSON.stringify(JSON.parse(plaintext), null, 2)}\n`);
  const { host: _host, connection: _connection, ...kept } = headers;
  writeFileSync(new URL('request-headers.json', dir), `${JSON.stringify(kept, null, 2)}\n`);
}
