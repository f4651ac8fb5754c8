/**
 * The files of the message being written: checked against the server's limits before a byte is sent, uploaded as
 * soon as there is a conversation to upload into (two at a time), with their progress, failures, retries and
 * removals. The message itself goes once every file is up: the composer asks (`requestSend`), and sends when the
 * snapshot says `ready`; `take()` hands over the stored files for `ConversationSession.send`.
 *
 * A visitor who has not knocked yet has no conversation: files wait (`waiting`) until `setTarget` names one.
 *
 * Files live only in this page's memory until they are up and their message is in the outbox (which survives a
 * reload, with the files' ids): a file still uploading, or attached to a message not sent yet, is lost if the page
 * closes. Keeping the bytes in IndexedDB to resume would double the code of this module for a rare case; the person
 * sees the chips gone and attaches again.
 *
 * @example
 *   const files = new Attachments({ upload: xhrUploader(), limits: profile.uploads });
 *   files.setTarget({ conversationId, token });
 *   files.add([...input.files]);
 *   files.subscribe(() => { const s = files.snapshot(); if (s.sendRequested && s.ready) session.send(text, files.take()); });
 */
import { limits as protocolLimits, type FileRef, type ProfileAnswer } from '../../../engine/protocol.ts';
import { formatBytes } from '../sizeFormat.ts';
import { UploadError, type UploadTarget, type Uploader } from './fileUpload.ts';
import type { Listener } from './types.ts';

export type UploadLimits = NonNullable<ProfileAnswer['uploads']>;

/** waiting: no conversation yet, or queued; uploading; up: stored by the server; failed: see `error`. */
export type AttachmentStatus = 'waiting' | 'uploading' | 'up' | 'failed';

export interface AttachmentView {
  id: string;
  name: string;
  size: number;
  status: AttachmentStatus;
  /** Share sent while uploading, 0 to 1. */
  progress: number;
  /** Why it failed: the server's sentence (a 413 names the limit). */
  error: string | null;
}

export interface AttachmentsSnapshot {
  items: AttachmentView[];
  /** Every file is up (also true with none): a message waiting for them may go. */
  ready: boolean;
  /** Some file failed: the message waits until it is retried or removed. */
  failed: boolean;
  /** Files are being sent or wait their turn. */
  busy: boolean;
  /** The person pressed Send while files were not up yet: the message goes once they are. */
  sendRequested: boolean;
  /** Why files just added were refused (too large, too many), until the next addition. */
  refusal: string | null;
  /** There is a conversation to upload into. */
  hasTarget: boolean;
}

export interface AttachmentsOptions {
  upload: Uploader;
  /** The server's limits (the profile's `uploads`); absent from older servers: only the protocol's cap applies. */
  limits?: UploadLimits | undefined;
  /** Files uploaded at once. */
  concurrency?: number;
}

interface Item {
  id: string;
  file: Blob;
  name: string;
  size: number;
  status: AttachmentStatus;
  progress: number;
  error: string | null;
  ref: FileRef | null;
  abort: AbortController | null;
  /** Uploads refused as `rate_limited` so far; after a few the file fails and waits for Retry. */
  rateLimited: number;
  retryTimer: ReturnType<typeof setTimeout> | null;
}

const MAX_RATE_LIMITED_RETRIES = 3;

export class Attachments {
  private readonly items: Item[] = [];
  private readonly listeners = new Set<Listener>();
  private target: UploadTarget | null = null;
  private sendRequested = false;
  private refusal: string | null = null;
  private nextId = 1;
  private closed = false;
  private cached: AttachmentsSnapshot | null = null;

