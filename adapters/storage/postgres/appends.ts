/**
 * The PostgreSQL adapter's appends (Storage.appendMessage), group-committed per conversation: a conversation's
 * appends wait for the turn of the event loop to end and for a pooled connection, then every one waiting by then (at
 * most APPEND_BATCH) is written on that connection, in call order. The file-less ones go in ONE statement
 * (sql.appendBatch: one round trip, its own transaction, seqs numbered in call order, retries and repeats within
 * the batch answered with the original, a non-member refused alone); a message with files keeps its own transaction
 * (its files are checked before it is written), between the runs of file-less ones around it.
 *
 * @example
 *   const appends = new PostgresAppends(pool, named);
 *   const { message, duplicate } = await appends.append(input);
 *   await appends.drained(); // before ending the pool
 */
import type pg from 'pg';
import { KnockError } from '../../../engine/errors.ts';
import type { AppendResult, NewMessage } from '../../../engine/ports/storage.ts';
import { eventColumns, storedMessage, type EventColumns } from '../common.ts';
import { assertAttachable, attachedFiles, type AttachableRow } from '../fileRows.ts';
import { asRole, eventOf, type MessageRow } from '../rows.ts';
import { SqlState, asStorageError, isViolation, withCause } from './databaseErrors.ts';
import { decodeText, encodeText, sql, toMessage, type BatchRow, type SenderRow } from './queries.ts';

/** Most appends of one conversation in one batch: a burst larger than this is written in several. */
const APPEND_BATCH = 256;

/** The unique key of (sender, clientMsgId) (001_init.sql): what a concurrent duplicate violates. */
const CLIENT_MSG_ID_KEY = 'messages_sender_client_msg_id_key';

/** How many times an append with files is tried when AttachmentRace keeps happening (it cannot, for long). */
const ATTACH_ATTEMPTS = 3;

/** A statement's query, named when it is one of Knock's (PostgresStorage `named`: prepared once per connection). */
export type NameStatement = (text: string, values: unknown[]) => pg.QueryConfig;

/** An append, its event already in the columns it is stored in (encoded once, before it waits for a batch). */
interface Append {
  input: NewMessage;
  event: EventColumns;
}

interface PendingAppend extends Append {
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/** A connection of the pool, or the pool itself (a statement on it is its own transaction). */
type Database = pg.Pool | pg.PoolClient;

/**
 * A message's files were found attachable, then one was attached by another process before the message's statement
 * attached it: the transaction is rolled back and the append tried again, which then refuses it.
 */
class AttachmentRace extends Error {}

export class PostgresAppends {
  /** Per conversation: the appends waiting for its next batch (call order), while its batches are being written. */
  private readonly queues = new Map<string, PendingAppend[]>();
  /** The conversations' write loops running now (drained waits for them). */
  private readonly draining = new Set<Promise<void>>();

  constructor(private readonly pool: pg.Pool, private readonly named: NameStatement) {}

  /** Queues the append behind the conversation's earlier ones; resolves once its batch is committed. */
  append(input: NewMessage): Promise<AppendResult> {
    const event = eventColumns(input.event);
    return new Promise<AppendResult>((resolve, reject) => {
      const id = input.conversationId;
      const queue = this.queues.get(id);
      if (queue) {
        queue.push({ input, event, resolve, reject });
        return;
      }
      const started: PendingAppend[] = [{ input, event, resolve, reject }];
      this.queues.set(id, started);
      const loop = new Promise<void>((done) => setImmediate(done)).then(() => this.drain(id, started));
      this.draining.add(loop);
      void loop.finally(() => this.draining.delete(loop));
    });
  }

  /** Resolves when every append accepted so far is answered. */
  async drained(): Promise<void> {
    while (this.draining.size > 0) await Promise.all(this.draining);
  }

