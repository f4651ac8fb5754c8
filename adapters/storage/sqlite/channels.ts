/**
 * Forwarding to the owner's other channels (engine/ports/storage.ts ChannelStorage, issue 18) in SQLite, on
 * SqliteStorage's connection (007_channels.sql): channels in their order and their verification codes, forwarding
 * settings, forwards and their steps, server values. A change that reads before it writes runs in a BEGIN IMMEDIATE
 * transaction, which holds the database's one write lock (across processes too), so nothing interleaves with it.
 *
 * @example
 *   Object.assign(this, channelMethods(new SqliteChannels(db)));
 */
import type Database from 'better-sqlite3';
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
import { isConstraint } from './constraints.ts';

/** Forwarding's statements (exported so tests can EXPLAIN the text the adapter runs). */
export const channelSql = {
  insertChannel: `INSERT INTO channels (id, account_id, kind, address, secret, position, delay_ms, verified_at, created_at)
    SELECT @id, @accountId, @kind, @address, @secret, IFNULL(MAX(position) + 1, 0), @delayMs, @verifiedAt, @at
    FROM channels WHERE account_id = @accountId
    RETURNING ${channelColumns}`,
  channelsOf: `SELECT ${channelColumns} FROM channels WHERE account_id = ? ORDER BY ${channelOrder}`,
  channelById: `SELECT ${channelColumns} FROM channels WHERE id = ?`,
  channelsAt: `SELECT ${channelColumns} FROM channels WHERE kind = ? AND address = ? AND verified_at IS NOT NULL ORDER BY created_at, id`,
  channelsOfKind: `SELECT ${channelColumns} FROM channels WHERE kind = ? AND verified_at IS NOT NULL ORDER BY created_at, id`,
  removeChannel: 'DELETE FROM channels WHERE account_id = ? AND id = ? RETURNING position',
  // Closes the gap a removal left, so the positions stay 0..n-1.
  closeGap: 'UPDATE channels SET position = position - 1 WHERE account_id = ? AND position > ?',
  setPosition: 'UPDATE channels SET position = ? WHERE account_id = ? AND id = ?',
  setDelay: 'UPDATE channels SET delay_ms = ? WHERE account_id = ? AND id = ?',
  setSecret: 'UPDATE channels SET secret = ? WHERE id = ?',
  setCode: 'UPDATE channels SET code_hash = ?, code_expires_at = ?, code_tries = 0 WHERE id = ?',
  // A try counts before it is judged, so a guess costs a try whatever it finds.
  countTry: `UPDATE channels SET code_tries = code_tries + 1 WHERE account_id = ? AND id = ? AND code_hash IS NOT NULL
    RETURNING ${codeColumns}`,
  // The code is spent as it verifies; only the code that was judged verifies (not one sent since).
  verify: `UPDATE channels SET verified_at = ?, code_hash = NULL, code_expires_at = NULL, code_tries = 0
    WHERE id = ? AND code_hash = ?`,
  settingsOf: `SELECT ${settingsColumns} FROM forwarding_settings WHERE account_id = ?`,
  setSettings: `INSERT INTO forwarding_settings (account_id, ${settingsColumns}) VALUES (@accountId, @paused, @timeZone, @quietStart, @quietEnd, @awayCounts)
    ON CONFLICT (account_id) DO UPDATE SET paused = excluded.paused, time_zone = excluded.time_zone, quiet_start = excluded.quiet_start,
      quiet_end = excluded.quiet_end, xmpp_away_counts = excluded.xmpp_away_counts`,
  // Only for a conversation of that account: no row otherwise.
  insertForward: `INSERT INTO forwards (${forwardColumns})
    SELECT @id, c.id, c.owner_account_id, ${freeTagOf('@accountId')}, @knockAt, @afterSeq, NULL, @at
    FROM conversations c WHERE c.id = @conversationId AND c.owner_account_id = @accountId`,
  // A step only for a channel that is (still) the account's: one removed since the plan was made is left out.
  insertStep: `INSERT INTO forward_steps (forward_id, channel_id, ordinal, kind, at)
    SELECT @forwardId, id, @ordinal, kind, @at FROM channels WHERE id = @channelId AND account_id = @accountId`,
  forwardById: `SELECT ${forwardColumns} FROM forwards WHERE id = ?`,
  openForwardOf: `SELECT ${forwardColumns} FROM forwards WHERE conversation_id = ? AND closed_at IS NULL`,
  openForwardsOf: `SELECT ${forwardColumns} FROM forwards WHERE account_id = ? AND closed_at IS NULL ORDER BY created_at, id`,
  lastStep: lastStepQuery(false, '?'),
  lastSentStep: lastStepQuery(true, '?'),
  lastForward: `SELECT ${forwardColumns} FROM forwards WHERE conversation_id = ? ORDER BY ${latestFirst} LIMIT 1`,
  // The forwards' ids come as one JSON array; each is a lookup of the primary key.
  stepsOf: `SELECT ${stepColumns} FROM forward_steps WHERE forward_id IN (SELECT value FROM json_each(?)) ORDER BY forward_id, ordinal`,
  markSent: `UPDATE forward_steps SET sent_at = @at, up_to_seq = @upToSeq, external_id = @externalId
    WHERE forward_id = @forwardId AND channel_id = @channelId AND sent_at IS NULL
      AND EXISTS (SELECT 1 FROM forwards WHERE id = @forwardId AND closed_at IS NULL)`,
  markDelivery: 'UPDATE forward_steps SET delivery = ? WHERE kind = ? AND external_id = ? RETURNING forward_id',
  closeForward: `UPDATE forwards SET closed_at = ? WHERE conversation_id = ? AND closed_at IS NULL RETURNING ${forwardColumns}`,
  closeForwardsOf: `UPDATE forwards SET closed_at = ? WHERE account_id = ? AND closed_at IS NULL RETURNING ${forwardColumns}`,
  insertServerValue: 'INSERT INTO server_values (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING',
  serverValue: 'SELECT value FROM server_values WHERE name = ?',
} as const;

