/**
 * A loopback Web Push service for the tests: what FCM or Mozilla's autopush is to a real browser, on 127.0.0.1 over
 * plain http on a free port. It hands out endpoints (`http://127.0.0.1:<port>/push/<random id>`) to the subscriptions
 * it makes; the test plays the browser (makeBrowserSubscription: a P-256 ECDH key pair and a 16-byte auth secret,
 * exactly what `PushManager.subscribe` makes) and gives `{ endpoint, keys }` to the channel, as the console would.
 *
 * Every request is checked as a push service checks it (RFC 8030, 8291, 8292), answering 401/403/400/413 otherwise:
 * `Authorization: vapid t=<JWT>, k=<public key>` with the JWT's ES256 signature verified with `k` (node:crypto), `aud`
 * the endpoint's origin, `exp` in the future and within 24 h, `sub` a mailto: or https: URL, and `k` the
 * subscription's applicationServerKey when it was made with one; `Content-Encoding: aes128gcm`; `TTL`; a body of at
 * most 4096 bytes that decrypts (http_ece) with the browser's private key and auth secret. What decrypts is recorded
 * with its headers. A device can be offline (messages wait, and a newer one with the same Topic replaces a waiting
 * one), and an endpoint can be told to answer 410, 429 or 500.
 *
 * @example
 *   const service = await startPushService();
 *   const browser = service.subscribe({ applicationServerKey: vapid.publicKey });
 *   await channel.send(ownerChannelOf(browser.subscription), forward);
 *   expect(service.delivered[0]?.json).toMatchObject({ title: 'Ada knocked' });
 *   await service.close();
 */
import { createECDH, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

/** http_ece has no types; this is the one call the service makes. */
interface HttpEce {
  decrypt(buffer: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: string }): Buffer;
}
const ece = createRequire(import.meta.url)('http_ece') as HttpEce;

/** What `PushSubscription.toJSON()` gives in a browser. */
export interface BrowserSubscriptionJson {
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
}

/** A browser's side of a subscription: what it gives the server, and the private half it keeps. */
export interface BrowserSubscription {
  subscription: BrowserSubscriptionJson;
  /** The browser's ECDH key pair (its public half is `keys.p256dh`). */
  ecdh: ECDH;
}

/** Makes what a browser's PushManager makes for `endpoint`: a P-256 key pair and a 16-byte auth secret. */
export function makeBrowserSubscription(endpoint: string): BrowserSubscription {
  const ecdh = createECDH('prime256v1');
  const p256dh = ecdh.generateKeys().toString('base64url');
  return { subscription: { endpoint, expirationTime: null, keys: { p256dh, auth: randomBytes(16).toString('base64url') } }, ecdh };
}

