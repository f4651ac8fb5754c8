/**
 * Forwarding to the owner's other channels (engine/ports/storage.ts ChannelStorage, issue 18) in PostgreSQL, on the
 * adapter's pool (007_channels.sql): channels in their order and their verification codes, forwarding settings,
 * forwards and their steps, server values. Most calls are one statement, so each is its own transaction. Changes to
 * an account's order of channels take a lock of the account's row first, so two processes renumber one at a time;
 * opening a forward relies on the partial unique indexes and tries again when another process won the race.
 *
 * @example
 *   Object.assign(this, channelMethods(new PostgresChannels(run, pool)));
 */
import type pg from 'pg';
import { KnockError } from '../../../engine/errors.ts';
import type { ChannelKind, ForwardingSettings, OwnerChannel } from '../../../engine/ports/channel.ts';
import type { ChannelStorage, CodeCheck, NewChannel, StoredForward, StoredForwardStep } from '../../../engine/ports/storage.ts';
import {
  channelColumns, channelConflict, channelOrder, checkDelay, checkSecret, checkSettings, checkSteps, codeColumns,
  defaultForwardingSettings, forwardColumns, freeTagOf, isSameChannelSet, judgeCode, latestFirst, newChannel, noAccount,
  settingsColumns, stepColumns, toChannel, toSettings, withSteps, lastStepQuery, toStep,
  type ChannelRow, type CodeRow, type ForwardRow, type NewForward, type SettingsRow, type StepRow, type LastStepRow,
} from '../channelRows.ts';
import { assertWellFormed, newId } from '../common.ts';
import { poolTransaction } from './poolTransaction.ts';
import { SqlState, asStorageError, isViolation } from './databaseErrors.ts';
import type { RunStatement } from './inbox.ts';

export const channelSql = {
  // Run after lockAccount, in its transaction: the account's last position cannot change under it.
  insertChannel: `INSERT INTO channels (id, account_id, kind, address, secret, position, delay_ms, verified_at, created_at)
    SELECT $1, $2, $3, $4, $5, COALESCE(MAX(position) + 1, 0), $6, $7, $8 FROM channels WHERE account_id = $2
    RETURNING ${channelColumns}`,
  // Serializes the changes of one account's order (FOR NO KEY UPDATE: inserts referencing the account still go on).
  lockAccount: 'SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE',
  channelsOf: `SELECT ${channelColumns} FROM channels WHERE account_id = $1 ORDER BY ${channelOrder}`,
  channelById: `SELECT ${channelColumns} FROM channels WHERE id = $1`,
  channelsAt: `SELECT ${channelColumns} FROM channels WHERE kind = $1 AND address = $2 AND verified_at IS NOT NULL ORDER BY created_at, id`,
  channelsOfKind: `SELECT ${channelColumns} FROM channels WHERE kind = $1 AND verified_at IS NOT NULL ORDER BY created_at, id`,
  removeChannel: 'DELETE FROM channels WHERE account_id = $1 AND id = $2 RETURNING position',
  // Closes the gap a removal left, so the positions stay 0..n-1.
  closeGap: 'UPDATE channels SET position = position - 1 WHERE account_id = $1 AND position > $2',
  // $2: every channel id of the account, first first.
  reorder: 'UPDATE channels SET position = array_position($2::text[], id) - 1 WHERE account_id = $1',
  setDelay: 'UPDATE channels SET delay_ms = $3 WHERE account_id = $1 AND id = $2',
  setSecret: 'UPDATE channels SET secret = $2 WHERE id = $1',
  setCode: 'UPDATE channels SET code_hash = $2, code_expires_at = $3, code_tries = 0 WHERE id = $1',
  // A try counts before it is judged, so a guess costs a try whatever it finds; the row lock makes concurrent tries
  // count one after the other, each judged with its own number.
  countTry: `UPDATE channels SET code_tries = code_tries + 1 WHERE account_id = $1 AND id = $2 AND code_hash IS NOT NULL
    RETURNING ${codeColumns}`,
  // The code is spent as it verifies; only the code that was judged verifies (not one sent since).
  verify: 'UPDATE channels SET verified_at = $3, code_hash = NULL, code_expires_at = NULL, code_tries = 0 WHERE id = $1 AND code_hash = $2',
  settingsOf: `SELECT ${settingsColumns} FROM forwarding_settings WHERE account_id = $1`,
  setSettings: `INSERT INTO forwarding_settings (account_id, ${settingsColumns}) VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (account_id) DO UPDATE SET paused = EXCLUDED.paused, time_zone = EXCLUDED.time_zone, quiet_start = EXCLUDED.quiet_start,
      quiet_end = EXCLUDED.quiet_end, xmpp_away_counts = EXCLUDED.xmpp_away_counts`,
  // Only for a conversation of that account: no row otherwise. The tag is free in this statement's snapshot; a
  // process that took it meanwhile makes the insert fail on forwards_open_tag (openForward tries again).
  insertForward: `INSERT INTO forwards (${forwardColumns})
    SELECT $1, c.id, c.owner_account_id, ${freeTagOf('$3')}, $4, $5, NULL, $6
    FROM conversations c WHERE c.id = $2 AND c.owner_account_id = $3
    RETURNING id`,
  // A step only for a channel that is (still) the account's: one removed since the plan was made is left out.
  insertSteps: `INSERT INTO forward_steps (forward_id, channel_id, ordinal, kind, at)
    SELECT $1, c.id, s.ordinal, c.kind, s.at
    FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS s(channel_id, at, ordinal)
    JOIN channels c ON c.id = s.channel_id AND c.account_id = $4`,
  forwardById: `SELECT ${forwardColumns} FROM forwards WHERE id = $1`,
  openForwardOf: `SELECT ${forwardColumns} FROM forwards WHERE conversation_id = $1 AND closed_at IS NULL`,
  openForwardsOf: `SELECT ${forwardColumns} FROM forwards WHERE account_id = $1 AND closed_at IS NULL ORDER BY created_at, id`,
  lastStep: lastStepQuery(false, '$1'),
  lastSentStep: lastStepQuery(true, '$1'),
  lastForward: `SELECT ${forwardColumns} FROM forwards WHERE conversation_id = $1 ORDER BY ${latestFirst} LIMIT 1`,
  stepsOf: `SELECT ${stepColumns} FROM forward_steps WHERE forward_id = ANY($1::text[]) ORDER BY forward_id, ordinal`,
  // The forward's row is locked (FOR SHARE) while the step is marked: a close waits for it, or it for the close,
  // and then finds the forward closed.
  markSent: `WITH open AS (SELECT id FROM forwards WHERE id = $1 AND closed_at IS NULL FOR SHARE)
    UPDATE forward_steps s SET sent_at = $3, up_to_seq = $4, external_id = $5
    FROM open WHERE s.forward_id = open.id AND s.channel_id = $2 AND s.sent_at IS NULL`,
  markDelivery: 'UPDATE forward_steps SET delivery = $3 WHERE kind = $1 AND external_id = $2 RETURNING forward_id',
  closeForward: `UPDATE forwards SET closed_at = $2 WHERE conversation_id = $1 AND closed_at IS NULL RETURNING ${forwardColumns}`,
  closeForwardsOf: `UPDATE forwards SET closed_at = $2 WHERE account_id = $1 AND closed_at IS NULL RETURNING ${forwardColumns}`,
  // ON CONFLICT DO NOTHING waits for a racing insert of the name to commit, then inserts nothing.
  insertServerValue: 'INSERT INTO server_values (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value',
  serverValue: 'SELECT value FROM server_values WHERE name = $1',
} as const;