interface NewChannelRow {
  id: string;
  accountId: string;
  kind: ChannelKind;
  address: string;
  secret: string | null;
  delayMs: number;
  verifiedAt: number | null;
  at: number;
}

interface ForwardInsert {
  id: string;
  conversationId: string;
  accountId: string;
  knockAt: number;
  afterSeq: number;
  at: number;
}

interface StepInsert {
  forwardId: string;
  channelId: string;
  accountId: string;
  ordinal: number;
  at: number;
}

interface SettingsInsert {
  accountId: string;
  paused: number;
  timeZone: string;
  quietStart: number | null;
  quietEnd: number | null;
  awayCounts: number;
}

function prepareStatements(db: Database.Database) {
  return {
    insertChannel: db.prepare<NewChannelRow, ChannelRow>(channelSql.insertChannel),
    channelsOf: db.prepare<[string], ChannelRow>(channelSql.channelsOf),
    channelById: db.prepare<[string], ChannelRow>(channelSql.channelById),
    channelsAt: db.prepare<[string, string], ChannelRow>(channelSql.channelsAt),
    channelsOfKind: db.prepare<[string], ChannelRow>(channelSql.channelsOfKind),
    removeChannel: db.prepare<[string, string], { position: number }>(channelSql.removeChannel),
    closeGap: db.prepare<[string, number]>(channelSql.closeGap),
    setPosition: db.prepare<[number, string, string]>(channelSql.setPosition),
    setDelay: db.prepare<[number, string, string]>(channelSql.setDelay),
    setSecret: db.prepare<[string | null, string]>(channelSql.setSecret),
    setCode: db.prepare<[string | null, number | null, string]>(channelSql.setCode),
    countTry: db.prepare<[string, string], CodeRow>(channelSql.countTry),
    verify: db.prepare<[number, string, string]>(channelSql.verify),
    settingsOf: db.prepare<[string], SettingsRow<number>>(channelSql.settingsOf),
    setSettings: db.prepare<SettingsInsert>(channelSql.setSettings),
    insertForward: db.prepare<ForwardInsert>(channelSql.insertForward),
    insertStep: db.prepare<StepInsert>(channelSql.insertStep),
    forwardById: db.prepare<[string], ForwardRow>(channelSql.forwardById),
    openForwardOf: db.prepare<[string], ForwardRow>(channelSql.openForwardOf),
    openForwardsOf: db.prepare<[string], ForwardRow>(channelSql.openForwardsOf),
    lastForward: db.prepare<[string], ForwardRow>(channelSql.lastForward),
    lastStep: db.prepare<[string], LastStepRow>(channelSql.lastStep),
    lastSentStep: db.prepare<[string], LastStepRow>(channelSql.lastSentStep),
    stepsOf: db.prepare<[string], StepRow>(channelSql.stepsOf),
    markSent: db.prepare<{ forwardId: string; channelId: string; at: number; upToSeq: number; externalId: string | null }>(channelSql.markSent),
    markDelivery: db.prepare<[string, string, string], { forward_id: string }>(channelSql.markDelivery),
    closeForward: db.prepare<[number, string], ForwardRow>(channelSql.closeForward),
    closeForwardsOf: db.prepare<[number, string], ForwardRow>(channelSql.closeForwardsOf),
    insertServerValue: db.prepare<[string, string]>(channelSql.insertServerValue),
    serverValue: db.prepare<[string], { value: string }>(channelSql.serverValue),
  };
}

