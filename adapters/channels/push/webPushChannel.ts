/**
 * The web push channel (issue 18): a knock the owner missed reaches the browsers and phones they subscribed from the
 * console ("Notify me on this device") as a notification, even with the page closed. Each forward is one Web Push
 * request (RFC 8030) to the subscription's endpoint at the browser vendor's push service (FCM, Mozilla autopush,
 * Apple, WNS): the payload (payload.ts) encrypted to the browser's keys (RFC 8291, aes128gcm), signed with the
 * server's VAPID key (RFC 8292, vapid.ts), with `Urgency: high`, a `TTL`, and a `Topic` per conversation so a newer
 * forward replaces an older one the push service still holds for a sleeping device.
 *
 * web-push builds the request (`generateRequestDetails`: encryption, VAPID JWT, headers); this module sends it
 * itself, through an undici Agent, because web-push's own `sendNotification` always uses `https.request` (an http
 * endpoint cannot be reached, not even the tests' loopback push service), has only a socket idle timeout, and reads
 * an answer of any size.
 *
 * The endpoint comes from a browser, that is from a user: like a webhook's URL it may not point into Knock's own
 * network. Only https, and only public addresses (adapters/channels/webhook/addressPolicy.ts), checked when resolved
 * and again when connecting. `allowHttp` and `allowPrivateNetworks` lift that for tests only.
 *
 * What the push service answers decides what the outbox does: 201/202 sent; 404/410 the subscription is gone (the
 * device unsubscribed: permanent, `gone`); 400, 401, 403, 413, other 4xx and redirects permanent; 408, 429, 5xx, a
 * timeout and no connection temporary (with Retry-After, when sent, in the error).
 *
 * @example
 *   const vapid = vapidKeysFromStored(await storage.serverValue('push.vapid', storedVapidKeys(makeVapidKeys())));
 *   const push = new WebPushChannel({ vapid: { ...vapid, subject: 'mailto:admin@knock.example.org' }, logger });
 *   outbox.handle('forward.push', async (job) => ({ ref: (await push.send(channelOf(job), forwardOf(job))).externalId }));
 *   ...
 *   await push.close();
 */
import webPush from 'web-push';
import { Agent, request, type Dispatcher } from 'undici';
import type { Channel, ChannelPresence, ForwardMessage, OwnerChannel } from '../../../engine/ports/channel.ts';
import { systemClock, type Clock } from '../../../engine/ports/clock.ts';
import type { Logger } from '../../../engine/logger.ts';
import { checkedLookup, checkHost, ForbiddenAddressError, systemResolve, type Resolve } from '../webhook/addressPolicy.ts';
import { retryAfterMs } from '../webhook/webhookChannel.ts';
import { forwardPayload, testPayload, topicOf, type PushPayload } from './payload.ts';
import { subscriptionOf, SubscriptionError, type PushSubscriptionJson } from './subscription.ts';
import { checkedVapidKeys, type VapidKeys } from './vapid.ts';

export interface WebPushChannelOptions {
  /** The server's VAPID key pair (vapid.ts) and its contact: a `mailto:` address or an `https:` URL of the operator. */
  vapid: VapidKeys & { subject: string };
  logger: Pick<Logger, 'debug' | 'warn'>;
  /** For Retry-After given as a date. Default the system clock. */
  clock?: Clock;
  /** The whole request, connecting to reading the answer. Default 10 s. */
  timeoutMs?: number;
  /** How long the push service keeps a notification for a device that is offline, in seconds. Default 24 h. */
  ttlSeconds?: number;
  /** What the test notification (sendCode) calls this Knock: its host (`knock.example.org`). Default "Knock". */
  serviceName?: string;
  /** Allow http: endpoints. Tests only (the loopback push service); production keeps it off. */
  allowHttp?: boolean;
  /** Allow loopback, private, link-local... addresses. Tests only (SSRF otherwise); production keeps it off. */
  allowPrivateNetworks?: boolean;
  /** How host names are resolved (tests play DNS with it); default dns.lookup, all addresses. */
  resolve?: Resolve;
}

