/**
 * Settings → Channels over HTTP (issue 18): the owner's channels, their order and delays, the forwarding settings,
 * and the webhook's way back in. Checks first, then does (CONVENTIONS 7).
 *
 * Who may: the owner at the console (the session cookie; a mail device token is refused: a stolen laptop config
 * must not redirect the owner's knocks). For a company: its admins; its other operators see the list only. The reply endpoint takes no cookie at all: the webhook's signature
 * (Knock-Signature, HMAC-SHA256 with the channel's secret, timestamp within 5 minutes) is its identity, and the
 * reply's `id` makes a replayed or retried call land once.
 *
 *   GET    /_/api/channels                                          -> channelsAnswer
 *   POST   /_/api/channels              addChannelBody              -> 201 addChannelAnswer (a code sent; webhook: its secret, once)
 *   POST   /_/api/channels/<id>/code                                -> 204 (a new code)
 *   POST   /_/api/channels/<id>/verify  { code }                    -> channelRecord
 *   PUT    /_/api/channels/<id>/delay   { delayMs }                 -> channelsAnswer
 *   PUT    /_/api/channels/order        { ids }                     -> channelsAnswer
 *   DELETE /_/api/channels/<id>                                     -> 204
 *   PUT    /_/api/forwarding            forwardingSettings          -> channelsAnswer
 *   POST   /_/api/channels/<id>/reply   (signed by the webhook)     -> 201 { conversationId, seq } | 4xx with the reason
 */
import { generateWebhookSecret, verifySignature } from '../../adapters/channels/webhook/signature.ts';
import { parseReply, ReplyParseError } from '../../adapters/channels/webhook/reply.ts';
import type { KnockConfig } from '../config.ts';
import type { Auth } from '../auth.ts';
import { KnockError } from '../errors.ts';
import type { Forwarding, InboundOutcome } from '../forwarding/forwarding.ts';
import type { Clock } from '../ports/clock.ts';
import type { Account, Storage } from '../ports/storage.ts';
import {
  addChannelBody,
  channelDelayBody,
  channelOrderBody,
  forwardingSettingsSchema,
  verifyChannelBody,
  type AddChannelAnswer,
  type ChannelsAnswer,
} from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import type { RequestInfo } from './api.ts';
import { readJson, readJsonBytes, sendJson } from './io.ts';
import { runMatched, type Handler } from './routing.ts';
import { Requesters } from './requesters.ts';

/** A webhook's reply body is at most this (16 000 characters of text and its envelope). */
const MAX_REPLY_BYTES = 64 * 1024;
const CHANNEL_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface ChannelsApiDeps {
  storage: Storage;
  auth: Auth;
  forwarding: Forwarding;
  clock: Clock;
  rateLimits: Pick<KnockConfig['rateLimits'], 'channelCodesPerAccount' | 'channelRepliesPerChannel'>;
  maxBodyBytes: number;
  /** http:// and private addresses for webhooks (KNOCK_CHANNELS_ALLOW_PRIVATE; tests and bots beside Knock). */
  allowPrivate: boolean;
  /** A browser's push subscription as a channel's address and secret (the push adapter checks it); null: push is off. */
  pushSubscription: ((subscription: unknown) => { address: string; secret: string }) | null;
  /** The VAPID public key browsers subscribe with, or null. */
  vapidPublicKey: string | null;
}


export class ChannelsApi {
  private readonly requesters: Requesters;
  private readonly codesPerAccount: KeyedRateLimiter;
  private readonly repliesPerChannel: KeyedRateLimiter;

  constructor(private readonly deps: ChannelsApiDeps) {
    this.requesters = new Requesters(deps);
    this.codesPerAccount = new KeyedRateLimiter(deps.rateLimits.channelCodesPerAccount, deps.clock);
    this.repliesPerChannel = new KeyedRateLimiter(deps.rateLimits.channelRepliesPerChannel, deps.clock);
  }

  /** Routes the API above; false when no route matches. Errors propagate to the server, which answers them. */
  route(r: RequestInfo, path: string): Promise<boolean> {
    return runMatched(this.match(r.req.method ?? 'GET', path, r));
  }

