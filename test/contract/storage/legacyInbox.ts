/**
 * A rule for adapters whose data outlives a Knock version: a database written before the inbox of issue 16 (schema
 * version 4) opens with every conversation searchable by its messages and its visitor's name (migration 005 indexes
 * what is there), with the new summary fields at their defaults, and goes on working: new conversations, messages,
 * files and deletions on top of the old rows. Each adapter's test file builds the old database its own way.
 */
import { expect } from 'vitest';
import { T0, clientMsgId, seedConversation, seedFile, sendFiles } from './fixtures.ts';
import { inserts, type OlderDatabase } from './legacyEvents.ts';
import { listed } from './inbox.contract.ts';

/** The version these rows are written for: the last schema before migration 005. */
export const PRE_INBOX_SCHEMA_VERSION = 4;

const ann = { id: 'acc-ann-0001', handle: 'ann', display_name: 'Ann', password_hash: 'hash-of-ann', created_at: T0 };
const conversations = [
  { id: 'conv-lyon-0001', visitor: 'Vic Lyonnais', messages: ['Do you deliver to Lyon?', 'Order 12345 please'] },
  { id: 'conv-quiet-0001', visitor: 'Quiet Val', messages: [] },
  { id: 'conv-other-0001', visitor: 'Otto', messages: ['Hello from Paris', 'See you soon'] },
];

/** Writes the rows into `older` (at PRE_INBOX_SCHEMA_VERSION), opens it with the current code, and checks the inbox. */
export async function expectOlderInboxSearchable(older: OlderDatabase): Promise<void> {
  await older.exec(olderRows());
  const s = await older.open();
  const account = (await s.getAccountByHandle('ann'))!;

  expect(await listed(s, account, { query: 'lyon' })).toEqual(['Vic Lyonnais']);
  expect(await listed(s, account, { query: 'lyonn' })).toEqual(['Vic Lyonnais']);
  expect(await listed(s, account, { query: 'quiet' })).toEqual(['Quiet Val']);
  expect(await listed(s, account, { query: 'paris hello' })).toEqual(['Otto']);
  expect(await listed(s, account, { query: 'berlin' })).toEqual([]);
  expect(await s.getConversationSummary('conv-lyon-0001')).toMatchObject({
    archived: false, markedUnread: false, files: 0, visitorEmail: null, lastSeq: 2, unread: 2,
  });
  expect(await listed(s, account, { filter: 'archived' })).toEqual([]);

  // New conversations and messages are searchable beside the old ones, and none takes another's words.
  const fresh = await seedConversation(s, account, { visitorName: 'Newcomer', at: T0 + 100 });
  await s.appendMessage({
    conversationId: 'conv-lyon-0001', senderId: 'p-visitor-conv-lyon-0001', clientMsgId: clientMsgId('after'), body: 'Tuesday is fine',
    event: { kind: 'text' }, at: T0 + 200,
  });
  await sendFiles(s, fresh, fresh.visitor, [await seedFile(s, fresh, fresh.visitor, { name: 'lyon-map.png' })], { at: T0 + 300 });
  expect(await listed(s, account, { query: 'tuesday lyon' })).toEqual(['Vic Lyonnais']);
  expect(await listed(s, account, { query: 'lyon' })).toEqual(['Newcomer', 'Vic Lyonnais']);
  expect(await listed(s, account, { filter: 'files' })).toEqual(['Newcomer']);
  expect(await s.deleteConversation('conv-lyon-0001')).toEqual([]);
  expect(await listed(s, account, { query: 'lyon' })).toEqual(['Newcomer']);
  expect(await listed(s, account, { query: 'order' })).toEqual([]);
}

function olderRows(): string {
  const conversationRows = conversations.map((c, i) => ({
    id: c.id, owner_account_id: ann.id, token_hash: `token-hash-older-${i}`, last_seq: c.messages.length,
    created_at: T0 + i, updated_at: T0 + i + 10,
  }));
  const participants = conversations.flatMap((c) => [
    { id: `p-owner-${c.id}`, conversation_id: c.id, role: 'owner', account_id: ann.id, name: 'Ann' },
    { id: `p-visitor-${c.id}`, conversation_id: c.id, role: 'visitor', account_id: null, name: c.visitor },
  ]);
  const messages = conversations.flatMap((c) => c.messages.map((body, i) => ({
    conversation_id: c.id, seq: i + 1, sender_id: `p-visitor-${c.id}`, client_msg_id: `cmid-older-${i}`, body, at: T0 + i + 1,
  })));
  return [inserts('accounts', [ann]), inserts('conversations', conversationRows), inserts('participants', participants), inserts('messages', messages)]
    .join('\n');
}