  constructor(private readonly options: AttachmentsOptions) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): AttachmentsSnapshot {
    this.cached ??= {
      items: this.items.map(({ id, name, size, status, progress, error }) => ({ id, name, size, status, progress, error })),
      ready: this.items.every((i) => i.status === 'up'),
      failed: this.items.some((i) => i.status === 'failed'),
      busy: this.items.some((i) => i.status === 'waiting' || i.status === 'uploading'),
      sendRequested: this.sendRequested,
      refusal: this.refusal,
      hasTarget: this.target !== null,
    };
    return this.cached;
  }

  /** The conversation files go to; uploads start (or resume) once there is one. */
  setTarget(target: UploadTarget | null): void {
    this.target = target;
    this.changed();
    this.pump();
  }

  /**
   * Adds files (a picker, a drop, a paste), refusing those the server would refuse: larger than its limit, or more
   * than a message may carry. The refusal names the limit; what fits is added.
   */
  add(files: readonly File[]): void {
    if (this.closed) return;
    const maxBytes = this.options.limits?.maxFileBytes;
    const maxFiles = Math.min(this.options.limits?.maxFilesPerMessage ?? protocolLimits.filesPerMessage, protocolLimits.filesPerMessage);
    const tooLarge = maxBytes === undefined ? [] : files.filter((f) => f.size > maxBytes);
    const fitting = files.filter((f) => !tooLarge.includes(f));
    const room = Math.max(0, maxFiles - this.items.length);
    const reasons: string[] = [];
    if (tooLarge.length > 0 && maxBytes !== undefined) reasons.push(tooLargeSentence(tooLarge.map(nameOf), maxBytes));
    if (fitting.length > room) {
      const left = fitting.length - room;
      reasons.push(`A message carries at most ${maxFiles} files: ${left === 1 ? '1 file was' : `${left} files were`} left out.`);
    }
    this.refusal = reasons.length > 0 ? reasons.join(' ') : null;
    for (const file of fitting.slice(0, room)) {
      this.items.push({
        id: `a${this.nextId++}`,
        file,
        name: nameOf(file),
        size: file.size,
        status: 'waiting',
        progress: 0,
        error: null,
        ref: null,
        abort: null,
        rateLimited: 0,
        retryTimer: null,
      });
    }
    this.changed();
    this.pump();
  }

  /** Uploads a failed file again. */
  retry(id: string): void {
    const item = this.items.find((i) => i.id === id);
    if (item === undefined || item.status !== 'failed') return;
    Object.assign(item, { status: 'waiting', progress: 0, error: null, rateLimited: 0 });
    this.changed();
    this.pump();
  }

  /** Takes a file off the message, stopping its upload (an uploaded file no message carries is purged by the server). */
  remove(id: string): void {
    const index = this.items.findIndex((i) => i.id === id);
    const item = this.items[index];
    if (item === undefined) return;
    this.items.splice(index, 1);
    this.stop(item);
    this.changed();
    this.pump();
  }

  /** The message goes once every file is up (the composer watches `sendRequested && ready`). */
  requestSend(): void {
    this.sendRequested = true;
    this.changed();
  }

  cancelSend(): void {
    this.sendRequested = false;
    this.changed();
  }

  /** The uploaded files, in the order they were added, and a fresh start for the next message. */
  take(): FileRef[] {
    const refs = this.items.flatMap((i) => (i.ref === null ? [] : [i.ref]));
    for (const item of this.items.splice(0)) this.stop(item);
    this.sendRequested = false;
    this.refusal = null;
    this.changed();
    return refs;
  }

  /** Stops every upload; the page (or the conversation) is going away. */
  close(): void {
    this.closed = true;
    for (const item of this.items) this.stop(item);
    this.listeners.clear();
  }

  private pump(): void {
    if (this.target === null || this.closed) return;
    const concurrency = this.options.concurrency ?? 2;
    let running = this.items.filter((i) => i.status === 'uploading').length;
    for (const item of this.items) {
      if (running >= concurrency) break;
      if (item.status !== 'waiting' || item.retryTimer !== null) continue;
      running++;
      void this.upload(item, this.target);
    }
  }

  private async upload(item: Item, target: UploadTarget): Promise<void> {
    const abort = new AbortController();
    Object.assign(item, { status: 'uploading', progress: 0, abort });
    this.changed();
    try {
      const ref = await this.options.upload({
        target,
        file: item.file,
        name: item.name,
        signal: abort.signal,
        onProgress: (sent, total) => {
          if (item.abort !== abort || total <= 0) return;
          item.progress = Math.min(1, sent / total);
          this.changed();
        },
      });
      if (item.abort !== abort) return; // removed meanwhile
      Object.assign(item, { status: 'up', progress: 1, ref, abort: null });
    } catch (err) {
      if (item.abort !== abort) return;
      item.abort = null;
      const error = err instanceof UploadError ? err : new UploadError('internal', 'The upload failed.', 0);
      if (error.code === 'rate_limited' && item.rateLimited < MAX_RATE_LIMITED_RETRIES) {
        // The server asks to slow down: wait as long as it says, then try again by itself.
        item.rateLimited++;
        Object.assign(item, { status: 'waiting', progress: 0 });
        item.retryTimer = setTimeout(() => {
          item.retryTimer = null;
          this.pump();
        }, error.retryAfterMs ?? 1000);
      } else {
        Object.assign(item, { status: 'failed', progress: 0, error: error.message });
      }
    }
    this.changed();
    this.pump();
  }

  private stop(item: Item): void {
    const abort = item.abort;
    item.abort = null;
    abort?.abort();
    if (item.retryTimer !== null) clearTimeout(item.retryTimer);
    item.retryTimer = null;
  }

  private changed(): void {
    this.cached = null;
    for (const listener of [...this.listeners]) listener();
  }
}

/** A pasted image has no name of its own in some browsers. */
function nameOf(file: File): string {
  if (file.name !== '') return file.name;
  const extension = /^image\/(png|jpeg|gif|webp)$/.exec(file.type)?.[1];
  return `pasted-image.${extension === 'jpeg' ? 'jpg' : (extension ?? 'bin')}`;
}

function tooLargeSentence(names: string[], maxBytes: number): string {
  const limit = `a file may be at most ${formatBytes(maxBytes)}`;
  if (names.length === 1) return `${names[0]} is too large: ${limit}.`;
  const shown = names.slice(0, 3).join(', ');
  const more = names.length > 3 ? ` and ${names.length - 3} more` : '';
  return `${shown}${more} are too large: ${limit}.`;
}