  private match(method: string, path: string, r: RequestInfo): Handler | null {
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/_/api/channels') return () => this.list(r);
    if (method === 'POST' && path === '/_/api/channels') return () => this.add(r);
    if (method === 'PUT' && path === '/_/api/channels/order') return () => this.reorder(r);
    if (method === 'PUT' && path === '/_/api/forwarding') return () => this.settings(r);
    if ((m = path.match(/^\/_\/api\/channels\/([^/]+)(\/[a-z]+)?$/))) {
      const id = m[1]!;
      const action = m[2] ?? '';
      if (method === 'POST' && action === '/reply') return () => this.reply(r, id);
      if (method === 'POST' && action === '/code') return () => this.resend(r, id);
      if (method === 'POST' && action === '/verify') return () => this.verify(r, id);
      if (method === 'PUT' && action === '/delay') return () => this.delay(r, id);
      if (method === 'DELETE' && action === '') return () => this.remove(r, id);
    }
    return null;
  }

  /**
   * The owner at the console. A company's operators see its channels; changing them, or where its knocks go, is for
   * its admins (`change`: every endpoint but the list).
   */
  private async console(r: RequestInfo, change = true): Promise<Account> {
    const owner = await this.requesters.requireOwner(r.req, {
      console: 'A mail device cannot change where your knocks go: use the console.',
      ...(change ? { admin: 'change where its knocks go (channels and forwarding)' } : {}),
    });
    return owner.account;
  }

  private async list(r: RequestInfo): Promise<void> {
    await this.answer(r, await this.console(r, false));
  }

  private async answer(r: RequestInfo, account: Account, status = 200): Promise<void> {
    const answer: ChannelsAnswer = {
      channels: await this.deps.forwarding.list(account),
      settings: await this.deps.storage.getForwardingSettings(account.id),
      available: this.deps.forwarding.available(),
      vapidPublicKey: this.deps.vapidPublicKey,
    };
    sendJson(r.res, status, answer, { 'Cache-Control': 'no-store' });
  }

  private async add(r: RequestInfo): Promise<void> {
    const account = await this.console(r);
    const body = await readJson(r.req, addChannelBody, this.deps.maxBodyBytes);
    let address: string;
    let secret: string | null = null;
    if (body.kind === 'push') {
      if (this.deps.pushSubscription === null) throw new KnockError('bad_request', 'This server does not send push notifications.');
      try {
        ({ address, secret } = this.deps.pushSubscription(body.subscription));
      } catch (err) {
        throw new KnockError('bad_request', `subscription: ${err instanceof Error ? err.message : String(err)}`);
      }
    } else {
      address = body.address;
      if (body.kind === 'webhook') {
        if (!this.deps.allowPrivate && !address.startsWith('https://')) throw new KnockError('bad_request', 'address: A webhook must be an https:// address.');
        secret = JSON.stringify([generateWebhookSecret()]);
      }
      // Every code costs a message on someone's phone or chat: a stolen login cannot spray them.
      this.codesPerAccount.takeOrThrow(account.id, 'Verification codes');
    }
    const { channel, codeSent } = await this.deps.forwarding.addChannel(account, { kind: body.kind, address, secret, verified: false });
    const answer: AddChannelAnswer = {
      channel: await this.deps.forwarding.recordOf(channel),
      secret: body.kind === 'webhook' && secret !== null ? (JSON.parse(secret) as string[])[0]! : null,
      codeSent,
    };
    sendJson(r.res, 201, answer, { 'Cache-Control': 'no-store' });
  }

  private async resend(r: RequestInfo, id: string): Promise<void> {
    const account = await this.console(r);
    this.codesPerAccount.takeOrThrow(account.id, 'Verification codes');
    await this.deps.forwarding.resendCode(account, id);
    r.res.writeHead(204, { 'Cache-Control': 'no-store' });
    r.res.end();
  }

