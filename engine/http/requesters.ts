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
 * A company's operators act for it (issue 19, engine/actingFor.ts): the console of `/acme` sends
 * `X-Knock-Account: acme` (ACTING_ACCOUNT_HEADER) with every call, and a session whose account is an operator of acme
 * is then acme's owner, with `operator` saying who and with which role. A header naming an account the session may
 * not act for makes the request nobody's: never the person's own, so a console that believes it acts for the
 * company never changes the person's account instead. Device tokens ignore the header: a device is personal.
 * Conversations need no header: an operator of the conversation's owner is its owner member.
 *
 * @example
 *   const requesters = new Requesters({ storage, auth });
 *   const owner = await requesters.owner(req);            // { account, device, operator } | null
 *   const admin = await requesters.requireOwner(req, { console: 'Use the console.', admin: 'change its channels' });
 *   const member = await requesters.member(req, convId);  // { conversation, participant } | null
 */
import type { IncomingMessage } from 'node:http';
import { standingFor } from '../actingFor.ts';
import { isDeviceToken, secretHash, type Auth } from '../auth.ts';
import { SESSION_COOKIE, parseCookies, visitorCookieName } from '../cookies.ts';
import { KnockError } from '../errors.ts';
import type { Account, Conversation, DeviceToken, OperatorRole, Participant, Storage } from '../ports/storage.ts';
import { ACTING_ACCOUNT_HEADER, handleSchema } from '../protocol.ts';

/** The owner making a request; `device` is null for the console's session cookie. */
export interface OwnerRequest {
  account: Account;
  device: DeviceToken | null;
  /** A company's operator acting for it (the header): the person signed in, and their role. Null otherwise. */
  operator: { account: Account; role: OperatorRole } | null;
}

/** A member of one conversation making a request, as its participant there. */
export interface Member {
  conversation: Conversation;
  participant: Participant;
}

/** What an endpoint asks of the owner beyond being one (engine/http/*Api.ts). */
export interface OwnerNeeds {
  /** The console only (the session cookie): a mail device is refused with this message. */
  console?: string;
  /**
   * Only the account itself or an admin of the company: a plain operator is refused, told "Only an admin of /acme
   * can <admin>." (channels, forwarding, email settings, devices, the company's settings).
   */
  admin?: string;
}

/** Who is signed in on a request, before the header is looked at. */
type SignedIn = { account: Account; device: DeviceToken | null };

/** Why a request is nobody's, so the refusal can say what to do. */
type Resolved =
  | { kind: 'owner'; owner: OwnerRequest }
  | { kind: 'nobody'; staleDevice: boolean }
  /** `handle` is null when the header names no account at all (malformed, or sent twice). */
  | { kind: 'notOperator'; handle: string | null };

const BEARER = /^Bearer ([A-Za-z0-9_-]{16,128})$/;

export class Requesters {
  constructor(private readonly deps: { storage: Storage; auth: Auth }) {}

  /** The owner of an account making this request (cookie or device token, and the header), or null. */
  async owner(req: IncomingMessage): Promise<OwnerRequest | null> {
    const resolved = await this.resolve(req);
    return resolved.kind === 'owner' ? resolved.owner : null;
  }

  /** The owner making this request, with what `needs` asks; otherwise a KnockError that says what to do. */
  async requireOwner(req: IncomingMessage, needs: OwnerNeeds = {}): Promise<OwnerRequest> {
    const resolved = await this.resolve(req);
    switch (resolved.kind) {
      case 'nobody':
        if (resolved.staleDevice) throw new KnockError('unauthorized', 'This mail login is not valid any more: log in again (npx knock mail login).');
        throw new KnockError('unauthorized', 'Please log in.');
      case 'notOperator':
        if (resolved.handle === null) throw new KnockError('bad_request', `The ${ACTING_ACCOUNT_HEADER} header does not name an account.`);
        throw new KnockError('forbidden', `You are not an operator of /${resolved.handle}: only its team can act for it.`);
      case 'owner':
        break;
    }
    const { owner } = resolved;
    if (needs.console !== undefined && owner.device) throw new KnockError('forbidden', needs.console);
    if (needs.admin !== undefined && owner.operator?.role === 'operator') {
      throw new KnockError('forbidden', `Only an admin of /${owner.account.handle} can ${needs.admin}.`);
    }
    return owner;
  }

  /**
   * The person signed in at the console (the session cookie), whatever the header says: for what only a person does
   * for themselves (taking an invitation to a company's team). Null for a device token or nobody.
   */
  async person(req: IncomingMessage): Promise<Account | null> {
    const signedIn = await this.signedIn(req);
    return signedIn && !signedIn.device ? signedIn.account : null;
  }

  /**
   * A member of the conversation making this request: its owner (cookie or device token; an operator of the owner
   * by their session cookie), or its visitor (the conversation's token as a bearer token, or the visitor cookie this
   * browser holds for the owner). Null for anyone else, and for an id that names no conversation: the caller answers
   * both the same way.
   */
  async member(req: IncomingMessage, conversationId: string): Promise<Member | null> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(conversationId)) return null;
    const conversation = await this.deps.storage.getConversation(conversationId);
    if (!conversation) return null;
    const participants = await this.deps.storage.getParticipants(conversation.id);
    if (await this.actsForOwnerOf(req, conversation)) {
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

  /** The conversation's owner account itself, or (by the session cookie, not a device) one of its operators. */
  private async actsForOwnerOf(req: IncomingMessage, conversation: Conversation): Promise<boolean> {
    const signedIn = await this.signedIn(req);
    if (!signedIn) return false;
    if (signedIn.device) return signedIn.account.id === conversation.ownerAccountId;
    return (await standingFor(this.deps.storage, signedIn.account.id, conversation.ownerAccountId)) !== null;
  }

  private async resolve(req: IncomingMessage): Promise<Resolved> {
    const signedIn = await this.signedIn(req);
    if (!signedIn) return { kind: 'nobody', staleDevice: /^Bearer knd_/.test(req.headers.authorization ?? '') };
    const header = req.headers[ACTING_ACCOUNT_HEADER];
    if (signedIn.device || header === undefined) return { kind: 'owner', owner: { ...signedIn, operator: null } };
    // A header sent twice arrives joined by a comma (or as a list): no handle, nobody's request.
    const handle = handleSchema.safeParse(header);
    if (!handle.success) return { kind: 'notOperator', handle: null };
    if (handle.data === signedIn.account.handle) return { kind: 'owner', owner: { ...signedIn, operator: null } };
    const target = await this.deps.storage.getAccountByHandle(handle.data);
    const standing = target ? await standingFor(this.deps.storage, signedIn.account.id, target.id) : null;
    if (!target || standing?.kind !== 'operator') return { kind: 'notOperator', handle: handle.data };
    return { kind: 'owner', owner: { account: target, device: null, operator: { account: signedIn.account, role: standing.role } } };
  }

  /** The device of a device token (which decides alone when sent), else the account of the session cookie. */
  private async signedIn(req: IncomingMessage): Promise<SignedIn | null> {
    const bearer = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (bearer !== undefined && isDeviceToken(bearer)) return this.deps.auth.deviceOf(bearer);
    const account = await this.deps.auth.accountOf(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    return account ? { account, device: null } : null;
  }
}