/** A push that was not accepted; `permanent` stops the outbox's retries. */
export class PushSendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** The push service's HTTP status, when it answered. */
    readonly status: number | null,
    /** The push service's Retry-After, in milliseconds from now, when it sent one. */
    readonly retryAfterMs: number | null = null,
    /** The subscription no longer exists (404/410): the engine may remove the channel; the device must subscribe again. */
    readonly gone: boolean = false,
  ) {
    super(message);
    this.name = 'PushSendError';
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_TTL_SECONDS = 24 * 60 * 60;
/** The most of a push service's answer read (for the error), and the most of it kept in the message. */
const MAX_ANSWER_BYTES = 4096;
const MAX_ANSWER_CHARS = 200;
/** The longest Location (the push message's resource) kept as the externalId. */
const MAX_LOCATION_CHARS = 2048;

export class WebPushChannel implements Channel {
  readonly kind = 'push' as const;
  private readonly agent: Agent;
  private readonly resolve: Resolve;
  private readonly clock: Clock;
  private readonly vapidDetails: { subject: string; publicKey: string; privateKey: string };
  private closed = false;

  /** Throws if the VAPID keys or subject cannot be used: a configuration error, found at start rather than per push. */
  constructor(private readonly options: WebPushChannelOptions) {
    const keys = checkedVapidKeys({ publicKey: options.vapid.publicKey, privateKey: options.vapid.privateKey });
    this.vapidDetails = { ...keys, subject: checkedSubject(options.vapid.subject) };
    this.resolve = options.resolve ?? systemResolve;
    this.clock = options.clock ?? systemClock;
    this.agent = new Agent({
      // Every connection resolves through the policy again: what was checked is what is connected to.
      connect: options.allowPrivateNetworks ? {} : { lookup: checkedLookup(this.resolve) },
    });
  }

  /** Pushes the forward; resolves with the push service's id of the message (its Location), if it gave one. */
  async send(channel: OwnerChannel, message: ForwardMessage): Promise<{ externalId: string | null }> {
    return this.push(channel, forwardPayload(message), topicOf(message.conversationId));
  }

  /**
   * A push subscription needs no code: the owner's own signed-in browser made it, so the engine stores it verified
   * and never calls this for one. Called anyway, it pushes a test notification ("Notifications are on for ...") and
   * ignores `code`; `echoed` is false.
   */
  async sendCode(channel: OwnerChannel, _code: string): Promise<{ echoed: boolean }> {
    await this.push(channel, testPayload(this.options.serviceName ?? 'Knock'), 'knock-test');
    return { echoed: false };
  }

  presence(_channel: OwnerChannel): ChannelPresence {
    return 'unknown';
  }

  /** Drops the connections to push services; pushes under way fail as temporary. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.agent.destroy();
  }

  private async push(channel: OwnerChannel, payload: PushPayload, topic: string): Promise<{ externalId: string | null }> {
    if (this.closed) throw new PushSendError('The push channel is closed (Knock is stopping).', false, null);
    const subscription = this.subscription(channel);
    const url = new URL(subscription.endpoint);
    await this.checkHost(url);
    const details = webPush.generateRequestDetails(subscription, JSON.stringify(payload), {
      vapidDetails: this.vapidDetails,
      TTL: this.options.ttlSeconds ?? DEFAULT_TTL_SECONDS,
      urgency: 'high',
      topic,
      contentEncoding: 'aes128gcm',
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(details.headers)) {
      // undici counts the body itself; web-push's numbers (TTL, Content-Length) become strings.
      if (name.toLowerCase() !== 'content-length' && value !== undefined) headers[name] = String(value);
    }
    const started = this.clock.now();
    let status: number;
    let answer: string;
    let responseHeaders: Dispatcher.ResponseData['headers'];
    try {
      const response = await request(url, {
        method: 'POST',
        headers,
        body: details.body,
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      status = response.statusCode;
      responseHeaders = response.headers;
      answer = await readAtMost(response.body, MAX_ANSWER_BYTES);
    } catch (err) {
      throw requestErrorOf(err, url);
    }
    this.options.logger.debug({ channelId: channel.id, host: url.host, status, ms: this.clock.now() - started }, 'web push sent');
    if (status >= 200 && status < 300) {
      const location = headerOf(responseHeaders, 'location');
      return { externalId: location && location.length <= MAX_LOCATION_CHARS ? location : null };
    }
    const error = this.statusError(status, responseHeaders, answer, url);
    if (error.gone) this.options.logger.debug({ channelId: channel.id, host: url.host, status }, 'push subscription gone');
    throw error;
  }

  /** The channel's subscription, checked as when it was stored (a damaged one is a permanent failure). */
  private subscription(channel: OwnerChannel): PushSubscriptionJson {
    try {
      return subscriptionOf(channel, { allowHttp: this.options.allowHttp, allowPrivateNetworks: this.options.allowPrivateNetworks });
    } catch (err) {
      if (err instanceof SubscriptionError) throw new PushSendError(`The push subscription cannot be used: ${err.message}`, true, null);
      throw err;
    }
  }

  /** Refuses an endpoint whose host resolves to a non-public address, before connecting (and again when connecting). */
  private async checkHost(url: URL): Promise<void> {
    if (this.options.allowPrivateNetworks) return;
    try {
      await checkHost(url.hostname, this.resolve);
    } catch (err) {
      if (err instanceof ForbiddenAddressError) throw forbidden(err);
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
      // A name that does not resolve may be a DNS outage as well as a typo: retried, and given up after maxAttempts.
      throw new PushSendError(`The push service's host ${url.hostname} could not be resolved (${code}).`, false, null);
    }
  }

  private statusError(status: number, headers: Dispatcher.ResponseData['headers'], answer: string, url: URL): PushSendError {
    const said = answer ? `: ${answer.replace(/\s+/g, ' ').trim().slice(0, MAX_ANSWER_CHARS)}` : '.';
    const host = url.host;
    if (status === 404 || status === 410) {
      return new PushSendError(
        `${host} answered ${status}: the subscription is gone (the device unsubscribed, or its browser dropped it); subscribe the device again from the console${said}`,
        true,
        status,
        null,
        true,
      );
    }
    if (status === 408 || status === 429 || status >= 500) {
      return new PushSendError(`${host} answered ${status}${said}`, false, status, retryAfterMs(headerOf(headers, 'retry-after'), this.clock.now()));
    }
    if (status === 401 || status === 403) {
      return new PushSendError(
        `${host} refused Knock's VAPID authorization with ${status} (the device subscribed with another server key, or the key is damaged); subscribe the device again${said}`,
        true,
        status,
      );
    }
    if (status === 413) return new PushSendError(`${host} refused the notification as too large (413)${said}`, true, status);
    if (status >= 300 && status < 400) {
      const location = headerOf(headers, 'location');
      return new PushSendError(`${host} answered ${status}, a redirect${location ? ` to ${location.slice(0, MAX_ANSWER_CHARS)}` : ''}: Knock does not follow redirects.`, true, status);
    }
    return new PushSendError(`${host} refused the notification with ${status}${said}`, true, status);
  }
}

/** A VAPID subject: the operator's contact, `mailto:` or `https:` (RFC 8292 §2.1). */
function checkedSubject(subject: string): string {
  let url: URL;
  try {
    url = new URL(subject);
  } catch {
    throw new Error(`The VAPID subject must be a mailto: address or an https: URL of the operator; got "${subject}".`);
  }
  if (url.protocol !== 'mailto:' && url.protocol !== 'https:') {
    throw new Error(`The VAPID subject must be a mailto: address or an https: URL; got ${url.protocol}.`);
  }
  // web-push only warns (on the console) about this one; push services refuse it.
  if (url.hostname === 'localhost') throw new Error('The VAPID subject must not be at localhost: push services refuse it.');
  return subject;
}

function forbidden(err: ForbiddenAddressError): PushSendError {
  const error = new PushSendError(
    `The push endpoint's host ${err.host} is at ${err.address}, a loopback, private, link-local or otherwise non-public address: Knock does not call those.`,
    true,
    null,
  );
  error.cause = err;
  return error;
}

function headerOf(headers: Dispatcher.ResponseData['headers'], name: string): string | null {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

/** Reads the start of a body and drops the rest (an endpoint's server could answer with gigabytes). */
async function readAtMost(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= maxBytes) break; // leaving the loop destroys the stream
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

/** A request that threw: a refused address stays permanent; a timeout and every network failure are temporary. */
function requestErrorOf(err: unknown, url: URL): Error {
  for (let cause: unknown = err; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ForbiddenAddressError) return forbidden(cause);
    if (cause instanceof PushSendError) return cause;
    if (cause.name === 'TimeoutError') return new PushSendError(`${url.host} did not answer in time.`, false, null);
  }
  const detail = err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err);
  return new PushSendError(`${url.host} could not be reached (${detail}).`, false, null);
}