  private async verify(r: RequestInfo, id: string): Promise<void> {
    const account = await this.console(r);
    const { code } = await readJson(r.req, verifyChannelBody, this.deps.maxBodyBytes);
    const channel = await this.deps.forwarding.verify(account, id, code);
    sendJson(r.res, 200, await this.deps.forwarding.recordOf(channel), { 'Cache-Control': 'no-store' });
  }

  private async delay(r: RequestInfo, id: string): Promise<void> {
    const account = await this.console(r);
    const { delayMs } = await readJson(r.req, channelDelayBody, this.deps.maxBodyBytes);
    await this.deps.forwarding.setDelay(account, id, delayMs);
    await this.answer(r, account);
  }

  private async reorder(r: RequestInfo): Promise<void> {
    const account = await this.console(r);
    const { ids } = await readJson(r.req, channelOrderBody, this.deps.maxBodyBytes);
    await this.deps.forwarding.reorder(account, ids);
    await this.answer(r, account);
  }

  private async remove(r: RequestInfo, id: string): Promise<void> {
    const account = await this.console(r);
    await this.deps.forwarding.removeChannel(account, id);
    r.res.writeHead(204, { 'Cache-Control': 'no-store' });
    r.res.end();
  }

  private async settings(r: RequestInfo): Promise<void> {
    const account = await this.console(r);
    const settings = await readJson(r.req, forwardingSettingsSchema, this.deps.maxBodyBytes);
    await this.deps.storage.setForwardingSettings(account.id, settings);
    await this.answer(r, account);
  }

  /**
   * A webhook's reply: the signature is checked over the raw body before anything else is read from it, with every
   * secret of the channel (the previous one too while it is rotated). 404 for a channel that is no verified webhook,
   * the same for an id that does not exist, so ids cannot be probed by their answers.
   */
  private async reply(r: RequestInfo, id: string): Promise<void> {
    const channel = CHANNEL_ID.test(id) ? await this.deps.storage.getChannel(id) : null;
    if (!channel || channel.kind !== 'webhook' || !channel.verified || channel.secret === null) throw new KnockError('not_found', 'There is no such webhook channel.');
    const raw = await readJsonBytes(r.req, MAX_REPLY_BYTES);
    const check = verifySignature(JSON.parse(channel.secret) as string[], r.req.headers, raw, this.deps.clock.now());
    if (!check.ok) throw new KnockError('unauthorized', check.message);
    // Counted once signed: unsigned calls from anyone must not use up the bot's own budget.
    this.repliesPerChannel.takeOrThrow(channel.id, 'Replies through this webhook');
    let reply;
    try {
      reply = parseReply(channel.id, raw);
    } catch (err) {
      if (err instanceof ReplyParseError) throw new KnockError('bad_request', err.message);
      throw err;
    }
    const tag = reply.tag === null ? null : reply.tag.replace(/^#/, '');
    if (tag !== null && !/^\d{1,6}$/.test(tag)) throw new KnockError('bad_request', 'tag: A tag is # and a number, as the forward gave it (#3).');
    const outcome = await this.deps.forwarding.inbound(
      {
        kind: 'webhook',
        from: channel.address,
        text: tag === null ? reply.text : `#${tag} ${reply.text}`,
        threadId: reply.conversationId === null ? null : `knock-${reply.conversationId}`,
        externalId: reply.externalId,
      },
      channel,
    );
    answerOutcome(r, outcome);
  }
}

function answerOutcome(r: RequestInfo, outcome: InboundOutcome): void {
  switch (outcome.kind) {
    case 'posted':
      sendJson(r.res, outcome.duplicate ? 200 : 201, { conversationId: outcome.conversationId, seq: outcome.seq });
      return;
    case 'unknownTag':
      throw new KnockError('not_found', `No open conversation has the tag ${outcome.tag}.`);
    case 'noOpenForward':
    case 'unknownSender':
      throw new KnockError('not_found', 'There is no conversation to answer: name one of the conversations forwarded to you (conversationId or tag).');
    case 'empty':
      throw new KnockError('bad_request', 'text: The answer is empty.');
  }
}
