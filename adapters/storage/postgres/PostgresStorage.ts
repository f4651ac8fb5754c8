/**
 * The PostgreSQL adapter of the Storage port (DESIGN "Storage"): used when `DATABASE_URL` is set, so that several
 * Knock processes can share one database. Every method is one or two statements on a `pg.Pool`; where the port
 * asks for one transaction, a single statement is that transaction, except appends, which are group-committed
 * (./appends.ts: the file-less appends of a batch are one statement).
 */
import pg from 'pg';
import { KnockError } from '../../../engine/errors.ts';
import type { Logger } from '../../../engine/logger.ts';
import type { ConversationSummary, MessageRecord } from '../../../engine/protocol.ts';
import type {
  Account, AccountDataStorage, AppendedFacts, AppendResult, AuditStorage, CannedStorage, CertificateStorage, ChannelStorage, CompanyStorage, Conversation, DomainStorage, PhoneStorage, RoutingStorage, SmsStorage, FileStorage, GameStorage, MailStorage, NewMessage, OutboxStorage, Participant,
  NewSession, SecondFactorStorage, SessionRecord, SessionRecoveryStorage, Storage, VisitorBlockStorage,
} from '../../../engine/ports/storage.ts';
import {
  assertWellFormed, newAccount, newConversationFields, newConversationIds, newConversationRecords, rowLimit,
  type CreatedConversation, type NewAccount, type NewConversation,
} from '../common.ts';
import { newSessionValues } from '../sessionRows.ts';
import { accountDataMethods, auditMethods, blockMethods, secondFactorMethods, sessionRecoveryMethods, cannedMethods, certificateMethods, channelMethods, companyMethods, domainMethods, mailMethods, outboxMethods, phoneMethods, routingMethods, smsMethods } from '../forwarding.ts';
import {
  type AccountRow, type AppendedFactsRow, type ConversationRow, type MessageRow, type ParticipantRow, type SessionRow, type SummaryRow,
} from '../rows.ts';
import { SqlState, isViolation, runStatement } from './databaseErrors.ts';
import { PostgresChannels, channelSql } from './channels.ts';
import { PostgresCanned, cannedSql } from './canned.ts';
import { PostgresPhones, phoneSql } from './phones.ts';
import { PostgresAudit } from './audit.ts';
import { PostgresSessions, sessionSql } from './sessions.ts';
import { PostgresBlocks, blockSql } from './blocks.ts';
import { PostgresAccountData } from './accountData.ts';
import { PostgresSecondFactor } from './secondFactor.ts';
import { PostgresSms, smsSql } from './sms.ts';
import { PostgresDomains, domainSql } from './domains.ts';
import { PostgresCertificates, certificateSql } from './certificates.ts';
import { PostgresCompanies, companySql } from './companies.ts';
import { PostgresRouting, routingSql } from './routing.ts';
import { PostgresDocuments } from './documents.ts';
import { PostgresFiles } from './files.ts';
import { PostgresInbox, type RunStatement } from './inbox.ts';
import { PostgresMail, mailSql } from './mail.ts';
import { PostgresOutbox, outboxSql } from './outbox.ts';
import { applyMigrations, assertSchemaName, quoteIdentifier } from './migrate.ts';
import { PostgresGames } from './PostgresGames.ts';
import { PostgresAppends } from './appends.ts';
import {
  encodeText, decodeText, inboxSqlOf, sql, toAccount, toAppendedFacts, toConversation, toMessage, toParticipant, toSession, toSummary,
} from './queries.ts';

export interface PostgresStorageOptions {
  /** `postgres://user:password@host:5432/database`, e.g. from `DATABASE_URL`. */
  connectionString: string;
  /** The PostgreSQL schema holding Knock's tables, created if missing. Default `public`. */
  schema?: string;
  /** The most connections this process opens. Default 10. */
  poolSize?: number;
  /**
   * Told when an idle pooled connection fails (e.g. the server restarted). The pool has already discarded the
   * connection and opens a new one when needed; without a listener, such an error would end the process.
   */
  logger?: Pick<Logger, 'warn'>;
}

