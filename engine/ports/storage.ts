/**
 * The Storage port (DESIGN "Storage"). Adapters: SQLite (adapters/storage/sqlite, the default) and, later,
 * PostgreSQL. One contract suite (test/contract/storage.contract.ts) runs against every adapter.
 *
 * Every method is async so that a networked database fits the same port. Times are milliseconds since the epoch.
 * Secrets (session tokens, conversation tokens) are stored only as hashes: the caller hashes, the adapter stores.
 */
import type { ConversationEvent, ConversationSummary, InboxFilter, MessageRecord, ParticipantRecord, Role } from '../protocol.ts';
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

export interface Conversation {
  id: string;
  ownerAccountId: string;
  ownerHandle: string;
  ownerName: string;
  lastSeq: number;
  createdAt: number;
  updatedAt: number;
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

/** Documents (co-edited, Yjs) are in DocumentStorage (./documentStorage.ts); games in GameStorage, files in FileStorage (below). */
export interface Storage extends DocumentStorage, GameStorage, FileStorage {
  // accounts
  createAccount(input: { handle: string; displayName: string; passwordHash: string; at: number }): Promise<Account>;
  getAccountByHandle(handle: string): Promise<Account | null>;
  getAccountById(id: string): Promise<Account | null>;
  listAccounts(): Promise<Account[]>;
  /** Removes the account and everything it owns (sessions, conversations, messages). False if there was none. */
  removeAccount(handle: string): Promise<boolean>;
  setPasswordHash(handle: string, passwordHash: string): Promise<boolean>;

  // sessions
  createSession(session: Session): Promise<void>;
  /** The session, if it exists and has not expired at `now`. */
  getSession(tokenHash: string, now: number): Promise<Session | null>;
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
  /** Creates a conversation with its two participants: the owner (the account) and the visitor. */
  createConversation(input: {
    ownerAccountId: string;
    tokenHash: string;
    visitorName: string;
    /** Where the owner may answer by email later (issue 16's offline form); null or absent: none given. */
    visitorEmail?: string | null;
    at: number;
  }): Promise<{ conversation: Conversation; owner: Participant; visitor: Participant }>;
  getConversation(id: string): Promise<Conversation | null>;
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
