/**
 * The transcript by email over HTTP (issue 19, engine/transcripts.ts): a conversation's visitor (the conversation's
 * token as a bearer token, or the visitor cookie) or its owner (an operator of a company's included) asks for the
 * conversation to be mailed to an address. Anyone else learns nothing (404, as for an id that names nothing).
 *
 * The address is anyone's, so this is a way to make the owner's address mail a stranger: each conversation may ask a
 * few times an hour, each address (IP) a few more, and the text is the conversation's own (what its two sides wrote).
 *
 *   POST /_/api/conversations/<id>/transcript   transcriptBody { email }   -> 202 transcriptAnswer
 */
import type { Auth } from '../auth.ts';
import type { RateLimitConfig } from '../config.ts';
import { KnockError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Storage } from '../ports/storage.ts';
import { transcriptBody, type TranscriptAnswer } from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import type { Transcripts } from '../transcripts.ts';
import type { RequestInfo } from './api.ts';
import { readJson, sendJson } from './io.ts';
import { Requesters } from './requesters.ts';
import { runMatched, type Handler } from './routing.ts';

/** An address and nothing else. */
const MAX_BODY_BYTES = 1024;
/**
 * Transcripts of one conversation: a visitor who mistyped the address tries again; more is someone using the owner's
 * address to mail others. Constants rather than KNOCK_RATE_LIMITS entries: no server's operator has a reason to move them.
 */
export const TRANSCRIPTS_PER_CONVERSATION: RateLimitConfig = { perWindow: 3, windowMs: 3600_000 };
/** Transcripts asked from one address (IP), over all its conversations. */
export const TRANSCRIPTS_PER_IP: RateLimitConfig = { perWindow: 10, windowMs: 3600_000 };
/**
 * A transcript goes to whatever address the visitor types, From the owner's address: with many conversations from
 * many addresses, this caps what one owner's name can be made to send.
 */
export const TRANSCRIPTS_PER_OWNER: RateLimitConfig = { perWindow: 120, windowMs: 3600_000 };

export interface TranscriptApiDeps {
  storage: Storage;
  auth: Auth;
  transcripts: Pick<Transcripts, 'request'>;
  clock: Clock;
}

export class TranscriptApi {
  private readonly requesters: Requesters;
  private readonly perConversation: KeyedRateLimiter;
  private readonly perIp: KeyedRateLimiter;
  private readonly perOwner: KeyedRateLimiter;

  constructor(private readonly deps: TranscriptApiDeps) {
    this.requesters = new Requesters(deps);
    this.perConversation = new KeyedRateLimiter(TRANSCRIPTS_PER_CONVERSATION, deps.clock);
    this.perIp = new KeyedRateLimiter(TRANSCRIPTS_PER_IP, deps.clock);
    this.perOwner = new KeyedRateLimiter(TRANSCRIPTS_PER_OWNER, deps.clock);
  }

  /** Routes the API above; false when no route matches. */
  route(r: RequestInfo, path: string): Promise<boolean> {
    return runMatched(this.match(r.req.method ?? 'GET', path, r));
  }

  private match(method: string, path: string, r: RequestInfo): Handler | null {
    const m = path.match(/^\/_\/api\/conversations\/([^/]+)\/transcript$/);
    if (method === 'POST' && m) return () => this.transcript(r, m[1]!);
    return null;
  }

  private async transcript(r: RequestInfo, conversationId: string): Promise<void> {
    const member = await this.requesters.member(r.req, conversationId);
    if (!member) throw new KnockError('not_found', 'This conversation does not exist.');
    const { email } = await readJson(r.req, transcriptBody, MAX_BODY_BYTES);
    this.perIp.takeOrThrow(r.ip, 'Transcripts asked from your address');
    this.perConversation.takeOrThrow(conversationId, 'Transcripts of this conversation');
    this.perOwner.takeOrThrow(member.conversation.ownerAccountId, `Transcripts of conversations with ${member.conversation.ownerName}`);
    await this.deps.transcripts.request(member.conversation, email);
    const answer: TranscriptAnswer = { email };
    sendJson(r.res, 202, answer);
  }
}