/** The oldest server Knock supports (adapters/storage/README.md); older ones are refused at open, not half-used. */
const MIN_SERVER_VERSION = 130000;

/**
 * BIGINT (times, seqs, COUNT) as JS numbers instead of pg's default strings. Set per pool, not with the global
 * `pg.types.setTypeParser`, so other users of `pg` in the process are unaffected. Values beyond 2^53 cannot come
 * from Knock (times in ms, seqs); if one does, failing the query beats a silently rounded number.
 */
const bigintAsNumber: pg.CustomTypesConfig = {
  getTypeParser: (id, format) =>
    id === pg.types.builtins.INT8 && format !== 'binary' ? parseBigint : pg.types.getTypeParser(id, format),
};

function parseBigint(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`A BIGINT from the database is beyond 2^53: ${text}`);
  return value;
}

/** The outbox's, email's, forwarding's and companies', routing's, canned responses', phone numbers', SMS conversations' and domains' methods, put on each instance by the constructor (../forwarding.ts). */
export interface PostgresStorage extends OutboxStorage, MailStorage, ChannelStorage, CompanyStorage, RoutingStorage, CannedStorage, PhoneStorage, SmsStorage, DomainStorage, CertificateStorage, AuditStorage, SessionRecoveryStorage, VisitorBlockStorage, AccountDataStorage, SecondFactorStorage {}

export class PostgresStorage implements Storage {
  private closing: Promise<void> | undefined;
  /** Appends, group-committed per conversation, file-less ones one statement per batch (./appends.ts). */
  private readonly appends: PostgresAppends;

  private constructor(private readonly pool: pg.Pool) {
    this.appends = new PostgresAppends(pool, named);
    // The outbox and email of issue 17, forwarding of issue 18, companies of issue 19 (./outbox.ts, ./mail.ts,
    // ./channels.ts, ./companies.ts: same pool and statement runner).
    const run: RunStatement = (text, values, refine) => this.run(text, values, refine);
    Object.assign(
      this,
      outboxMethods(new PostgresOutbox(run)),
      mailMethods(new PostgresMail(run)),
      channelMethods(new PostgresChannels(run, pool)),
      companyMethods(new PostgresCompanies(run)),
      routingMethods(new PostgresRouting(run)),
      cannedMethods(new PostgresCanned(run)),
      phoneMethods(new PostgresPhones(run, pool)),
      smsMethods(new PostgresSms(run)),
      domainMethods(new PostgresDomains(run)),
      certificateMethods(new PostgresCertificates(run)),
      auditMethods(new PostgresAudit(run)),
      sessionRecoveryMethods(new PostgresSessions(run)),
      blockMethods(new PostgresBlocks(run)),
      accountDataMethods(new PostgresAccountData(run, pool)),
      secondFactorMethods(new PostgresSecondFactor(run, pool)),
    );
  }

