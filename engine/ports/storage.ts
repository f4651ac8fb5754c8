/**
 * The Storage port (DESIGN "Storage"). Adapters: SQLite (adapters/storage/sqlite, the default) and, later,
 * PostgreSQL. One contract suite (test/contract/storage.contract.ts) runs against every adapter.
 *
 * Every method is async so that a networked database fits the same port. Times are milliseconds since the epoch.
 * Secrets (session tokens, conversation tokens) are stored only as hashes: the caller hashes, the adapter stores.
 */
import type { AuditKind, ConversationEvent, ConversationSummary, InboxFilter, MessageRecord, ParticipantRecord, Role } from '../protocol.ts';
import type { ChannelKind, ForwardingSettings, OwnerChannel } from './channel.ts';
import type { DocumentStorage } from './documentStorage.ts';

export type { DocumentRecord, DocumentState, DocumentStorage } from './documentStorage.ts';

export interface Account {
  id: string;
  handle: string;
  displayName: string;
  passwordHash: string;
  createdAt: number;
}

export interface Session {
  tokenHash: string;
  accountId: string;
  createdAt: number;
  expiresAt: number;
}

/** A new session: where it was opened from (issue 22; absent: unknown, as from older callers and the CLI). */
export interface NewSession extends Session {
  ip?: string | null;
  userAgent?: string | null;
}

/** A session as stored (016_sessions_recovery.sql): what Settings → Sessions lists. */
export interface SessionRecord extends Session {
  /** Its public id: random, URL-safe, never derived from the token hash; what the console and the CLI name it by. */
  id: string;
  /** The client's address and User-Agent at sign-in; null when unknown. */
  ip: string | null;
  userAgent: string | null;
  /** When it was last used, refreshed at most every few minutes (engine/auth.ts); its creation time at first. */
  lastSeenAt: number;
}

export type ConversationKind = 'chat' | 'email';

export interface Conversation {
  id: string;
  ownerAccountId: string;
  ownerHandle: string;
  ownerName: string;
  lastSeq: number;
  createdAt: number;
  updatedAt: number;
  /** Issue 17; `chat` for every conversation made before. */
  kind: ConversationKind;
  subject: string | null;
  /** The visitor's (or the email correspondent's) address, if any: the owner's replies are mailed there. */
  visitorEmail: string | null;
  /** The visitor asked to get no more mail (the unsubscribe link): replies stay in the conversation only. */
  visitorEmailOff: boolean;
  /** Issue 19: the page of the company's site the chat was started on; null for every other conversation. */
  startedOn: StartedOn | null;
}

/** A conversation and what decides who else hears of its new messages (Storage.appendedFacts). */
export interface AppendedFacts {
  conversation: Conversation;
  /** The owner's email address is verified: mail may tell them of visitors' messages. */
  ownerEmailVerified: boolean;
  /** The kinds of the owner's verified channels (Settings → Channels), each once. */
  verifiedChannelKinds: ChannelKind[];
  /** The phone of the conversation's SMS thread (replies go to it by SMS), or null. */
  smsPhone: string | null;
  /** A forward of the conversation is open: its owner was told elsewhere and has not answered yet. */
  forwardOpen: boolean;
}

export interface Participant extends ParticipantRecord {
  conversationId: string;
  role: Role;
  accountId: string | null;
}

export interface NewMessage {
  conversationId: string;
  senderId: string;
  /** The sender's clientMsgId, or the idempotency key of an event the server writes (MessageRecord.clientMsgId). */
  clientMsgId: string;
  /** The plain-text form everyone can read (protocol: conversation events). */
  body: string;
  /** What kind of event this is, with its typed fields; stored as its kind and the rest as a payload. */
  event: ConversationEvent;
  at: number;
}

export interface AppendResult {
  message: MessageRecord;
  /** True when (sender, clientMsgId) was stored before: the original is returned, nothing new is written. */
  duplicate: boolean;
}

/**
 * Documents (co-edited, Yjs) are in DocumentStorage (./documentStorage.ts); games in GameStorage, files in
 * FileStorage, the outbox in OutboxStorage, email in MailStorage, forwarding's channels in ChannelStorage (below).
 */
export interface Storage extends DocumentStorage, GameStorage, FileStorage, OutboxStorage, MailStorage, ChannelStorage, CompanyStorage, RoutingStorage, CannedStorage, PhoneStorage, SmsStorage, DomainStorage, CertificateStorage, AuditStorage, SessionRecoveryStorage, VisitorBlockStorage, AccountDataStorage, SecondFactorStorage {
  // accounts
  createAccount(input: { handle: string; displayName: string; passwordHash: string; at: number }): Promise<Account>;
  getAccountByHandle(handle: string): Promise<Account | null>;
  getAccountById(id: string): Promise<Account | null>;
  listAccounts(): Promise<Account[]>;
  /** Removes the account and everything it owns (sessions, conversations, messages). False if there was none. */
  removeAccount(handle: string): Promise<boolean>;
  setPasswordHash(handle: string, passwordHash: string): Promise<boolean>;

  // sessions (more of them in SessionRecoveryStorage)
  /** Stores a session with a new public id, and resolves with it. */
  createSession(session: NewSession): Promise<SessionRecord>;
  /** The session, if it exists and has not expired at `now`. */
  getSession(tokenHash: string, now: number): Promise<SessionRecord | null>;
  deleteSession(tokenHash: string): Promise<void>;
  deleteSessionsOf(accountId: string): Promise<void>;
  /**
   * Of `tokenHashes`, those whose session exists and has not expired at `now`, in one query however many there are
   * (the sessions of every socket of a process, checked every few seconds: engine/sessionWatch.ts).
   */
  liveSessions(tokenHashes: readonly string[], now: number): Promise<Set<string>>;
  /** Deletes the sessions expired at `now`; resolves with how many. */
  purgeExpiredSessions(now: number): Promise<number>;

