/**
 * Forwarding (issue 18, DESIGN "Reaching people who are offline"): a visitor knocks on an owner who is not at their
 * URL, and the knock goes to the owner's other channels, one after another, until the owner answers; the owner's
 * answer on a channel comes back into the conversation as the owner's message.
 *
 *   a visitor's message (ConversationLog.onAppended), owner offline at the URL
 *     -> planForward (routing.ts: order, delays from the knock, XMPP presence, quiet hours, pause)
 *     -> Storage.openForward (one open forward per conversation, its tag `#n`)
 *     -> one outbox job per step, due at the step's time (`forward:<forward id>:<channel id>`)
 *     -> sendStep, when due: still wanted? (open, owner still away, not read at the URL) -> Channel.send
 *   the owner's message at the URL -> the forward closes, its waiting jobs are cancelled
 *   a text on a channel (InboundText: XMPP, SMS; a webhook's reply; an email to the owner's reply address)
 *     -> the verified channel at its sender -> routeReply (tag, thread, last forwarded) -> ConversationLog.append
 *
 * Settings → Channels (engine/http/channelsApi.ts) and `npx knock channel` (engine/cli.ts) manage the channels here.
 *
 * @example
 *   const forwarding = new Forwarding({ storage, log: conversationLog, outbox, hub, channels: { webhook, xmpp },
 *     clock, logger, publicUrl: () => config.publicUrl });
 *   await forwarding.start();   // follows the XMPP presence of every verified JID
 */
import { randomInt } from 'node:crypto';
import { secretHash } from '../auth.ts';
import type { ConversationLog } from '../conversationLog.ts';
import { KnockError } from '../errors.ts';
import type { Hub } from '../hub.ts';
import type { Logger } from '../logger.ts';
import { JobCancelled, type Outbox } from '../outbox.ts';
import type { Channel, ChannelKind, ChannelReceipt, InboundText, OwnerChannel } from '../ports/channel.ts';
import type { Clock } from '../ports/clock.ts';
import type { Account, AppendedFacts, OutboxJob, Storage, StoredForward } from '../ports/storage.ts';
import { limits, type ChannelRecord, type MessageRecord } from '../protocol.ts';
import { cut } from '../text.ts';
import { refusedCode } from '../verificationCodes.ts';
import { planForward, routeNewMessage, routeReply, type ForwardSent, type PendingForward } from './routing.ts';

/** The outbox's job kind of a forward's step. */
export const FORWARD_JOB = 'forward';
/** The outbox's job kind of a notice to the owner on one channel (notify). */
export const NOTICE_JOB = 'forward.notice';
/** A verification code is good this long. */
export const CODE_TTL_MS = 15 * 60_000;
/** Typed codes allowed per code sent. */
export const CODE_TRIES = 5;
/** Most channels per account: an escalation list, not an address book. */
export const MAX_CHANNELS = 20;
/** A forward quotes at most this many of the visitor's messages (the newest). */
const FORWARD_TEXTS = 10;
/** At most one "your reply was not posted" notice per channel in this time. */
const NOTICE_INTERVAL_MS = 10 * 60_000;
/** How often the XMPP presences followed are checked against the verified channels. */
const WATCH_RESYNC_MS = 5 * 60_000;
/** The thread of a conversation on channels with threads: the same for every forward of it. */
const THREAD_PREFIX = 'knock-';

export interface ForwardingDeps {
  storage: Storage;
  log: Pick<ConversationLog, 'append' | 'onAppended'>;
  outbox: Pick<Outbox, 'enqueue' | 'handle' | 'cancel'>;
  hub: Pick<Hub, 'isOnline'>;
  /** The channels this server can send on (XMPP and SMS only when their accounts are configured). */
  channels: Partial<Record<ChannelKind, Channel>>;
  clock: Clock;
  logger: Logger;
  /** Knock's public origin, for the links in forwards. */
  publicUrl: () => string;
  /**
   * Kinds whose inbound texts and receipts another router takes and hands on (SMS: engine/sms/ SmsGateway calls
   * `inbound` for an owner's text and `receipt`), so the channel's one handler is not set twice.
   */
  routedElsewhere?: readonly ChannelKind[];
}

const stepKey = (forwardId: string, channelId: string): string => `${FORWARD_JOB}:${forwardId}:${channelId}`;