  /**
   * Connects, creates the schema if missing and brings it up to date (migrations/), then returns the adapter.
   * Safe to call from several processes at once: migrations are serialised by an advisory lock.
   *
   * @example
   *   const storage = await PostgresStorage.open({ connectionString: config.databaseUrl });
   *   const test = await PostgresStorage.open({ connectionString: url, schema: 'knock_test_1f3a' });
   */
  static async open(opts: PostgresStorageOptions): Promise<PostgresStorage> {
    const schema = opts.schema ?? 'public';
    assertSchemaName(schema);
    const poolSize = opts.poolSize ?? 10;
    if (!Number.isSafeInteger(poolSize) || poolSize < 1) throw new Error(`Invalid PostgreSQL pool size: ${poolSize}.`);
    const pool = new pg.Pool({
      connectionString: opts.connectionString,
      max: poolSize,
      // Set at connection start-up, so no pooled connection can run a query before its search_path is right.
      options: `-c search_path=${quoteIdentifier(schema)}`,
      types: bigintAsNumber,
      application_name: 'knock',
    });
    pool.on('error', (err) => opts.logger?.warn({ err }, 'an idle PostgreSQL connection failed; the pool dropped it'));
    try {
      await checkServer(pool);
      await applyMigrations(pool, schema);
      await warnIfAccentsCount(pool, opts.logger);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresStorage(pool);
  }

  // -- accounts ---------------------------------------------------------------------------------------------------

  async createAccount(input: NewAccount): Promise<Account> {
    const account = newAccount(input);
    await this.run(
      sql.insertAccount,
      [account.id, account.handle, encodeText(account.displayName), account.passwordHash, account.createdAt],
      (err) => isViolation(err, SqlState.uniqueViolation, 'accounts_handle_key')
        ? new KnockError('conflict', `The handle "${input.handle}" is taken.`)
        : undefined,
    );
    return account;
  }

  async getAccountByHandle(handle: string): Promise<Account | null> {
    return mapFirst(await this.run<AccountRow<Buffer>>(sql.accountByHandle, [handle]), toAccount);
  }

  async getAccountById(id: string): Promise<Account | null> {
    return mapFirst(await this.run<AccountRow<Buffer>>(sql.accountById, [id]), toAccount);
  }

  async listAccounts(): Promise<Account[]> {
    return (await this.run<AccountRow<Buffer>>(sql.allAccounts, [])).rows.map(toAccount);
  }

  /**
   * Sessions, conversations, participants, messages, documents, games, files, mails, outbox jobs of its conversations,
   * its address, device tokens, channels, forwarding settings and forwards go with it through ON DELETE CASCADE
   * (001_init.sql and after); so do its company (with the company's operators, sites, invitations and page views), its
   * places as another company's operator and the invitations it made (008_companies.sql).
   */
  async removeAccount(handle: string): Promise<boolean> {
    return ((await this.run(sql.deleteAccount, [handle])).rowCount ?? 0) > 0;
  }

  async setPasswordHash(handle: string, passwordHash: string): Promise<boolean> {
    return ((await this.run(sql.setPasswordHash, [handle, passwordHash])).rowCount ?? 0) > 0;
  }

  // -- sessions ---------------------------------------------------------------------------------------------------

  async createSession(session: NewSession): Promise<SessionRecord> {
    const result = await this.run<SessionRow>(sql.insertSession, newSessionValues(session), (err) => {
      if (isViolation(err, SqlState.foreignKeyViolation)) return new KnockError('not_found', 'There is no such account.');
      if (isViolation(err, SqlState.uniqueViolation)) return new KnockError('conflict', 'This session token is already in use.');
      return undefined;
    });
    return toSession(result.rows[0]!);
  }

  async getSession(tokenHash: string, now: number): Promise<SessionRecord | null> {
    return mapFirst(await this.run<SessionRow>(sql.liveSession, [tokenHash, now]), toSession);
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.run(sql.deleteSession, [tokenHash]);
  }

  async deleteSessionsOf(accountId: string): Promise<void> {
    await this.run(sql.deleteSessionsOf, [accountId]);
  }

  async liveSessions(tokenHashes: readonly string[], now: number): Promise<Set<string>> {
    if (tokenHashes.length === 0) return new Set();
    const result = await this.run<{ token_hash: string }>(sql.liveSessions, [tokenHashes, now]);
    return new Set(result.rows.map((row) => row.token_hash));
  }

  async purgeExpiredSessions(now: number): Promise<number> {
    return (await this.run(sql.purgeExpiredSessions, [now])).rowCount ?? 0;
  }

  // -- conversations ----------------------------------------------------------------------------------------------

  async createConversation(input: NewConversation): Promise<CreatedConversation> {
    const fields = newConversationFields(input);
    const ids = newConversationIds();
    const created = await this.run<{ handle: string; display_name: Buffer }>(
      sql.createConversation,
      [
        input.ownerAccountId, ids.conversation, input.tokenHash, input.at, ids.owner, ids.visitor, encodeText(input.visitorName),
        fields.visitorEmail === null ? null : encodeText(fields.visitorEmail), fields.kind,
        fields.subject === null ? null : encodeText(fields.subject), fields.suspicious,
        fields.startedOn === null ? null : encodeText(fields.startedOn.url), fields.startedOn === null ? null : encodeText(fields.startedOn.title),
      ],
      (err) => {
        if (isViolation(err, SqlState.uniqueViolation, 'conversations_token_hash_key')) {
          return new KnockError('conflict', 'This conversation token is already in use.');
        }
        // The account was removed between the statement's read and its insert.
        if (isViolation(err, SqlState.foreignKeyViolation)) return new KnockError('not_found', 'There is no such account.');
        return undefined;
      },
    );
    const account = created.rows[0];
    if (!account) throw new KnockError('not_found', 'There is no such account.');
    return newConversationRecords(ids, input, fields, { handle: account.handle, displayName: decodeText(account.display_name) });
  }

  async getConversation(id: string): Promise<Conversation | null> {
    return mapFirst(await this.run<ConversationRow<Buffer>>(sql.conversationById, [id]), toConversation);
  }

  async appendedFacts(conversationId: string): Promise<AppendedFacts | null> {
    return mapFirst(await this.run<AppendedFactsRow<Buffer>>(sql.appendedFacts, [conversationId]), toAppendedFacts);
  }

  async getConversationByTokenHash(tokenHash: string): Promise<Conversation | null> {
    return mapFirst(await this.run<ConversationRow<Buffer>>(sql.conversationByTokenHash, [tokenHash]), toConversation);
  }

  async getConversationSummary(id: string): Promise<ConversationSummary | null> {
    return mapFirst(await this.run<SummaryRow<Buffer>>(sql.summaryById, [id]), toSummary);
  }

  // -- the inbox of issue 16 (./inbox.ts: same pool and statement runner) ------------------------------------------
  private readonly inbox = new PostgresInbox((text, values, refine) => this.run(text, values, refine));
  readonly listConversations: Storage['listConversations'] = (owner, opts) => this.inbox.listConversations(owner, opts);
  readonly setArchived: Storage['setArchived'] = (id, archived) => this.inbox.setArchived(id, archived);
  readonly markUnread: Storage['markUnread'] = (id) => this.inbox.markUnread(id);
  readonly deleteConversation: Storage['deleteConversation'] = (id) => this.inbox.deleteConversation(id);

  // -- participants -----------------------------------------------------------------------------------------------

  async getParticipants(conversationId: string): Promise<Participant[]> {
    return (await this.run<ParticipantRow<Buffer>>(sql.participantsOf, [conversationId])).rows.map(toParticipant);
  }

  async raiseReceipt(participantId: string, kind: 'delivered' | 'read', seq: number): Promise<Participant | null> {
    const statement = kind === 'read' ? sql.raiseRead : sql.raiseDelivered;
    return mapFirst(await this.run<ParticipantRow<Buffer>>(statement, [participantId, receiptSeq(seq)]), toParticipant);
  }

  async renameParticipant(participantId: string, name: string): Promise<Participant | null> {
    assertWellFormed(name, 'The name');
    return mapFirst(await this.run<ParticipantRow<Buffer>>(sql.renameParticipant, [participantId, encodeText(name)]), toParticipant);
  }

  // -- messages ---------------------------------------------------------------------------------------------------

  /**
   * Group commit per conversation (./appends.ts): a conversation's appends wait for the turn of the event loop to
   * end and for a connection, then all of its waiting appends (at most 256) are written in call order, so they get
   * consecutive seqs in the order they were called. The file-less ones of a batch are ONE statement (one round trip,
   * its own transaction: sql.appendBatch, sql.appendOne for one), which authorises each sender, answers retries and repeats within the batch
   * with the original, refuses a non-member's append alone, and numbers the new ones from one increment of last_seq.
   * A message with files is written in a transaction of its own, between the file-less runs around it. Different
   * conversations write at the same time on the pool's connections. Nobody is answered before the commit. If the
   * database refuses a batch's statement, nothing of it is written: when another process appended the same
   * clientMsgId meanwhile, the statement is run once more (it then answers that one with the original); otherwise
   * (the conversation removed, a value the database cannot hold) its appends are written again one by one, where
   * the refusal is answered for that append alone.
   */
  async appendMessage(input: NewMessage): Promise<AppendResult> {
    assertWellFormed(input.body, 'The message');
    if (this.closing) throw new KnockError('internal', 'The database is closed.');
    return this.appends.append(input);
  }

  async messagesAfter(conversationId: string, afterSeq: number, limit: number): Promise<MessageRecord[]> {
    const after = seqBound(afterSeq, Math.floor); // seq > 2.5 is seq > 2
    if (after === null) return [];
    return (await this.run<MessageRow<Buffer>>(sql.messagesAfter, [conversationId, after, rowLimit(limit)])).rows.map(toMessage);
  }

  async messagesBefore(conversationId: string, beforeSeq: number, limit: number): Promise<MessageRecord[]> {
    const before = seqBound(beforeSeq, Math.ceil); // seq < 2.5 is seq < 3
    if (before === null) return [];
    return (await this.run<MessageRow<Buffer>>(sql.messagesBefore, [conversationId, before, rowLimit(limit)])).rows.map(toMessage);
  }

  // -- lifecycle --------------------------------------------------------------------------------------------------

  /** Ends the pool once; later and concurrent calls wait for the same end. */
  // -- documents (./documents.ts: same pool, own statements) -----------------------------------------------
  private readonly documents = new PostgresDocuments(this.pool);
  readonly createDocument: Storage['createDocument'] = (input) => this.documents.createDocument(input);
  readonly getDocument: Storage['getDocument'] = (id) => this.documents.getDocument(id);
  readonly appendDocumentUpdate: Storage['appendDocumentUpdate'] = (id, update, at) => this.documents.appendDocumentUpdate(id, update, at);
  readonly loadDocumentState: Storage['loadDocumentState'] = (id) => this.documents.loadDocumentState(id);
  readonly compactDocument: Storage['compactDocument'] = (id, snapshot, upTo, at) => this.documents.compactDocument(id, snapshot, upTo, at);

  // -- files (./files.ts: same pool, own statements) ------------------------------------------------------------
  private readonly files = new PostgresFiles(this.pool);
  readonly createFile: FileStorage['createFile'] = (input) => this.files.createFile(input);
  readonly getFile: FileStorage['getFile'] = (id) => this.files.getFile(id);
  readonly ownerFileBytes: FileStorage['ownerFileBytes'] = (ownerAccountId) => this.files.ownerFileBytes(ownerAccountId);
  readonly purgeUnattachedFiles: FileStorage['purgeUnattachedFiles'] = (before) => this.files.purgeUnattachedFiles(before);

  // -- games (PostgresGames.ts) -----------------------------------------------------------------------------------
  private readonly games = new PostgresGames(this.pool);
  createGame: GameStorage['createGame'] = (input) => this.games.createGame(input);
  getGame: GameStorage['getGame'] = (id) => this.games.getGame(id);
  openGame: GameStorage['openGame'] = (conversationId) => this.games.openGame(conversationId);
  transitionGame: GameStorage['transitionGame'] = (id, change) => this.games.transitionGame(id, change);
  finishedGames: GameStorage['finishedGames'] = (conversationId, limit) => this.games.finishedGames(conversationId, limit);
  appendGameMove: GameStorage['appendGameMove'] = (id, expectedCount, move) => this.games.appendGameMove(id, expectedCount, move);

  async close(): Promise<void> {
    // Appends already accepted are written first; new ones are refused from now on.
    this.closing ??= (async () => {
      await this.appends.drained();
      await this.pool.end();
    })();
    return this.closing;
  }

  // -- internals --------------------------------------------------------------------------------------------------

  /** One statement on the pool (databaseErrors.ts runStatement). */
  private run<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[],
    refine?: (err: unknown) => KnockError | undefined,
  ): Promise<pg.QueryResult<R>> {
    return runStatement<R>(this.pool, named(text, values), refine);
  }
}

