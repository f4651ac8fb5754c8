/**
 * Who makes an HTTP request about conversations, one rule for every API that asks: the owner, by the console's
 * session cookie or by a mail device's token (`Authorization: Bearer knd_...`, `npx knock mail login`), or a
 * conversation's visitor, by the conversation's token (as a bearer token, or the visitor cookie this browser holds
 * for the owner).
 *
 * A device token, when one is sent, decides alone: a request carrying a revoked device token beside a live cookie is
 * not the owner's. What a device may do is less than what the console may (engine/http/mailApi.ts: no settings, no
 * new devices), so a request never gets the cookie's rights by also sending a token.
 *
 * @example
 *   const requesters = new Requesters({ storage, auth });
 *   const owner = await requesters.owner(req);            // { account, device } | null
 *   const member = await requesters.member(req, convId);  // { conversation, participant } | null
 */
import type { IncomingMessage } from 'node:http';
import { isDeviceToken, secretHash, type Auth } from '../auth.ts';
import { SESSION_COOKIE, parseCookies, visitorCookieName } from '../cookies.ts';
import type { Account, Conversation, DeviceToken, Participant, Storage } from '../ports/storage.ts';

/** The owner making a request; `device` is null for the console's session cookie. */
export interface OwnerRequest {
  account: Account;
  device: DeviceToken | null;
}

/** A member of one conversation making a request, as its participant there. */
export interface Member {
  conversation: Conversation;
  participant: Participant;
}

const BEARER = /^Bearer ([A-Za-z0-9_-]{16,128})$/;

export class Requesters {
  constructor(private readonly deps: { storage: Storage; auth: Auth }) {}

  /** The owner of an account making this request (cookie or device token), or null. */
  async owner(req: IncomingMessage): Promise<OwnerRequest | null> {
    const bearer = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (bearer !== undefined && isDeviceToken(bearer)) return this.deps.auth.deviceOf(bearer);
    const account = await this.deps.auth.accountOf(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    return account ? { account, device: null } : null;
  }

  /**
   * A member of the conversation making this request: its owner (cookie or device token), or its visitor (the
   * conversation's token as a bearer token, or the visitor cookie this browser holds for the owner). Null for anyone
   * else, and for an id that names no conversation: the caller answers both the same way.
   */
  async member(req: IncomingMessage, conversationId: string): Promise<Member | null> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(conversationId)) return null;
    const conversation = await this.deps.storage.getConversation(conversationId);
    if (!conversation) return null;
    const participants = await this.deps.storage.getParticipants(conversation.id);
    const owner = await this.owner(req);
    if (owner && owner.account.id === conversation.ownerAccountId) {
      const participant = participants.find((p) => p.role === 'owner');
      if (participant) return { conversation, participant };
    }
    const bearer = BEARER.exec(req.headers.authorization ?? '')?.[1];
    const cookie = parseCookies(req.headers.cookie).get(visitorCookieName(conversation.ownerHandle));
    for (const token of [bearer, cookie]) {
      if (!token || token.length < 16 || token.length > 128 || isDeviceToken(token)) continue;
      const byToken = await this.deps.storage.getConversationByTokenHash(secretHash(token));
      const visitor = participants.find((p) => p.role === 'visitor');
      if (byToken?.id === conversation.id && visitor) return { conversation, participant: visitor };
    }
    return null;
  }
}
