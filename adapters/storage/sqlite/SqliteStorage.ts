/**
 * The SQLite adapter of the Storage port (DESIGN "Storage"): the default store, one file, no server to run.
 * better-sqlite3 is synchronous; each method does its database work in one go, so no other call interleaves with it
 * inside this process. The methods are async to fit the port, and because appends (and the reads that could show
 * them) wait for their commit's fdatasync, which runs off the event loop (walSync.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { KnockError } from '../../../engine/errors.ts';
import type { ConversationSummary, MessageRecord } from '../../../engine/protocol.ts';
import type {
  Account, AccountDataStorage, AppendedFacts, AppendResult, AuditStorage, CannedStorage, CertificateStorage, ChannelStorage, CompanyStorage, Conversation, DomainStorage, PhoneStorage, RoutingStorage, SmsStorage, FileStorage, GameStorage, MailStorage, NewMessage, OutboxStorage, Participant,
  NewSession, SecondFactorStorage, SessionRecord, SessionRecoveryStorage, Storage, VisitorBlockStorage,
} from '../../../engine/ports/storage.ts';
import {
  assertWellFormed, eventColumns, newAccount, newConversationFields, newConversationIds, newConversationRecords, rowLimit, storedMessage,
  type CreatedConversation, type EventColumns, type NewAccount, type NewConversation,
} from '../common.ts';
import { attachedFiles } from '../fileRows.ts';
import { newSessionValues } from '../sessionRows.ts';
import { accountDataMethods, auditMethods, blockMethods, secondFactorMethods, sessionRecoveryMethods, cannedMethods, certificateMethods, channelMethods, companyMethods, domainMethods, mailMethods, outboxMethods, phoneMethods, routingMethods, smsMethods } from '../forwarding.ts';
import type { AccountRow, AppendedFactsRow, ConversationRow, MessageRow, ParticipantRow, SessionRow, SummaryRow } from '../rows.ts';
import { SqliteCanned } from './canned.ts';
import { SqlitePhones } from './phones.ts';
import { SqliteAudit } from './audit.ts';
import { SqliteSessions } from './sessions.ts';
import { SqliteBlocks } from './blocks.ts';
import { SqliteAccountData } from './accountData.ts';
import { SqliteSecondFactor } from './secondFactor.ts';
import { SqliteDomains } from './domains.ts';
import { SqliteCertificates } from './certificates.ts';
import { SqliteSms } from './sms.ts';
import { SqliteChannels } from './channels.ts';
import { SqliteCompanies } from './companies.ts';
import { SqliteRouting } from './routing.ts';
import { SqliteDocuments } from './documents.ts';
import { SqliteFiles } from './files.ts';
import { SqliteInbox } from './inbox.ts';
import { SqliteMail } from './mail.ts';
import { SqliteOutbox } from './outbox.ts';
import { isConstraint } from './constraints.ts';
import { applyMigrations } from './migrate.ts';
import { SqliteGames } from './SqliteGames.ts';
import { Checkpointer } from './checkpointer.ts';
import { WalSync } from './walSync.ts';
import { sql, toAccount, toAppendedFacts, toConversation, toMessage, toParticipant, toSession, toSummary } from './queries.ts';

type Db = Database.Database;

/** An append waiting for the next batch, its event already in the columns it is stored in. */
interface QueuedAppend {
  input: NewMessage;
  event: EventColumns;
}

