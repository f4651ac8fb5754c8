/**
 * A rule for adapters whose data outlives a Knock version: a database written before email (issue 17, schema version
 * 5) opens with every conversation a chat without a subject, not suspicious, mail to the visitor on, never notified,
 * still searchable as before (migration 006 redefines what the index holds for a message), and its deletions leave
 * nothing behind in the index. Each adapter's test file builds the old database its own way.
 */
import { expect } from 'vitest';
import type { Storage } from '../../../engine/ports/storage.ts';
import { T0, blobId, seedConversation } from './fixtures.ts';
import { inserts, type OlderDatabase } from './legacyEvents.ts';
import { listed } from './inbox.contract.ts';

/** The version these rows are written for: the last schema before migration 006. */
export const PRE_MAIL_SCHEMA_VERSION = 5;

const ann = { id: 'acc-ann-0001', handle: 'ann', display_name: 'Ann', password_hash: 'hash-of-ann', created_at: T0 };
const files = [{ id: 'file-older-0001', name: 'tax-return-2023.pdf', size: 10, type: 'application/pdf', image: null }];

/** Writes the rows into `older` (at PRE_MAIL_SCHEMA_VERSION), opens it with the current code, and checks email's defaults. */
export async function expectOlderConversationsChats(older: OlderDatabase): Promise<void> {
  await older.exec(olderRows());
  const s = await older.open();
  const account = (await s.getAccountByHandle('ann'))!;

  for (const id of ['conv-chat-0001', 'conv-file-0001']) {
    expect(await s.getConversation(id)).toMatchObject({ kind: 'chat', subject: null, visitorEmail: null, visitorEmailOff: false });
    expect(await s.getConversationSummary(id)).toMatchObject({ kind: 'chat', subject: null, suspicious: false });
    expect(await s.getNotifyMark(id)).toEqual({ seq: 0, at: 0 });
    expect(await s.conversationJobs(id)).toEqual([]);
  }
  expect(await listed(s, account)).toEqual(['Filer', 'Chatter']);
  expect(await listed(s, account, { filter: 'suspicious' })).toEqual([]);
  expect(await listed(s, account, { query: 'tax' })).toEqual(['Filer']);
  expect(await listed(s, account, { query: 'hello' })).toEqual(['Chatter']);

  await s.setSubject('conv-file-0001', 'Holiday rental');
  expect(await listed(s, account, { query: 'holiday here' })).toEqual(['Filer']);
  await expectNothingLeftOf(s, 'conv-file-0001', ['tax', 'return', 'here', 'holiday']);
  expect(await s.deleteConversation('conv-chat-0001')).toEqual([]);
  expect(await listed(s, account, { query: 'hello' })).toEqual([]);
}

/**
 * Deletes the conversation, then makes a new one, which may take the number the deleted one had in the index (SQLite
 * reuses the highest): none of the deleted conversation's words may find it.
 */
async function expectNothingLeftOf(s: Storage, conversationId: string, words: string[]): Promise<void> {
  const account = (await s.getAccountByHandle('ann'))!;
  expect(await s.deleteConversation(conversationId)).toEqual([blobId('tax-return')]);
  await seedConversation(s, account, { visitorName: 'Newcomer', at: T0 + 1000 });
  for (const word of words) expect(await listed(s, account, { query: word }), word).toEqual([]);
}

function olderRows(): string {
  const conversations = [
    { id: 'conv-chat-0001', owner_account_id: ann.id, token_hash: 'token-hash-older-1', last_seq: 1, created_at: T0, updated_at: T0 + 1, file_count: 0 },
    // Made last, so it holds the highest number in SQLite's index.
    { id: 'conv-file-0001', owner_account_id: ann.id, token_hash: 'token-hash-older-2', last_seq: 1, created_at: T0 + 2, updated_at: T0 + 3, file_count: 1 },
  ];
  const participants = [
    { id: 'p-owner-chat', conversation_id: 'conv-chat-0001', role: 'owner', account_id: ann.id, name: 'Ann' },
    { id: 'p-visitor-chat', conversation_id: 'conv-chat-0001', role: 'visitor', account_id: null, name: 'Chatter' },
    { id: 'p-owner-file', conversation_id: 'conv-file-0001', role: 'owner', account_id: ann.id, name: 'Ann' },
    { id: 'p-visitor-file', conversation_id: 'conv-file-0001', role: 'visitor', account_id: null, name: 'Filer' },
  ];
  const messages = [
    { conversation_id: 'conv-chat-0001', seq: 1, sender_id: 'p-visitor-chat', client_msg_id: 'cmid-older-1', body: 'Hello there', at: T0 + 1, kind: 'text', payload: null },
    {
      conversation_id: 'conv-file-0001', seq: 1, sender_id: 'p-visitor-file', client_msg_id: 'cmid-older-2', body: 'Here it is', at: T0 + 3,
      kind: 'file', payload: JSON.stringify({ files }),
    },
  ];
  const fileRows = [{
    id: files[0]!.id, conversation_id: 'conv-file-0001', uploader_id: 'p-visitor-file', blob_id: blobId('tax-return'), name: files[0]!.name,
    type: files[0]!.type, size: files[0]!.size, message_seq: 1, created_at: T0 + 2,
  }];
  return [
    inserts('accounts', [ann]), inserts('conversations', conversations), inserts('participants', participants), inserts('messages', messages),
    inserts('files', fileRows),
  ].join('\n');
}
