/**
 * Email over HTTP (issue 17): mail devices (`npx knock mail login`), the owner's email settings, "New email",
 * writing and reading into conversations from a mail client, and the sanitized HTML of a received mail. Checks first,
 * then does (CONVENTIONS 7).
 *
 * Who may: the owner, by the console's session cookie or by a mail device's token (engine/http/requesters.ts). A
 * device reads everything and writes messages, but changes no settings and makes no devices (that takes the
 * password, or the console): a token stolen from a laptop's config file does not take the account over. It may log
 * itself out. Another owner's conversation, or one that does not exist, is the same 404. A company's operators act
 * for it (engine/http/requesters.ts); its settings and devices are its admins' to change.
 *
 *   POST   /_/api/devices                                 { handle, password, name }   -> 201 deviceLoginAnswer
 *   GET    /_/api/settings                                                             -> settingsAnswer
 *   PUT    /_/api/settings/email                          { address | null }           -> settingsAnswer  (console)
 *   DELETE /_/api/settings/devices/<id>                                                -> 204  (console; a device: itself)
 *   POST   /_/api/emails                                  { to, subject }              -> 201 newEmailAnswer
 *   POST   /_/api/conversations/<id>/messages             { clientMsgId, body, files } -> 201 postMessageAnswer
 *   POST   /_/api/conversations/<id>/read                 { seq }                      -> ConversationSummary
 *   GET    /_/api/mail/conversations                                                   -> mailConversationsAnswer
 *   GET    /_/api/mail/conversations/<id>/messages?after=<seq>                         -> mailMessagesAnswer
 *   GET    /_/api/conversations/<id>/emails/<seq>.html[?images=1]  members: the mail's HTML part, sandboxed
 */
import type { z } from 'zod';
import { auditContextOf } from '../auditLog.ts';
import type { Auth } from '../auth.ts';
import type { KnockConfig } from '../config.ts';
import type { ConversationLog } from '../conversationLog.ts';
import { KnockError } from '../errors.ts';
import { messageEntry, type Files } from '../files.ts';
import type { LoginThrottle } from '../loginThrottle.ts';
import type { MailActions } from '../mail.ts';
import type { Blobs } from '../ports/blobs.ts';
import type { Clock } from '../ports/clock.ts';
import type { Account, Conversation, DeviceToken, Participant, Storage } from '../ports/storage.ts';
import {
  deviceLoginBody,
  limits,
  newEmailBody,
  postMessageBody,
  readBody,
  settingsEmailBody,
  type ConversationSummary,
  type DeviceRecord,
  type deviceLoginAnswer,
  type mailConversationRecord,
  type mailMessagesAnswer,
  type newEmailAnswer,
  type postMessageAnswer,
  type SettingsAnswer,
} from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import type { SecondFactor } from '../secondFactor/secondFactor.ts';
import type { RequestInfo } from './api.ts';
import { readJson, sendJson } from './io.ts';
import { runMatched, type Handler } from './routing.ts';
import { Requesters, type OwnerRequest } from './requesters.ts';

/** How many of the owner's conversations a mail client is given (the active ones, then the archived ones). */
const MAIL_CONVERSATIONS = 5000;
/**
 * A page of messages as mail stops growing past this many bytes of RFC 5322 (attachments make a mail large: 100 of
 * them could be gigabytes held in memory); it holds at least one message, and `more` says the rest follow.
 */
const MAIL_PAGE_BYTES = 32 * 1024 * 1024;
/** Names shown in the settings: no control, bidirectional-override or zero-width characters, no lone surrogates. */
const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const SEQ_PARAM = /^\d{1,15}$/;