export class SqliteChannels implements ChannelStorage {
  private readonly q: ReturnType<typeof prepareStatements>;

  constructor(private readonly db: Database.Database) {
    this.q = prepareStatements(db);
  }

  // -- channels ---------------------------------------------------------------------------------------------------

  /** One statement: its read of the account's last position and its insert hold the write lock together. */
  async addChannel(input: NewChannel): Promise<OwnerChannel> {
    const { channel, verifiedAt } = newChannel(input);
    try {
      const row = this.q.insertChannel.get({ ...channel, verifiedAt, at: input.at });
      if (!row) throw new Error('The channel insert returned no row.');
      return toChannel(row);
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noAccount();
      if (isConstraint(err, 'UNIQUE')) throw channelConflict();
      throw err;
    }
  }

  async listChannels(accountId: string): Promise<OwnerChannel[]> {
    return this.q.channelsOf.all(accountId).map(toChannel);
  }

  async getChannel(id: string): Promise<OwnerChannel | null> {
    const row = this.q.channelById.get(id);
    return row ? toChannel(row) : null;
  }

  async channelsAt(kind: ChannelKind, address: string): Promise<OwnerChannel[]> {
    return this.q.channelsAt.all(kind, address).map(toChannel);
  }

  async channelsOfKind(kind: ChannelKind): Promise<OwnerChannel[]> {
    return this.q.channelsOfKind.all(kind).map(toChannel);
  }

  async removeChannel(accountId: string, id: string): Promise<boolean> {
    const remove = this.db.transaction(() => {
      const removed = this.q.removeChannel.get(accountId, id);
      if (!removed) return false;
      this.q.closeGap.run(accountId, removed.position);
      return true;
    });
    return remove.immediate();
  }

  async reorderChannels(accountId: string, ids: readonly string[]): Promise<boolean> {
    const reorder = this.db.transaction(() => {
      const stored = this.q.channelsOf.all(accountId).map((r) => r.id);
      if (!isSameChannelSet(stored, ids)) return false;
      ids.forEach((id, position) => this.q.setPosition.run(position, accountId, id));
      return true;
    });
    return reorder.immediate();
  }

  async setChannelDelay(accountId: string, id: string, delayMs: number): Promise<boolean> {
    checkDelay(delayMs);
    return this.q.setDelay.run(delayMs, accountId, id).changes > 0;
  }

  async setChannelSecret(id: string, secret: string | null): Promise<boolean> {
    checkSecret(secret);
    return this.q.setSecret.run(secret, id).changes > 0;
  }

  async setChannelCode(id: string, code: { codeHash: string; expiresAt: number } | null): Promise<void> {
    if (this.q.setCode.run(code?.codeHash ?? null, code?.expiresAt ?? null, id).changes === 0) {
      throw new KnockError('not_found', 'There is no such channel.');
    }
  }

  async checkChannelCode(accountId: string, id: string, codeHash: string, at: number, maxTries: number): Promise<CodeCheck> {
    const check = this.db.transaction((): CodeCheck => {
      const code = this.q.countTry.get(accountId, id);
      if (!code) return 'noCode';
      const verdict = judgeCode(code, codeHash, at, maxTries);
      if (verdict !== 'verified') return verdict;
      return this.q.verify.run(at, id, code.code_hash).changes > 0 ? 'verified' : 'noCode';
    });
    return check.immediate();
  }

  // -- settings ---------------------------------------------------------------------------------------------------

  async getForwardingSettings(accountId: string): Promise<ForwardingSettings> {
    const row = this.q.settingsOf.get(accountId);
    return row ? toSettings(row) : { ...defaultForwardingSettings };
  }