/** Every statement, prepared once per connection: parsing SQL on each call would dominate the cost of small queries. */
function prepareStatements(db: Db) {
  return {
    insertAccount: db.prepare<[string, string, string, string, number]>(sql.insertAccount),
    accountByHandle: db.prepare<[string], AccountRow<string>>(sql.accountByHandle),
    accountById: db.prepare<[string], AccountRow<string>>(sql.accountById),
    allAccounts: db.prepare<[], AccountRow<string>>(sql.allAccounts),
    deleteAccount: db.prepare<[string]>(sql.deleteAccount),
    setPasswordHash: db.prepare<[string, string]>(sql.setPasswordHash),
    insertSession: db.prepare<[string, string, number, number, string, string | null, string | null, number], SessionRow>(sql.insertSession),
    liveSession: db.prepare<[string, number], SessionRow>(sql.liveSession),
    deleteSession: db.prepare<[string]>(sql.deleteSession),
    deleteSessionsOf: db.prepare<[string]>(sql.deleteSessionsOf),
    liveSessions: db.prepare<[string, number], { token_hash: string }>(sql.liveSessions),
    purgeExpiredSessions: db.prepare<[number]>(sql.purgeExpiredSessions),
    insertConversation: db.prepare<
      [string, string, string, number, number, string | null, string, string | null, number, string | null, string | null]
    >(sql.insertConversation),
    appendedFacts: db.prepare<[string], AppendedFactsRow<string>>(sql.appendedFacts),
    conversationById: db.prepare<[string], ConversationRow<string>>(sql.conversationById),
    conversationByTokenHash: db.prepare<[string], ConversationRow<string>>(sql.conversationByTokenHash),
    conversationExists: db.prepare<[string], { found: number }>(sql.conversationExists),
    summaryById: db.prepare<[string], SummaryRow<string>>(sql.summaryById),
    insertParticipant: db.prepare<[string, string, string, string | null, string]>(sql.insertParticipant),
    participantById: db.prepare<[string], ParticipantRow<string>>(sql.participantById),
    participantsOf: db.prepare<[string], ParticipantRow<string>>(sql.participantsOf),
    renameParticipant: db.prepare<[string, string]>(sql.renameParticipant),
    clearMarkedUnread: db.prepare<{ seq: number; id: string }>(sql.clearMarkedUnread),
    raiseDelivered: db.prepare<{ seq: number; id: string }>(sql.raiseDelivered),
    raiseRead: db.prepare<{ seq: number; id: string }>(sql.raiseRead),
    messageByClientId: db.prepare<[string, string], MessageRow<string>>(sql.messageByClientId),
    nextSeq: db.prepare<[number, number, string], { last_seq: number }>(sql.nextSeq),
    insertMessage: db.prepare<[string, number, string, string, string, number, string, string | null]>(sql.insertMessage),
    messagesAfter: db.prepare<[string, number, number], MessageRow<string>>(sql.messagesAfter),
    messagesBefore: db.prepare<[string, number, number], MessageRow<string>>(sql.messagesBefore),
  };
}

/**
 * How many appends may wait for the search index (search_pending, 005_inbox.sql) before they are moved into it after
 * a batch; a search moves them first whatever their number. FTS5 writes a segment per commit, so moving several
 * hundred at once costs each a fraction of indexing it in its own append's commit (bench/storageAppends.ts).
 */
const SEARCH_INDEX_BATCH = 512;

/** The outbox's, email's, forwarding's and companies', routing's, canned responses', phone numbers', SMS conversations' and domains' methods, put on each instance by the constructor (../forwarding.ts). */
export interface SqliteStorage extends OutboxStorage, MailStorage, ChannelStorage, CompanyStorage, RoutingStorage, CannedStorage, PhoneStorage, SmsStorage, DomainStorage, CertificateStorage, AuditStorage, SessionRecoveryStorage, VisitorBlockStorage, AccountDataStorage, SecondFactorStorage {}

export class SqliteStorage implements Storage {
  private readonly q: ReturnType<typeof prepareStatements>;
  private closed = false;

  private readonly pendingAppends: Array<{ append: QueuedAppend; resolve: (r: AppendResult) => void; reject: (e: unknown) => void }> = [];
  // IMMEDIATE (see flushAppends) takes the write lock before the duplicate checks, so another process (the CLI)
  // cannot slip the same clientMsgId or the same seq in between a check and its insert.
  private readonly appendBatch: Database.Transaction<
    (appends: QueuedAppend[], outcomes: Array<{ ok: true; value: AppendResult } | { ok: false; error: unknown }>) => void
  >;

  /** Syncs the appends' commits off the event loop (null in memory: nothing to sync). */
  private readonly wal: WalSync | null;
  private readonly syncOff: Database.Statement;
  private readonly syncOn: Database.Statement;

  /** Appends committed since the search index last took the messages waiting for it (SqliteInbox.indexPending). */
  private unindexed = 0;

  /** Runs WAL checkpoints in a worker thread (null in memory: no WAL). */
  private readonly checkpoints: Checkpointer | null;