/** A notification the service accepted, decrypted. */
export interface PushedMessage {
  endpoint: string;
  headers: IncomingHttpHeaders;
  /** The VAPID JWT's claims, checked. */
  claims: { aud: string; exp: number; sub: string };
  plaintext: string;
  /** The plaintext parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** A request the service refused, and why (in the words of its answer). */
export interface Refusal {
  endpoint: string;
  status: number;
  reason: string;
}

/**
 * An answer an endpoint was told to give instead of accepting (after the request passed its checks), or `hang`:
 * take the request and never answer.
 */
export type ForcedAnswer = { status: number; retryAfter?: string; body?: string } | 'hang';

interface Registration extends BrowserSubscription {
  id: string;
  applicationServerKey: string | null;
  online: boolean;
  waiting: PushedMessage[];
  forced: ForcedAnswer | null;
}

export interface PushService {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** Notifications delivered to online devices, in order. */
  delivered: PushedMessage[];
  refused: Refusal[];
  /** TCP connections accepted, whether or not a request followed. */
  connections: number;
  /** Subscribes a new "browser": a new endpoint and keys; with `applicationServerKey` only that VAPID key may push to it. */
  subscribe(options?: { applicationServerKey?: string }): BrowserSubscription;
  /** Makes a device offline (its messages wait, a newer one of the same Topic replacing a waiting one) or online again (they are delivered). */
  setOnline(endpoint: string, online: boolean): void;
  /** Messages waiting for an offline device. */
  waiting(endpoint: string): PushedMessage[];
  /** Resolves when the next request has arrived whole (before it is answered). */
  nextRequest(): Promise<void>;
  /** Makes the endpoint answer with `answer` (410, 429, 500..., or never) until told otherwise (null). */
  answer(endpoint: string, answer: ForcedAnswer | null): void;
  close(): Promise<void>;
}

/** The most body a push service takes (RFC 8030 §7.2: at least 4096 bytes; FCM and autopush take 4096). */
const MAX_BODY_BYTES = 4096;
const DAY_SECONDS = 24 * 60 * 60;

/** Starts the service on 127.0.0.1, a free port. */
export async function startPushService(): Promise<PushService> {
  const registrations = new Map<string, Registration>();
  const listeners: (() => void)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES + 1) chunks.push(chunk);
    });
    req.on('end', () => {
      for (const heard of listeners.splice(0)) heard();
      const endpoint = `${service.origin}${req.url ?? ''}`;
      const outcome = handle(endpoint, req.method ?? '', req.headers, Buffer.concat(chunks), size);
      if ('hang' in outcome) return; // closeAllConnections ends it
      if ('refused' in outcome) {
        service.refused.push({ endpoint, status: outcome.refused, reason: outcome.reason });
        res.writeHead(outcome.refused, { 'content-type': 'application/json', ...(outcome.retryAfter ? { 'retry-after': outcome.retryAfter } : {}) });
        res.end(JSON.stringify({ code: outcome.refused, message: outcome.reason }));
        return;
      }
      res.writeHead(201, { location: `${service.origin}/message/${randomBytes(9).toString('base64url')}` });
      res.end();
    });
  });

  type Outcome = { accepted: true } | { hang: true } | { refused: number; reason: string; retryAfter?: string };

  function handle(endpoint: string, method: string, headers: IncomingHttpHeaders, body: Buffer, size: number): Outcome {
    const registration = /^\/push\/[A-Za-z0-9_-]+$/.test(new URL(endpoint).pathname) ? registrations.get(endpoint) : undefined;
    if (method !== 'POST') return { refused: 405, reason: 'Push with POST.' };
    if (!registration) return { refused: 404, reason: 'No such subscription.' };
    const authorization = checkVapid(headers.authorization, service.origin, registration.applicationServerKey);
    if ('refused' in authorization) return authorization;
    if (headers['content-encoding'] !== 'aes128gcm') return { refused: 400, reason: 'Content-Encoding must be aes128gcm.' };
    const ttl = headers.ttl;
    if (typeof ttl !== 'string' || !/^[0-9]+$/.test(ttl)) return { refused: 400, reason: 'TTL is missing or not a number of seconds.' };
    const urgency = headers.urgency;
    if (urgency !== undefined && (typeof urgency !== 'string' || !['very-low', 'low', 'normal', 'high'].includes(urgency))) {
      return { refused: 400, reason: 'Urgency must be very-low, low, normal or high.' };
    }
    const topic = headers.topic;
    if (topic !== undefined && (typeof topic !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(topic))) return { refused: 400, reason: 'Topic must be 1 to 32 base64url characters.' };
    if (size > MAX_BODY_BYTES) return { refused: 413, reason: `The body is ${size} bytes; at most ${MAX_BODY_BYTES}.` };
    let plaintext: string;
    try {
      plaintext = ece.decrypt(body, { version: 'aes128gcm', privateKey: registration.ecdh, authSecret: registration.subscription.keys.auth }).toString('utf8');
    } catch (err) {
      return { refused: 400, reason: `The body does not decrypt: ${(err as Error).message}` };
    }
    if (registration.forced === 'hang') return { hang: true };
    if (registration.forced) {
      const { status, retryAfter, body: said } = registration.forced;
      return { refused: status, reason: said ?? `Told to answer ${status}.`, ...(retryAfter ? { retryAfter } : {}) };
    }
    const message: PushedMessage = { endpoint, headers, claims: authorization.claims, plaintext, json: jsonOrUndefined(plaintext) };
    if (registration.online) service.delivered.push(message);
    else {
      const replaced = topic === undefined ? -1 : registration.waiting.findIndex((waiting) => waiting.headers.topic === topic);
      if (replaced >= 0) registration.waiting.splice(replaced, 1);
      registration.waiting.push(message);
    }
    return { accepted: true };
  }

  const service: PushService = {
    origin: '',
    port: 0,
    delivered: [],
    refused: [],
    connections: 0,
    subscribe(options = {}) {
      const id = randomBytes(24).toString('base64url');
      const browser = makeBrowserSubscription(`${service.origin}/push/${id}`);
      registrations.set(browser.subscription.endpoint, {
        ...browser,
        id,
        applicationServerKey: options.applicationServerKey ?? null,
        online: true,
        waiting: [],
        forced: null,
      });
      return browser;
    },
    setOnline(endpoint, online) {
      const registration = registrationOf(endpoint);
      registration.online = online;
      if (online) service.delivered.push(...registration.waiting.splice(0));
    },
    nextRequest: () => new Promise<void>((resolve) => listeners.push(resolve)),
    waiting: (endpoint) => [...registrationOf(endpoint).waiting],
    answer(endpoint, answer) {
      registrationOf(endpoint).forced = answer;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function registrationOf(endpoint: string): Registration {
    const registration = registrations.get(endpoint);
    if (!registration) throw new Error(`The push service issued no endpoint ${endpoint}.`);
    return registration;
  }

  server.on('connection', () => service.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  service.port = (server.address() as AddressInfo).port;
  service.origin = `http://127.0.0.1:${service.port}`;
  return service;
}

type VapidCheck = { claims: PushedMessage['claims'] } | { refused: number; reason: string };

/**
 * RFC 8292: `vapid t=<JWT>, k=<key>`; absent → 401, invalid → 403 (and 403 when `k` is not the key the subscription
 * was made with).
 */
export function checkVapid(header: string | undefined, origin: string, applicationServerKey: string | null, nowMs: number = Date.now()): VapidCheck {
  if (header === undefined) return { refused: 401, reason: 'No Authorization: vapid t=..., k=... header.' };
  const match = /^vapid\s+(.*)$/i.exec(header);
  if (!match?.[1]) return { refused: 401, reason: 'Authorization must use the vapid scheme.' };
  const params = new Map(
    match[1].split(',').map((part) => {
      const [name = '', ...value] = part.trim().split('=');
      return [name.trim(), value.join('=').trim()] as const;
    }),
  );
  const token = params.get('t');
  const key = params.get('k');
  if (!token || !key) return { refused: 401, reason: 'The vapid authorization needs t= and k=.' };
  if (applicationServerKey !== null && key !== applicationServerKey) {
    return { refused: 403, reason: 'k is not the applicationServerKey this subscription was made with.' };
  }
  const [headerPart, claimsPart, signaturePart, ...rest] = token.split('.');
  if (!headerPart || !claimsPart || !signaturePart || rest.length > 0) return { refused: 403, reason: 'The JWT is not three base64url parts.' };
  let jwtHeader: { alg?: unknown; typ?: unknown };
  let claims: { aud?: unknown; exp?: unknown; sub?: unknown };
  try {
    jwtHeader = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as typeof jwtHeader;
    claims = JSON.parse(Buffer.from(claimsPart, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return { refused: 403, reason: 'The JWT header or claims are not JSON.' };
  }
  if (jwtHeader.alg !== 'ES256') return { refused: 403, reason: 'The JWT must be signed with ES256.' };
  const point = Buffer.from(key, 'base64url');
  if (point.length !== 65 || point[0] !== 0x04) return { refused: 403, reason: 'k must be an uncompressed P-256 point.' };
  let publicKey;
  try {
    publicKey = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return { refused: 403, reason: 'k is not a point on P-256.' };
  }
  const signature = Buffer.from(signaturePart, 'base64url');
  const signed = Buffer.from(`${headerPart}.${claimsPart}`, 'ascii');
  if (signature.length !== 64 || !verify('sha256', signed, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) {
    return { refused: 403, reason: 'The JWT signature does not verify with k.' };
  }
  if (claims.aud !== origin) return { refused: 403, reason: `aud must be ${origin}; got ${String(claims.aud)}.` };
  const nowSeconds = Math.floor(nowMs / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds) return { refused: 403, reason: 'exp is missing or past.' };
  if (claims.exp > nowSeconds + DAY_SECONDS) return { refused: 403, reason: 'exp is more than 24 hours ahead.' };
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) return { refused: 403, reason: 'sub must be a mailto: or https: URL.' };
  return { claims: { aud: claims.aud, exp: claims.exp, sub: claims.sub } };
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