export interface MailApiDeps {
  storage: Storage;
  auth: Auth;
  /** What email means for conversations (engine/mail.ts). */
  mail: MailActions;
  files: Pick<Files, 'refsFor'>;
  blobs: Pick<Blobs, 'get'>;
  conversationLog: Pick<ConversationLog, 'append' | 'summaryNow'>;
  /** The console's login throttle (the same instance as engine/http/api.ts's): a device login is a login. */
  logins: Pick<LoginThrottle, 'admit'>;
  /** Issue 22: an account with a second factor gives one at a device login too (else the mail login would go around it). */
  secondFactor?: Pick<SecondFactor, 'methods' | 'confirmSecondFactor'>;
  /** config.trustProxy: the client's address in the audit log's entries of those second factors. */
  trustProxy?: number;
  clock: Clock;
  rateLimits: Pick<KnockConfig['rateLimits'], 'socketMessages' | 'newEmailsPerAccount'>;
  maxBodyBytes: number;
}

interface OwnConversation {
  conversation: Conversation;
  /** The owner's participant in it. */
  owner: Participant;
}


export class MailApi {
  private readonly requesters: Requesters;
  /** Messages posted over HTTP, per account: the budget of one socket (KNOCK_RATE_LIMITS socketMessages). */
  private readonly messagesPerAccount: KeyedRateLimiter;
  private readonly newEmailsPerAccount: KeyedRateLimiter;

  constructor(private readonly deps: MailApiDeps) {
    this.requesters = new Requesters(deps);
    this.messagesPerAccount = new KeyedRateLimiter(deps.rateLimits.socketMessages, deps.clock);
    this.newEmailsPerAccount = new KeyedRateLimiter(deps.rateLimits.newEmailsPerAccount, deps.clock);
  }

  /** Routes the API above; false when no route matches. Errors propagate to the server, which answers them. */
  route(r: RequestInfo, path: string): Promise<boolean> {
    return runMatched(this.match(r.req.method ?? 'GET', path, r));
  }

  private match(method: string, path: string, r: RequestInfo): Handler | null {
    let m: RegExpMatchArray | null;
    if (method === 'POST' && path === '/_/api/devices') return () => this.deviceLogin(r);
    if (method === 'GET' && path === '/_/api/settings') return () => this.settings(r);
    if (method === 'PUT' && path === '/_/api/settings/email') return () => this.setEmail(r);
    if (method === 'DELETE' && (m = path.match(/^\/_\/api\/settings\/devices\/([^/]+)$/))) return () => this.revokeDevice(r, m![1]!);
    if (method === 'POST' && path === '/_/api/emails') return () => this.newEmail(r);
    if (method === 'POST' && (m = path.match(/^\/_\/api\/conversations\/([^/]+)\/messages$/))) return () => this.postMessage(r, m![1]!);
    if (method === 'POST' && (m = path.match(/^\/_\/api\/conversations\/([^/]+)\/read$/))) return () => this.read(r, m![1]!);
    if (method === 'GET' && path === '/_/api/mail/conversations') return () => this.mailConversations(r);
    if (method === 'GET' && (m = path.match(/^\/_\/api\/mail\/conversations\/([^/]+)\/messages$/))) return () => this.mailMessages(r, m![1]!);
    if (method === 'GET' && (m = path.match(/^\/_\/api\/conversations\/([^/]+)\/emails\/([^/]+)\.html$/))) return () => this.emailHtml(r, m![1]!, m![2]!);
    return null;
  }

  // --- devices and settings ------------------------------------------------------------------------------------------
  /** A mail client logs in: the console's password check under the console's login limits, then a token, shown once. */
  private async deviceLogin(r: RequestInfo): Promise<void> {
    const body = await readJson(r.req, deviceLoginBody, this.deps.maxBodyBytes);
    if (UNSHOWABLE.test(body.name)) throw new KnockError('bad_request', 'name: The device name holds characters that cannot be shown.');
    await this.deps.logins.admit(body.handle, r.ip);
    const account = await this.deps.auth.checkPassword(body.handle, body.password);
    await this.secondFactorOf(r, account, body.code);
    const { token, device } = await this.deps.auth.openDevice(account.id, body.name);
    const answer: z.infer<typeof deviceLoginAnswer> = { id: device.id, token, handle: account.handle, mailAddress: this.deps.mail.addressOf(account.handle) };
    sendJson(r.res, 201, answer);
  }