  private constructor(private readonly db: Db, file: string | null, private readonly onError?: (err: Error) => void) {
    this.q = prepareStatements(db);
    this.wal = file === null ? null : new WalSync(`${file}-wal`);
    this.checkpoints = file === null ? null : new Checkpointer(db, file, onError);
    this.syncOff = db.prepare('PRAGMA synchronous = NORMAL');
    this.syncOn = db.prepare('PRAGMA synchronous = FULL');
    // The outbox and email of issue 17, forwarding of issue 18, companies of issue 19 (./outbox.ts, ./mail.ts,
    // ./channels.ts, ./companies.ts: same connection, own statements).
    Object.assign(
      this,
      outboxMethods(new SqliteOutbox(db)),
      mailMethods(new SqliteMail(db, (value) => this.visible(value))),
      channelMethods(new SqliteChannels(db)),
      companyMethods(new SqliteCompanies(db, (write) => this.commitUnsynced(write))),
      routingMethods(new SqliteRouting(db)),
      cannedMethods(new SqliteCanned(db)),
      phoneMethods(new SqlitePhones(db)),
      smsMethods(new SqliteSms(db)),
      domainMethods(new SqliteDomains(db)),
      certificateMethods(new SqliteCertificates(db)),
      auditMethods(new SqliteAudit(db)),
      sessionRecoveryMethods(new SqliteSessions(db)),
      blockMethods(new SqliteBlocks(db)),
      accountDataMethods(new SqliteAccountData(db, this.files)),
      secondFactorMethods(new SqliteSecondFactor(db)),
    );
    this.appendBatch = db.transaction((appends: QueuedAppend[], outcomes) => {
      for (const append of appends) {
        try {
          outcomes.push({ ok: true, value: this.appendOne(append) });
        } catch (error) {
          // appendOne refuses (KnockError) before it writes anything, so the batch goes on without that append.
          // Any other error may come after the seq was raised: it ends the transaction, nothing of it is kept.
          if (!(error instanceof KnockError)) throw error;
          outcomes.push({ ok: false, error });
        }
      }
    });
  }