interface StepPayload {
  forwardId: string;
  channelId: string;
}

function isStepPayload(value: unknown): value is StepPayload {
  return typeof value === 'object' && value !== null && typeof (value as StepPayload).forwardId === 'string' && typeof (value as StepPayload).channelId === 'string';
}

interface NoticePayload {
  channelId: string;
  conversationId: string;
  visitorName: string;
  texts: string[];
}

/** A failure trying again cannot mend. */
class PermanentError extends Error {
  readonly permanent = true;
}

export class Forwarding {
  constructor(private readonly deps: ForwardingDeps) {
    deps.outbox.handle(FORWARD_JOB, (job) => this.sendStep(job));
    deps.log.onAppended((conversationId, message, facts) => {
      const done = message.senderRole === 'owner' ? this.ownerAnswered(conversationId, facts.forwardOpen) : this.visitorWrote(conversationId, message, facts);
      done.catch((err: unknown) => deps.logger.error({ err, conversationId, seq: message.seq }, 'could not forward a message'));
    });
    deps.outbox.handle(NOTICE_JOB, (job) => this.sendNotice(job));
    for (const channel of Object.values(deps.channels)) {
      if (deps.routedElsewhere?.includes(channel.kind)) continue;
      channel.onText?.(async (text) => {
        await this.inbound(text);
      });
      channel.onReceipt?.((receipt) => this.receipt(receipt));
    }
  }

  /** The kinds this server can send. */
  available(): ChannelKind[] {
    return (Object.keys(this.deps.channels) as ChannelKind[]).sort();
  }

  /**
   * Follows the presence of every verified XMPP address: now, and again every WATCH_RESYNC_MS, which also picks up
   * channels another process (or `npx knock channel add`) verified.
   */
  async start(): Promise<void> {
    if (!this.deps.channels.xmpp?.watch) return;
    this.resync ??= setInterval(() => void this.watchAll().catch((err: unknown) => this.deps.logger.warn({ err }, 'could not follow the XMPP presences')), WATCH_RESYNC_MS);
    this.resync.unref();
    await this.watchAll();
  }

  close(): void {
    if (this.resync) clearInterval(this.resync);
    this.resync = null;
  }

  private resync: NodeJS.Timeout | null = null;

  private async watchAll(): Promise<void> {
    const xmpp = this.deps.channels.xmpp;
    if (!xmpp?.watch) return;
    const jids = new Set((await this.deps.storage.channelsOfKind('xmpp')).map((c) => c.address));
    for (const jid of jids) await xmpp.watch(jid).catch((err: unknown) => this.deps.logger.warn({ err, jid }, 'could not follow an XMPP presence'));
  }

  // -- Settings → Channels ------------------------------------------------------------------------------------------

  /** The account's channels as Settings lists them, each with what became of its latest forward. */
  async list(account: Account): Promise<ChannelRecord[]> {
    const channels = await this.deps.storage.listChannels(account.id);
    return Promise.all(channels.map((c) => this.recordOf(c)));
  }

  async recordOf(channel: OwnerChannel): Promise<ChannelRecord> {
    return {
      id: channel.id,
      kind: channel.kind,
      address: shownAddress(channel),
      verified: channel.verified,
      position: channel.position,
      delayMs: channel.delayMs,
      lastForward: await this.lastForwardOf(channel),
      presence: this.deps.channels[channel.kind]?.presence(channel) ?? 'unknown',
    };
  }

  /**
   * Adds a channel and sends it a code to type back (a push subscription is verified as it is made: the owner's own
   * browser made it). `secret` is the webhook's signing secret; `verified` skips the code (the CLI: the operator
   * vouches for the address).
   */
  async addChannel(
    account: Account,
    input: { kind: ChannelKind; address: string; secret: string | null; verified: boolean },
  ): Promise<{ channel: OwnerChannel; codeSent: boolean }> {
    const adapter = this.deps.channels[input.kind];
    if (!adapter) throw new KnockError('bad_request', `This server does not send ${kindName(input.kind)} (its operator has not set it up).`);
    if ((await this.deps.storage.listChannels(account.id)).length >= MAX_CHANNELS) {
      throw new KnockError('bad_request', `You have ${MAX_CHANNELS} channels already: remove one first.`);
    }
    const channel = await this.deps.storage.addChannel({
      accountId: account.id,
      kind: input.kind,
      address: input.address,
      secret: input.secret,
      delayMs: await this.defaultDelay(account.id),
      verified: input.verified || input.kind === 'push',
      at: this.deps.clock.now(),
    });
    if (channel.verified) {
      await this.verified(channel);
      return { channel, codeSent: false };
    }
    try {
      await this.sendCode(channel);
    } catch (err) {
      // An address the channel refuses at once is no channel: it goes, and the owner reads why.
      await this.deps.storage.removeChannel(account.id, channel.id);
      throw err;
    }
    return { channel: (await this.deps.storage.getChannel(channel.id)) ?? channel, codeSent: true };
  }

