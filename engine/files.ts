/**
 * Files in conversations (issue 16), free of HTTP: storing an upload for a member of a conversation (limits, quota,
 * a safe name, the type decided here, a thumbnail without EXIF for images), the references a message carries, and
 * removing what nothing references any more. The bytes are in Blobs (content-addressed), the records in Storage.
 *
 * @example
 *   const ref = await files.upload(member, request, 'holiday.jpg');  // -> FileRef, to name in `send.files`
 *   const refs = await files.refsFor(conversationId, senderId, ['f1', 'f2']);
 */
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { KnockError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Blobs } from './ports/blobs.ts';
import type { Clock } from './ports/clock.ts';
import type { Storage, StoredFile } from './ports/storage.ts';
import type { LogEntry } from './conversationLog.ts';
import { fileMessageBody, limits, type FileRef } from './protocol.ts';

/** Uploads never attached to a message are removed after this long. */
export const UNATTACHED_FILE_TTL_MS = 24 * 3600_000;
/** The longest side of a thumbnail, in pixels. */
const THUMB_PX = 480;
/** Images larger than this many pixels are not decoded (a decompression bomb): they stay plain files. */
const MAX_IMAGE_PIXELS = 50_000_000;
const IMAGE_TYPES: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' };
/** Types named by extension when the content says nothing else; anything not here is application/octet-stream. */
const TYPES_BY_EXTENSION: Record<string, string> = {
  pdf: 'application/pdf',
  txt: 'text/plain',
  csv: 'text/csv',
  md: 'text/markdown',
  zip: 'application/zip',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  ogg: 'audio/ogg',
  wav: 'audio/wav',
  json: 'application/json',
};

export interface FileLimits {
  maxUploadBytes: number;
  maxFilesPerMessage: number;
  ownerQuotaBytes: number;
}

export interface FilesDeps {
  storage: Storage;
  blobs: Blobs;
  clock: Clock;
  logger: Logger;
  limits: FileLimits;
}

/** Who uploads: a participant of the conversation, and the account whose quota it counts against. */
export interface Uploader {
  conversationId: string;
  participantId: string;
  ownerAccountId: string;
}

export class Files {
  constructor(private readonly deps: FilesDeps) {}

  get limits(): FileLimits {
    return this.deps.limits;
  }

  /** Stores one uploaded file; refuses it (too_large, naming the limit) once it passes the file size or the quota. */
  async upload(uploader: Uploader, source: AsyncIterable<Uint8Array>, declaredName: string): Promise<FileRef> {
    const { maxUploadBytes, ownerQuotaBytes } = this.deps.limits;
    const used = await this.deps.storage.ownerFileBytes(uploader.ownerAccountId);
    const room = Math.max(0, ownerQuotaBytes - used);
    const quotaBound = room < maxUploadBytes;
    if (room === 0) throw quotaFull(ownerQuotaBytes);
    let blob;
    try {
      blob = await this.deps.blobs.put(source, { maxBytes: Math.min(maxUploadBytes, room) });
    } catch (err) {
      if (err instanceof KnockError && err.code === 'too_large') {
        throw quotaBound ? quotaFull(ownerQuotaBytes) : fileTooLarge(maxUploadBytes);
      }
      throw err;
    }
    const name = safeFileName(declaredName);
    const head = blob.size > 0 ? await this.head(blob.id, Math.min(15, blob.size - 1)) : Buffer.alloc(0);
    const image = imageTypeOf(head) ? await this.thumbnail(blob.id) : null;
    const stored = await this.deps.storage.createFile({
      conversationId: uploader.conversationId,
      uploaderId: uploader.participantId,
      blobId: blob.id,
      name,
      type: image?.type ?? typeOf(head, name),
      size: blob.size,
      image: image ? { width: image.width, height: image.height } : null,
      thumbBlobId: image?.thumbBlobId ?? null,
      at: this.deps.clock.now(),
    });
    return toFileRef(stored);
  }

  /**
   * The references of the files a member's message names: each a file of this conversation uploaded by this sender.
   * Whether it is attached already is storage's to check, atomically, when the message is stored (a resend of a
   * stored message is answered as a duplicate there, files and all).
   */
  async refsFor(conversationId: string, senderId: string, fileIds: readonly string[]): Promise<FileRef[]> {
    if (fileIds.length > this.deps.limits.maxFilesPerMessage) {
      throw new KnockError('bad_request', `A message carries at most ${this.deps.limits.maxFilesPerMessage} files.`, { maxFiles: this.deps.limits.maxFilesPerMessage });
    }
    const refs: FileRef[] = [];
    for (const id of fileIds) {
      const file = await this.deps.storage.getFile(id);
      if (!file || file.conversationId !== conversationId || file.uploaderId !== senderId) throw new KnockError('bad_request', 'A file of this message was not uploaded here by you.');
      refs.push(toFileRef(file));
    }
    return refs;
  }

  /** Deletes the blobs nothing references any more (after a conversation was deleted, or uploads expired). */
  async deleteBlobs(blobIds: readonly string[]): Promise<void> {
    for (const id of blobIds) {
      await this.deps.blobs.delete(id).catch((err: unknown) => this.deps.logger.error({ err, blobId: id }, 'could not delete a blob'));
    }
  }