  // conversations
  /**
   * Creates a conversation with its two participants: the owner (the account) and the visitor. An email
   * conversation (issue 17) has `kind: 'email'`, a subject, and the correspondent's address as `visitorEmail`.
   */
  createConversation(input: {
    ownerAccountId: string;
    tokenHash: string;
    visitorName: string;
    /** Where the owner may answer by email later (issue 16's offline form); null or absent: none given. */
    visitorEmail?: string | null;
    /** Default `chat`. */
    kind?: ConversationKind;
    subject?: string | null;
    /** Its first mail failed DMARC (kept out of the default list). */
    suspicious?: boolean;
    /** The page of the company's site the chat was started on (issue 19, the widget); absent: none. */
    startedOn?: StartedOn | null;
    at: number;
  }): Promise<{ conversation: Conversation; owner: Participant; visitor: Participant }>;
  getConversation(id: string): Promise<Conversation | null>;
  /**
   * The conversation with what the listeners of its stored messages (ConversationLog.onAppended: mail, forwarding,
   * SMS) decide on, in one read; null if there is no such conversation.
   */
  appendedFacts(conversationId: string): Promise<AppendedFacts | null>;
  getConversationByTokenHash(tokenHash: string): Promise<Conversation | null>;
  /**
   * The owner's inbox, newest activity first. `filter` (default `all`): `all` leaves archived conversations out,
   * `unread` keeps those with unread messages or marked unread, `files` those whose messages carry files, `archived`
   * only archived ones. `query`: full-text search (SQLite FTS5, PostgreSQL text search; never LIKE) over message
   * bodies, the visitor's name and file names; every word must match, as a word or the start of one, ignoring case;
   * characters that are syntax to the engine are taken as text. With a query, archived conversations are included
   * unless `filter` says otherwise.
   */
  listConversations(ownerAccountId: string, opts: { limit: number; filter?: InboxFilter; query?: string }): Promise<ConversationSummary[]>;
  getConversationSummary(id: string): Promise<ConversationSummary | null>;
  /** Archives (or brings back) a conversation; any new message brings it back too. False if there is none. */
  setArchived(conversationId: string, archived: boolean): Promise<boolean>;
  /** Shows the conversation unread (at least 1) until the owner's read mark rises again. False if there is none. */
  markUnread(conversationId: string): Promise<boolean>;
  /**
   * Deletes the conversation with its participants, messages, documents, games and files. Resolves with the blob ids
   * (files' and thumbnails') that no file of any conversation references any more, for the caller to delete from
   * Blobs; null if there was no such conversation.
   */
  deleteConversation(conversationId: string): Promise<string[] | null>;

  // participants
  getParticipants(conversationId: string): Promise<Participant[]>;
  /** Raises the delivered or read watermark; never lowers it. Returns the participant as stored. */
  raiseReceipt(participantId: string, kind: 'delivered' | 'read', seq: number): Promise<Participant | null>;
  renameParticipant(participantId: string, name: string): Promise<Participant | null>;

  // messages
  /**
   * Stores a message with the conversation's next seq, in one transaction; idempotent on (senderId, clientMsgId).
   * Only the ConversationLog (engine/conversationLog.ts) calls it: it publishes what is stored.
   * A `file` event attaches its files in the same transaction: each must be a file of this conversation uploaded by
   * the sender and not attached yet (else KnockError `bad_request`, nothing stored); a repeat of a stored message is
   * answered as a duplicate without looking at the files. A new message brings an archived conversation back.
   * Appends to one conversation are applied in call order, even while earlier ones are still being written: the
   * caller may start the next before the last resolves (the ConversationRoom does, so a burst shares a commit).
   * Adapters may commit several appends together, but none resolves before its own commit.
   */
  appendMessage(input: NewMessage): Promise<AppendResult>;
  /** Messages with seq > afterSeq, ascending, at most `limit`. */
  messagesAfter(conversationId: string, afterSeq: number, limit: number): Promise<MessageRecord[]>;
  /** Messages with seq < beforeSeq, ascending, the newest `limit` of them. */
  messagesBefore(conversationId: string, beforeSeq: number, limit: number): Promise<MessageRecord[]>;

  close(): Promise<void>;
}

// -- games (issue 6) -----------------------------------------------------------------------------------------------
/** invited -> declined | active; active -> finished. At most one game of a conversation is invited or active. */
export type GameStatus = 'invited' | 'declined' | 'active' | 'finished';

export interface StoredGame {
  id: string;
  conversationId: string;
  /** A kind of games/ (`connect4`, `chess`, `pong`); the port stores it as given. */
  kind: string;
  /** Participant ids by seat: seat 0 (who invited, moves first) and seat 1. */
  players: [string, string];
  status: GameStatus;
  /** Everything random in the game comes from it (games/types.ts). */
  seed: number;
  /** Set when finished: the winning seat, or null for a draw or an abandoned game. */
  winnerSeat: 0 | 1 | null;
  /** Set when declined or finished: "four in a row", "resigned", "forfeit", ... */
  reason: string | null;
  createdAt: number;
  endedAt: number | null;
  /** The accepted moves of a turn-based game, in order: a GameRoom made anew (a restart) replays them. */
  moves: GameMove[];
}

export interface GameMove {
  seat: 0 | 1;
  move: unknown;
}

/** The games of conversations: invitations, the game going on, and finished games (the score history). */
export interface GameStorage {
  /** A new invitation (status `invited`). A `conflict` error if the conversation has an invited or active game. */
  createGame(input: { conversationId: string; kind: string; players: [string, string]; seed: number; at: number }): Promise<StoredGame>;
  getGame(id: string): Promise<StoredGame | null>;
  /** The conversation's invited or active game, if any. */
  openGame(conversationId: string): Promise<StoredGame | null>;
  /**
   * Moves a game from status `from` to `to` (with the result when finishing), atomically: null, and nothing
   * changed, when the game is not in `from` (someone else moved it first) or does not exist.
   */
  transitionGame(
    id: string,
    change: { from: GameStatus; to: GameStatus; at: number; winnerSeat?: 0 | 1 | null; reason?: string | null },
  ): Promise<StoredGame | null>;
  /** Finished games of a conversation, newest first. */
  finishedGames(conversationId: string, limit: number): Promise<StoredGame[]>;
  /**
   * Appends a move to an active game's list, if the list still has `expectedCount` moves (so two writers cannot
   * both add the next move). False, and nothing changed, otherwise.
   */
  appendGameMove(id: string, expectedCount: number, move: GameMove): Promise<boolean>;
}

// -- files (issue 16) ----------------------------------------------------------------------------------------------
/** A file uploaded into a conversation; its bytes are in Blobs (content-addressed: `blobId` is their SHA-256). */
export interface StoredFile {
  /** Random, what messages and URLs name it by (FileRef.id). */
  id: string;
  conversationId: string;
  /** The participant who uploaded it: only they may attach it to a message. */
  uploaderId: string;
  blobId: string;
  /** Made safe by the caller (no path, no control or bidi-override characters). */
  name: string;
  type: string;
  size: number;
  image: { width: number; height: number } | null;
  /** The thumbnail's blob (images only). */
  thumbBlobId: string | null;
  /** The message carrying it, once attached. */
  messageSeq: number | null;
  createdAt: number;
}

export interface FileStorage {
  createFile(input: Omit<StoredFile, 'id' | 'messageSeq' | 'createdAt'> & { at: number }): Promise<StoredFile>;
  getFile(id: string): Promise<StoredFile | null>;
  /** Bytes of every file (attached or not, thumbnails not counted) in the conversations the account owns: its quota use. */
  ownerFileBytes(ownerAccountId: string): Promise<number>;
  /**
   * Deletes files never attached to a message that were uploaded before `before`; resolves with the blob ids no file
   * references any more (for the caller to delete from Blobs).
   */
  purgeUnattachedFiles(before: number): Promise<string[]>;
}

// -- the outbox (issue 17) -----------------------------------------------------------------------------------------
/**
 * One thing to send out by a channel (a mail now; XMPP, SMS, push, webhooks later), kept until the channel confirms
 * it: `pending` (first try not done yet) -> `sent`, or `retrying` (a temporary failure; `runAt` is the next try) ->
 * ... -> `sent` | `failed` (a permanent failure, or too many tries) | `cancelled` (no longer wanted: a forward whose
 * owner answered at the URL first). While a process works on it, it holds a lease
 * (`lockedBy` until `lockedUntil`); a lease that runs out (the process died) lets another process claim it again.
 */
