/**
 * `npx knock mail sync <dir>`: the owner's conversations as a Maildir (https://cr.yp.to/proto/maildir.html) any mail
 * client reads (mutt, Thunderbird through a local account, notmuch), and read state both ways.
 *
 * Each message is one file, `cur/<conversationId>.<seq>.knock:2,<flags>`: a name that is unique and the same on every
 * sync, so a second sync (or one after a crash) finds what it wrote and adds nothing. A file is written in `tmp/`,
 * flushed, then renamed into `cur/`, so a mail client never sees half of one. `S` (Seen) is set on the owner's own
 * messages and on those the owner has read (at or below the owner's read mark).
 *
 * Read state: Knock's is a mark (everything up to seq N is read), a Maildir's a flag per file. A visitor's message
 * the mail client marked Seen above the server's mark raises the mark to it (the highest such, per conversation);
 * then every file at or below the mark that is not Seen yet gets `S`. What came from the server is kept in
 * `<dir>/.knock-sync.json`: per conversation the last seq written, the owner's own messages (never pushed as read),
 * and the highest Seen pushed (a watermark: read marks only rise).
 *
 * @example
 *   const summary = await syncMaildir('/home/alice/Mail/knock', client, 'https://knock.example/alice');
 *   // { added: 3, seenHere: 1, seenThere: 2 }
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { KnockError } from '../errors.ts';
import type { MailConversations, MailMessages } from './client.ts';
import { readJsonFile, writeFileAtomically, writeJsonFile } from './atomicFiles.ts';

export const STATE_FILE = '.knock-sync.json';
/** `<conversationId>.<seq>.knock`, then Maildir's info `:2,<flags>` (absent in new/). */
const FILE_NAME = /^([A-Za-z0-9_-]{1,64})\.(\d{1,15})\.knock(?::2,([A-Za-z]*))?$/;
/** What a conversation id may be to become part of a file name (a server naming `../x` writes nowhere else). */
const CONVERSATION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** What a sync reads from the server (engine/mailCli/client.ts MailClient). */
export interface MailSource {
  conversations(): Promise<MailConversations>;
  messages(conversationId: string, after: number): Promise<MailMessages>;
  markRead(conversationId: string, seq: number): Promise<void>;
}

export interface SyncSummary {
  /** Messages written as new files. */
  added: number;
  /** Files that got `S` because the owner read them elsewhere. */
  seenHere: number;
  /** Messages marked Seen here that the server now counts as read. */
  seenThere: number;
}

const conversationState = z.object({
  lastSeq: z.number().int().nonnegative(),
  /** The owner's own messages: Seen from the start, never a reason to raise the read mark. */
  own: z.array(z.number().int().nonnegative()),
  /** The highest seq whose Seen was pushed to the server. */
  seenPushed: z.number().int().nonnegative(),
});
type ConversationState = z.infer<typeof conversationState>;
const syncState = z.object({
  version: z.literal(1),
  /** The account this Maildir mirrors (`<server>/<handle>`): another account's sync is refused, not mixed in. */
  account: z.string(),
  conversations: z.record(z.string(), conversationState),
});
type SyncState = z.infer<typeof syncState>;

interface LocalFile {
  dir: 'cur' | 'new';
  name: string;
  flags: string;
}

export async function syncMaildir(dir: string, source: MailSource, account: string): Promise<SyncSummary> {
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
  const state = await loadState(dir, account);
  const local = await localFiles(dir);
  const summary: SyncSummary = { added: 0, seenHere: 0, seenThere: 0 };
  const { conversations } = await source.conversations();
  for (const conversation of conversations) {
    if (!CONVERSATION_ID.test(conversation.id)) throw new KnockError('internal', `The server named a conversation "${conversation.id.slice(0, 64)}", which cannot be a file name.`);
    // A conversation this state has not seen yet (a new one, or a state moved away): which of its files are the
    // owner's own is not known until its messages are read again, so none of them raises the read mark this time.
    const known = conversation.id in state.conversations;
    const st = (state.conversations[conversation.id] ??= { lastSeq: 0, own: [], seenPushed: 0 });
    const files = local.get(conversation.id) ?? new Map<number, LocalFile>();
    const readSeq = known ? await pushSeen(source, conversation.id, conversation.ownerReadSeq, files, st, summary) : conversation.ownerReadSeq;
    summary.seenHere += await markSeenHere(dir, conversation.id, readSeq, files, st);
    if (conversation.lastSeq > st.lastSeq) await fetchNew(dir, source, conversation.id, readSeq, files, st, summary, () => saveState(dir, state));
  }
  await saveState(dir, state);
  return summary;
}

