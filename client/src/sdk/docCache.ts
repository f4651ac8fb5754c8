/**
 * A copy of a document kept in the browser between visits (localStorage through a KeyValueStore), so edits made
 * offline survive a closed tab or a crashed laptop: the next visit loads the copy first, and the handshake sends
 * the server whatever it lacks. Keeping a copy for good is safe: Yjs merges are monotonic, so an old copy never
 * brings back what was deleted since. It also makes reopening a large document quicker (the server sends only
 * what changed since the copy). Documents over MAX_CACHED_BYTES are not kept (localStorage holds about 5 MB).
 */
import { fromBase64, toBase64 } from 'lib0/buffer';
import * as Y from 'yjs';
import type { KeyValueStore } from './types.ts';

const MAX_CACHED_BYTES = 1024 * 1024;
const SAVE_AFTER_MS = 500;

/** The origin of what the copy brings into the document. */
export const FROM_CACHE = Symbol('docCache');

export class DocCache {
  private readonly key: string;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Once the document outgrew the copy, encoding it at every burst would be wasted work. */
  private tooLarge = false;

  constructor(
    private readonly store: KeyValueStore,
    docId: string,
    private readonly doc: Y.Doc,
  ) {
    this.key = `knock:doc:${docId}`;
  }

  /** Brings the kept copy into the document (before connecting); a copy that cannot be read is dropped. */
  restore(): void {
    const saved = this.store.get(this.key);
    if (saved === null) return;
    try {
      Y.applyUpdate(this.doc, fromBase64(saved), FROM_CACHE);
    } catch {
      this.store.remove(this.key);
    }
  }

  /** Saves soon (changes come in bursts: one save per burst). */
  changed(): void {
    if (this.tooLarge) return;
    this.timer ??= setTimeout(() => this.save(), SAVE_AFTER_MS);
  }

  /** Saves now if a save is due (the page is going away, the provider closes). */
  flush(): void {
    if (this.timer !== null) this.save();
  }

  private save(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const state = Y.encodeStateAsUpdate(this.doc);
    this.tooLarge = state.byteLength > MAX_CACHED_BYTES;
    if (this.tooLarge) this.store.remove(this.key);
    else this.store.set(this.key, toBase64(state));
  }
}