export type OutboxState = 'pending' | 'retrying' | 'sent' | 'failed' | 'cancelled';

export interface OutboxJob {
  id: string;
  /** What to do, e.g. `mail.reply`, `mail.notify`, `mail.verify`; the Outbox dispatches on it. */
  kind: string;
  /** Unique over all jobs: enqueueing a key a second time returns the first job and writes nothing. */
  key: string;
  /** The kind's own fields (JSON, at most 64 KiB). */
  payload: unknown;
  /** The conversation and message it carries, when it carries one (the owner sees its state under the message). */
  conversationId: string | null;
  messageSeq: number | null;
  /** The recipient as the owner reads it (an email address), for the delivery line. */
  recipient: string | null;
  state: OutboxState;
  /** Tries started so far (a claim counts one). */
  attempts: number;
  /** When it may be tried (next). */
  runAt: number;
  lockedBy: string | null;
  lockedUntil: number | null;
  /** The last failure, in the channel's words. */
  lastError: string | null;
  /** Set once sent: e.g. the mail's Message-ID, to match a bounce to the job. */
  ref: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewOutboxJob {
  kind: string;
  key: string;
  payload: unknown;
  conversationId?: string | null;
  messageSeq?: number | null;
  recipient?: string | null;
  /** Known before sending (a mail's Message-ID is chosen when queued, so a retry after a crash sends the same one). */
  ref?: string | null;
  runAt: number;
  at: number;
}

export interface OutboxStorage {
  /** Stores a job; a key stored before returns that job with `duplicate: true`, unchanged. */
  enqueueJob(job: NewOutboxJob): Promise<{ job: OutboxJob; duplicate: boolean }>;
  /**
   * Claims up to `limit` jobs that are `pending` or `retrying`, due (`runAt <= now`) and not leased (no lease, or
   * one that ran out before `now`), oldest `runAt` first: each gets the lease (`worker` until `now + leaseMs`) and
   * one more attempt. Two processes claiming at once never get the same job (PostgreSQL: FOR UPDATE SKIP LOCKED).
   */
  claimJobs(input: { worker: string; now: number; leaseMs: number; limit: number }): Promise<OutboxJob[]>;
  /**
   * Ends a claimed job's try: `sent` (with its ref), `retrying` at `runAt` with the error, or `failed` with the error.
   * Only the lease holder may (`worker`): null, and nothing changed, when the lease was lost to another process.
   * The lease is released.
   */
  settleJob(
    id: string,
    worker: string,
    outcome:
      | { state: 'sent'; ref?: string | null; at: number }
      | { state: 'retrying'; runAt: number; error: string; at: number }
      | { state: 'failed'; error: string; at: number }
      | { state: 'cancelled'; at: number },
  ): Promise<OutboxJob | null>;
  /**
   * Cancels the jobs of these keys that are still waiting (`pending` or `retrying`) and not leased at `at`; a job a
   * process is trying now is left to finish (its handler checks again). Resolves with the jobs it cancelled.
   */
  cancelJobs(keys: readonly string[], at: number): Promise<OutboxJob[]>;
  getJob(id: string): Promise<OutboxJob | null>;
  /** The job of this key, or null. */
  getJobByKey(key: string): Promise<OutboxJob | null>;
  /** The job whose `ref` is this (a bounce names the Message-ID it answers). */
  jobByRef(ref: string): Promise<OutboxJob | null>;
  /** The jobs carrying messages of a conversation (messageSeq set), by messageSeq; the newest job per message. */
  conversationJobs(conversationId: string): Promise<OutboxJob[]>;
  /** The earliest `runAt` of a job waiting (pending or retrying), or null: when the outbox has to look again. */
  nextJobAt(): Promise<number | null>;
  /** Marks a sent job failed after the fact (a bounce came back), with the reason. Null if there is none. */
  failSentJob(id: string, error: string, at: number): Promise<OutboxJob | null>;
}

// -- email (issue 17) ----------------------------------------------------------------------------------------------
/** The owner's own address (Settings): unverified until the link mailed to it is opened. */
export interface AccountEmail {
  accountId: string;
  address: string;
  verifiedAt: number | null;
}

/** A revocable token of a mail client (`npx knock mail login`); stored as a hash. */
export interface DeviceToken {
  id: string;
  accountId: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** A mail of a conversation (in or out), by its Message-ID: threading, and the HTML and raw form of inbound mail. */
export interface StoredMail {
  /** Without angle brackets; unique per owner account. */
  messageId: string;
  accountId: string;
  conversationId: string;
  seq: number;
  /** Inbound only: the message as received (RFC 5322), and its sanitized HTML part, in Blobs. */
  rawBlobId: string | null;
  htmlBlobId: string | null;
  at: number;
}

export interface MailStorage {
  /** The account's address, or null. */
  getAccountEmail(accountId: string): Promise<AccountEmail | null>;
  /** Sets (a new address starts unverified, with this verify token hash) or, with null, removes the address. */
  setAccountEmail(accountId: string, input: { address: string; verifyTokenHash: string; at: number } | null): Promise<void>;
  /** Verifies the address whose token this is (once); resolves with it, or null (unknown, used, or changed since). */
  verifyAccountEmail(verifyTokenHash: string, at: number): Promise<AccountEmail | null>;

  createDeviceToken(input: { accountId: string; name: string; tokenHash: string; at: number }): Promise<DeviceToken>;
  /** The token's device, marking it used at `at`; null when unknown or revoked. */
  useDeviceToken(tokenHash: string, at: number): Promise<DeviceToken | null>;
  listDeviceTokens(accountId: string): Promise<DeviceToken[]>;
  /** False if the account has no such device. */
  revokeDeviceToken(accountId: string, id: string): Promise<boolean>;

  /** Records a mail of a conversation; a Message-ID the account has already returns false and changes nothing. */
  recordMail(mail: StoredMail): Promise<boolean>;
  /** The first of these Message-IDs the account knows, with its conversation: the thread a reply belongs to. */
  findMail(accountId: string, messageIds: readonly string[]): Promise<StoredMail | null>;
  getMail(conversationId: string, seq: number): Promise<StoredMail | null>;
  /** The conversation's mails' Message-IDs, oldest first, the newest `limit` (a reply's References). */
  mailThread(conversationId: string, limit: number): Promise<string[]>;