/** Raises the server's read mark to the highest visitor's message Seen here; resolves with the mark as it is now. */
async function pushSeen(
  source: MailSource,
  conversationId: string,
  ownerReadSeq: number,
  files: Map<number, LocalFile>,
  st: ConversationState,
  summary: SyncSummary,
): Promise<number> {
  const own = new Set(st.own);
  const seen = [...files].filter(([seq, f]) => f.flags.includes('S') && !own.has(seq) && seq > ownerReadSeq && seq > st.seenPushed).map(([seq]) => seq);
  if (seen.length === 0) return ownerReadSeq;
  const highest = Math.max(...seen);
  await source.markRead(conversationId, highest);
  st.seenPushed = highest;
  summary.seenThere += seen.length;
  return highest;
}

/** Adds `S` to the visitor's messages at or below the read mark; resolves with how many files changed. */
async function markSeenHere(dir: string, conversationId: string, readSeq: number, files: Map<number, LocalFile>, st: ConversationState): Promise<number> {
  const own = new Set(st.own);
  let changed = 0;
  for (const [seq, file] of files) {
    if (seq > readSeq || own.has(seq) || file.flags.includes('S')) continue;
    const flags = withFlag(file.flags, 'S');
    const name = fileName(conversationId, seq, flags);
    try {
      await rename(path.join(dir, file.dir, file.name), path.join(dir, 'cur', name));
    } catch (err) {
      // The mail client moved or deleted it meanwhile: it is its to keep.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    files.set(seq, { dir: 'cur', name, flags });
    changed += 1;
  }
  return changed;
}

/** Writes the messages after the last one synced, a page at a time, saving the state after each page. */
async function fetchNew(
  dir: string,
  source: MailSource,
  conversationId: string,
  readSeq: number,
  files: Map<number, LocalFile>,
  st: ConversationState,
  summary: SyncSummary,
  save: () => Promise<void>,
): Promise<void> {
  for (;;) {
    const after = st.lastSeq;
    const page = await source.messages(conversationId, after);
    for (const item of page.items) {
      if (item.from === 'owner' && !st.own.includes(item.seq)) st.own.push(item.seq);
      // Written before a crash that lost the state: found by its name, not written twice.
      if (!files.has(item.seq)) {
        const flags = item.from === 'owner' || item.seq <= readSeq ? 'S' : '';
        const name = fileName(conversationId, item.seq, flags);
        // Through tmp/, as Maildir asks: a mail client never sees half of a file.
        const temporary = path.join(dir, 'tmp', `${conversationId}.${item.seq}.${process.pid}.${randomBytes(4).toString('hex')}`);
        await writeFileAtomically(path.join(dir, 'cur', name), Buffer.from(item.eml, 'base64'), temporary);
        files.set(item.seq, { dir: 'cur', name, flags });
        summary.added += 1;
      }
      st.lastSeq = Math.max(st.lastSeq, item.seq);
    }
    await save();
    // A page that moved nothing forward would be asked for again and again.
    if (!page.more || st.lastSeq === after) return;
  }
}

function fileName(conversationId: string, seq: number, flags: string): string {
  return `${conversationId}.${seq}.knock:2,${flags}`;
}

/** Maildir's flags are letters in ASCII order, each once. */
function withFlag(flags: string, flag: string): string {
  return [...new Set([...flags, flag])].sort().join('');
}

/** Knock's files in cur/ and new/, by conversation and seq (other files are the mail client's, left alone). */
async function localFiles(dir: string): Promise<Map<string, Map<number, LocalFile>>> {
  const byConversation = new Map<string, Map<number, LocalFile>>();
  for (const sub of ['new', 'cur'] as const) {
    for (const name of await readdir(path.join(dir, sub))) {
      const m = FILE_NAME.exec(name);
      if (!m) continue;
      const [, conversationId, seq, flags] = m as unknown as [string, string, string, string | undefined];
      let files = byConversation.get(conversationId);
      if (!files) byConversation.set(conversationId, (files = new Map()));
      files.set(Number(seq), { dir: sub, name, flags: flags ?? '' });
    }
  }
  return byConversation;
}

async function loadState(dir: string, account: string): Promise<SyncState> {
  const state = await readJsonFile(path.join(dir, STATE_FILE), syncState, 'is damaged: move it away to sync this Maildir from the start (the files already there are kept).');
  if (!state) return { version: 1, account, conversations: {} };
  if (state.account !== account) throw new KnockError('conflict', `${dir} mirrors ${state.account}, not ${account}: sync into another directory.`);
  return state;
}

function saveState(dir: string, state: SyncState): Promise<void> {
  return writeJsonFile(path.join(dir, STATE_FILE), state);
}
