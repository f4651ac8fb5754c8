/**
 * A rule for adapters that keep their data in a place that can be opened again (a file, a PostgreSQL schema): what
 * one store wrote, the next store on the same place reads, and seqs continue where they stopped.
 */
import { expect } from 'vitest';
import type { Storage } from '../../../engine/ports/storage.ts';
import { T0, appendSequence, seedAccount, seedConversation } from './fixtures.ts';

/**
 * Writes an account named `displayName`, a conversation and three messages through `first`, closes it, and checks
 * them all through `reopen()` (a new store on the same database), and that the next message there is seq 4.
 */
export async function expectDataKeptOnReopen(
  first: Storage,
  reopen: () => Storage | Promise<Storage>,
  displayName?: string,
): Promise<void> {
  const ann = await seedAccount(first, 'ann', displayName);
  const conv = await seedConversation(first, ann, { visitorName: 'Vic 😀' });
  const before = await appendSequence(first, conv, conv.visitor, 3);
  await first.close();

  const again = await reopen();
  expect(await again.getAccountByHandle('ann')).toEqual(ann);
  expect(await again.getConversationByTokenHash(conv.tokenHash)).toEqual({ ...conv.conversation, lastSeq: 3, updatedAt: T0 + 1002 });
  expect(await again.messagesAfter(conv.conversation.id, 0, 10)).toEqual(before);
  // The search index holds what was written before, whatever it had taken in when the store closed.
  expect((await again.listConversations(ann.id, { limit: 10, query: 'visitor message' })).map((c) => c.id)).toEqual([conv.conversation.id]);
  const { message } = await again.appendMessage({
    conversationId: conv.conversation.id, senderId: conv.owner.id, clientMsgId: 'after-reopen', body: 'x', event: { kind: 'text' }, at: T0 + 5000,
  });
  expect(message.seq).toBe(4);
}