  /**
   * The conversation whose reply address holds this token (`alice+c-<token>@domain`), made on first use: the token is
   * given once per conversation and never changes.
   */
  conversationMailToken(conversationId: string): Promise<string>;
  getConversationByMailToken(token: string): Promise<Conversation | null>;
  /** The visitor's "no more mail" (the unsubscribe link), or back on. False if there is no such conversation. */
  setVisitorEmailOff(conversationId: string, off: boolean): Promise<boolean>;
  /** Sets the conversation's subject (the first mail of a chat gives it one). */
  setSubject(conversationId: string, subject: string): Promise<boolean>;
  /**
   * The notification mark of an offline owner (at most one mail per conversation per 10 minutes): the highest seq
   * already told, and when. Moving it is conditional on its old value (`from`), so two processes cannot both notify.
   */
  getNotifyMark(conversationId: string): Promise<{ seq: number; at: number }>;
  moveNotifyMark(conversationId: string, from: { seq: number; at: number }, to: { seq: number; at: number }): Promise<boolean>;
}

// -- forwarding to the owner's other channels (issue 18) -----------------------------------------------------------

export interface NewChannel {
  accountId: string;
  kind: ChannelKind;
  /** Normalized by the caller: a bare JID in lower case, an E.164 number, an email address, an https URL, a push endpoint. */
  address: string;
  secret: string | null;
  delayMs: number;
  /** A push subscription is verified when it is made (the owner's own browser made it); the others by a code. */
  verified: boolean;
  at: number;
}

/** What a typed verification code did. */
export type CodeCheck = 'verified' | 'wrong' | 'expired' | 'noCode' | 'tooManyTries';

/** A step of a stored forward: the plan's step, and what became of it. */
export interface StoredForwardStep {
  channelId: string;
  kind: ChannelKind;
  /** When it is due. */
  at: number;
  sentAt: number | null;
  /** The highest seq of the conversation it carried (the next step carries what came after, too). */
  upToSeq: number | null;
  /** The channel's id of what was sent (an SMS message id), to match a delivery receipt. */
  externalId: string | null;
  /** What the channel said afterwards (an SMS delivery receipt); null when it says nothing. */
  delivery: 'delivered' | 'failed' | null;
}

/**
 * The forward of one conversation (engine/forwarding/routing.ts PendingForward): open from the knock the owner missed
 * until the owner answers, reads or comes online at the URL. At most one open forward per conversation, and its tag
 * (`#3`) is unique among the account's open forwards.
 */
export interface StoredForward {
  id: string;
  conversationId: string;
  accountId: string;
  tag: string;
  knockAt: number;
  /** The forward carries the visitor's messages after this seq. */
  afterSeq: number;
  steps: StoredForwardStep[];
  closedAt: number | null;
  createdAt: number;
}

export interface ChannelStorage {
  /**
   * Adds a channel at the end of the account's order, unverified unless `verified`. The same kind and address twice
   * for one account: KnockError `conflict`.
   */
  addChannel(input: NewChannel): Promise<OwnerChannel>;
  /** The account's channels in their order (position), verified or not. */
  listChannels(accountId: string): Promise<OwnerChannel[]>;
  getChannel(id: string): Promise<OwnerChannel | null>;
  /** Verified channels of this kind at this address, of every account: where an inbound text is from. */
  channelsAt(kind: ChannelKind, address: string): Promise<OwnerChannel[]>;
  /** Every verified channel of this kind (XMPP: whose presence to follow after a start). */
  channelsOfKind(kind: ChannelKind): Promise<OwnerChannel[]>;
  /** Removes the channel (and its steps in open forwards). False if the account has no such channel. */
  removeChannel(accountId: string, id: string): Promise<boolean>;
  /** Sets the order: `ids` are all of the account's channel ids, first first. False (nothing changed) otherwise. */
  reorderChannels(accountId: string, ids: readonly string[]): Promise<boolean>;
  /** False if the account has no such channel. */
  setChannelDelay(accountId: string, id: string, delayMs: number): Promise<boolean>;
  setChannelSecret(id: string, secret: string | null): Promise<boolean>;
  /** Stores the hash of a code just sent (tries reset), or none. */
  setChannelCode(id: string, code: { codeHash: string; expiresAt: number } | null): Promise<void>;
  /**
   * Counts one try of a typed code against the channel's: `verified` (and the channel is) when it matches before it
   * expires and within `maxTries` tries; after that the code is spent (`tooManyTries`) until a new one is sent.
   */
  checkChannelCode(accountId: string, id: string, codeHash: string, at: number, maxTries: number): Promise<CodeCheck>;

  /** The account's settings; defaults (not paused, UTC, no quiet hours, away does not count) when never set. */
  getForwardingSettings(accountId: string): Promise<ForwardingSettings>;
  setForwardingSettings(accountId: string, settings: ForwardingSettings): Promise<void>;

  /**
   * Opens the conversation's forward with these steps and the smallest free tag (`#1`, `#2`, ...); when one is open
   * already, resolves with it (`duplicate: true`) and changes nothing, so two processes open one forward.
   */
  openForward(input: {
    conversationId: string;
    accountId: string;
    knockAt: number;
    afterSeq: number;
    steps: ReadonlyArray<{ channelId: string; kind: ChannelKind; at: number }>;
    at: number;
  }): Promise<{ forward: StoredForward; duplicate: boolean }>;
  getForward(id: string): Promise<StoredForward | null>;
  getOpenForward(conversationId: string): Promise<StoredForward | null>;
  /** The account's open forwards (a reply picks among them), oldest first. */
  openForwards(accountId: string): Promise<StoredForward[]>;
  /** The conversation's latest forward, open or closed, or null. */
  lastForward(conversationId: string): Promise<StoredForward | null>;
  /**
   * Records a step as sent; false (nothing changed) when the forward is closed or the step was recorded sent before,
   * so a step is sent once.
   */
  markStepSent(forwardId: string, channelId: string, sent: { at: number; upToSeq: number; externalId: string | null }): Promise<boolean>;
  /** A receipt for what a step sent, by the channel kind and its id; resolves with the forward, or null. */
  markStepDelivery(kind: ChannelKind, externalId: string, delivery: 'delivered' | 'failed'): Promise<StoredForward | null>;
  /**
   * The channel's latest step (by due time), of any forward open or closed, with its forward's id and conversation;
   * with `sentOnly`, the latest step that was sent (by the time it was sent). Null when there is none.
   */
  lastStepOn(channelId: string, sentOnly: boolean): Promise<{ forwardId: string; conversationId: string; step: StoredForwardStep } | null>;
  /** Closes the conversation's open forward; resolves with it closed, or null when none was open. */
  closeForward(conversationId: string, at: number): Promise<StoredForward | null>;
  /** Closes every open forward of the account (the owner came online at the URL). */
  closeForwardsOf(accountId: string, at: number): Promise<StoredForward[]>;