  /** Removes uploads never attached to a message within a day. Resolves with how many blobs went. */
  async purgeUnattached(): Promise<number> {
    const orphans = await this.deps.storage.purgeUnattachedFiles(this.deps.clock.now() - UNATTACHED_FILE_TTL_MS);
    await this.deleteBlobs(orphans);
    return orphans.length;
  }

  /**
   * A JPEG, PNG, WebP or GIF Knock can read: its type, size and a thumbnail (WebP, EXIF orientation applied, and no
   * metadata at all: sharp writes none, so no EXIF or GPS, unless asked to). Null when sharp cannot read it.
   */
  private async thumbnail(blobId: string): Promise<{ type: string; width: number; height: number; thumbBlobId: string } | null> {
    const bytes = await this.deps.blobs.get(blobId);
    if (!bytes) return null;
    const input = sharp({ limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error' });
    const metadata = input.clone().metadata();
    const thumbnail = input.clone().rotate().resize(THUMB_PX, THUMB_PX, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer();
    bytes.pipe(input);
    try {
      const [info, thumb] = await Promise.all([metadata, thumbnail]);
      const type = info.format ? IMAGE_TYPES[info.format] : undefined;
      if (!type || !info.width || !info.height) return null;
      const stored = await this.deps.blobs.put(Readable.from([thumb]), { maxBytes: thumb.length });
      // Orientations 5 to 8 turn the picture a quarter: as people see it, width and height swap.
      const turned = (info.orientation ?? 1) >= 5;
      return { type, width: turned ? info.height : info.width, height: turned ? info.width : info.height, thumbBlobId: stored.id };
    } catch {
      bytes.destroy();
      return null;
    }
  }

  /** The first bytes of a blob, to tell what it is. */
  private async head(blobId: string, end: number): Promise<Buffer> {
    const stream = await this.deps.blobs.get(blobId, { start: 0, end });
    if (!stream) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks).subarray(0, 16);
  }
}

/** The image type the first bytes announce (checked again by decoding), or null. */
function imageTypeOf(head: Buffer): string | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  const text = head.toString('latin1');
  if (text.startsWith('GIF87a') || text.startsWith('GIF89a')) return 'image/gif';
  if (text.startsWith('RIFF') && text.slice(8, 12) === 'WEBP') return 'image/webp';
  return null;
}

/** What the first bytes say (PDF), else the extension, else bytes. Never a type a browser would run (HTML, SVG, JS). */
function typeOf(head: Buffer, name: string): string {
  if (head.toString('latin1').startsWith('%PDF-')) return 'application/pdf';
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(name)?.[1]?.toLowerCase();
  return (ext && TYPES_BY_EXTENSION[ext]) ?? 'application/octet-stream';
}

/**
 * What a member's message writes, from a socket's `send` or an HTTP post alike: text, or a `file` event with its
 * files' references (its body: the text, else the files' names).
 */
export async function messageEntry(
  files: Pick<Files, 'refsFor'>,
  conversationId: string,
  senderId: string,
  msg: { clientMsgId: string; body: string; files?: readonly string[] | undefined },
): Promise<LogEntry> {
  if (!msg.files?.length) return { senderId, clientMsgId: msg.clientMsgId, body: msg.body, event: { kind: 'text' } };
  const refs = await files.refsFor(conversationId, senderId, msg.files);
  const body = msg.body.trim().length > 0 ? msg.body : fileMessageBody(refs);
  return { senderId, clientMsgId: msg.clientMsgId, body, event: { kind: 'file', files: refs } };
}

export function toFileRef(file: StoredFile): FileRef {
  return { id: file.id, name: file.name, size: file.size, type: file.type, image: file.image };
}

/** The refusal of a file over KNOCK_MAX_UPLOAD_BYTES, whether seen from its declared length or while it streams. */
export function fileTooLarge(maxBytes: number): KnockError {
  return new KnockError('too_large', `The file is too large (at most ${humanBytes(maxBytes)}).`, { maxBytes });
}

function quotaFull(quotaBytes: number): KnockError {
  return new KnockError('too_large', `This inbox is full: its files may take at most ${humanBytes(quotaBytes)}.`, { quotaBytes });
}

/** "25 MB", "1 GB", "512 KB", "10 bytes": binary units, as people say them. */
export function humanBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} bytes` : `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * A file name made safe to store and show: the last path segment only, no control characters, no bidirectional
 * overrides or isolates (an "exe.pdf" spoof), no leading dots, at most `limits.fileNameChars` characters with the
 * extension kept, never empty.
 */
export function safeFileName(raw: string): string {
  const lastSegment = raw.split(/[/\\]/).pop() ?? '';
  const cleaned = lastSegment
    .normalize('NFC')
    // C0/C1 controls, bidi embeddings, overrides and isolates, zero-width and BOM, lone surrogates.
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
    .replace(/^[.\s]+/, '')
    .trim();
  if (cleaned.length === 0) return 'file';
  if (cleaned.length <= limits.fileNameChars) return cleaned;
  const ext = /\.[^.]{1,16}$/.exec(cleaned)?.[0] ?? '';
  return cleaned.slice(0, limits.fileNameChars - ext.length) + ext;
}
