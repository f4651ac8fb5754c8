/**
 * The browser's (and tests') side of a DocRoom: keeps a Y.Doc and its awareness in step with everyone else's, with
 * the interface people know from y-websocket's WebsocketProvider (`status`, `synced`, `awareness`, `on('sync')`),
 * carried by a Colyseus room that reconnects by itself (roomLink.ts).
 *
 * Edits made while disconnected stay in the Y.Doc; every (re)join runs the y-protocols handshake (client step 1,
 * server step 2 + step 1, client step 2), which sends the server exactly what it lacks, so offline edits merge when
 * the connection returns. In a browser, going offline closes the room at once (the `offline` event) instead of
 * waiting for the socket to notice, and `online` rejoins.
 *
 * @example
 *   const provider = DocProvider.open({ endpoint: location.origin, docId, token });
 *   provider.on('sync', (synced) => synced && console.log(provider.doc.getXmlFragment('default').toString()));
 *   provider.awareness.setLocalStateField('user', { name: 'Ann', color: '#2563eb' });
 *   provider.destroy();
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import { messageYjsSyncStep2, readSyncMessage, writeSyncStep1, writeUpdate } from 'y-protocols/sync';
import { docServerMessages, type DocServerMessages, type ErrorPayload } from '../../../engine/protocol.ts';
import { DocCache, FROM_CACHE } from './docCache.ts';
import { RoomLink } from './roomLink.ts';
import type { KeyValueStore } from './types.ts';

export type DocStatus = 'connecting' | 'connected' | 'disconnected';

export interface DocProviderOptions {
  endpoint: string;
  docId: string;
  /** The visitor's conversation token; owners are recognised by their session cookie. */
  token?: string;
  /** Node only: headers for the connection (e.g. `cookie` with an owner's session). */
  headers?: Record<string, string>;
  /** An existing document to keep in step (default: a new one). */
  doc?: Y.Doc;
  /** Keeps a copy between visits (the browser's localStorage), so offline edits survive a closed tab (docCache.ts). */
  cache?: KeyValueStore;
}

interface DocEvents {
  status: DocStatus;
  sync: boolean;
  /** An error from the server about something this client sent, or why the link ended. */
  error: ErrorPayload;
  welcome: DocServerMessages['welcome'];
}

/** Codes after which sending the same again cannot succeed: the person is told, nothing is retried. */
const MIN_RESYNC_WAIT_MS = 1000;
const PERMANENT = new Set(['too_large', 'forbidden', 'bad_request', 'not_found', 'unauthorized']);

export class DocProvider {
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  status: DocStatus = 'connecting';
  synced = false;
  /** Document, participant and limits, from the server's welcome. */
  welcome: DocServerMessages['welcome'] | null = null;
  lastError: ErrorPayload | null = null;
  private link: RoomLink<typeof docServerMessages> | null = null;
  private readonly listeners = new Map<keyof DocEvents, Set<(value: never) => void>>();
  private resyncTimer: ReturnType<typeof setTimeout> | null = null;
  private destroyed = false;
  private readonly onOffline = (): void => this.goOffline();
  private readonly onOnline = (): void => this.connect();
  private readonly onPageHide = (): void => this.cache?.flush();
  private readonly cache: DocCache | null;

  private constructor(private readonly options: DocProviderOptions) {
    this.doc = options.doc ?? new Y.Doc();
    this.awareness = new Awareness(this.doc);
    this.cache = options.cache ? new DocCache(options.cache, options.docId, this.doc) : null;
    this.cache?.restore();
    this.doc.on('update', this.onDocUpdate);
    this.awareness.on('update', this.onAwarenessUpdate);
    if (typeof window !== 'undefined') {
      window.addEventListener('offline', this.onOffline);
      window.addEventListener('online', this.onOnline);
      window.addEventListener('pagehide', this.onPageHide);
    }
  }

  /**
   * Connects at once, whatever `navigator.onLine` says: it is false on a machine with no network but loopback (a
   * Knock on the same machine, or on a LAN with no router, is still reachable), so a failed attempt, retried with
   * backoff, is the only sure answer. The browser's `offline` and `online` events, real changes, still close and
   * reopen the connection.
   */
  static open(options: DocProviderOptions): DocProvider {
    const provider = new DocProvider(options);
    provider.connect();
    return provider;
  }