  /**
   * Opens (creating if needed) the database at `file` and brings its schema up to date.
   *
   * @example
   *   const storage = SqliteStorage.open({ file: join(config.dataDir, 'knock.db') });
   *   const test = SqliteStorage.open({ file: ':memory:' });
   */
  static open(opts: {
    file: string;
    /** told when WAL checkpoints fall back to the event loop, and when the search index could not catch up after appends */
    onError?: (err: Error) => void;
  }): SqliteStorage {
    const inMemory = opts.file === ':memory:';
    if (!inMemory) mkdirSync(dirname(resolve(opts.file)), { recursive: true });
    const db = new Database(opts.file);
    try {
      configure(db, inMemory);
      applyMigrations(db);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteStorage(db, inMemory ? null : resolve(opts.file), opts.onError);
  }

  // -- accounts ---------------------------------------------------------------------------------------------------

  async createAccount(input: NewAccount): Promise<Account> {
    const account = newAccount(input);
    try {
      this.q.insertAccount.run(account.id, account.handle, account.displayName, account.passwordHash, account.createdAt);
    } catch (err) {
      if (isConstraint(err, 'UNIQUE', 'accounts.handle')) {
        throw new KnockError('conflict', `The handle "${input.handle}" is taken.`);
      }
      throw err;
    }
    return account;
  }

  async getAccountByHandle(handle: string): Promise<Account | null> {
    const row = this.q.accountByHandle.get(handle);
    return row ? toAccount(row) : null;
  }

  async getAccountById(id: string): Promise<Account | null> {
    const row = this.q.accountById.get(id);
    return row ? toAccount(row) : null;
  }

  async listAccounts(): Promise<Account[]> {
    return this.q.allAccounts.all().map(toAccount);
  }

  /**
   * Sessions, conversations, participants, messages, documents, games, files, mails, outbox jobs of its conversations,
   * its address, device tokens, channels, forwarding settings and forwards go with it through ON DELETE CASCADE
   * (001_init.sql and after), the conversations' rows of the search index by trigger (005_inbox.sql, 006_mail.sql);
   * so do its company (with the company's operators, sites, invitations and page views), its places as another
   * company's operator and the invitations it made (008_companies.sql).
   */
  async removeAccount(handle: string): Promise<boolean> {
    return this.q.deleteAccount.run(handle).changes > 0;
  }

  async setPasswordHash(handle: string, passwordHash: string): Promise<boolean> {
    return this.q.setPasswordHash.run(passwordHash, handle).changes > 0;
  }

  // -- sessions ---------------------------------------------------------------------------------------------------

  async createSession(session: NewSession): Promise<SessionRecord> {
    try {
      return toSession(this.q.insertSession.get(...newSessionValues(session), session.createdAt)!);
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw new KnockError('not_found', 'There is no such account.');
      if (isConstraint(err, 'PRIMARYKEY') || isConstraint(err, 'UNIQUE')) {
        throw new KnockError('conflict', 'This session token is already in use.');
      }
      throw err;
    }
  }

  async getSession(tokenHash: string, now: number): Promise<SessionRecord | null> {
    const row = this.q.liveSession.get(tokenHash, now);
    return row ? toSession(row) : null;
  }

  async deleteSession(tokenHash: string): Promise<void> {
    this.q.deleteSession.run(tokenHash);
  }

  async deleteSessionsOf(accountId: string): Promise<void> {
    this.q.deleteSessionsOf.run(accountId);
  }

  async liveSessions(tokenHashes: readonly string[], now: number): Promise<Set<string>> {
    if (tokenHashes.length === 0) return new Set();
    return new Set(this.q.liveSessions.all(JSON.stringify(tokenHashes), now).map((row) => row.token_hash));
  }

  async purgeExpiredSessions(now: number): Promise<number> {
    return this.q.purgeExpiredSessions.run(now).changes;
  }

  // -- conversations ----------------------------------------------------------------------------------------------

  async createConversation(input: NewConversation): Promise<CreatedConversation> {
    const fields = newConversationFields(input);
    const create = this.db.transaction(() => {
      const account = this.q.accountById.get(input.ownerAccountId);
      if (!account) throw new KnockError('not_found', 'There is no such account.');
      const ids = newConversationIds();
      try {
        this.q.insertConversation.run(
          ids.conversation, account.id, input.tokenHash, input.at, input.at, fields.visitorEmail, fields.kind, fields.subject,
          fields.suspicious ? 1 : 0, fields.startedOn?.url ?? null, fields.startedOn?.title ?? null,
        );
      } catch (err) {
        if (isConstraint(err, 'UNIQUE', 'conversations.token_hash')) {
          throw new KnockError('conflict', 'This conversation token is already in use.');
        }
        throw err;
      }
      const created = newConversationRecords(ids, input, fields, { handle: account.handle, displayName: account.display_name });
      for (const p of [created.owner, created.visitor]) {
        this.q.insertParticipant.run(p.id, ids.conversation, p.role, p.accountId, p.name);
      }
      return created;
    });
    return create.immediate();
  }

  async getConversation(id: string): Promise<Conversation | null> {
    const row = this.q.conversationById.get(id);
    return this.visible(row ? toConversation(row) : null);
  }

  async appendedFacts(conversationId: string): Promise<AppendedFacts | null> {
    const row = this.q.appendedFacts.get(conversationId);
    return this.visible(row ? toAppendedFacts(row) : null);
  }

  async getConversationByTokenHash(tokenHash: string): Promise<Conversation | null> {
    const row = this.q.conversationByTokenHash.get(tokenHash);
    return row ? toConversation(row) : null;
  }

  async getConversationSummary(id: string): Promise<ConversationSummary | null> {
    const row = this.q.summaryById.get(id);
    return this.visible(row ? toSummary(row) : null);
  }

  // -- files (./files.ts: same connection, own statements) ---------------------------------------------------------
  private readonly files = new SqliteFiles(this.db);
  readonly createFile: FileStorage['createFile'] = (input) => this.files.createFile(input);
  readonly getFile: FileStorage['getFile'] = (id) => this.files.getFile(id);
  readonly ownerFileBytes: FileStorage['ownerFileBytes'] = (ownerAccountId) => this.files.ownerFileBytes(ownerAccountId);
  readonly purgeUnattachedFiles: FileStorage['purgeUnattachedFiles'] = (before) => this.files.purgeUnattachedFiles(before);

  // -- the inbox of issue 16 (./inbox.ts: same connection, own statements; uses the files) -------------------------
  private readonly inbox = new SqliteInbox(this.db, this.files, {
    commitUnsynced: (write) => this.commitUnsynced(write),
    visible: (value) => this.visible(value),
  });
  readonly listConversations: Storage['listConversations'] = (owner, opts) => this.inbox.listConversations(owner, opts);
  readonly setArchived: Storage['setArchived'] = (id, archived) => this.inbox.setArchived(id, archived);
  readonly markUnread: Storage['markUnread'] = (id) => this.inbox.markUnread(id);
  readonly deleteConversation: Storage['deleteConversation'] = (id) => this.inbox.deleteConversation(id);

  // -- participants -----------------------------------------------------------------------------------------------

  async getParticipants(conversationId: string): Promise<Participant[]> {
    return this.q.participantsOf.all(conversationId).map(toParticipant);
  }

  async raiseReceipt(participantId: string, kind: 'delivered' | 'read', seq: number): Promise<Participant | null> {
    const raise = this.db.transaction(() => {
      if (kind === 'read') this.q.clearMarkedUnread.run({ seq, id: participantId });
      const statement = kind === 'read' ? this.q.raiseRead : this.q.raiseDelivered;
      statement.run({ seq, id: participantId });
      return this.q.participantById.get(participantId);
    });
    const row = raise.immediate();
    return row ? toParticipant(row) : null;
  }

  async renameParticipant(participantId: string, name: string): Promise<Participant | null> {
    assertWellFormed(name, 'The name');
    const rename = this.db.transaction(() => {
      this.q.renameParticipant.run(name, participantId);
      return this.q.participantById.get(participantId);
    });
    const row = rename.immediate();
    return row ? toParticipant(row) : null;
  }

  // -- messages ---------------------------------------------------------------------------------------------------

  async appendMessage(input: NewMessage): Promise<AppendResult> {
    assertWellFormed(input.body, 'The message');
    if (this.closed) throw new KnockError('internal', 'The database is closed.');
    // Encoded before the batch: whatever it throws fails this append alone, and the write lock is not held for it.
    const append: QueuedAppend = { input, event: eventColumns(input.event) };
    return new Promise<AppendResult>((resolve, reject) => {
      this.pendingAppends.push({ append, resolve, reject });
      if (this.pendingAppends.length === 1) setImmediate(() => this.flushAppends());
    });
  }

  /**
   * Group commit: every append that arrived during one turn of the event loop is written in one transaction, so
   * they share one commit. One refused append does not undo the others: appendOne refuses before it writes.
   * Appends are written in call order, so one conversation's seqs follow the order of its calls. On a database
   * file the commit is not synced in the call (synchronous=NORMAL for this transaction only): WalSync syncs the
   * WAL in the thread pool, and nobody is answered before that, so an acknowledged message is on disk while the
   * event loop serves everyone else during the sync.
   */
  private flushAppends(): void {
    const batch = this.pendingAppends.splice(0);
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: true; value: AppendResult } | { ok: false; error: unknown }> = [];
    let durable: Promise<void> | void;
    try {
      durable = this.commitDurably(() => this.appendBatch.immediate(batch.map((p) => p.append), outcomes));
    } catch (error) {
      for (const p of batch) p.reject(error); // the commit failed: nothing of this batch is stored
      return;
    }
    this.unindexed += batch.length;
    if (this.unindexed >= SEARCH_INDEX_BATCH) this.catchUpSearchIndex();
    const answer = () =>
      batch.forEach((p, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) p.resolve(outcome.value);
        else p.reject(outcome.error);
      });
    if (!durable) return answer();
    durable.then(answer, (error: unknown) => {
      for (const p of batch) p.reject(error);
    });
  }

  /**
   * Runs `write` (one transaction) without syncing inside the call (synchronous=NORMAL for it only), and returns
   * when the WAL holding its commit has been synced in the thread pool (nothing to wait for in memory). Throws what
   * `write` throws, at once: then nothing of it was committed.
   */
  private commitDurably(write: () => void): Promise<void> | void {
    if (!this.wal) return write();
    this.commitUnsynced(write);
    return this.wal.until(this.wal.committed());
  }

  /**
   * Runs `write` (one transaction) without syncing, and does not wait for the sync: for writes whose loss in a crash
   * loses nothing (the search index catching up with messages that are stored).
   */
  private commitUnsynced(write: () => void): void {
    if (!this.wal) return write();
    this.syncOff.run();
    try {
      write();
    } finally {
      this.syncOn.run();
    }
    this.checkpoints?.committed();
  }

  /**
   * Moves the messages waiting for the search index into it, after a batch (their answers do not wait for it). A
   * failure here fails no append: it is reported, the messages keep waiting, and the next search tries again.
   */
  private catchUpSearchIndex(): void {
    this.unindexed = 0;
    try {
      this.inbox.indexPending();
    } catch (err) {
      this.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** `value`, once every commit made so far is durable: a reader never sees an append that could still be lost. */
  private visible<T>(value: T): Promise<T> | T {
    return this.wal ? this.wal.settled().then(() => value) : value;
  }

  /**
   * One append, inside the batch's transaction; every refusal (KnockError) is thrown before its first write. A
   * trigger queues the message for the search index in the same transaction (005_inbox.sql, catchUpSearchIndex).
   */
  private appendOne({ input, event }: QueuedAppend): AppendResult {
    const sender = this.q.participantById.get(input.senderId);
    if (!sender || sender.conversation_id !== input.conversationId) this.refuseSender(input.conversationId);
    const existing = this.q.messageByClientId.get(input.senderId, input.clientMsgId);
    if (existing) return { message: toMessage(existing), duplicate: true };
    const files = attachedFiles(input);
    if (files.length > 0) this.files.checkAttachable(input, files);
    const next = this.q.nextSeq.get(input.at, files.length, input.conversationId);
    if (!next) throw new KnockError('not_found', 'There is no such conversation.');
    this.q.insertMessage.run(
      input.conversationId, next.last_seq, input.senderId, input.clientMsgId, input.body, input.at, event.kind, event.payload,
    );
    if (files.length > 0) this.files.attach(files, next.last_seq);
    return { message: storedMessage(input, next.last_seq, toParticipant(sender)), duplicate: false };
  }

  async messagesAfter(conversationId: string, afterSeq: number, limit: number): Promise<MessageRecord[]> {
    return this.visible(this.q.messagesAfter.all(conversationId, afterSeq, rowLimit(limit)).map(toMessage));
  }

  async messagesBefore(conversationId: string, beforeSeq: number, limit: number): Promise<MessageRecord[]> {
    return this.visible(this.q.messagesBefore.all(conversationId, beforeSeq, rowLimit(limit)).map(toMessage));
  }

  // -- documents (./documents.ts: same connection, own statements) -----------------------------------------------
  private readonly documents = new SqliteDocuments(this.db, {
    commit: (write) => this.commitDurably(write),
    visible: (value) => this.visible(value),
  });
  readonly createDocument: Storage['createDocument'] = (input) => this.documents.createDocument(input);
  readonly getDocument: Storage['getDocument'] = (id) => this.documents.getDocument(id);
  readonly appendDocumentUpdate: Storage['appendDocumentUpdate'] = (id, update, at) => this.documents.appendDocumentUpdate(id, update, at);
  readonly loadDocumentState: Storage['loadDocumentState'] = (id) => this.documents.loadDocumentState(id);
  readonly compactDocument: Storage['compactDocument'] = (id, snapshot, upTo, at) => this.documents.compactDocument(id, snapshot, upTo, at);

  // -- games (SqliteGames.ts) -------------------------------------------------------------------------------------
  private gameStore: SqliteGames | null = null;
  private get games(): SqliteGames {
    this.gameStore ??= new SqliteGames(this.db);
    return this.gameStore;
  }
  createGame: GameStorage['createGame'] = (input) => this.games.createGame(input);
  getGame: GameStorage['getGame'] = (id) => this.games.getGame(id);
  openGame: GameStorage['openGame'] = (conversationId) => this.games.openGame(conversationId);
  transitionGame: GameStorage['transitionGame'] = (id, change) => this.games.transitionGame(id, change);
  finishedGames: GameStorage['finishedGames'] = (conversationId, limit) => this.games.finishedGames(conversationId, limit);
  appendGameMove: GameStorage['appendGameMove'] = (id, expectedCount, move) => this.games.appendGameMove(id, expectedCount, move);

  // -- lifecycle --------------------------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushAppends(); // appends already accepted are written (and answered) before the database closes
    this.closed = true;
    if (this.wal) {
      await this.wal.settled().catch(() => undefined); // a failed sync was already reported to its callers
      this.wal.close();
    }
    await this.checkpoints?.close();
    this.db.close();
  }

  private refuseSender(conversationId: string): never {
    if (!this.q.conversationExists.get(conversationId)) {
      throw new KnockError('not_found', 'There is no such conversation.');
    }
    throw new KnockError('forbidden', 'The sender is not a member of this conversation.');
  }
}

/**
 * Durability: a message the server has acknowledged must survive a crash. WAL lets readers (inbox, history) run
 * while a message is written. synchronous=FULL fsyncs the WAL at every commit: NORMAL would already survive a
 * killed process, but a power cut or kernel panic could lose the last commits, i.e. messages the sender saw
 * acknowledged. One fsync per message is cheap next to a network round trip.
 */
function configure(db: Db, inMemory: boolean): void {
  if (!inMemory) db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Account removal relies on cascades; a build without foreign keys would silently keep orphans.
  if (db.pragma('foreign_keys', { simple: true }) !== 1) throw new Error('SQLite foreign keys could not be enabled.');
}

