/**
 * The webhook channel (issue 18): a forward is a signed JSON POST to the owner's URL (signature.ts, wireFormat.ts),
 * and the owner's bot answers by a signed POST to the `replyUrl` it was given (reply.ts reads it). What the receiver
 * answers decides what the outbox does next: a 2xx is sent; 410 Gone (the receiver says stop), a redirect, and
 * other 4xx are permanent failures the owner must fix; 408, 429, 5xx, no connection and a timeout are temporary and
 * retried (with the receiver's Retry-After, when it sent one, in the error).
 *
 * The owner chooses the URL, so it may not point into Knock's own network (addressPolicy.ts): only https, and only
 * public addresses, checked when resolved and again when connecting. `allowHttp` and `allowPrivateNetworks` lift
 * that for tests and for a self-hoster whose bot runs beside Knock; production keeps them off.
 *
 * @example
 *   const webhooks = new WebhookChannel({ publicUrl: config.publicUrl, logger, clock: systemClock,
 *     secretsOf: (channel) => storage.webhookSecrets(channel.id) });
 *   outbox.handle('forward.webhook', async (job) =>
 *     ({ ref: (await webhooks.send(channelOf(job), forwardOf(job), { key: job.key })).externalId }));
 *   ...
 *   await webhooks.close();
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent, fetch, type Response } from 'undici';
import type { Clock } from '../../../engine/ports/clock.ts';
import type { Channel, ChannelPresence, ForwardMessage, OwnerChannel } from '../../../engine/ports/channel.ts';
import type { Logger } from '../../../engine/logger.ts';
import { checkedLookup, checkHost, ForbiddenAddressError, systemResolve, type Resolve } from './addressPolicy.ts';
import { signatureHeaders } from './signature.ts';
import type { ForwardPayload, VerifyPayload } from './wireFormat.ts';

export interface WebhookChannelOptions {
  /** Knock's public origin (config.publicUrl, else the address it listens at): the base of each call's `replyUrl`. */
  publicUrl: string | (() => string);
  /** The channel's signing secrets, the current one first (and the previous one while it is rotated). */
  secretsOf: (channel: OwnerChannel) => Promise<readonly string[]> | readonly string[];
  logger: Pick<Logger, 'debug' | 'warn'>;
  clock: Clock;
  /** The whole call, connecting to reading the answer. Default 10 s. */
  timeoutMs?: number;
  /** Allow http: URLs. Tests only (or a receiver on the same host); production keeps it off. */
  allowHttp?: boolean;
  /** Allow loopback, private, link-local... addresses. Tests only (SSRF otherwise); production keeps it off. */
  allowPrivateNetworks?: boolean;
  /** How host names are resolved (tests play DNS with it); default dns.lookup, all addresses. */
  resolve?: Resolve;
}

/** A call that did not end in a 2xx; `permanent` stops the outbox's retries. */
export class WebhookSendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** The receiver's HTTP status, when it answered. */
    readonly status: number | null,
    /** The receiver's Retry-After, in milliseconds from now, when it sent one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'WebhookSendError';
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** The most of a receiver's answer read (for the error shown to the owner, or a verification's echo). */
const MAX_ANSWER_BYTES = 4096;
/** The most of that answer kept in an error message. */
const MAX_ANSWER_CHARS = 200;

export class WebhookChannel implements Channel {
  readonly kind = 'webhook' as const;
  private readonly agent: Agent;
  private readonly resolve: Resolve;
  private closed = false;

  constructor(private readonly options: WebhookChannelOptions) {
    this.resolve = options.resolve ?? systemResolve;
    this.agent = new Agent({
      // Every connection resolves through the policy again: what was checked is what is connected to.
      connect: options.allowPrivateNetworks ? {} : { lookup: checkedLookup(this.resolve) },
    });
  }

  /**
   * POSTs the forward, signed. `delivery.key` (the outbox job's key) makes the Knock-Webhook-Id the same on every
   * retry of one forward, so the receiver can drop a duplicate; without it each call gets a new id.
   * Resolves with that id; rejects with a WebhookSendError (or ForbiddenAddressError, permanent).
   */
  async send(channel: OwnerChannel, message: ForwardMessage, delivery?: { key: string }): Promise<{ externalId: string | null }> {
    const payload: ForwardPayload = {
      type: 'knock.forward',
      conversationId: message.conversationId,
      tag: message.tag,
      visitor: { name: message.visitorName },
      texts: message.texts,
      link: message.link,
      replyUrl: this.replyUrl(channel),
    };
    const id = deliveryId(channel, delivery?.key);
    await this.post(channel, id, payload);
    return { externalId: id };
  }

  /**
   * The signed test call made when the owner adds the webhook: carries `code`, which the owner types back in
   * Settings. A receiver may instead answer `{"code": "<code>"}`, proving at once that it got the call: `echoed`.
   */
  async sendCode(channel: OwnerChannel, code: string): Promise<{ echoed: boolean }> {
    const payload: VerifyPayload = { type: 'knock.verify', channelId: channel.id, code, replyUrl: this.replyUrl(channel) };
    const answer = await this.post(channel, deliveryId(channel, undefined), payload);
    try {
      const json: unknown = JSON.parse(answer);
      return { echoed: typeof json === 'object' && json !== null && 'code' in json && json.code === code };
    } catch {
      return { echoed: false };
    }
  }