  /**
   * Writes one conversation's appends, batch after batch, until none waits; then the conversation has no queue.
   * A batch is taken from the queue only once a connection is ours, so appends made while every connection was busy
   * join it (under load, batches grow instead of waiting in line). Everything a batch needs, its fallbacks included,
   * runs on that one connection: a loop never waits for a second one while holding the first.
   */
  private async drain(id: string, queue: PendingAppend[]): Promise<void> {
    try {
      while (queue.length > 0) {
        let client: pg.PoolClient;
        try {
          client = await this.pool.connect();
        } catch (err) {
          for (const p of queue.splice(0, APPEND_BATCH)) p.reject(asStorageError(err));
          continue;
        }
        try {
          await this.writeBatch(client, queue.splice(0, APPEND_BATCH));
        } finally {
          client.release();
        }
      }
    } finally {
      this.queues.delete(id);
    }
  }

  /** The batch in call order: each run of file-less appends as one statement, each append with files on its own. */
  private async writeBatch(db: pg.PoolClient, batch: PendingAppend[]): Promise<void> {
    for (let start = 0; start < batch.length;) {
      const first = batch[start]!;
      if (attachedFiles(first.input).length > 0) {
        await settle(first, () => this.appendWithFiles(db, first));
        start += 1;
        continue;
      }
      let end = start + 1;
      while (end < batch.length && attachedFiles(batch[end]!.input).length === 0) end += 1;
      await this.appendRun(db, batch.slice(start, end));
      start = end;
    }
  }

  /**
   * File-less appends as one statement. If the database refuses it, nothing of it was written. A clientMsgId another
   * process stored since the statement's snapshot (the unique key waited for that process to commit) is seen by a
   * new statement, which answers it with the original: the batch is written again once. Any other refusal (the
   * conversation removed meanwhile, a value the database cannot hold), or a second one, and each append is written
   * alone, where the refusal is answered for that append only.
   */
  private async appendRun(db: pg.PoolClient, run: PendingAppend[], again = false): Promise<void> {
    let outcomes: Array<AppendResult | KnockError>;
    try {
      outcomes = await this.appendStatement(db, run);
    } catch (err) {
      if (run.length > 1 && !again && isViolation(err, SqlState.uniqueViolation, CLIENT_MSG_ID_KEY)) {
        await this.appendRun(db, run, true);
      } else if (run.length > 1) {
        for (const p of run) await this.appendRun(db, [p]);
      } else {
        await settle(run[0]!, () => this.afterRefusal(db, run[0]!.input, err));
      }
      return;
    }
    outcomes.forEach((outcome, i) => (outcome instanceof KnockError ? run[i]!.reject(outcome) : run[i]!.resolve(outcome)));
  }

  /** sql.appendBatch (sql.appendOne for one) for `run`, read back as each append's answer; database errors are thrown as they come. */
  private async appendStatement(db: Database, run: readonly Append[]): Promise<Array<AppendResult | KnockError>> {
    const { input, event } = run[0]!;
    const statement = run.length === 1
      ? this.named(sql.appendOne, [input.conversationId, input.at, input.senderId, input.clientMsgId, encodeText(input.body), event.kind, event.payload])
      : this.named(sql.appendBatch, [
        input.conversationId,
        run.map((a) => a.input.senderId),
        run.map((a) => a.input.clientMsgId),
        run.map((a) => encodeText(a.input.body)),
        run.map((a) => a.input.at),
        run.map((a) => a.event.kind),
        run.map((a) => a.event.payload),
      ]);
    const rows = (await db.query<BatchRow>(statement)).rows;
    if (rows.length !== run.length) throw new Error(`The append statement answered ${rows.length} rows for ${run.length} appends.`);
    return rows.map((row, i): AppendResult | KnockError => {
      if (!row.member) return row.conversation_exists ? notMember() : noConversation();
      const author = { role: asRole(row.role ?? ''), name: decodeText(row.name ?? Buffer.alloc(0)) };
      if (row.stored_seq !== null && row.stored_body !== null && row.stored_at !== null && row.stored_kind !== null) {
        const original = {
          ...run[i]!.input, body: decodeText(row.stored_body), at: row.stored_at, event: eventOf(row.stored_kind, row.stored_payload),
        };
        return { message: storedMessage(original, row.stored_seq, author), duplicate: true };
      }
      // Only if the conversation was removed after the statement's snapshot: the increment found no row.
      if (row.seq === null) return noConversation();
      // The first of the batch with this sender and clientMsgId is the one stored; a repeat is answered with it.
      const first = run[row.first_ord - 1]!.input;
      return { message: storedMessage(first, row.seq, author), duplicate: row.first_ord !== i + 1 };
    });
  }