  on<K extends keyof DocEvents>(event: K, listener: (value: DocEvents[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (value: never) => void);
    return () => set.delete(listener as (value: never) => void);
  }

  /** Resolves once synced with the server (at once if it is). */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.on('sync', (synced) => {
        if (!synced) return;
        off();
        resolve();
      });
    });
  }

  /** Leaves the room (others see this cursor go) and stops reconnecting. The Y.Doc stays usable. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    if (typeof window !== 'undefined') {
      window.removeEventListener('offline', this.onOffline);
      window.removeEventListener('online', this.onOnline);
      window.removeEventListener('pagehide', this.onPageHide);
    }
    this.cache?.flush();
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    removeAwarenessStates(this.awareness, [this.doc.clientID], 'local');
    this.doc.off('update', this.onDocUpdate);
    this.awareness.off('update', this.onAwarenessUpdate);
    this.awareness.destroy();
    await this.link?.close();
    this.link = null;
    this.setStatus('disconnected');
  }

  // --- connection -----------------------------------------------------------------------------------------------------
  private connect(): void {
    if (this.destroyed || this.link) return;
    const { endpoint, docId, token, headers } = this.options;
    const link: RoomLink<typeof docServerMessages> = new RoomLink({
      endpoint,
      roomName: 'doc',
      schemas: docServerMessages,
      ...(headers ? { headers } : {}),
      options: () => (token ? { docId, token } : { docId }),
      onMessage: (type, payload) => this.onMessage(type, payload as never),
      onJoined: () => {
        this.setStatus('connected');
        this.sendStep1();
        const local = this.awareness.getLocalState();
        if (local !== null) this.send('awareness', encodeAwarenessUpdate(this.awareness, [this.doc.clientID]));
      },
      onDisconnected: () => this.lostServer(),
      onEnded: (reason) => {
        if (this.link === link) this.link = null;
        this.lostServer();
        this.report({ code: String(reason.code), message: reason.message });
      },
    });
    this.link = link;
    this.setStatus('connecting');
    link.start();
  }

  private goOffline(): void {
    const link = this.link;
    this.link = null;
    void link?.close();
    this.lostServer();
  }

  private lostServer(): void {
    this.setSynced(false);
    // Other people's cursors are only known through the server: without it they would freeze in place.
    const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.doc.clientID);
    if (others.length > 0) removeAwarenessStates(this.awareness, others, this);
    this.setStatus(this.link && !this.destroyed ? 'connecting' : 'disconnected');
  }

  private send(type: 'sync' | 'awareness', bytes: Uint8Array): boolean {
    return this.status === 'connected' && (this.link?.send(type, bytes) ?? false);
  }

  private sendStep1(): void {
    const encoder = encoding.createEncoder();
    writeSyncStep1(encoder, this.doc);
    this.send('sync', encoding.toUint8Array(encoder));
  }

  // --- incoming -------------------------------------------------------------------------------------------------------
  private onMessage<K extends keyof DocServerMessages>(type: K, payload: DocServerMessages[K]): void {
    switch (type) {
      case 'welcome':
        this.welcome = payload as DocServerMessages['welcome'];
        this.emit('welcome', this.welcome);
        break;
      case 'sync': {
        const decoder = decoding.createDecoder(payload as Uint8Array);
        const reply = encoding.createEncoder();
        const kind = readSyncMessage(decoder, reply, this.doc, this);
        if (encoding.length(reply) > 0) this.send('sync', encoding.toUint8Array(reply));
        if (kind === messageYjsSyncStep2) this.setSynced(true);
        break;
      }
      case 'awareness':
        applyAwarenessUpdate(this.awareness, payload as Uint8Array, this);
        break;
      case 'error':
        this.onServerError(payload as ErrorPayload);
        break;
    }
  }

  private onServerError(error: ErrorPayload): void {
    this.report(error);
    if (PERMANENT.has(error.code)) return;
    // A change the server did not take (too fast, or a failure on its side): after the wait, the handshake sends
    // everything it still lacks.
    // At least a second: the handshake is two messages (step 1, then step 2 with the edits), and a wait of exactly
    // one token's refill would let step 1 through only to have step 2 refused again, for ever.
    const retryAfterMs = Math.max(MIN_RESYNC_WAIT_MS, typeof error.data?.retryAfterMs === 'number' ? error.data.retryAfterMs : 0);
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      this.sendStep1();
    }, retryAfterMs);
  }

  // --- outgoing -------------------------------------------------------------------------------------------------------
  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin !== FROM_CACHE) this.cache?.changed();
    if (origin === this || origin === FROM_CACHE) return;
    const encoder = encoding.createEncoder();
    writeUpdate(encoder, update);
    // Not connected: the edit stays in the document and goes with the next handshake.
    this.send('sync', encoding.toUint8Array(encoder));
  };

  private readonly onAwarenessUpdate = (change: { added: number[]; updated: number[]; removed: number[] }, origin: unknown): void => {
    if (origin === this) return;
    // Only this client's own state: the server relays everyone else's.
    const mine = [...change.added, ...change.updated, ...change.removed].filter((id) => id === this.doc.clientID);
    if (mine.length > 0) this.send('awareness', encodeAwarenessUpdate(this.awareness, mine));
  };

  // --- events ---------------------------------------------------------------------------------------------------------
  private setStatus(status: DocStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.emit('status', status);
  }

  private setSynced(synced: boolean): void {
    if (synced === this.synced) return;
    this.synced = synced;
    this.emit('sync', synced);
  }

  private report(error: ErrorPayload): void {
    this.lastError = error;
    this.emit('error', error);
  }

  private emit<K extends keyof DocEvents>(event: K, value: DocEvents[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as (v: DocEvents[K]) => void)(value);
      } catch (err) {
        // A listener's bug must not stop the others, nor the sync; it is not swallowed either.
        setTimeout(() => {
          throw err;
        });
      }
    }
  }
}