  /** A new code for an unverified channel (the last one expired, or was mistyped too often). */
  async resendCode(account: Account, id: string): Promise<void> {
    const channel = await this.ownChannel(account, id);
    if (channel.verified) throw new KnockError('bad_request', 'This channel is verified already.');
    await this.sendCode(channel);
  }

  async verify(account: Account, id: string, code: string): Promise<OwnerChannel> {
    const channel = await this.ownChannel(account, id);
    if (channel.verified) return channel;
    const check = await this.deps.storage.checkChannelCode(account.id, id, secretHash(code), this.deps.clock.now(), CODE_TRIES);
    if (check !== 'verified') throw refusedCode(check, 'No code was sent to this channel: send one.');
    const done = (await this.deps.storage.getChannel(id)) ?? channel;
    await this.verified(done);
    return done;
  }

  async removeChannel(account: Account, id: string): Promise<void> {
    const channel = await this.ownChannel(account, id);
    if (!(await this.deps.storage.removeChannel(account.id, id))) throw new KnockError('not_found', 'There is no such channel.');
    if (channel.kind === 'xmpp' && channel.verified) {
      const others = await this.deps.storage.channelsAt('xmpp', channel.address);
      if (others.length === 0) await this.deps.channels.xmpp?.unwatch?.(channel.address).catch(() => undefined);
    }
  }

  async setDelay(account: Account, id: string, delayMs: number): Promise<void> {
    if (!(await this.deps.storage.setChannelDelay(account.id, id, delayMs))) throw new KnockError('not_found', 'There is no such channel.');
  }

  async reorder(account: Account, ids: readonly string[]): Promise<void> {
    if (!(await this.deps.storage.reorderChannels(account.id, ids))) {
      throw new KnockError('bad_request', 'ids: Give every one of your channels once, in the order you want them.');
    }
  }

  private async ownChannel(account: Account, id: string): Promise<OwnerChannel> {
    const channel = await this.deps.storage.getChannel(id);
    if (!channel || channel.accountId !== account.id) throw new KnockError('not_found', 'There is no such channel.');
    return channel;
  }

  /** A new channel goes after the others: two minutes after the last one's delay (none for the first). */
  private async defaultDelay(accountId: string): Promise<number> {
    const channels = await this.deps.storage.listChannels(accountId);
    if (channels.length === 0) return 0;
    return Math.min(24 * 3_600_000, Math.max(...channels.map((c) => c.delayMs)) + 2 * 60_000);
  }

  private async sendCode(channel: OwnerChannel): Promise<void> {
    const adapter = this.deps.channels[channel.kind];
    if (!adapter) throw new KnockError('bad_request', `This server does not send ${kindName(channel.kind)}.`);
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.deps.storage.setChannelCode(channel.id, { codeHash: secretHash(code), expiresAt: this.deps.clock.now() + CODE_TTL_MS });
    let echoed: boolean;
    try {
      ({ echoed } = await adapter.sendCode(channel, code));
    } catch (err) {
      const permanent = typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true;
      this.deps.logger.info({ err, channelId: channel.id, kind: channel.kind }, 'a verification code could not be sent');
      throw new KnockError(permanent ? 'bad_request' : 'unavailable', `The code could not be sent: ${err instanceof Error ? err.message : String(err)}`);
    }
    // A webhook may answer the call with the code itself: that proves the URL is the owner's receiver.
    if (echoed) await this.deps.storage.checkChannelCode(channel.accountId, channel.id, secretHash(code), this.deps.clock.now(), CODE_TRIES);
  }