  async setForwardingSettings(accountId: string, settings: ForwardingSettings): Promise<void> {
    checkSettings(settings);
    try {
      this.q.setSettings.run({
        accountId, paused: settings.paused ? 1 : 0, timeZone: settings.timeZone, quietStart: settings.quietHours?.start ?? null,
        quietEnd: settings.quietHours?.end ?? null, awayCounts: settings.xmppAwayCounts ? 1 : 0,
      });
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noAccount();
      throw err;
    }
  }

  // -- forwards ---------------------------------------------------------------------------------------------------

  /** In one IMMEDIATE transaction, so of two processes the second finds the first's forward open. */
  async openForward(input: NewForward): Promise<{ forward: StoredForward; duplicate: boolean }> {
    checkSteps(input);
    const open = this.db.transaction((): { id: string; duplicate: boolean } => {
      const existing = this.q.openForwardOf.get(input.conversationId);
      if (existing) return { id: existing.id, duplicate: true };
      const id = newId();
      const { conversationId, accountId, knockAt, afterSeq, at } = input;
      if (this.q.insertForward.run({ id, conversationId, accountId, knockAt, afterSeq, at }).changes === 0) {
        throw new KnockError('not_found', 'The account has no such conversation.');
      }
      input.steps.forEach((step, ordinal) => {
        this.q.insertStep.run({ forwardId: id, channelId: step.channelId, accountId, ordinal, at: step.at });
      });
      return { id, duplicate: false };
    });
    const { id, duplicate } = open.immediate();
    const forward = this.forwardsWithSteps(this.q.forwardById.all(id))[0];
    if (!forward) throw new Error(`The forward ${id} is neither new nor stored.`);
    return { forward, duplicate };
  }

  async getForward(id: string): Promise<StoredForward | null> {
    return this.forwardsWithSteps(this.q.forwardById.all(id))[0] ?? null;
  }

  async getOpenForward(conversationId: string): Promise<StoredForward | null> {
    return this.forwardsWithSteps(this.q.openForwardOf.all(conversationId))[0] ?? null;
  }

  async openForwards(accountId: string): Promise<StoredForward[]> {
    return this.forwardsWithSteps(this.q.openForwardsOf.all(accountId));
  }

  async lastForward(conversationId: string): Promise<StoredForward | null> {
    return this.forwardsWithSteps(this.q.lastForward.all(conversationId))[0] ?? null;
  }

  async markStepSent(forwardId: string, channelId: string, sent: { at: number; upToSeq: number; externalId: string | null }): Promise<boolean> {
    if (sent.externalId !== null) assertWellFormed(sent.externalId, 'The external id');
    return this.q.markSent.run({ forwardId, channelId, ...sent }).changes > 0;
  }

  async lastStepOn(channelId: string, sentOnly: boolean): Promise<{ forwardId: string; conversationId: string; step: StoredForwardStep } | null> {
    const row = (sentOnly ? this.q.lastSentStep : this.q.lastStep).get(channelId);
    return row ? { forwardId: row.forward_id, conversationId: row.conversation_id, step: toStep(row) } : null;
  }

  async markStepDelivery(kind: ChannelKind, externalId: string, delivery: 'delivered' | 'failed'): Promise<StoredForward | null> {
    const marked = this.q.markDelivery.get(delivery, kind, externalId);
    return marked ? this.getForward(marked.forward_id) : null;
  }

  async closeForward(conversationId: string, at: number): Promise<StoredForward | null> {
    return this.forwardsWithSteps(this.q.closeForward.all(at, conversationId))[0] ?? null;
  }

  async closeForwardsOf(accountId: string, at: number): Promise<StoredForward[]> {
    const closed = this.q.closeForwardsOf.all(at, accountId);
    return this.forwardsWithSteps(closed.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1)));
  }

  // -- server values ----------------------------------------------------------------------------------------------

  async serverValue(name: string, value: string): Promise<string> {
    assertWellFormed(value, 'The server value');
    const store = this.db.transaction(() => {
      this.q.insertServerValue.run(name, value);
      return this.q.serverValue.get(name)?.value;
    });
    const stored = store.immediate();
    if (stored === undefined) throw new Error(`The server value ${name} is neither new nor stored.`);
    return stored;
  }

  /** The forwards of `rows`, in that order, with their steps (one more query for all of them). */
  private forwardsWithSteps(rows: ForwardRow[]): StoredForward[] {
    if (rows.length === 0) return [];
    return withSteps(rows, this.q.stepsOf.all(JSON.stringify(rows.map((r) => r.id))));
  }
}
