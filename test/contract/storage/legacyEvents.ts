/**
 * A rule for adapters whose data outlives a Knock version (a file, a PostgreSQL schema): messages written before
 * events were typed (schema version 3) come back, once the current code has opened the database, with the typed
 * event the old server's conventions meant: its records' keys (`call:<id>`, `doc:<id>`, `game:<id>:<step>`), their
 * bodies, and the games table. Each adapter's test file builds the old database its own way and hands it over.
 */
import { expect } from 'vitest';
import type { Storage } from '../../../engine/ports/storage.ts';
import { conversationEvent, type ConversationEvent } from '../../../engine/protocol.ts';
import { T0 } from './fixtures.ts';

/** A database at schema version 3 (no event columns), reached with plain SQL, then opened with the current code. */
export interface OlderDatabase {
  /** Runs SQL statements without parameters on the database as it is. */
  exec(statements: string): Promise<void>;
  /** Releases the raw access and returns a store of the current code on the database (it applies the newer migrations). */
  open(): Promise<Storage>;
}

/** The version these rows are written for: the last schema before migration 004 typed events. */
export const LEGACY_SCHEMA_VERSION = 3;

export type Row = Record<string, string | number | null>;

const conversationId = 'conv-legacy-0001';
const owner = 'p-owner-0001';
const visitor = 'p-visitor-0001';

/** Games as the games table held them; one belongs to another conversation. */
const games: Row[] = [
  { id: 'game-c4-000001', conversation_id: conversationId, kind: 'connect4', status: 'finished', winner_seat: 1, reason: 'four in a row' },
  { id: 'game-chess-0001', conversation_id: conversationId, kind: 'chess', status: 'declined', winner_seat: null, reason: 'declined' },
  { id: 'game-pong-00001', conversation_id: conversationId, kind: 'pong', status: 'declined', winner_seat: null, reason: 'withdrawn' },
  { id: 'game-chess-0002', conversation_id: conversationId, kind: 'chess', status: 'finished', winner_seat: null, reason: 'stalemate' },
  { id: 'game-other-0001', conversation_id: 'conv-other-0001', kind: 'connect4', status: 'finished', winner_seat: 0, reason: 'resigned' },
];

/**
 * The messages, as the old server wrote them (bodies from rooms/conversation/callRecord.ts and gameInvites.ts), and
 * the event each must read back as.
 */
const legacy: Array<{ sender: string; key: string; body: string; event: ConversationEvent }> = [
  { sender: visitor, key: 'cmid-0001', body: 'Hello', event: { kind: 'text' } },
  { sender: owner, key: 'call:call-000001', body: 'Call, 12 min', event: call('call-000001', 'audio', 'completed') },
  { sender: owner, key: 'call:call-000002', body: 'Video call, 1 h 05 min', event: call('call-000002', 'video', 'completed') },
  { sender: visitor, key: 'call:call-000003', body: 'Missed call', event: call('call-000003', 'audio', 'missed') },
  { sender: visitor, key: 'call:call-000004', body: 'Missed video call', event: call('call-000004', 'video', 'missed') },
  { sender: owner, key: 'call:call-000005', body: 'Declined video call', event: call('call-000005', 'video', 'declined') },
  { sender: owner, key: 'call:call-000006', body: 'Declined call', event: call('call-000006', 'audio', 'declined') },
  { sender: visitor, key: 'doc:doc-000001', body: 'Meeting notes', event: { kind: 'doc', docId: 'doc-000001' } },
  {
    sender: visitor, key: 'game:game-c4-000001:invite', body: 'Vic invites Ann to play Connect Four.',
    event: { kind: 'game.invite', gameId: 'game-c4-000001', game: 'connect4' },
  },
  {
    sender: owner, key: 'game:game-c4-000001:accept', body: 'Ann accepted: Connect Four is on.',
    event: { kind: 'game.answer', gameId: 'game-c4-000001', game: 'connect4', answer: 'accepted' },
  },
  {
    sender: owner, key: 'game:game-c4-000001:result', body: 'Connect Four: Ann won (four in a row).',
    event: { kind: 'game.result', gameId: 'game-c4-000001', game: 'connect4', winnerSeat: 1, reason: 'four in a row' },
  },
  {
    sender: visitor, key: 'game:game-chess-0001:invite', body: 'Vic invites Ann to play Chess.',
    event: { kind: 'game.invite', gameId: 'game-chess-0001', game: 'chess' },
  },
  {
    sender: owner, key: 'game:game-chess-0001:decline', body: 'Ann declined Chess.',
    event: { kind: 'game.answer', gameId: 'game-chess-0001', game: 'chess', answer: 'declined' },
  },
  {
    sender: owner, key: 'game:game-pong-00001:invite', body: 'Ann invites Vic to play Pong.',
    event: { kind: 'game.invite', gameId: 'game-pong-00001', game: 'pong' },
  },
  {
    sender: owner, key: 'game:game-pong-00001:decline', body: 'Ann withdrew the Pong invitation.',
    event: { kind: 'game.answer', gameId: 'game-pong-00001', game: 'pong', answer: 'withdrawn' },
  },
  {
    sender: visitor, key: 'game:game-chess-0002:result', body: 'Chess: a draw (stalemate).',
    event: { kind: 'game.result', gameId: 'game-chess-0002', game: 'chess', winnerSeat: null, reason: 'stalemate' },
  },
  // No such game any more, and a game of another conversation: their bodies still say it, as text.
  { sender: visitor, key: 'game:game-gone-00001:invite', body: 'Vic invites Ann to play Chess.', event: { kind: 'text' } },
  { sender: visitor, key: 'game:game-other-0001:result', body: 'Connect Four: Vic won.', event: { kind: 'text' } },
  // A person wrote what a call record says: a client's key has no ":", so it is text.
  { sender: owner, key: 'cmid-0002', body: 'Missed call', event: { kind: 'text' } },
];