  /** A device login of an account with a second factor needs one (`npx knock mail login --code`): a code of its app, or a recovery code. */
  private async secondFactorOf(r: RequestInfo, account: Account, code: string | undefined): Promise<void> {
    const secondFactor = this.deps.secondFactor;
    if (!secondFactor || (await secondFactor.methods(account.id)).length === 0) return;
    if (code === undefined) throw new KnockError('unauthorized', 'This account has two-factor sign-in: log in with --code and a code of your authenticator app (or a recovery code).');
    const proof = /^\d{6}$/.test(code.replace(/\s/g, '')) ? { code } : { recoveryCode: code };
    await secondFactor.confirmSecondFactor(account.id, proof, auditContextOf(r.req, this.deps.trustProxy ?? 0));
  }

  private async settings(r: RequestInfo): Promise<void> {
    const { account } = await this.owner(r);
    await this.answerSettings(r, account);
  }

  private async setEmail(r: RequestInfo): Promise<void> {
    const { account } = await this.console(r, 'A mail device cannot change settings: use the console.');
    const body = await readJson(r.req, settingsEmailBody, this.deps.maxBodyBytes);
    const current = await this.deps.storage.getAccountEmail(account.id);
    // Each new address gets a mail (its verification link): counted like a "New email".
    if (body.address !== null && body.address.toLowerCase() !== current?.address.toLowerCase()) {
      this.newEmailsPerAccount.takeOrThrow(account.id, 'New email addresses from your account');
    }
    await this.deps.mail.setOwnerEmail(account, body.address);
    await this.answerSettings(r, account);
  }

  /** The console revokes any device of the account; a device only itself (`npx knock mail logout`). */
  private async revokeDevice(r: RequestInfo, deviceId: string): Promise<void> {
    const owner = await this.requesters.requireOwner(r.req, { admin: 'change its email settings and mail devices' });
    if (owner.device && owner.device.id !== deviceId) {
      throw new KnockError('forbidden', 'A mail device can only log itself out: manage the others in the console.');
    }
    if (!(await this.deps.storage.revokeDeviceToken(owner.account.id, deviceId))) throw new KnockError('not_found', 'There is no such device.');
    r.res.writeHead(204, { 'Cache-Control': 'no-store' });
    r.res.end();
  }

  private async answerSettings(r: RequestInfo, account: Account): Promise<void> {
    const [email, devices] = await Promise.all([this.deps.storage.getAccountEmail(account.id), this.deps.storage.listDeviceTokens(account.id)]);
    const answer: SettingsAnswer = {
      email: email ? { address: email.address, verified: email.verifiedAt !== null } : null,
      mailAddress: this.deps.mail.addressOf(account.handle),
      devices: devices.map(deviceRecordOf),
    };
    sendJson(r.res, 200, answer);
  }

  // --- writing ------------------------------------------------------------------------------------------------------
  private async newEmail(r: RequestInfo): Promise<void> {
    const { account } = await this.owner(r);
    const body = await readJson(r.req, newEmailBody, this.deps.maxBodyBytes);
    this.newEmailsPerAccount.takeOrThrow(account.id, 'New emails from your account');
    const conversation = await this.deps.mail.newEmail(account, body);
    const answer: z.infer<typeof newEmailAnswer> = { conversationId: conversation.id };
    sendJson(r.res, 201, answer);
  }

  /**
   * The owner writes into their conversation, as a socket's `send` does: through the log (stored, then to every
   * device, and mailed by the outbox when it is an email conversation), idempotent on `clientMsgId`. A retry is
   * answered as the first post was (201, the same seq), so a client that lost the answer simply sends again.
   */
  private async postMessage(r: RequestInfo, conversationId: string): Promise<void> {
    const owner = await this.owner(r);
    const { conversation, owner: sender } = await this.ownConversation(owner, conversationId);
    const body = await readJson(r.req, postMessageBody, this.deps.maxBodyBytes);
    const files = body.files ?? [];
    if (body.body.trim().length === 0 && files.length === 0) throw new KnockError('bad_request', 'body: The message is empty.');
    if (new Set(files).size !== files.length) throw new KnockError('bad_request', 'files: A file is attached twice.');
    this.messagesPerAccount.takeOrThrow(owner.account.id, 'Messages');
    const entry = await messageEntry(this.deps.files, conversation.id, sender.id, body);
    const { message } = await this.deps.conversationLog.append(conversation.id, entry);
    const answer: z.infer<typeof postMessageAnswer> = { seq: message.seq, at: message.at };
    sendJson(r.res, 201, answer);
  }