/** Refuses a server too old or whose encoding could alter text, with a message an operator can act on. */
async function checkServer(pool: pg.Pool): Promise<void> {
  const result = await pool.query<{ version: string; encoding: string }>(
    "SELECT current_setting('server_version_num') AS version, current_setting('server_encoding') AS encoding",
  );
  const row = result.rows[0];
  const version = Number(row?.version ?? 0);
  if (version < MIN_SERVER_VERSION) {
    throw new Error(`Knock needs PostgreSQL 13 or newer; this server is version ${row?.version ?? 'unknown'}.`);
  }
  if (row?.encoding !== 'UTF8') {
    throw new Error(`Knock needs a UTF8 database; this one is ${row?.encoding ?? 'unknown'}. Create it with ENCODING 'UTF8'.`);
  }
}

/**
 * Migration 005 folds accents in search only if the `unaccent` extension could be had (see its comments); without it
 * search still works, ignoring case but not accents. Said once at open, so an operator can act on it.
 */
async function warnIfAccentsCount(pool: pg.Pool, logger: PostgresStorageOptions['logger']): Promise<void> {
  const folded = await pool.query(
    `SELECT 1 FROM pg_ts_config_map m JOIN pg_ts_dict d ON d.oid = m.mapdict
     WHERE m.mapcfg = 'knock_search'::regconfig AND d.dictname = 'unaccent' LIMIT 1`,
  );
  if (folded.rowCount === 0) {
    logger?.warn(
      {},
      'search ignores case but not accents: the PostgreSQL extension unaccent was not available when the schema was made (adapters/storage/README.md)',
    );
  }
}