/**
 * How many times openForward tries when another process won a race (the conversation's forward, or the tag). Each
 * lost try means another forward of the account was committed meanwhile, so this bounds a bug, not a busy account.
 */
const OPEN_ATTEMPTS = 100;

export class PostgresChannels implements ChannelStorage {
  constructor(
    private readonly run: RunStatement,
    /** For the few calls that need a transaction of several statements. */
    private readonly pool: pg.Pool,
  ) {}

  // -- channels ---------------------------------------------------------------------------------------------------

  async addChannel(input: NewChannel): Promise<OwnerChannel> {
    const { channel, verifiedAt } = newChannel(input);
    try {
      return await this.transaction(async (client) => {
        if ((await client.query(channelSql.lockAccount, [channel.accountId])).rowCount === 0) throw noAccount();
        const inserted = await client.query<ChannelRow>(channelSql.insertChannel, [
          channel.id, channel.accountId, channel.kind, channel.address, channel.secret, channel.delayMs, verifiedAt, input.at,
        ]);
        const row = inserted.rows[0];
        if (!row) throw new KnockError('internal', 'The channel insert returned no row.');
        return toChannel(row);
      });
    } catch (err) {
      if (isViolation(err, SqlState.uniqueViolation, 'channels_account_kind_address_key')) throw channelConflict();
      // The account was removed after the lock's read and before the insert: it cannot be, but the answer is clear.
      if (isViolation(err, SqlState.foreignKeyViolation)) throw noAccount();
      throw asStorageError(err);
    }
  }

  async listChannels(accountId: string): Promise<OwnerChannel[]> {
    return (await this.run<ChannelRow>(channelSql.channelsOf, [accountId])).rows.map(toChannel);
  }