  /**
   * Raises the owner's read mark (a mail client marked a message Seen). The owner's devices get the new summary at
   * once, and so does the caller. A ConversationRoom open somewhere keeps the owner's read mark it read when it
   * opened (the Hub carries no receipts from outside a room): the visitor sees this one once the room is opened again.
   */
  private async read(r: RequestInfo, conversationId: string): Promise<void> {
    const owner = await this.owner(r);
    const { conversation, owner: participant } = await this.ownConversation(owner, conversationId);
    const body = await readJson(r.req, readBody, this.deps.maxBodyBytes);
    const seq = Math.min(body.seq, conversation.lastSeq);
    if (seq > participant.readSeq) await this.deps.storage.raiseReceipt(participant.id, 'read', seq);
    const summary: ConversationSummary | null = await this.deps.conversationLog.summaryNow(conversation.id);
    if (!summary) throw new KnockError('not_found', 'This conversation does not exist.');
    sendJson(r.res, 200, summary);
  }

  // --- reading as mail ----------------------------------------------------------------------------------------------
  /** Every conversation of the owner, archived ones too (those failing DMARC stay out: the console shows them apart). */
  private async mailConversations(r: RequestInfo): Promise<void> {
    const { account } = await this.owner(r);
    const lists = await Promise.all(
      (['all', 'archived'] as const).map((filter) => this.deps.storage.listConversations(account.id, { limit: MAIL_CONVERSATIONS, filter })),
    );
    const summaries = new Map<string, ConversationSummary>();
    for (const s of lists.flat()) summaries.set(s.id, s);
    const conversations = await Promise.all(
      [...summaries.values()].map(async (s): Promise<z.infer<typeof mailConversationRecord>> => {
        const owner = (await this.deps.storage.getParticipants(s.id)).find((p) => p.role === 'owner');
        return { id: s.id, subject: s.subject?.trim() || `Conversation with ${s.visitorName.trim() || 'a visitor'}`, lastSeq: s.lastSeq, ownerReadSeq: owner?.readSeq ?? 0 };
      }),
    );
    sendJson(r.res, 200, { conversations });
  }

  private async mailMessages(r: RequestInfo, conversationId: string): Promise<void> {
    const owner = await this.owner(r);
    const { conversation } = await this.ownConversation(owner, conversationId);
    const afterParam = r.url.searchParams.get('after') ?? '0';
    if (!SEQ_PARAM.test(afterParam)) throw new KnockError('bad_request', 'after: a message number (0 or more).');
    const after = Number(afterParam);
    const messages = await this.deps.storage.messagesAfter(conversation.id, after, limits.pageSize);
    const items: z.infer<typeof mailMessagesAnswer>['items'] = [];
    let bytes = 0;
    for (const message of messages) {
      if (items.length > 0 && bytes >= MAIL_PAGE_BYTES) break;
      const eml = await this.deps.mail.messageAsMail(conversation, message);
      bytes += eml.length;
      items.push({ seq: message.seq, from: message.senderRole, eml: eml.toString('base64') });
    }
    const last = items.at(-1)?.seq ?? after;
    const answer: z.infer<typeof mailMessagesAnswer> = { items, more: items.length < messages.length || messages.length === limits.pageSize || last < conversation.lastSeq };
    sendJson(r.res, 200, answer);
  }

