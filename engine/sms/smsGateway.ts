/**
 * SMS conversations (issue 20): every text that reaches Knock's SMPP account, and where it goes.
 *
 *   from Knock's own service number                  -> dropped (a text of ours come back: a loop)
 *   to an owner's claimed number (their phone is off) -> that owner's SMS conversation with the phone, passed on to
 *                                                        the owner's phone too (SmsOutbound); no keywords there: it is
 *                                                        a text to a person
 *   from an owner's verified SMS channel             -> forwarding, as before (the owner answers a forward)
 *   else, a phone without internet at the service number:
 *     STOP / START / HELP (the whole text)           -> recorded / resumed / usage
 *     `alice hi`, `@alice hi`, `/alice hi`, `+1555… hi` -> the conversation with that owner (made on the first text),
 *                                                        which the phone's next texts continue
 *     anything else                                  -> to the owner it talks to now, else a short usage answer
 *
 * Every message enters through the ConversationLog (idempotent on the SMS's key), so the owner's console shows it
 * live and forwarding reaches an owner who is away, as for any visitor. Limits, each per phone unless said: new
 * conversations and switches, texts posted, replies sent (SmsOutbound); new conversations per owner (counted in
 * storage); automatic answers once per `answerIntervalMs`, never to a claimed number (another Knock's owner, maybe
 * an auto-responder) nor to the service number.
 *
 * @example
 *   const gateway = new SmsGateway({ storage, log, forwarding, outbound, sender: sms, clock, logger, limits,
 *     publicUrl: () => 'https://knock.example' });
 *   sms.onText(async (text) => void (await gateway.inbound(text)));
 */
import { newSecret, secretHash } from '../auth.ts';
import type { RateLimitConfig } from '../config.ts';
import type { ConversationLog } from '../conversationLog.ts';
import type { Logger } from '../logger.ts';
import type { InboundText, TextSender } from '../ports/channel.ts';
import type { Clock } from '../ports/clock.ts';
import type { Account, SmsThread, SmsVia, Storage } from '../ports/storage.ts';
import { limits } from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import { cut } from '../text.ts';
import type { InboundOutcome } from '../forwarding/forwarding.ts';
import { maskedName, readSmsText, shownNumber, type SmsTarget } from './smsText.ts';

/** Automatic answers (usage, HELP, an unknown name, a limit) to one phone at most this often. */
export const ANSWER_INTERVAL_MS = 10 * 60_000;

export interface SmsLimits {
  conversationsPerPhone: RateLimitConfig;
  textsPerPhone: RateLimitConfig;
  conversationsPerOwner: RateLimitConfig;
}

export interface SmsGatewayDeps {
  storage: Storage;
  log: Pick<ConversationLog, 'append'>;
  /** The owner's replies to forwards (issue 18), as before. */
  forwarding: { inbound(text: InboundText): Promise<InboundOutcome> };
  /** Passes a text to an owner's number on to their phone. */
  outbound: { passOn(conversationId: string, seq: number): Promise<void> };
  sender: Pick<TextSender, 'sendText' | 'serviceNumber'>;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  limits: SmsLimits;
  publicUrl: () => string;
  answerIntervalMs?: number;
}

/** What became of a text (for tests and logs). */
export type SmsOutcome =
  | { kind: 'posted'; conversationId: string; seq: number; via: SmsVia; duplicate: boolean }
  | { kind: 'owner'; outcome: InboundOutcome }
  | { kind: 'keyword'; keyword: 'stop' | 'start' | 'help'; changed: boolean }
  | { kind: 'answered'; why: 'usage' | 'unknownName' | 'limited' }
  | { kind: 'dropped'; reason: string };

export class SmsGateway {
  private readonly conversationsPerPhone: KeyedRateLimiter;
  private readonly textsPerPhone: KeyedRateLimiter;
  private readonly answerIntervalMs: number;

  constructor(private readonly deps: SmsGatewayDeps) {
    this.conversationsPerPhone = new KeyedRateLimiter(deps.limits.conversationsPerPhone, deps.clock);
    this.textsPerPhone = new KeyedRateLimiter(deps.limits.textsPerPhone, deps.clock);
    this.answerIntervalMs = deps.answerIntervalMs ?? ANSWER_INTERVAL_MS;
  }