  private async verified(channel: OwnerChannel): Promise<void> {
    if (channel.kind === 'xmpp') await this.deps.channels.xmpp?.watch?.(channel.address).catch((err: unknown) => this.deps.logger.warn({ err }, 'could not follow an XMPP presence'));
  }

  private async lastForwardOf(channel: OwnerChannel): Promise<ChannelRecord['lastForward']> {
    const last = await this.deps.storage.lastStepOn(channel.id, false);
    if (!last) return null;
    const job = await this.deps.storage.getJobByKey(stepKey(last.forwardId, channel.id));
    if (last.step.delivery !== null) return { state: last.step.delivery, at: last.step.sentAt ?? last.step.at, error: null };
    if (last.step.sentAt !== null) return { state: 'sent', at: last.step.sentAt, error: null };
    if (!job) return { state: 'queued', at: last.step.at, error: null };
    switch (job.state) {
      case 'pending':
      case 'retrying':
        return { state: 'queued', at: job.runAt, error: job.lastError };
      case 'sent':
        return { state: 'sent', at: job.updatedAt, error: null };
      case 'failed':
        return { state: 'failed', at: job.updatedAt, error: job.lastError };
      case 'cancelled':
        return { state: 'cancelled', at: job.updatedAt, error: null };
    }
  }

  // -- a visitor writes; the owner answers ----------------------------------------------------------------------------

  private async visitorWrote(conversationId: string, message: MessageRecord, facts: AppendedFacts): Promise<void> {
    // Mail from a machine (an auto-reply) reaches nobody: two servers would otherwise forward to each other for ever.
    // Nor does mail that failed DMARC (kept out of the inbox as "Suspicious": a forged sender).
    if (message.event.kind === 'email' && (message.event.automatic === true || message.event.auth.suspicious)) return;
    // A text to the owner's own number goes on to their phone (engine/sms/); their other channels hear of it only if
    // it does not get there (notify).
    if (message.event.kind === 'sms' && message.event.via === 'number') return;
    // Cheapest first: most owners have no channel, and this runs for every visitor's message (the facts are read
    // once for all of the log's listeners).
    if (!facts.verifiedChannelKinds.some((kind) => this.deps.channels[kind] !== undefined)) return;
    const { storage, clock } = this.deps;
    const { conversation } = facts;
    const channels = (await storage.listChannels(conversation.ownerAccountId)).filter((c) => this.deps.channels[c.kind] !== undefined);
    if (!channels.some((c) => c.verified)) return;
    if (await this.deps.hub.isOnline(conversation.ownerHandle)) return;
    const open = await storage.getOpenForward(conversationId);
    const now = clock.now();
    const route = routeNewMessage(open === null ? null : pendingOf(open), conversationId, now);
    if (route.kind === 'join') return; // its next step carries this message too
    const settings = await storage.getForwardingSettings(conversation.ownerAccountId);
    const steps = planForward({
      knockAt: route.knockAt,
      channels,
      presenceOf: (c) => this.deps.channels[c.kind]?.presence(c) ?? 'unknown',
      settings,
    });
    if (steps.length === 0) return;
    // Every step of the old forward went out: a new one carries what came since (routing.ts FOLLOW_UP_WINDOW_MS).
    if (open !== null) await storage.closeForward(conversationId, now);
    const { forward, duplicate } = await storage.openForward({
      conversationId,
      accountId: conversation.ownerAccountId,
      knockAt: route.knockAt,
      afterSeq: open === null ? message.seq - 1 : Math.max(...open.steps.map((s) => s.upToSeq ?? open.afterSeq)),
      steps,
      at: now,
    });
    if (duplicate) return; // another process (or message) opened it a moment ago
    for (const step of forward.steps) {
      const channel = channels.find((c) => c.id === step.channelId);
      await this.deps.outbox.enqueue({
        kind: FORWARD_JOB,
        key: stepKey(forward.id, step.channelId),
        payload: { forwardId: forward.id, channelId: step.channelId } satisfies StepPayload,
        conversationId,
        recipient: channel ? shownAddress(channel) : null,
        runAt: step.at,
        at: now,
      });
    }
  }

