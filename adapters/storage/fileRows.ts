/**
 * Files (issue 16) as both SQL adapters store them (005_inbox.sql): the row and its record, a new file's record, and
 * the rule an attachment must pass. `T` is how a column of text people write arrives (see rows.ts).
 */
import { KnockError } from '../../engine/errors.ts';
import type { NewMessage, StoredFile } from '../../engine/ports/storage.ts';
import type { FileRef } from '../../engine/protocol.ts';
import { assertWellFormed, newId } from './common.ts';

export type NewFile = Omit<StoredFile, 'id' | 'messageSeq' | 'createdAt'> & { at: number };

export interface FileRow<T> {
  id: string;
  conversation_id: string;
  uploader_id: string;
  blob_id: string;
  name: T;
  type: string;
  size: number;
  width: number | null;
  height: number | null;
  thumb_blob_id: string | null;
  message_seq: number | null;
  created_at: number;
}

/** The columns of FileRow, in the order the INSERTs of both adapters list them. */
export const fileColumns =
  'id, conversation_id, uploader_id, blob_id, name, type, size, width, height, thumb_blob_id, message_seq, created_at';

export function fileMapper<T>(decodeText: (stored: T) => string): (row: FileRow<T>) => StoredFile {
  return (r) => ({
    id: r.id,
    conversationId: r.conversation_id,
    uploaderId: r.uploader_id,
    blobId: r.blob_id,
    name: decodeText(r.name),
    type: r.type,
    size: r.size,
    image: r.width !== null && r.height !== null ? { width: r.width, height: r.height } : null,
    thumbBlobId: r.thumb_blob_id,
    messageSeq: r.message_seq,
    createdAt: r.created_at,
  });
}

/** The record `createFile` stores and returns, with a new id; its name checked first. */
export function newFile(input: NewFile): StoredFile {
  assertWellFormed(input.name, 'The file name');
  return {
    id: newId(), conversationId: input.conversationId, uploaderId: input.uploaderId, blobId: input.blobId, name: input.name,
    type: input.type, size: input.size, image: input.image, thumbBlobId: input.thumbBlobId, messageSeq: null, createdAt: input.at,
  };
}

/** What the attachment rule reads of a file. */
export interface AttachableRow {
  id: string;
  conversation_id: string;
  uploader_id: string;
  message_seq: number | null;
}

/**
 * The files a message's event carries and its append attaches: a `file` event's, and an `email` event's attachments
 * (stored as files of the conversation, uploaded by the message's sender, before it is appended): the same rule for
 * both. None for other kinds.
 */
export function attachedFiles(input: NewMessage): FileRef[] {
  return input.event.kind === 'file' || input.event.kind === 'email' ? input.event.files : [];
}

/**
 * Throws the reason `files` cannot be attached to `input`, given the rows found for their ids: every file must be a
 * file of the conversation, uploaded by the sender, not attached yet, and named once.
 */
export function assertAttachable(input: NewMessage, files: readonly FileRef[], rows: readonly AttachableRow[]): void {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const seen = new Set<string>();
  for (const file of files) {
    const named = `The file "${file.name}"`;
    if (seen.has(file.id)) throw new KnockError('bad_request', `${named} is attached twice.`, { fileId: file.id });
    seen.add(file.id);
    const row = byId.get(file.id);
    if (!row || row.conversation_id !== input.conversationId) {
      throw new KnockError('bad_request', `${named} is not a file of this conversation.`, { fileId: file.id });
    }
    if (row.uploader_id !== input.senderId) {
      throw new KnockError('bad_request', `${named} was uploaded by someone else: only who uploaded a file can send it.`, { fileId: file.id });
    }
    if (row.message_seq !== null) {
      throw new KnockError('bad_request', `${named} is already attached to a message.`, { fileId: file.id });
    }
  }
}