  async getChannel(id: string): Promise<OwnerChannel | null> {
    const row = (await this.run<ChannelRow>(channelSql.channelById, [id])).rows[0];
    return row ? toChannel(row) : null;
  }

  async channelsAt(kind: ChannelKind, address: string): Promise<OwnerChannel[]> {
    return (await this.run<ChannelRow>(channelSql.channelsAt, [kind, address])).rows.map(toChannel);
  }

  async channelsOfKind(kind: ChannelKind): Promise<OwnerChannel[]> {
    return (await this.run<ChannelRow>(channelSql.channelsOfKind, [kind])).rows.map(toChannel);
  }

  async removeChannel(accountId: string, id: string): Promise<boolean> {
    return this.transactionOrError(async (client) => {
      await client.query(channelSql.lockAccount, [accountId]);
      const removed = (await client.query<{ position: number }>(channelSql.removeChannel, [accountId, id])).rows[0];
      if (!removed) return false;
      await client.query(channelSql.closeGap, [accountId, removed.position]);
      return true;
    });
  }

  async reorderChannels(accountId: string, ids: readonly string[]): Promise<boolean> {
    return this.transactionOrError(async (client) => {
      // No account: it has no channels, and `ids` are all of them only when empty (as in SQLite).
      await client.query(channelSql.lockAccount, [accountId]);
      const stored = (await client.query<ChannelRow>(channelSql.channelsOf, [accountId])).rows.map((r) => r.id);
      if (!isSameChannelSet(stored, ids)) return false;
      await client.query(channelSql.reorder, [accountId, ids]);
      return true;
    });
  }

  async setChannelDelay(accountId: string, id: string, delayMs: number): Promise<boolean> {
    checkDelay(delayMs);
    return ((await this.run(channelSql.setDelay, [accountId, id, delayMs])).rowCount ?? 0) > 0;
  }

  async setChannelSecret(id: string, secret: string | null): Promise<boolean> {
    checkSecret(secret);
    return ((await this.run(channelSql.setSecret, [id, secret])).rowCount ?? 0) > 0;
  }

  async setChannelCode(id: string, code: { codeHash: string; expiresAt: number } | null): Promise<void> {
    const set = await this.run(channelSql.setCode, [id, code?.codeHash ?? null, code?.expiresAt ?? null]);
    if ((set.rowCount ?? 0) === 0) throw new KnockError('not_found', 'There is no such channel.');
  }

  /** Two statements: the try is counted (and committed) whatever comes of it; a match then verifies. */
  async checkChannelCode(accountId: string, id: string, codeHash: string, at: number, maxTries: number): Promise<CodeCheck> {
    const code = (await this.run<CodeRow>(channelSql.countTry, [accountId, id])).rows[0];
    if (!code) return 'noCode';
    const verdict = judgeCode(code, codeHash, at, maxTries);
    if (verdict !== 'verified') return verdict;
    return ((await this.run(channelSql.verify, [id, code.code_hash, at])).rowCount ?? 0) > 0 ? 'verified' : 'noCode';
  }

  // -- settings ---------------------------------------------------------------------------------------------------

  async getForwardingSettings(accountId: string): Promise<ForwardingSettings> {
    const row = (await this.run<SettingsRow<boolean>>(channelSql.settingsOf, [accountId])).rows[0];
    return row ? toSettings(row) : { ...defaultForwardingSettings };
  }

  async setForwardingSettings(accountId: string, settings: ForwardingSettings): Promise<void> {
    checkSettings(settings);
    const quiet = settings.quietHours;
    await this.run(
      channelSql.setSettings,
      [accountId, settings.paused, settings.timeZone, quiet?.start ?? null, quiet?.end ?? null, settings.xmppAwayCounts],
      (err) => (isViolation(err, SqlState.foreignKeyViolation) ? noAccount() : undefined),
    );
  }

  // -- forwards ---------------------------------------------------------------------------------------------------

  /**
   * One transaction: the open forward if there is one, else the forward and its steps. Two processes opening one
   * conversation's forward, or forwards of one account that pick the same tag, both insert; the second waits for the
   * first's commit on the unique index and fails, and tries again from the start: it then finds that forward open, or
   * picks the next tag. A channel or the conversation removed meanwhile (a foreign key) is looked at again the same way.
   */
  async openForward(input: NewForward): Promise<{ forward: StoredForward; duplicate: boolean }> {
    checkSteps(input);
    for (let attempt = 1; ; attempt++) {
      try {
        const { id, duplicate } = await this.transaction((client) => this.openOnce(client, input));
        const forward = await this.getForward(id);
        if (!forward) throw new KnockError('not_found', 'The conversation was deleted as its forward was opened.');
        return { forward, duplicate };
      } catch (err) {
        const raced = isViolation(err, SqlState.uniqueViolation) || isViolation(err, SqlState.foreignKeyViolation);
        if (raced && attempt < OPEN_ATTEMPTS) continue;
        throw asStorageError(err);
      }
    }
  }