  /** The owner wrote in the conversation (at the URL or from a channel): what is still waiting is not sent. */
  private async ownerAnswered(conversationId: string, forwardOpen: boolean): Promise<void> {
    // Read first (with the log's facts): the owner's every message must not cost a write when nothing was forwarded.
    if (!forwardOpen) return;
    const closed = await this.deps.storage.closeForward(conversationId, this.deps.clock.now());
    if (closed) await this.cancelSteps(closed);
  }

  private async cancelSteps(forward: StoredForward): Promise<void> {
    await this.deps.outbox.cancel(forward.steps.filter((s) => s.sentAt === null).map((s) => stepKey(forward.id, s.channelId)));
  }

  /** Closes the forward (the owner is back, or read it) and ends this job as cancelled. */
  private async giveUp(forward: StoredForward, reason: string): Promise<never> {
    const closed = await this.deps.storage.closeForward(forward.conversationId, this.deps.clock.now());
    if (closed) await this.cancelSteps(closed);
    throw new JobCancelled(reason);
  }

  /** One step, when due: sent only while the forward is open and the owner still away and unaware. */
  private async sendStep(job: OutboxJob): Promise<{ ref: string | null }> {
    if (!isStepPayload(job.payload)) throw new PermanentError('A forward job without its forward.');
    const { forwardId, channelId } = job.payload;
    const { storage, clock } = this.deps;
    const forward = await storage.getForward(forwardId);
    if (!forward || forward.closedAt !== null) throw new JobCancelled('The owner answered first.');
    const step = forward.steps.find((s) => s.channelId === channelId);
    if (!step) throw new JobCancelled('The channel was removed.');
    if (step.sentAt !== null) return { ref: step.externalId }; // sent before a crash, recorded, not settled
    const conversation = await storage.getConversation(forward.conversationId);
    if (!conversation) throw new JobCancelled('The conversation was deleted.');
    if (await this.deps.hub.isOnline(conversation.ownerHandle)) return this.giveUp(forward, 'The owner is at their URL.');
    const settings = await storage.getForwardingSettings(forward.accountId);
    if (settings.paused) return this.giveUp(forward, 'Forwarding is paused.');
    const messages = (await storage.messagesAfter(forward.conversationId, forward.afterSeq, limits.pageSize)).filter((m) => m.senderRole === 'visitor');
    const participants = await storage.getParticipants(forward.conversationId);
    const owner = participants.find((p) => p.role === 'owner');
    const last = messages[messages.length - 1];
    if (last === undefined || (owner?.readSeq ?? 0) >= last.seq) return this.giveUp(forward, 'The owner read it at their URL.');
    const channel = await storage.getChannel(channelId);
    if (!channel || !channel.verified) throw new JobCancelled('The channel was removed.');
    const adapter = this.deps.channels[channel.kind];
    if (!adapter) throw new PermanentError(`This server no longer sends ${kindName(channel.kind)}.`);
    const visitorName = participants.find((p) => p.role === 'visitor')?.name ?? 'A visitor';
    const { externalId } = await adapter.send(channel, {
      conversationId: forward.conversationId,
      tag: forward.tag,
      threadId: `${THREAD_PREFIX}${forward.conversationId}`,
      visitorName,
      texts: messages.slice(-FORWARD_TEXTS).map((m) => m.body),
      link: `${this.deps.publicUrl()}/${conversation.ownerHandle}#c=${encodeURIComponent(forward.conversationId)}`,
    }, { key: job.key });
    await storage.markStepSent(forwardId, channelId, { at: clock.now(), upToSeq: last.seq, externalId });
    return { ref: externalId };
  }

  /** A channel's delivery receipt for a forward's step. */
  async receipt(receipt: ChannelReceipt): Promise<void> {
    await this.deps.storage.markStepDelivery(receipt.kind, receipt.externalId, receipt.state);
  }

  // -- notices --------------------------------------------------------------------------------------------------------