  /** A lone append the database refused: a concurrent duplicate is answered with the original it stored first. */
  private async afterRefusal(db: Database, input: NewMessage, err: unknown): Promise<AppendResult> {
    if (err instanceof KnockError) throw err;
    if (isViolation(err, SqlState.uniqueViolation, CLIENT_MSG_ID_KEY)) return this.original(db, input, err);
    // The conversation (and so the sender) was removed between the statement's snapshot and its insert.
    if (isViolation(err, SqlState.foreignKeyViolation)) throw withCause(noConversation(), err);
    throw asStorageError(err);
  }

  /** The message a concurrent append of the same (sender, clientMsgId) committed first. */
  private async original(db: Database, input: NewMessage, conflict: unknown): Promise<AppendResult> {
    let row: MessageRow<Buffer> | undefined;
    try {
      row = (await db.query<MessageRow<Buffer>>(this.named(sql.messageByClientId, [input.senderId, input.clientMsgId]))).rows[0];
    } catch (err) {
      throw asStorageError(err);
    }
    // Only if the conversation was removed in between; there is nothing left to return.
    if (!row) throw withCause(noConversation(), conflict);
    return { message: toMessage(row), duplicate: true };
  }

  /** An append with files in its own transaction on `db`, tried again if another process attached a file meanwhile. */
  private async appendWithFiles(db: pg.PoolClient, append: Append, attempt = 1): Promise<AppendResult> {
    try {
      await db.query('BEGIN');
      const result = await this.fileAppendOn(db, append);
      await db.query('COMMIT');
      return result;
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      if (err instanceof AttachmentRace && attempt < ATTACH_ATTEMPTS) return this.appendWithFiles(db, append, attempt + 1);
      return this.afterRefusal(db, append.input, err);
    }
  }

  /**
   * The statements of an append with files, in the caller's transaction: the sender and a retry (a retry is answered
   * without looking at the files), the files' check, then the increment, the insert and the attachment as one.
   */
  private async fileAppendOn(db: pg.PoolClient, { input, event }: Append): Promise<AppendResult> {
    const sender = (await db.query<SenderRow>(this.named(sql.senderAndDuplicate, [input.senderId, input.clientMsgId]))).rows[0];
    if (!sender || sender.conversation_id !== input.conversationId) {
      const exists = await db.query(this.named(sql.conversationExists, [input.conversationId]));
      throw exists.rowCount === 0 ? noConversation() : notMember();
    }
    const author = { role: asRole(sender.role), name: decodeText(sender.name) };
    if (sender.seq !== null && sender.body !== null && sender.at !== null && sender.kind !== null) {
      const first = { ...input, body: decodeText(sender.body), at: sender.at, event: eventOf(sender.kind, sender.payload) };
      return { message: storedMessage(first, sender.seq, author), duplicate: true };
    }
    const files = attachedFiles(input);
    const ids = files.map((f) => f.id);
    assertAttachable(input, files, (await db.query<AttachableRow>(this.named(sql.attachableFiles, [ids]))).rows);
    const values = [input.conversationId, input.at, input.senderId, input.clientMsgId, encodeText(input.body), event.kind, event.payload, ids];
    const written = (await db.query<{ seq: number; attached: number }>(this.named(sql.appendFileMessage, values))).rows[0];
    if (written === undefined) throw noConversation();
    if (written.attached !== files.length) throw new AttachmentRace(`Only ${written.attached} of ${files.length} files could be attached.`);
    return { message: storedMessage(input, written.seq, author), duplicate: false };
  }
}

/** Answers `p` with the outcome of `write`. */
async function settle(p: PendingAppend, write: () => Promise<AppendResult>): Promise<void> {
  try {
    p.resolve(await write());
  } catch (err) {
    p.reject(err);
  }
}

function noConversation(): KnockError {
  return new KnockError('not_found', 'There is no such conversation.');
}

function notMember(): KnockError {
  return new KnockError('forbidden', 'The sender is not a member of this conversation.');
}