  private async openOnce(client: pg.PoolClient, input: NewForward): Promise<{ id: string; duplicate: boolean }> {
    const existing = (await client.query<ForwardRow>(channelSql.openForwardOf, [input.conversationId])).rows[0];
    if (existing) return { id: existing.id, duplicate: true };
    const id = newId();
    const inserted = await client.query(channelSql.insertForward, [
      id, input.conversationId, input.accountId, input.knockAt, input.afterSeq, input.at,
    ]);
    if (inserted.rowCount === 0) throw new KnockError('not_found', 'The account has no such conversation.');
    await client.query(channelSql.insertSteps, [id, input.steps.map((s) => s.channelId), input.steps.map((s) => s.at), input.accountId]);
    return { id, duplicate: false };
  }

  async getForward(id: string): Promise<StoredForward | null> {
    return (await this.withSteps(await this.run<ForwardRow>(channelSql.forwardById, [id])))[0] ?? null;
  }

  async getOpenForward(conversationId: string): Promise<StoredForward | null> {
    return (await this.withSteps(await this.run<ForwardRow>(channelSql.openForwardOf, [conversationId])))[0] ?? null;
  }

  async openForwards(accountId: string): Promise<StoredForward[]> {
    return this.withSteps(await this.run<ForwardRow>(channelSql.openForwardsOf, [accountId]));
  }

  async lastForward(conversationId: string): Promise<StoredForward | null> {
    return (await this.withSteps(await this.run<ForwardRow>(channelSql.lastForward, [conversationId])))[0] ?? null;
  }

  async markStepSent(forwardId: string, channelId: string, sent: { at: number; upToSeq: number; externalId: string | null }): Promise<boolean> {
    if (sent.externalId !== null) assertWellFormed(sent.externalId, 'The external id');
    const marked = await this.run(channelSql.markSent, [forwardId, channelId, sent.at, sent.upToSeq, sent.externalId]);
    return (marked.rowCount ?? 0) > 0;
  }

  async lastStepOn(channelId: string, sentOnly: boolean): Promise<{ forwardId: string; conversationId: string; step: StoredForwardStep } | null> {
    const row = (await this.run<LastStepRow>(sentOnly ? channelSql.lastSentStep : channelSql.lastStep, [channelId])).rows[0];
    return row ? { forwardId: row.forward_id, conversationId: row.conversation_id, step: toStep(row) } : null;
  }

  async markStepDelivery(kind: ChannelKind, externalId: string, delivery: 'delivered' | 'failed'): Promise<StoredForward | null> {
    const marked = (await this.run<{ forward_id: string }>(channelSql.markDelivery, [kind, externalId, delivery])).rows[0];
    return marked ? this.getForward(marked.forward_id) : null;
  }

  async closeForward(conversationId: string, at: number): Promise<StoredForward | null> {
    return (await this.withSteps(await this.run<ForwardRow>(channelSql.closeForward, [conversationId, at])))[0] ?? null;
  }

  async closeForwardsOf(accountId: string, at: number): Promise<StoredForward[]> {
    const closed = await this.run<ForwardRow>(channelSql.closeForwardsOf, [accountId, at]);
    closed.rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
    return this.withSteps(closed);
  }

  // -- server values ----------------------------------------------------------------------------------------------

  /** Two statements: when the name is taken, the stored value is read in a snapshot that sees it. */
  async serverValue(name: string, value: string): Promise<string> {
    assertWellFormed(value, 'The server value');
    const inserted = (await this.run<{ value: string }>(channelSql.insertServerValue, [name, value])).rows[0];
    if (inserted) return inserted.value;
    const stored = (await this.run<{ value: string }>(channelSql.serverValue, [name])).rows[0];
    if (!stored) throw new KnockError('internal', `The server value ${name} is neither new nor stored.`);
    return stored.value;
  }

  // -- internals --------------------------------------------------------------------------------------------------

  /** The forwards of `result`, in its order, with their steps (one more statement for all of them). */
  private async withSteps(result: pg.QueryResult<ForwardRow>): Promise<StoredForward[]> {
    if (result.rows.length === 0) return [];
    const steps = await this.run<StepRow>(channelSql.stepsOf, [result.rows.map((r) => r.id)]);
    return withSteps(result.rows, steps.rows);
  }

  /** `work` in a transaction on one pooled connection; its errors come out as thrown (the caller maps them). */
  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return poolTransaction(this.pool, work);
  }

  private async transactionOrError<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    try {
      return await this.transaction(work);
    } catch (err) {
      throw asStorageError(err);
    }
  }
}