  /**
   * A received mail's HTML part (sanitized when it arrived), as a document of its own for the console's frame: a
   * sandbox (no script, no forms, an origin of its own), nothing fetched but inline styles and embedded images (with
   * `?images=1`, images from https too: the owner chose to load them, which tells the sender the mail was opened),
   * framed only by Knock's own pages. Members only: the owner, or the conversation's visitor.
   */
  private async emailHtml(r: RequestInfo, conversationId: string, seqParam: string): Promise<void> {
    const member = await this.requesters.member(r.req, conversationId);
    const mail = member && SEQ_PARAM.test(seqParam) ? await this.deps.storage.getMail(conversationId, Number(seqParam)) : null;
    const html = mail?.htmlBlobId && mail.conversationId === conversationId ? await this.deps.blobs.get(mail.htmlBlobId) : null;
    if (!html) throw new KnockError('not_found', 'There is no such email.');
    const parts: Buffer[] = [];
    for await (const chunk of html) parts.push(Buffer.from(chunk as Uint8Array));
    const showImages = r.url.searchParams.get('images') === '1';
    // Until the owner asks, remote images are not even asked for (the CSP below would refuse them too): their
    // addresses are kept aside, so a tracking pixel learns nothing and the page shows the image's alt text.
    const body = showImages ? Buffer.concat(parts) : Buffer.from(withoutRemoteImages(Buffer.concat(parts).toString('utf8')));
    const document = Buffer.concat([EMAIL_HEAD, body, EMAIL_TAIL]);
    const images = showImages ? 'https: data:' : 'cid: data:';
    r.res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': document.length,
      'Content-Security-Policy': `sandbox; default-src 'none'; img-src ${images}; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'`,
      // Browsers that know frame-ancestors ignore this; older ones read it instead of the server's DENY.
      'X-Frame-Options': 'SAMEORIGIN',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'private',
    });
    r.res.end(document);
  }

  // --- who is asking --------------------------------------------------------------------------------------------------
  /** The owner (console or mail device, or a company's operator); 401 otherwise, saying what to do. */
  private owner(r: RequestInfo): Promise<OwnerRequest> {
    return this.requesters.requireOwner(r.req);
  }

  /**
   * The owner at the console (the session cookie); a mail device is refused with `refusal`. Settings and devices are
   * a company's admins' to change, not its other operators'.
   */
  private console(r: RequestInfo, refusal: string): Promise<OwnerRequest> {
    return this.requesters.requireOwner(r.req, { console: refusal, admin: 'change its email settings and mail devices' });
  }

  /** The conversation, if this owner's, with the owner's participant; 404 otherwise (another's is not revealed). */
  private async ownConversation(owner: OwnerRequest, conversationId: string): Promise<OwnConversation> {
    const conversation = /^[A-Za-z0-9_-]{1,64}$/.test(conversationId) ? await this.deps.storage.getConversation(conversationId) : null;
    const participant =
      conversation?.ownerAccountId === owner.account.id ? (await this.deps.storage.getParticipants(conversation.id)).find((p) => p.role === 'owner') : undefined;
    if (!conversation || !participant) throw new KnockError('not_found', 'This conversation does not exist.');
    return { conversation, owner: participant };
  }
}

function deviceRecordOf(device: DeviceToken): DeviceRecord {
  return { id: device.id, name: device.name, createdAt: device.createdAt, lastUsedAt: device.lastUsedAt };
}

/**
 * Around the stored HTML (a fragment: sanitize-html keeps no html, head or body): a document of its own. Mail is
 * written for a light background, whatever the console's scheme.
 */
const EMAIL_HEAD = Buffer.from(
  '<!doctype html>\n<html>\n<head>\n<meta charset="utf-8">\n<meta name="referrer" content="no-referrer">\n<meta name="color-scheme" content="light">\n<title>Email</title>\n</head>\n<body>\n',
);
const EMAIL_TAIL = Buffer.from('\n</body>\n</html>\n');

/** The sanitized HTML with every https image's address moved out of `src` (sanitize-html writes `src="..."` quoted). */
export function withoutRemoteImages(html: string): string {
  return html.replace(/(<img\b[^>]*?\s)src="(https:[^"]*)"/gi, '$1data-remote-src="$2"');
}
