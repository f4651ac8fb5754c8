/**
 * Messages written on this device and not yet acknowledged, in the order they were written. Kept in a
 * KeyValueStore (localStorage in the browser) so a reload, a crash or a closed laptop loses nothing: the
 * session resends them after every (re)join and the server's idempotency on clientMsgId makes that safe.
 *
 * A message with files enters the outbox once its files are uploaded, with what the server said of them (their ids
 * go in `send.files`): the resend after a reload carries the same files under the same clientMsgId. Files still
 * uploading when the page closes are not here (client/src/sdk/attachments.ts says why).
 */
import { fileRefSchema, type FileRef } from '../../../engine/protocol.ts';
import type { KeyValueStore } from './types.ts';

export interface PendingMessage {
  clientMsgId: string;
  body: string;
  at: number;
  /** The uploaded files the message carries; absent for text. */
  files?: FileRef[];
}

const storedFiles = fileRefSchema.array().min(1);

export class Outbox {
  private readonly items: PendingMessage[];

  constructor(
    private readonly store: KeyValueStore,
    private readonly key: string,
  ) {
    this.items = Outbox.load(store, key);
  }

  private static load(store: KeyValueStore, key: string): PendingMessage[] {
    try {
      const raw = JSON.parse(store.get(key) ?? '[]') as unknown;
      if (!Array.isArray(raw)) return [];
      return raw.filter(
        (m): m is PendingMessage =>
          typeof m === 'object' &&
          m !== null &&
          typeof m.clientMsgId === 'string' &&
          typeof m.body === 'string' &&
          typeof m.at === 'number' &&
          // Stored by this code, but read back from storage anyone could have edited: files must still be files.
          (m.files === undefined || storedFiles.safeParse(m.files).success),
      );
    } catch {
      return []; // a corrupt entry must not break the page
    }
  }

  all(): readonly PendingMessage[] {
    return this.items;
  }

  has(clientMsgId: string): boolean {
    return this.items.some((m) => m.clientMsgId === clientMsgId);
  }

  add(message: PendingMessage): void {
    this.items.push(message);
    this.save();
  }

  /** Removes and returns the message (acknowledged, or failed for good). */
  take(clientMsgId: string): PendingMessage | null {
    const index = this.items.findIndex((m) => m.clientMsgId === clientMsgId);
    if (index < 0) return null;
    const [message] = this.items.splice(index, 1);
    this.save();
    return message ?? null;
  }

  private save(): void {
    if (this.items.length === 0) this.store.remove(this.key);
    else this.store.set(this.key, JSON.stringify(this.items));
  }
}