  /**
   * Tells the owner something about a conversation on each of their verified channels but the kinds in `except`, now
   * and whether or not they are at their URL (issue 20: a text to their number did not reach their phone). One outbox
   * job per channel, keyed by `key`, so telling twice tells once. Resolves with how many channels are told.
   */
  async notify(input: { accountId: string; conversationId: string; key: string; visitorName: string; texts: string[]; except: readonly ChannelKind[] }): Promise<number> {
    const channels = (await this.deps.storage.listChannels(input.accountId)).filter(
      (c) => c.verified && !input.except.includes(c.kind) && this.deps.channels[c.kind] !== undefined,
    );
    const now = this.deps.clock.now();
    for (const channel of channels) {
      const payload: NoticePayload = { channelId: channel.id, conversationId: input.conversationId, visitorName: input.visitorName, texts: input.texts };
      await this.deps.outbox.enqueue({
        kind: NOTICE_JOB, key: `${NOTICE_JOB}:${input.key}:${channel.id}`.slice(0, 400), payload, conversationId: input.conversationId,
        recipient: shownAddress(channel), runAt: now, at: now,
      });
    }
    return channels.length;
  }

  private async sendNotice(job: OutboxJob): Promise<{ ref: string | null }> {
    const payload = job.payload as Partial<NoticePayload> | null;
    if (typeof payload?.channelId !== 'string' || typeof payload.conversationId !== 'string' || !Array.isArray(payload.texts)) throw new PermanentError('A notice job without its notice.');
    const channel = await this.deps.storage.getChannel(payload.channelId);
    if (!channel || !channel.verified) throw new JobCancelled('The channel was removed.');
    const conversation = await this.deps.storage.getConversation(payload.conversationId);
    if (!conversation) throw new JobCancelled('The conversation was deleted.');
    const adapter = this.deps.channels[channel.kind];
    if (!adapter) throw new PermanentError(`This server no longer sends ${kindName(channel.kind)}.`);
    // A reply to it finds the conversation by its thread (XMPP) or its id (a webhook), or by the open forward's tag.
    const open = await this.deps.storage.getOpenForward(conversation.id);
    const { externalId } = await adapter.send(channel, {
      conversationId: conversation.id,
      tag: open?.tag ?? '',
      threadId: `${THREAD_PREFIX}${conversation.id}`,
      visitorName: String(payload.visitorName ?? 'Knock'),
      texts: payload.texts.map(String),
      link: `${this.deps.publicUrl()}/${conversation.ownerHandle}#c=${encodeURIComponent(conversation.id)}`,
    }, { key: job.key });
    return { ref: externalId };
  }

  // -- replies on a channel -------------------------------------------------------------------------------------------

  /**
   * A text from a channel (an XMPP chat message, an SMS, an email to the owner's reply address, a webhook's reply):
   * from a verified channel of an owner, it lands in the conversation it answers as the owner's message. What
   * comes from an address no owner verified is dropped (logged): nobody can post as an owner by knowing a tag.
   * Resolves with what happened, for the webhook's answer.
   */
  async inbound(text: InboundText, onlyChannel?: OwnerChannel): Promise<InboundOutcome> {
    const channels = onlyChannel ? [onlyChannel] : await this.deps.storage.channelsAt(text.kind, text.from);
    if (channels.length === 0) {
      this.deps.logger.info({ kind: text.kind }, 'a text from an address that is no verified channel was dropped');
      return { kind: 'unknownSender' };
    }
    // One address may be a channel of several accounts (a shared phone): the one whose forward it answers wins.
    let outcome: InboundOutcome = { kind: 'noOpenForward' };
    for (const channel of channels) {
      outcome = await this.replyOn(channel, text);
      if (outcome.kind === 'posted') return outcome;
    }
    await this.tellWhyNot(channels[0]!, outcome);
    return outcome;
  }

  /** When each channel was last told why a reply was not posted. */
  private readonly told = new Map<string, number>();

  /**
   * Tells the owner, on the channel their reply came by, why it was not posted: at most once per channel per
   * NOTICE_INTERVAL_MS, so an auto-responder on the owner's side and this notice cannot answer each other for ever.
   */
  private async tellWhyNot(channel: OwnerChannel, outcome: InboundOutcome): Promise<void> {
    const adapter = this.deps.channels[channel.kind];
    if (!adapter?.say || outcome.kind === 'posted' || outcome.kind === 'empty' || outcome.kind === 'unknownSender') return;
    const now = this.deps.clock.now();
    if (now - (this.told.get(channel.id) ?? -Infinity) < NOTICE_INTERVAL_MS) return;
    this.told.set(channel.id, now);
    if (this.told.size > 10_000) this.told.clear();
    const open = await this.deps.storage.openForwards(channel.accountId);
    const tags = open.map((f) => f.tag).join(', ');
    const why =
      outcome.kind === 'unknownTag'
        ? `Knock: no open conversation has the tag ${outcome.tag}, so your reply was not posted.`
        : 'Knock: there is no conversation to answer here right now, so your reply was not posted.';
    const hint = open.length > 0 ? ` Open: ${tags}. Start your reply with one of them.` : '';
    await adapter.say(channel, why + hint).catch((err: unknown) => this.deps.logger.info({ err, channelId: channel.id }, 'could not tell the owner why a reply was not posted'));
  }