  /**
   * A value of the server's own made once for all its processes (the web push VAPID key pair): the stored one, or
   * `value` stored now when there is none. Two processes racing store one; both get it.
   */
  serverValue(name: string, value: string): Promise<string>;
}

// --- companies, operators, sites, page views (issue 19: live help) ---------------------------------------------------

/** The page of a company's site a chat was started on (the widget tells; shown to operators). */
export interface StartedOn {
  url: string;
  title: string;
}

export type OperatorRole = 'admin' | 'operator';
export type OperatorStatus = 'online' | 'away';

/** An account that is a company: its URL (`/acme`) is a live-help desk staffed by operators (other accounts). */
export interface Company {
  accountId: string;
  createdAt: number;
}

/** A person account working for a company (their own login; `/acme` shows them the operators' console). */
export interface Operator {
  companyId: string;
  accountId: string;
  /** The operator's own account (joined in by the adapter). */
  handle: string;
  displayName: string;
  role: OperatorRole;
  status: OperatorStatus;
  /** Chats at once (routing gives no more). */
  capacity: number;
  addedAt: number;
}

/** An origin allowed to embed the company's widget (`https://shop.example`, no path). */
export interface Site {
  companyId: string;
  origin: string;
  addedAt: number;
}

/** One page a monitored visitor saw on a company's site. No IP address is ever stored. */
export interface PageView {
  id: string;
  companyId: string;
  /** The widget's random id for this browser on this site (not a person, not an IP). */
  visitorId: string;
  url: string;
  title: string;
  referrer: string;
  startedAt: number;
  /** When the visitor left the page (next page, tab closed); null while on it. */
  endedAt: number | null;
}

/** An invitation link to become a company's operator (the admin shares it; single use, expires). */
export interface OperatorInvite {
  companyId: string;
  role: OperatorRole;
  expiresAt: number;
}

export interface CompanyStorage {
  /** Makes the account a company. False when it already was one. */
  makeCompany(accountId: string, at: number): Promise<boolean>;
  getCompany(accountId: string): Promise<Company | null>;
  /** Adds the operator, or changes the role and capacity of one already there. */
  addOperator(input: { companyId: string; accountId: string; role: OperatorRole; capacity: number; at: number }): Promise<Operator>;
  removeOperator(companyId: string, accountId: string): Promise<boolean>;
  /** Oldest first. */
  listOperators(companyId: string): Promise<Operator[]>;
  getOperator(companyId: string, accountId: string): Promise<Operator | null>;
  /** The companies an account works for (the account's console lists them). */
  companiesOf(accountId: string): Promise<Array<{ company: Account; role: OperatorRole }>>;
  setOperatorStatus(companyId: string, accountId: string, status: OperatorStatus): Promise<boolean>;
  setOperatorCapacity(companyId: string, accountId: string, capacity: number): Promise<boolean>;
  /** False when the origin was already on the list. */
  addSite(companyId: string, origin: string, at: number): Promise<boolean>;
  removeSite(companyId: string, origin: string): Promise<boolean>;
  /** Oldest first. */
  listSites(companyId: string): Promise<Site[]>;
  createOperatorInvite(input: { tokenHash: string; companyId: string; role: OperatorRole; createdBy: string; expiresAt: number; at: number }): Promise<void>;
  /**
   * Takes an invitation: single use (a second take, or one after `expiresAt`, gets null) and makes `accountId` an
   * operator of its company (capacity `capacity` when new; an existing operator keeps theirs, role raised to the invite's).
   */
  takeOperatorInvite(tokenHash: string, accountId: string, capacity: number, at: number): Promise<Operator | null>;
  recordPageView(view: Omit<PageView, 'endedAt'>): Promise<void>;
  /** Sets `endedAt` once (false if the view is unknown or already ended). */
  endPageView(id: string, at: number): Promise<boolean>;
  /** How many pages the visitor saw on the company's sites (kept ones) and when first. */
  visitorHistory(companyId: string, visitorId: string): Promise<{ pages: number; firstSeenAt: number | null }>;
  /** The visitor's newest page views, newest first. */
  pageViewsOf(companyId: string, visitorId: string, limit: number): Promise<PageView[]>;
  /** Deletes page views started before `before` (retention, KNOCK_PAGEVIEW_RETENTION_DAYS). Returns how many. */
  purgePageViews(before: number): Promise<number>;
}

// --- routing of a company's chats to its operators (issue 19) -------------------------------------------------------

/**
 * Where a company's chat stands: waiting in the queue, with an operator, or ended. `operatorId` is null while queued,
 * and also for a chat assigned to an account since removed (the router queues such a chat again).
 */
export interface ChatAssignment {
  conversationId: string;
  companyId: string;
  operatorId: string | null;
  state: 'queued' | 'assigned' | 'ended';
  queuedAt: number;
  assignedAt: number | null;
  endedAt: number | null;
}

export interface RoutingStorage {
  /** Queues a new chat of the company. False (nothing changed) when the conversation is known already, in any state. */
  queueChat(conversationId: string, companyId: string, at: number): Promise<boolean>;
  /** A queued or assigned chat goes to that operator (a take, a transfer); null when the chat is unknown or ended. */
  assignChat(conversationId: string, operatorAccountId: string, at: number): Promise<ChatAssignment | null>;
  /** Ends an open chat; false when it is unknown or ended already. */
  endChat(conversationId: string, at: number): Promise<boolean>;
  /**
   * An ended chat waits in the queue again (its visitor wrote after it ended), as of `at`, with no operator. Null when
   * the chat is unknown or not ended (an open chat stays as it is).
   */
  reopenChat(conversationId: string, at: number): Promise<ChatAssignment | null>;
  getChatAssignment(conversationId: string): Promise<ChatAssignment | null>;
  /** The company's queued and assigned chats, the longest queued first. */
  openChats(companyId: string): Promise<ChatAssignment[]>;
}

/** A company's canned response (issue 19): what an operator's `/shortcut` in the composer expands to. */
export interface CannedResponse {
  companyId: string;
  /** `[a-z0-9][a-z0-9_-]{0,31}` (protocol.ts cannedShortcutSchema), unique in the company. */
  shortcut: string;
  text: string;
  createdAt: number;
  updatedAt: number;
}

/** A company's canned responses (010_canned.sql); they go with the company's account. */
export interface CannedStorage {
  /** Adds the response, or replaces the text of the one with this shortcut (keeping its `createdAt`). */
  setCannedResponse(companyId: string, shortcut: string, text: string, at: number): Promise<CannedResponse>;
  /** False when the company had no response with this shortcut. */
  removeCannedResponse(companyId: string, shortcut: string): Promise<boolean>;
  /** By shortcut. */
  listCannedResponses(companyId: string): Promise<CannedResponse[]>;
}

/** A phone number an account claimed (issue 20): `/+15551234567` is that account's URL too. */
export interface PhoneNumber {
  /** E.164: `+` and 8 to 15 digits. */
  number: string;
  accountId: string;
  claimedAt: number;
}

/** A claim in progress: a code was sent by SMS to `number` and is awaited. */
export interface PhoneClaim {
  accountId: string;
  number: string;
  expiresAt: number;
}

export type PhoneCodeCheck = { result: 'verified'; number: PhoneNumber } | { result: Exclude<CodeCheck, 'verified'> };

/**
 * Phone numbers as URLs (011_phones.sql). A number belongs to one account at a time and an account has one number;
 * taking a number (by its code, or by the CLI) moves it from whoever held it, in one transaction.
 */
export interface PhoneStorage {
  getPhoneNumber(number: string): Promise<PhoneNumber | null>;
  phoneNumberOf(accountId: string): Promise<PhoneNumber | null>;
  /** Every claimed number, by number (the CLI's list). */
  listPhoneNumbers(): Promise<PhoneNumber[]>;
  /** Starts a claim: a new one replaces the account's claim in progress, and its count of tries. */
  setPhoneClaim(claim: { accountId: string; number: string; codeHash: string; expiresAt: number; at: number }): Promise<void>;
  getPhoneClaim(accountId: string): Promise<PhoneClaim | null>;
  /**
   * One typed code, counted before it is judged (so `maxTries` wrong codes end the claim for good: `tooManyTries`).
   * The right one spends the claim and, in the same transaction, the number leaves whichever account held it and the
   * account's own earlier number is released.
   */
  checkPhoneClaim(accountId: string, codeHash: string, at: number, maxTries: number): Promise<PhoneCodeCheck>;
  /** The same move without a code: the CLI, where the server's operator vouches for the number. */
  assignPhoneNumber(accountId: string, number: string, at: number): Promise<PhoneNumber>;
  /** The account's number is nobody's any more; false when it had none. */
  releasePhoneNumber(accountId: string): Promise<boolean>;
}

/** How a phone reached an owner by SMS: Knock's service number, or the owner's own claimed number (issue 20). */
export type SmsVia = 'service' | 'number';

/** One phone's SMS conversation with one owner (issue 20): replies leave from the number the phone wrote to (`via`). */
export interface SmsThread {
  /** The phone, E.164. */
  phone: string;
  accountId: string;
  conversationId: string;
  via: SmsVia;
  /** The number as the owner reads it (`+44 7700 900123`), formatted by the engine when the thread was made. */
  shown: string;
  createdAt: number;
}

/** What Knock keeps about a phone that texts it (issue 20). */
export interface SmsPhone {
  phone: string;
  /** The owner its texts go to now (the last one it named); null before it named one, or once that account went. */
  currentAccountId: string | null;
  /** When it texted STOP (nothing is sent to it since); null: not stopped, or it texted START. */
  stoppedAt: number | null;
  /** When Knock last answered it by itself (usage, HELP, an unknown name). */
  toldAt: number | null;
}

/**
 * SMS conversations (012_sms.sql): threads go with their account and conversation; a phone's STOP stays whatever
 * happens to accounts (it is the phone's word).
 */
export interface SmsStorage {
  smsThread(phone: string, accountId: string): Promise<SmsThread | null>;
  smsThreadOf(conversationId: string): Promise<SmsThread | null>;
  /** Every thread of a phone (its conversations with several owners), oldest first. */
  smsThreadsOfPhone(phone: string): Promise<SmsThread[]>;
  /**
   * Records the thread of a conversation just made; when (phone, account) has one already (two texts at once), that
   * one is kept and returned with `created: false`, and the caller drops its own conversation.
   */
  createSmsThread(thread: SmsThread): Promise<{ thread: SmsThread; created: boolean }>;
  /** The phone wrote by another route than before: replies now leave from that number. False: no such thread. */
  setSmsThreadVia(conversationId: string, via: SmsVia): Promise<boolean>;
  /** How many threads the account got since `since` (the per-owner cap on new SMS conversations). */
  countSmsThreadsSince(accountId: string, since: number): Promise<number>;
  smsPhone(phone: string): Promise<SmsPhone | null>;
  /** The owner the phone's texts now go to. */
  setSmsCurrent(phone: string, accountId: string | null, at: number): Promise<void>;
  /** Records STOP (`stoppedAt`) or START (null). Resolves with whether that changed anything. */
  setSmsStopped(phone: string, stoppedAt: number | null, at: number): Promise<boolean>;
  /**
   * Marks the phone told at `at` unless it was told after `notAfter`: one statement, so of two processes answering the
   * same phone at once only one does. Resolves with whether this call may answer.
   */
  markSmsTold(phone: string, at: number, notAfter: number): Promise<boolean>;
}

/**
 * An owner's own domain (issue 21): `alice.example` serves what `/alice` serves once Knock sees the domain delegated
 * to its name servers. Until then it is `pending`: nothing is answered, issued or served for it.
 */
export interface Domain {
  /** Lower case ASCII (an internationalized name in its `xn--` form), no trailing dot. */
  name: string;
  accountId: string;
  state: 'pending' | 'active';
  createdAt: number;
  /** When the delegation was last checked, and what was wrong then (null: nothing, or not checked yet). */
  checkedAt: number | null;
  checkError: string | null;
  activatedAt: number | null;
  /** The DKIM key made for the domain: its selector and public key (base64 DER, the TXT record's `p=`). */
  dkimSelector: string;
  dkimPublicKey: string;
}

export interface NewDomain {
  name: string;
  accountId: string;
  dkimSelector: string;
  dkimPublicKey: string;
  /** PKCS#8 PEM; read back only by dkimKeyOf (mail signing), never listed. */
  dkimPrivateKey: string;
  at: number;
}

/** An ACME challenge being answered (issue 21): a TXT value at `_acme-challenge.<name>` or an HTTP-01 key authorization. */
export interface AcmeChallenge {
  kind: 'dns-01' | 'http-01';
  /** The domain name challenged. */
  name: string;
  /** dns-01: a label of the order (several may be live at once); http-01: the token in the URL. */
  token: string;
  /** dns-01: the TXT value; http-01: the key authorization served. */
  value: string;
  expiresAt: number;
}

/** Own domains and their ACME challenges (013_domains.sql); they go with the account. */
export interface DomainStorage {
  /** Adds a pending domain; `conflict` when any account has the name already. */
  addDomain(input: NewDomain): Promise<Domain>;
  getDomain(name: string): Promise<Domain | null>;
  /** The account's domains, by name. */
  domainsOf(accountId: string): Promise<Domain[]>;
  /** Every domain, by name (the delegation checks and the DNS server's zone list). */
  listDomains(): Promise<Domain[]>;
  /** Records a delegation check: active (kept once seen; `activatedAt` set the first time) or pending with its reason. */
  recordDomainCheck(name: string, check: { active: boolean; error: string | null; at: number }): Promise<Domain | null>;
  /** False when the account had no such domain. Its challenges go with it. */
  removeDomain(accountId: string, name: string): Promise<boolean>;
  /** The domain's DKIM signing key (PKCS#8 PEM), for outgoing mail From it. */
  dkimKeyOf(name: string): Promise<{ selector: string; privateKey: string } | null>;
  /** Stores a challenge (replacing one of the same kind, name and token); `not_found` for a name that is no domain. */
  putAcmeChallenge(challenge: AcmeChallenge): Promise<void>;
  /** The live challenges of a kind at a name (and token, for http-01), at `now`. */
  acmeChallenges(kind: AcmeChallenge['kind'], name: string, now: number, token?: string): Promise<AcmeChallenge[]>;
  removeAcmeChallenge(kind: AcmeChallenge['kind'], name: string, token: string): Promise<void>;
}

/**
 * A domain's TLS certificate as Knock keeps it (issue 21, 014_certificates.sql), without its private key: what the
 * renewal schedule, listings and logs see. A row exists from the first order on; `issued` until then is false.
 */
export interface CertificateStatus {
  name: string;
  issued: boolean;
  /** The validity of the certificate served (null before the first is issued). */
  notBefore: number | null;
  notAfter: number | null;
  /** When it is due for renewal (0: at once, as before the first order). */
  renewAt: number;
  /** Failed orders since the last success, the next try they allow (backoff) and the last one's error. */
  failures: number;
  nextTryAt: number;
  lastError: string | null;
  updatedAt: number;
}

/** An issued certificate with its key, read only to serve it (SNI). */
export interface StoredCertificate extends CertificateStatus {
  /** The leaf first, then its issuers (PEM). */
  chainPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
}

/** A certificate just issued, as stored. */
export interface IssuedCertificate {
  chainPem: string;
  keyPem: string;
  notBefore: number;
  notAfter: number;
  renewAt: number;
  at: number;
}

/**
 * Certificates of own domains (014_certificates.sql), shared by every process: a lease lets one process at a time
 * order a name; only active domains can be claimed (a pending domain, or a name that is no domain, never gets an
 * order); a domain removed takes its certificate with it.
 */
export interface CertificateStorage {
  /**
   * Active domains whose certificate is missing or due at `now` (renewal time and next try passed) and that nobody
   * holds a live lease on, with the failures since their last success (the backoff of the next one); the most overdue first.
   */
  dueCertificates(now: number, limit: number): Promise<Array<{ name: string; failures: number }>>;
  /** Takes the name's lease until `until` (making its row); false when it is no active domain or another holds a live lease. */
  claimCertificate(name: string, worker: string, now: number, until: number): Promise<boolean>;
  /** Stores what was issued: failures cleared, lease released. False (nothing stored) when `worker` no longer holds the lease. */
  storeCertificate(name: string, worker: string, issued: IssuedCertificate): Promise<boolean>;
  /** Counts a failed order, sets its next try and error, releases the lease. False when `worker` no longer holds the lease. */
  recordCertificateFailure(name: string, worker: string, failure: { error: string; nextTryAt: number; at: number }): Promise<boolean>;
  /** The issued certificate of a name, with its key; null before one is issued or for no domain. */
  getCertificate(name: string): Promise<StoredCertificate | null>;
  /** Every domain's certificate state, by name, without keys. */
  listCertificates(): Promise<CertificateStatus[]>;
}

/** One entry of an account's audit log (issue 22, 015_audit.sql). */
export interface AuditRecord {
  id: number;
  accountId: string;
  at: number;
  kind: AuditKind;
  ip: string | null;
  userAgent: string | null;
  /** The kind's own facts, as a flat object; never a secret. */
  detail: Record<string, string | number | boolean> | null;
}

/**
 * The audit log (issue 22): appended by engine/auditLog.ts, read by the owner newest first, purged by age. Entries go
 * with their account.
 */
export interface AuditStorage {
  appendAudit(entry: Omit<AuditRecord, 'id'>): Promise<void>;
  /** The account's entries newest first: at most `limit`, with ids below `before` when given. */
  listAudit(accountId: string, opts: { before?: number; limit: number }): Promise<AuditRecord[]>;
  /** Deletes the entries older than `before` (every account's); resolves with how many. */
  purgeAudit(before: number): Promise<number>;
}

/** A password recovery link (issue 22, 016_sessions_recovery.sql), kept as its token's hash. */
export interface PasswordReset {
  tokenHash: string;
  accountId: string;
  createdAt: number;
  /** The first instant the link no longer works. */
  expiresAt: number;
}

/**
 * Account safety (issue 22): the sessions an owner sees and ends (Settings → Sessions, `knock user sessions|logout`),
 * and password recovery by a link mailed to the verified address. Ending sessions resolves with their token hashes,
 * so the caller can close their sockets at once (the Hub's `sessionEnded`).
 */
export interface SessionRecoveryStorage {
  /** The account's sessions live at `now`, the most recently seen first. */
  listSessions(accountId: string, now: number): Promise<SessionRecord[]>;
  /** Marks the session used at `at` (only ever moving its last use forward). */
  touchSession(tokenHash: string, at: number): Promise<void>;
  /** Deletes the account's session of this public id; its token hash, or null when the account has none of that id. */
  endSession(accountId: string, id: string): Promise<string | null>;
  /** Deletes every session of the account but the one of `keepTokenHash` (when given); the token hashes deleted. */
  endSessions(accountId: string, keepTokenHash?: string | null): Promise<string[]>;
  /** Stores a recovery link; the account's older links are deleted (a newer link voids them). */
  createPasswordReset(reset: PasswordReset): Promise<void>;
  /**
   * Takes a recovery link: its account id when the link exists and has not expired at `now`, else null. Single use:
   * the link is deleted either way, and two takes at once give the account to one of them only.
   */
  takePasswordReset(tokenHash: string, now: number): Promise<string | null>;
  /** Deletes the account's recovery links (its password changed another way). */
  voidPasswordResets(accountId: string): Promise<void>;
  /** Deletes the links expired at `now` (every account's); resolves with how many. */
  purgeExpiredPasswordResets(now: number): Promise<number>;
  /** The ids of the accounts whose verified address is `address` (compared ignoring ASCII case), at most `limit`. */
  verifiedEmailAccounts(address: string, limit: number): Promise<string[]>;
}

/**
 * A visitor an owner blocked (issue 22, 018_blocks.sql). The conversation's token (the visitor's cookie) is refused
 * until the block is removed; the address the visitor was last seen from (kept only as a keyed hash) until
 * `addressUntil`.
 */
export interface VisitorBlock {
  id: string;
  /** The owner: a person, or a company (whichever of its operators blocked). */
  accountId: string;
  /** The conversation the block was made in; null once it is deleted (its cookie stays refused). */
  conversationId: string | null;
  /** The visitor's name in that conversation when blocked ('' when they gave none). */
  visitorName: string;
  /** Until when the visitor's last address is refused too; null when no address was known. */
  addressUntil: number | null;
  /** The account that blocked (the owner, or an operator of the company); null once that account is gone. */
  blockedBy: string | null;
  createdAt: number;
}

/** What a refusal is looked up by: any of the conversation, its token's hash and the address's keyed hash. */
export interface VisitorTraits {
  conversationId?: string;
  tokenHash?: string;
  addressHash?: string;
}

/** Blocked visitors (issue 22, 018_blocks.sql): they go with the owner's account. */
export interface VisitorBlockStorage {
  /**
   * The keyed hash of the address a conversation's visitor was seen from, replacing the one before (the same one again
   * changes nothing, not even its time). Nothing for no such conversation.
   */
  recordVisitorAddress(conversationId: string, addressHash: string, at: number): Promise<void>;
  /**
   * Blocks the visitor of the account's conversation: its token for good, and the last address recorded for it (if
   * any) until `addressUntil`. Blocking the same visitor again refreshes the address part and returns the same block
   * with `created: false`. Null, and nothing stored, when the account has no such conversation.
   */
  blockVisitor(input: { accountId: string; conversationId: string; blockedBy: string | null; addressUntil: number; at: number }): Promise<{ block: VisitorBlock; created: boolean } | null>;
  /** The account's block covering any of `visitor`'s traits (an address only while its part lasts at `now`), or null. */
  findVisitorBlock(accountId: string, visitor: VisitorTraits, now: number): Promise<VisitorBlock | null>;
  /** The account's blocks, newest first. */
  listVisitorBlocks(accountId: string): Promise<VisitorBlock[]>;
  /** Removes the account's block and resolves with it; null when the account has no such block. */
  removeVisitorBlock(accountId: string, id: string): Promise<VisitorBlock | null>;
}

/** What exporting and deleting an account reads and does (issue 22: "Export my data", "Delete account"). */
export interface AccountDataStorage {
  /** The ids of every conversation the account owns (archived, suspicious and email ones too), oldest first. */
  conversationIdsOf(accountId: string): Promise<string[]>;
  /** The files of a conversation, attached or not, oldest first. */
  filesOf(conversationId: string): Promise<StoredFile[]>;
  /** The hashes of the account's sessions (to close their sockets before the account goes). */
  sessionHashesOf(accountId: string): Promise<string[]>;
  /**
   * Removes the account with everything removeAccount removes, in one transaction, and resolves with the blob ids
   * (its conversations' files, thumbnails and mails) that nothing references any more, for the caller to delete from
   * Blobs: a blob another account's file still uses is not among them. Null when there is no such account.
   */
  purgeAccount(accountId: string): Promise<string[] | null>;
}

// -- two-factor sign-in (issue 22, 017_second_factor.sql) ----------------------------------------------------------
/** An account's authenticator app (TOTP, RFC 6238). */
export interface TotpRecord {
  accountId: string;
  /** The shared secret in base32, as the app holds it; stored as it is (not encrypted at rest). */
  secret: string;
  /** When a first code confirmed it; null while pending (enrolled, not yet confirmed: it counts for nothing). */
  confirmedAt: number | null;
  /** The last time step a code was accepted for (-1: none yet): a code of that step or an earlier one is a replay. */
  lastStep: number;
  createdAt: number;
}

/** A passkey (a WebAuthn credential) of an account. */
export interface PasskeyRecord {
  id: string;
  accountId: string;
  /** The credential's id as the browser gives it (base64url); one account's only. */
  credentialId: string;
  /** Its COSE public key, base64url. */
  publicKey: string;
  /** The authenticator's signature counter as last seen (0: the authenticator keeps none). */
  counter: number;
  transports: string[];
  /** What its owner calls it ("Laptop"). */
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/**
 * What a short-lived challenge is for: `login` (a ticket: the password was right, a second factor is due),
 * `passkey.login` (a sign-in with a passkey alone), `passkey.add` (registering a passkey), `passkey.confirm` (a passkey
 * confirming the owner at a Settings action).
 */
export type SecondFactorChallengeKind = 'login' | 'passkey.login' | 'passkey.add' | 'passkey.confirm';

/** Where a WebAuthn ceremony happens: the RP ID (a host name) and the page origins an answer may come from. */
export interface RelyingParty {
  id: string;
  origins: string[];
}

export interface SecondFactorChallenge {
  /** The hash of its id (a bearer secret, given to the browser once). */
  idHash: string;
  kind: SecondFactorChallengeKind;
  /** The account it is for; null for a passkey sign-in, which finds its account by the credential. */
  accountId: string | null;
  /** The WebAuthn challenge (base64url) the authenticator signs, and where; null when there is none. */
  challenge: string | null;
  relyingParty: RelyingParty | null;
  /** Answers counted against it so far. */
  tries: number;
  expiresAt: number;
  createdAt: number;
}

/**
 * Two-factor sign-in (issue 22): the TOTP secret, recovery codes, passkeys, login tickets and WebAuthn challenges, and
 * each account's wrong answers. Every check-and-change is one statement, so two processes answering at once never
 * both accept one code, one recovery code, one counter value or one ticket.
 */
export interface SecondFactorStorage {
  /** Keeps a new pending secret for the account, replacing a pending one; false (nothing changed) when one is confirmed. */
  putPendingTotp(accountId: string, secret: string, at: number): Promise<boolean>;
  getTotp(accountId: string): Promise<TotpRecord | null>;
  /**
   * Accepts a code of time step `step`: only when the secret is pending (`pending` true; it is then confirmed at `at`)
   * or confirmed (`pending` false), as asked, and its last accepted step is below `step`. False when not accepted.
   */
  acceptTotpStep(accountId: string, step: number, opts: { pending: boolean; at: number }): Promise<boolean>;
  /** Removes the secret, pending or confirmed; false when there was none. */
  removeTotp(accountId: string): Promise<boolean>;
  /** Replaces the account's recovery codes by these (hashes); an empty list removes them all. */
  setRecoveryCodes(accountId: string, codeHashes: readonly string[], at: number): Promise<void>;
  /** Spends a recovery code: true once, when it is the account's and unused. */
  useRecoveryCode(accountId: string, codeHash: string): Promise<boolean>;
  countRecoveryCodes(accountId: string): Promise<number>;
  /** Adds a passkey; `conflict` when its credential is registered already (to any account). */
  addPasskey(input: Omit<PasskeyRecord, 'id' | 'lastUsedAt'>): Promise<PasskeyRecord>;
  /** The account's passkeys, oldest first. */
  listPasskeys(accountId: string): Promise<PasskeyRecord[]>;
  getPasskeyByCredential(credentialId: string): Promise<PasskeyRecord | null>;
  /** Records a use: the new counter and time, only when the stored counter is still `previous`. False otherwise. */
  usePasskey(id: string, use: { previous: number; counter: number; at: number }): Promise<boolean>;
  /** Renames the account's passkey; null when it has none of this id. */
  renamePasskey(accountId: string, id: string, name: string): Promise<PasskeyRecord | null>;
  /** Removes the account's passkey; resolves with it, or null when it has none of this id. */
  removePasskey(accountId: string, id: string): Promise<PasskeyRecord | null>;
  /** Removes every passkey of the account; resolves with how many. */
  removePasskeys(accountId: string): Promise<number>;
  /** Keeps a new challenge (and deletes those expired at `now`); `conflict` when its id is taken. */
  putSecondFactorChallenge(challenge: Omit<SecondFactorChallenge, 'tries'>, now: number): Promise<void>;
  /** The challenge, unless unknown or expired at `now`. */
  getSecondFactorChallenge(idHash: string, now: number): Promise<SecondFactorChallenge | null>;
  /** Counts one answer against it: its tries afterwards, or null when it is unknown or expired at `now`. */
  countSecondFactorTry(idHash: string, now: number): Promise<number | null>;
  /** Deletes it and resolves with it: once, and only when it has not expired at `now` (null otherwise). */
  takeSecondFactorChallenge(idHash: string, now: number): Promise<SecondFactorChallenge | null>;
  /** Records a wrong answer of the account at `at`, forgetting its wrong answers before `forgetBefore`. */
  recordSecondFactorFailure(accountId: string, at: number, forgetBefore: number): Promise<void>;
  /** How many wrong answers the account had at or after `since`. */
  secondFactorFailures(accountId: string, since: number): Promise<number>;
  /** Forgets the account's wrong answers (a right one came). */
  clearSecondFactorFailures(accountId: string): Promise<void>;
}