  presence(_channel: OwnerChannel): ChannelPresence {
    return 'unknown';
  }

  /** Closes the connections kept open to receivers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.agent.close();
  }

  private replyUrl(channel: OwnerChannel): string {
    const base = typeof this.options.publicUrl === 'string' ? this.options.publicUrl : this.options.publicUrl();
    return new URL(`/_/api/channels/${encodeURIComponent(channel.id)}/reply`, base).href;
  }

  /** Checks the URL, signs and POSTs `payload`; resolves with the start of a 2xx answer's body. */
  private async post(channel: OwnerChannel, id: string, payload: ForwardPayload | VerifyPayload): Promise<string> {
    if (this.closed) throw new WebhookSendError('The webhook channel is closed (Knock is stopping).', false, null);
    const url = await this.checkUrl(channel.address);
    const body = JSON.stringify(payload);
    const secrets = await this.options.secretsOf(channel);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Knock-Webhook/1',
      ...signatureHeaders(secrets, { id, timestampMs: this.options.clock.now(), body }),
    };
    const started = this.options.clock.now();
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        dispatcher: this.agent,
      });
    } catch (err) {
      throw fetchErrorOf(err, url);
    }
    let answer: string;
    try {
      answer = await readAtMost(response, MAX_ANSWER_BYTES);
    } catch (err) {
      throw fetchErrorOf(err, url);
    }
    this.options.logger.debug({ channelId: channel.id, webhookId: id, status: response.status, ms: this.options.clock.now() - started }, 'webhook called');
    if (response.status >= 200 && response.status < 300) return answer;
    throw this.statusError(response, answer, url);
  }

  /** The owner's URL, if it is one Knock may call: https (unless allowHttp), no credentials, a public host. */
  private async checkUrl(address: string): Promise<URL> {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new WebhookSendError(`The webhook address "${address}" is not a URL.`, true, null);
    }
    const protocols = this.options.allowHttp ? ['https:', 'http:'] : ['https:'];
    if (!protocols.includes(url.protocol)) throw new WebhookSendError(`The webhook address must be an https:// URL; got ${url.protocol}//.`, true, null);
    if (url.username || url.password) throw new WebhookSendError('The webhook address must not hold a user name or password: the signature authenticates Knock.', true, null);
    if (!this.options.allowPrivateNetworks) {
      try {
        await checkHost(url.hostname, this.resolve);
      } catch (err) {
        if (err instanceof ForbiddenAddressError) throw err;
        const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
        // A name that does not resolve may be a DNS outage as well as a typo: retried, and given up after maxAttempts.
        throw new WebhookSendError(`The webhook's host ${url.hostname} could not be resolved (${code}).`, false, null);
      }
    }
    return url;
  }

  private statusError(response: Response, answer: string, url: URL): WebhookSendError {
    const { status } = response;
    const said = answer ? `: ${answer.replace(/\s+/g, ' ').trim().slice(0, MAX_ANSWER_CHARS)}` : '';
    if (response.type === 'opaqueredirect' || (status >= 300 && status < 400)) {
      const location = response.headers.get('location');
      return new WebhookSendError(`${url.host} answered ${status}, a redirect${location ? ` to ${location}` : ''}: Knock does not follow redirects; put the final URL in Settings.`, true, status);
    }
    if (status === 410) return new WebhookSendError(`${url.host} answered 410 Gone: the receiver asks not to be called again${said}`, true, status);
    if (status === 408 || status === 429 || status >= 500) {
      return new WebhookSendError(`${url.host} answered ${status}${said}`, false, status, retryAfterMs(response.headers.get('retry-after'), this.options.clock.now()));
    }
    return new WebhookSendError(`${url.host} refused the call with ${status}${said}`, status >= 400 && status < 500, status);
  }
}

/** The Knock-Webhook-Id: derived from the job's key when there is one (the same on each retry), else random. */
function deliveryId(channel: OwnerChannel, key: string | undefined): string {
  if (key === undefined) return `msg_${randomBytes(18).toString('base64url')}`;
  return `msg_${createHash('sha256').update(`${channel.id}\n${key}`).digest('base64url').slice(0, 32)}`;
}

/** Reads the start of a body and drops the rest (a receiver could answer with gigabytes). */
async function readAtMost(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

/** Retry-After as delay-seconds or an HTTP date, in milliseconds from `nowMs`; null when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/** A fetch that threw: a refused address stays permanent; a timeout and every network failure are temporary. */
function fetchErrorOf(err: unknown, url: URL): Error {
  for (let cause: unknown = err; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ForbiddenAddressError || cause instanceof WebhookSendError) return cause;
    if (cause.name === 'TimeoutError') return new WebhookSendError(`${url.host} did not answer in time.`, false, null);
  }
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const detail = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause);
  return new WebhookSendError(`${url.host} could not be reached (${detail}).`, false, null);
}