  private async replyOn(channel: OwnerChannel, text: InboundText): Promise<InboundOutcome> {
    const { storage } = this.deps;
    const open = await storage.openForwards(channel.accountId);
    const sent: ForwardSent[] = open.flatMap((f) =>
      f.steps
        .filter((s) => s.sentAt !== null)
        .map((s) => ({ conversationId: f.conversationId, tag: f.tag, channelId: s.channelId, threadId: s.kind === 'xmpp' ? `${THREAD_PREFIX}${f.conversationId}` : null, sentAt: s.sentAt! })),
    );
    // A tag names its open forward even before a step of it is recorded sent (an owner who answers within the
    // moment between the channel taking the forward and storage recording it); such an entry matches by tag only.
    for (const f of open) {
      if (!sent.some((s) => s.conversationId === f.conversationId)) sent.push({ conversationId: f.conversationId, tag: f.tag, channelId: '', threadId: null, sentAt: 0 });
    }
    // The last forward on this channel stays answerable after it closed (SMS: "the last one forwarded to that phone").
    const last = await storage.lastStepOn(channel.id, true);
    if (last && last.step.sentAt !== null && !sent.some((s) => s.channelId === channel.id && s.conversationId === last.conversationId)) {
      sent.push({ conversationId: last.conversationId, tag: '', channelId: channel.id, threadId: null, sentAt: last.step.sentAt });
    }
    let route = routeReply({ channelId: channel.id, threadId: text.threadId, text: text.text, open: sent });
    // A reply in a conversation's thread finds it even when no forward of it is open any more.
    if (route.kind !== 'conversation' && route.kind !== 'unknownTag' && text.threadId?.startsWith(THREAD_PREFIX) && text.text.trim() !== '') {
      route = { kind: 'conversation', conversationId: text.threadId.slice(THREAD_PREFIX.length), text: text.text, by: 'thread' };
    }
    if (route.kind !== 'conversation') return route;
    const conversation = await storage.getConversation(route.conversationId);
    if (!conversation || conversation.ownerAccountId !== channel.accountId) return { kind: 'noOpenForward' };
    const owner = (await storage.getParticipants(conversation.id)).find((p) => p.role === 'owner');
    if (!owner) return { kind: 'noOpenForward' };
    const body = cut(route.text.trim(), limits.bodyChars);
    const { message, duplicate } = await this.deps.log.append(conversation.id, {
      senderId: owner.id,
      idempotencyKey: `channel:${channel.id}:${text.externalId}`.slice(0, 200),
      body,
      event: { kind: 'text' },
    });
    return { kind: 'posted', conversationId: conversation.id, seq: message.seq, duplicate };
  }
}

/** What became of a text that came in on a channel. */
export type InboundOutcome =
  | { kind: 'posted'; conversationId: string; seq: number; duplicate: boolean }
  | { kind: 'unknownSender' }
  | { kind: 'noOpenForward' }
  | { kind: 'unknownTag'; tag: string }
  | { kind: 'empty' };

function pendingOf(forward: StoredForward): PendingForward {
  return { conversationId: forward.conversationId, steps: forward.steps, closedAt: forward.closedAt };
}

function kindName(kind: ChannelKind): string {
  return { xmpp: 'XMPP', email: 'email', sms: 'SMS', webhook: 'webhooks', push: 'push notifications' }[kind];
}

/** How Settings shows a channel's address: a push subscription by its push service's host. */
export function shownAddress(channel: OwnerChannel): string {
  if (channel.kind !== 'push') return channel.address;
  try {
    return `Push via ${new URL(channel.address).host}`;
  } catch {
    return 'Push';
  }
}