function mapFirst<R extends pg.QueryResultRow, T>(result: pg.QueryResult<R>, map: (row: R) => T): T | null {
  const row = result.rows[0];
  return row ? map(row) : null;
}

/**
 * A history bound as a BIGINT the query can take: rounded so the comparison means the same as with the number
 * given, and clamped (Infinity is "past the end"). NaN matches nothing.
 */
function seqBound(seq: number, round: (x: number) => number): number | null {
  if (Number.isNaN(seq)) return null;
  return Math.min(Math.max(round(seq), -Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
}

/** A watermark is a whole seq; anything that is not a number raises nothing (receipts never go down anyway). */
function receiptSeq(seq: number): number {
  return Number.isNaN(seq) ? 0 : Math.min(Math.max(Math.floor(seq), 0), Number.MAX_SAFE_INTEGER);
}

/**
 * Knock's statements are named: node-postgres prepares each once per connection and then only binds and executes
 * it, where an unnamed query is parsed and planned by PostgreSQL every time (named, the append path took about half
 * the database's CPU: bench/storageAppends.ts, 2,000 -> 3,900 appends/s). A pooler in front of PostgreSQL must keep
 * prepared statements (PgBouncer in session mode, or 1.21+ with max_prepared_statements); README "PostgreSQL".
 */
const statementNames = new Map<string, string>(
  Object.entries({
    '': sql,
    inbox_: inboxSqlOf,
    outbox_: outboxSql,
    mail_: mailSql,
    channels_: channelSql,
    companies_: companySql,
    routing_: routingSql,
    // The visitor-block check runs at every visitor's message (issue 22): planned once, not at each.
    blocks_: blockSql,
    sms_: smsSql,
    phones_: phoneSql,
    domains_: domainSql,
    canned_: cannedSql,
    certificates_: certificateSql,
    sessions_: sessionSql,
    // Not searches (queries.ts searchSql): a prepared statement may settle on a plan made without its parameters.
  } satisfies Record<string, Record<string, string>>).flatMap(([prefix, statements]) =>
    Object.entries(statements).map(([key, text]): [string, string] => [text, `knock_${prefix}${key}`]),
  ),
);

/** The query of `text` and `values`, named when `text` is one of Knock's statements (sql). */
function named(text: string, values: unknown[]): pg.QueryConfig {
  const name = statementNames.get(text);
  return name === undefined ? { text, values } : { name, text, values };
}