  /** Decides where an SMS goes, and takes it there. Never throws for what the sender wrote; storage errors propagate. */
  async inbound(text: InboundText): Promise<SmsOutcome> {
    const { storage, sender } = this.deps;
    const outcome = await (async (): Promise<SmsOutcome> => {
      if (text.from === sender.serviceNumber) return { kind: 'dropped', reason: 'a text from the service number itself (a loop)' };
      const to = text.to ?? null;
      if (to !== null && to !== sender.serviceNumber) {
        const claimed = await storage.getPhoneNumber(to);
        if (claimed) return this.toOwnersNumber(text, claimed.accountId);
      }
      if ((await storage.channelsAt('sms', text.from)).length > 0) return { kind: 'owner', outcome: await this.deps.forwarding.inbound(text) };
      return this.fromPhone(text);
    })();
    if (outcome.kind === 'dropped') this.deps.logger.info({ reason: outcome.reason }, 'an SMS was dropped');
    return outcome;
  }

  // -- a phone's text to an owner's own number ----------------------------------------------------------------------

  private async toOwnersNumber(text: InboundText, accountId: string): Promise<SmsOutcome> {
    if (!this.textsPerPhone.take(text.from).ok) return { kind: 'dropped', reason: 'too many texts from this phone' };
    const thread = await this.threadFor(text.from, accountId, 'number');
    if (thread === 'limited') return { kind: 'dropped', reason: 'too many new SMS conversations for this owner' };
    const posted = await this.post(thread, text, text.text.trim(), 'number');
    if (posted.kind === 'posted' && !posted.duplicate) await this.deps.outbound.passOn(posted.conversationId, posted.seq);
    return posted;
  }

  // -- a phone without internet, at the service number ----------------------------------------------------------------

  private async fromPhone(text: InboundText): Promise<SmsOutcome> {
    const { storage, clock } = this.deps;
    const phone = text.from;
    // A claimed number may be another owner's phone, or an auto-responder: it is never answered by a machine.
    const answerable = (await storage.getPhoneNumber(phone)) === null;
    const reading = readSmsText(text.text);
    const state = await storage.smsPhone(phone);
    if (reading.kind === 'keyword') return this.keyword(phone, reading.keyword, answerable, state?.currentAccountId ?? null);
    if (!this.textsPerPhone.take(phone).ok) return { kind: 'dropped', reason: 'too many texts from this phone' };
    const current = state?.currentAccountId ?? null;
    const stopped = state?.stoppedAt != null;
    let accountId: string;
    let body: string;
    const { target } = reading;
    if (target !== null && (current === null || target.kind === 'phone' || target.explicit)) {
      const named = await this.ownerNamed(target);
      if (!named) {
        // "hello there" from a phone that talks to nobody is no name at all: it gets the usage, not "nobody is at hello".
        const explicit = target.kind === 'phone' || target.explicit;
        const why = explicit ? `Knock: nobody is at ${cut(wordOf(target), 40)} here. ${this.usage()}` : `Knock: ${this.usage()}`;
        if (answerable && !stopped) await this.answer(phone, why);
        return { kind: 'answered', why: explicit ? 'unknownName' : 'usage' };
      }
      accountId = named.id;
      body = reading.rest || reading.text;
    } else if (current !== null) {
      accountId = current;
      body = reading.text;
    } else {
      if (answerable && !stopped) await this.answer(phone, `Knock: ${this.usage()}`);
      return { kind: 'answered', why: 'usage' };
    }
    if (accountId !== current && !this.conversationsPerPhone.take(phone).ok) {
      if (answerable && !stopped) await this.answer(phone, 'Knock: too many new conversations from this phone. Try again later.');
      return { kind: 'answered', why: 'limited' };
    }
    const thread = await this.threadFor(phone, accountId, 'service');
    if (thread === 'limited') {
      const owner = await storage.getAccountById(accountId);
      if (answerable && !stopped) await this.answer(phone, `Knock: ${owner?.displayName ?? 'this person'} cannot take new texts right now. Try again later.`);
      return { kind: 'answered', why: 'limited' };
    }
    if (accountId !== current) await storage.setSmsCurrent(phone, accountId, clock.now());
    return this.post(thread, text, body, 'service');
  }

  private async keyword(phone: string, keyword: 'stop' | 'start' | 'help', answerable: boolean, current: string | null): Promise<SmsOutcome> {
    const { storage, clock } = this.deps;
    const now = clock.now();
    switch (keyword) {
      case 'stop': {
        const changed = await storage.setSmsStopped(phone, now, now);
        if (changed) {
          await this.noteEverywhere(phone, 'stop', 'This phone texted STOP: Knock sends it nothing more, your replies included, until it texts START.');
          // Confirmed once per STOP (carriers expect it), not limited like the other answers: it is the last one.
          if (answerable) await this.say(phone, 'Knock: you will get no more texts from this number. Text START to get them again.');
        }
        return { kind: 'keyword', keyword, changed };
      }
      case 'start': {
        const changed = await storage.setSmsStopped(phone, null, now);
        if (changed) {
          await this.noteEverywhere(phone, 'start', 'This phone texted START: your replies go to it by SMS again.');
          if (answerable) await this.answer(phone, `Knock: texts are on again. ${this.usage()}`);
        }
        return { kind: 'keyword', keyword, changed };
      }
      case 'help': {
        const owner = current === null ? null : await storage.getAccountById(current);
        const now_ = owner === null ? '' : ` You are texting ${owner.displayName} (/${owner.handle}).`;
        if (answerable) await this.answer(phone, `Knock: ${this.usage()}${now_}`);
        return { kind: 'keyword', keyword, changed: false };
      }
    }
  }