function call(callId: string, media: 'audio' | 'video', reason: 'completed' | 'missed' | 'declined'): ConversationEvent {
  return { kind: 'call', callId, media, reason, durationMs: null };
}

/**
 * Writes the legacy rows into `older` (at LEGACY_SCHEMA_VERSION), opens it with the current code, and checks every
 * message's event through the port: the expected one, valid by the protocol's schema, bodies untouched; then that a
 * retry of a legacy record is answered with its typed event and that seqs continue.
 */
export async function expectLegacyRecordsTyped(older: OlderDatabase): Promise<void> {
  await older.exec(legacyRows());
  const s = await older.open();

  const read = await s.messagesAfter(conversationId, 0, 100);
  expect(read.map((m) => [m.seq, m.clientMsgId, m.body])).toEqual(legacy.map((l, i) => [i + 1, l.key, l.body]));
  expect(read.map((m) => m.event)).toEqual(legacy.map((l) => l.event));
  for (const m of read) {
    // Valid by the protocol as it is read, with no field the schema would drop.
    expect(conversationEvent.parse(m.event)).toEqual(m.event);
  }
  expect(new Set(read.map((m) => m.event.kind))).toEqual(new Set(['text', 'call', 'doc', 'game.invite', 'game.answer', 'game.result']));
  expect((await s.messagesBefore(conversationId, 1000, 100)).map((m) => m.event)).toEqual(legacy.map((l) => l.event));

  const retry = await s.appendMessage({
    conversationId, senderId: owner, clientMsgId: 'call:call-000001', body: 'Call, 12 min',
    event: { kind: 'call', callId: 'call-000001', media: 'audio', reason: 'completed', durationMs: 720_000 }, at: T0 + 1000,
  });
  expect(retry).toMatchObject({ duplicate: true, message: { seq: 2, event: call('call-000001', 'audio', 'completed') } });
  const next = await s.appendMessage({
    conversationId, senderId: visitor, clientMsgId: 'cmid-0003', body: 'After the upgrade', event: { kind: 'text' }, at: T0 + 1001,
  });
  expect(next.message.seq).toBe(legacy.length + 1);
}

/** The rows, as INSERTs with literal values that mean the same in SQLite and PostgreSQL (see `literal`). */
function legacyRows(): string {
  const accounts = [{ id: 'acc-ann-0001', handle: 'ann', display_name: 'Ann', password_hash: 'hash-of-ann', created_at: T0 }];
  const conversations = [conversationId, 'conv-other-0001'].map((id, i) => ({
    id, owner_account_id: 'acc-ann-0001', token_hash: `token-hash-legacy-${i}`,
    last_seq: id === conversationId ? legacy.length : 0, created_at: T0, updated_at: T0 + legacy.length,
  }));
  const participants = [
    { id: owner, conversation_id: conversationId, role: 'owner', account_id: 'acc-ann-0001', name: 'Ann' },
    { id: visitor, conversation_id: conversationId, role: 'visitor', account_id: null, name: 'Vic' },
    { id: 'p-owner-0002', conversation_id: 'conv-other-0001', role: 'owner', account_id: 'acc-ann-0001', name: 'Ann' },
    { id: 'p-visitor-0002', conversation_id: 'conv-other-0001', role: 'visitor', account_id: null, name: 'Val' },
  ];
  const gameRows = games.map((g) => {
    const [player0, player1] = g.conversation_id === conversationId ? [visitor, owner] : ['p-visitor-0002', 'p-owner-0002'];
    return { ...g, player0_id: player0, player1_id: player1, seed: 7, created_at: T0, ended_at: T0 + 1 };
  });
  const messages = legacy.map((l, i) => ({
    conversation_id: conversationId, seq: i + 1, sender_id: l.sender, client_msg_id: l.key, body: l.body, at: T0 + i + 1,
  }));
  return [
    inserts('accounts', accounts), inserts('conversations', conversations), inserts('participants', participants),
    inserts('games', gameRows), inserts('messages', messages),
  ].join('\n');
}

export function inserts(table: string, rows: Row[]): string {
  return rows.map((row) => `INSERT INTO ${table} (${Object.keys(row).join(', ')}) VALUES (${Object.values(row).map(literal).join(', ')});`).join('\n');
}

/**
 * An SQL literal. Strings are printable ASCII without a backslash or a quote: PostgreSQL then reads one into a BYTEA
 * column (names, bodies) as exactly its bytes, and SQLite stores it as that text, so both hold the same rows.
 */
function literal(value: string | number | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') return String(value);
  if (!/^[\x20-\x7e]*$/.test(value) || /['\\]/.test(value)) throw new Error(`Not a plain literal: ${value}`);
  return `'${value}'`;
}
