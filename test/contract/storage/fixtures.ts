/**
 * Shared setup of the Storage contract suite: how a rule file reaches the adapter under test, and the few records
 * most rules start from. Nothing here knows which database is behind the port.
 */
import { randomUUID } from 'node:crypto';
import type { Account, AppendResult, Conversation, Participant, Storage, StoredFile } from '../../../engine/ports/storage.ts';
import type { FileRef, MessageRecord } from '../../../engine/protocol.ts';

type NewConversation = Parameters<Storage['createConversation']>[0];

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
  opts: { visitorName?: string; visitorEmail?: string | null; at?: number } & Pick<NewConversation, 'kind' | 'subject' | 'suspicious'> = {},
): Promise<SeededConversation> {
  const tokenHash = `token-hash-${randomUUID()}`;
  const { visitorName, at, ...rest } = opts;
  const created = await storage.createConversation({
    ownerAccountId: account.id,
    tokenHash,
    visitorName: visitorName ?? 'Vic',
    ...rest,
    at: at ?? T0,
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

/** A blob id as Blobs makes them (64 hex digits), derived from a label so a test can share one on purpose. */
export function blobId(label: string): string {
  return Buffer.from(label.padEnd(32, '.').slice(0, 32), 'utf8').toString('hex');
}

/** Uploads a file (a PDF unless told otherwise) into the conversation, as `uploader`. */
export async function seedFile(
  storage: Storage,
  seeded: SeededConversation,
  uploader: Participant,
  opts: { name?: string; size?: number; blob?: string; thumb?: string | null; image?: StoredFile['image']; at?: number } = {},
): Promise<StoredFile> {
  const name = opts.name ?? 'notes.pdf';
  return storage.createFile({
    conversationId: seeded.conversation.id,
    uploaderId: uploader.id,
    blobId: blobId(opts.blob ?? name),
    name,
    type: opts.image ? 'image/png' : 'application/pdf',
    size: opts.size ?? 1000,
    image: opts.image ?? null,
    thumbBlobId: opts.thumb === undefined || opts.thumb === null ? null : blobId(opts.thumb),
    at: opts.at ?? T0,
  });
}

/** A file as a message carries it (protocol FileRef). */
export function fileRef(file: StoredFile): FileRef {
  return { id: file.id, name: file.name, size: file.size, type: file.type, image: file.image };
}

/** Sends `files` in a message of `sender`'s, with `body` (possibly empty). */
export function sendFiles(
  storage: Storage,
  seeded: SeededConversation,
  sender: Participant,
  files: readonly StoredFile[],
  opts: { clientMsgId?: string; body?: string; at?: number } = {},
): Promise<AppendResult> {
  return storage.appendMessage({
    conversationId: seeded.conversation.id,
    senderId: sender.id,
    clientMsgId: opts.clientMsgId ?? clientMsgId(`files-${randomUUID().slice(0, 8)}`),
    body: opts.body ?? '',
    event: { kind: 'file', files: files.map(fileRef) },
    at: opts.at ?? T0 + 500,
  });
}