  // -- threads and messages -----------------------------------------------------------------------------------------

  /** The phone's thread with the owner, made (with its conversation) on the first text, within the owner's cap. */
  private async threadFor(phone: string, accountId: string, via: SmsVia): Promise<SmsThread | 'limited'> {
    const { storage, clock } = this.deps;
    const known = await storage.smsThread(phone, accountId);
    if (known) {
      if (known.via !== via) await storage.setSmsThreadVia(known.conversationId, via);
      return { ...known, via };
    }
    const cap = this.deps.limits.conversationsPerOwner;
    const now = clock.now();
    if ((await storage.countSmsThreadsSince(accountId, now - cap.windowMs + 1)) >= cap.perWindow) return 'limited';
    const { conversation } = await storage.createConversation({ ownerAccountId: accountId, tokenHash: secretHash(newSecret()), visitorName: maskedName(phone), at: now });
    const made = await storage.createSmsThread({ phone, accountId, conversationId: conversation.id, via, shown: shownNumber(phone), createdAt: now });
    if (!made.created) {
      // Another text of this phone made the thread a moment before: its conversation is the one.
      await storage.deleteConversation(conversation.id);
      return made.thread;
    }
    // A company's chat waits in its queue, as a knock's does (engine/http/api.ts; rooms/site/chatRouter.ts routes it).
    if ((await storage.getCompany(accountId)) !== null) await storage.queueChat(conversation.id, accountId, now);
    return made.thread;
  }

  private async post(thread: SmsThread, text: InboundText, body: string, via: SmsVia): Promise<SmsOutcome> {
    const visitor = await this.visitorOf(thread.conversationId);
    if (!visitor) return { kind: 'dropped', reason: 'the SMS conversation has no visitor' };
    const { message, duplicate } = await this.deps.log.append(thread.conversationId, {
      senderId: visitor,
      idempotencyKey: text.externalId.slice(0, 200),
      body: cut(body || text.text.trim(), limits.bodyChars),
      event: { kind: 'sms', via },
    });
    return { kind: 'posted', conversationId: thread.conversationId, seq: message.seq, via, duplicate };
  }

  private async visitorOf(conversationId: string): Promise<string | null> {
    return (await this.deps.storage.getParticipants(conversationId)).find((p) => p.role === 'visitor')?.id ?? null;
  }

  /** A note in every conversation of the phone (STOP, START), so each owner knows before they reply. */
  private async noteEverywhere(phone: string, what: string, body: string): Promise<void> {
    const at = this.deps.clock.now();
    for (const thread of await this.deps.storage.smsThreadsOfPhone(phone)) {
      const visitor = await this.visitorOf(thread.conversationId);
      if (!visitor) continue;
      await this.deps.log.append(thread.conversationId, { senderId: visitor, idempotencyKey: `sms.${what}:${phone}:${at}`, body, event: { kind: 'system' } });
    }
  }

  private async ownerNamed(target: SmsTarget): Promise<Account | null> {
    const { storage } = this.deps;
    if (target.kind === 'handle') return storage.getAccountByHandle(target.handle);
    const claimed = await storage.getPhoneNumber(target.number);
    return claimed ? storage.getAccountById(claimed.accountId) : null;
  }

  // -- answers ------------------------------------------------------------------------------------------------------

  /** Short enough for one SMS with most URLs (each part is billed). */
  private usage(): string {
    return `Start your text with who it is for: "alice hi" or "@alice hi". ${this.deps.publicUrl()} Text STOP to end.`;
  }

  /** An automatic answer, at most once per interval per phone (across processes: Storage.markSmsTold). */
  private async answer(phone: string, text: string): Promise<void> {
    const now = this.deps.clock.now();
    if (!(await this.deps.storage.markSmsTold(phone, now, now - this.answerIntervalMs))) return;
    await this.say(phone, text);
  }

  private async say(phone: string, text: string): Promise<void> {
    try {
      await this.deps.sender.sendText(phone, text);
    } catch (err) {
      this.deps.logger.warn({ err }, 'could not answer a phone by SMS');
    }
  }
}

function wordOf(target: SmsTarget): string {
  return target.kind === 'phone' ? target.number : `${target.explicit ? '@' : ''}${target.handle}`;
}
