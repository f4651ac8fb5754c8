/**
 * Shared setup of the Storage contract suite: how a rule file reaches the adapter under test, and the few records
 * most rules start from. Nothing here knows which database is behind the port.
 */
import { randomUUID } from 'node:crypto';
import type { Account, Conversation, Participant, Storage } from '../../../engine/ports/storage.ts';
import type { MessageRecord } from '../../../engine/protocol.ts';

/** The adapter of the current test: a fresh one per test, opened in beforeEach. */
export interface StorageContext {
  storage(): Storage;
}

/** A fixed epoch keeps times readable in failures; tests add small offsets to order events. */
export const T0 = 1_700_000_000_000;

/** Ids allowed in URLs and Colyseus filters (DESIGN: conversation ids appear in both). */
export const URL_SAFE_ID = /^[A-Za-z0-9_-]+$/;

export interface SeededConversation {
  conversation: Conversation;
  owner: Participant;
  visitor: Participant;
  tokenHash: string;
}

export async function seedAccount(storage: Storage, handle = 'ann', displayName = 'Ann'): Promise<Account> {
  return storage.createAccount({ handle, displayName, passwordHash: `hash-of-${handle}`, at: T0 });
}

export async function seedConversation(
  storage: Storage,
  account: Account,
  opts: { visitorName?: string; at?: number } = {},
): Promise<SeededConversation> {
  const tokenHash = `token-hash-${randomUUID()}`;
  const created = await storage.createConversation({
    ownerAccountId: account.id,
    tokenHash,
    visitorName: opts.visitorName ?? 'Vic',
    at: opts.at ?? T0,
  });
  return { ...created, tokenHash };
}

/** A valid clientMsgId (8 to 64 of [A-Za-z0-9_-]) derived from a number, so tests can repeat one on purpose. */
export function clientMsgId(n: number | string): string {
  return `cmid-${String(n).padStart(4, '0')}`;
}

/** Appends `count` messages from `sender`, one after the other, at T0 + their index. */
export async function appendSequence(
  storage: Storage,
  seeded: SeededConversation,
  sender: Participant,
  count: number,
  prefix: string = sender.role,
): Promise<MessageRecord[]> {
  const out: MessageRecord[] = [];
  for (let i = 0; i < count; i++) {
    const { message } = await storage.appendMessage({
      conversationId: seeded.conversation.id,
      senderId: sender.id,
      clientMsgId: clientMsgId(`${prefix}-${i}`),
      body: `${prefix} message ${i}`,
      event: { kind: 'text' },
      at: T0 + 1000 + i,
    });
    out.push(message);
  }
  return out;
}

export const seqsOf = (messages: readonly MessageRecord[]): number[] => messages.map((m) => m.seq);

export const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
