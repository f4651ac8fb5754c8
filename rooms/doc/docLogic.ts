/**
 * The logic of one co-edited document (DESIGN "DocRoom"), free of Colyseus: a Y.Doc and its awareness, relayed
 * between the members' connections with y-protocols' encodings, and kept in storage.
 *
 * Sync: a client sends step 1 (its state vector) on every join; the server answers step 2 (what the client lacks)
 * and its own step 1, which the client answers with step 2 (what the server lacks: edits made offline). After that,
 * updates flow both ways. Every update the server applies is relayed at once to the other connections and appended
 * to storage; after `compactUpdates` appends, and when the room closes, the stored updates are replaced by one
 * snapshot. A client whose update is lost (refused for speed, a dropped socket) runs the handshake again and loses
 * nothing: Yjs updates are idempotent and commutative.
 *
 * Bad input (malformed bytes, over a limit, too fast, someone else's cursor) gets an `error` naming what was wrong;
 * the document and the other connections are untouched.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import { messageYjsSyncStep1, messageYjsSyncStep2, messageYjsUpdate, writeSyncStep1, writeUpdate } from 'y-protocols/sync';
import { CloseCode, KnockError } from '../../engine/errors.ts';
import type { Logger } from '../../engine/logger.ts';
import type { Clock } from '../../engine/ports/clock.ts';
import type { DocumentRecord, DocumentStorage } from '../../engine/ports/documentStorage.ts';
import type { DocClientMessages, DocServerMessages } from '../../engine/protocol.ts';
import { rateLimited, type TokenBucket } from '../../engine/rateLimit.ts';
import { replyError, type Identity, type PeerTransport } from '../peer.ts';
import { MAX_AWARENESS_IDS_PER_PEER, decodeAwareness, encodeAwareness } from './awarenessGate.ts';

export interface DocLimits {
  maxUpdateBytes: number;
  maxDocBytes: number;
  compactUpdates: number;
}

export interface DocDeps {
  storage: DocumentStorage;
  clock: Clock;
  logger: Logger;
  limits: DocLimits;
}

export interface DocPeer {
  readonly id: string;
  readonly identity: Identity;
  readonly transport: PeerTransport<DocServerMessages>;
  /** Sync and awareness messages of this connection. */
  readonly bucket: TokenBucket;
}

export class DocLogic {
  readonly ydoc = new Y.Doc();
  readonly awareness = new Awareness(this.ydoc);
  private readonly peers = new Map<string, DocPeer>();
  /** Awareness id -> the connection that introduced it (only that one may change or remove it). */
  private readonly awarenessOwners = new Map<number, string>();
  /** When each connection last asked for a full sync (step 1). */
  private readonly lastStep1 = new Map<string, number>();
  /** Updates applied but not yet stored, merged into one row per write. */
  private pending: Uint8Array[] = [];
  private writing: Promise<void> | null = null;
  private lastUpdateId: number;
  private storedSinceSnapshot: number;
  /** Bytes of the last known full state plus every update since: at least the document's size, cheap to keep. */
  private sizeEstimate: number;
  private disposed = false;

  private constructor(
    private readonly deps: DocDeps,
    readonly doc: DocumentRecord,
    state: { lastUpdateId: number; updateCount: number; bytes: number },
  ) {
    this.lastUpdateId = state.lastUpdateId;
    this.storedSinceSnapshot = state.updateCount;
    this.sizeEstimate = state.bytes;
    // The server has no cursor of its own.
    this.awareness.setLocalState(null);
    this.ydoc.on('update', (update: Uint8Array, origin: unknown) => this.onDocUpdate(update, origin));
    this.awareness.on('update', (change: AwarenessChange, origin: unknown) => this.onAwarenessUpdate(change, origin));
  }

  /** The document as stored: its snapshot, then the updates after it. */
  static async load(deps: DocDeps, doc: DocumentRecord): Promise<DocLogic> {
    const state = await deps.storage.loadDocumentState(doc.id);
    const logic = new DocLogic(deps, doc, { lastUpdateId: state.lastUpdateId, updateCount: state.updates.length, bytes: state.bytes });
    Y.transact(logic.ydoc, () => {
      if (state.snapshot) Y.applyUpdate(logic.ydoc, state.snapshot);
      for (const update of state.updates) Y.applyUpdate(logic.ydoc, update);
    }, STORAGE);
    return logic;
  }

  get peerCount(): number {
    return this.peers.size;
  }

  join(peer: DocPeer): void {
    this.peers.set(peer.id, peer);
    const { maxUpdateBytes, maxDocBytes } = this.deps.limits;
    peer.transport.send('welcome', {
      doc: { id: this.doc.id, conversationId: this.doc.conversationId, title: this.doc.title },
      me: { participantId: peer.identity.participantId ?? '', role: peer.identity.role, name: peer.identity.name },
      limits: { maxUpdateBytes, maxDocBytes },
    });
    const states = [...this.awareness.getStates().keys()];
    if (states.length > 0) peer.transport.send('awareness', encodeAwarenessUpdate(this.awareness, states));
  }

  leave(peerId: string): void {
    if (!this.peers.delete(peerId)) return;
    this.lastStep1.delete(peerId);
    const owned = [...this.awarenessOwners].filter(([, owner]) => owner === peerId).map(([clientId]) => clientId);
    for (const clientId of owned) this.awarenessOwners.delete(clientId);
    // Everyone else sees this person's cursor go at once, not after awareness's 30 s timeout.
    if (owned.length > 0) removeAwarenessStates(this.awareness, owned, 'left');
  }

  /** Validated messages arrive here; every failure goes back to the peer as an `error` with `ref` (the type). */
  receive<T extends keyof DocClientMessages>(peer: DocPeer, type: T, bytes: DocClientMessages[T]): void {
    try {
      const verdict = peer.bucket.take();
      if (!verdict.ok) throw rateLimited('Document changes', verdict.retryAfterMs);
      if (type === 'sync') this.receiveSync(peer, bytes);
      else this.receiveAwareness(peer, bytes);
    } catch (err) {
      replyError(peer, err, type, this.deps.logger, { type, docId: this.doc.id });
    }
  }

  /** Closes the sockets of a logged-out session. */
  endSession(sessionHash: string): void {
    for (const peer of this.peers.values()) {
      if (peer.identity.sessionHash === sessionHash) peer.transport.close(CloseCode.loggedOut, 'You logged out.');
    }
  }

  /** Stores what is not stored yet, compacts, and releases the document. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    while (this.writing || this.pending.length > 0) await this.startFlush();
    if (this.storedSinceSnapshot > 0) await this.compact();
    this.awareness.destroy();
    this.ydoc.destroy();
  }

  // --- sync -------------------------------------------------------------------------------------------------------
  private receiveSync(peer: DocPeer, message: Uint8Array): void {
    const decoder = decoding.createDecoder(message);
    let kind: number;
    let payload: Uint8Array;
    try {
      kind = decoding.readVarUint(decoder);
      payload = decoding.readVarUint8Array(decoder);
    } catch {
      throw new KnockError('bad_request', 'The sync message could not be decoded.');
    }
    switch (kind) {
      case messageYjsSyncStep1:
        return this.answerStep1(peer, payload);
      case messageYjsSyncStep2:
      case messageYjsUpdate:
        return this.applyFrom(peer, payload);
      default:
        throw new KnockError('bad_request', `Unknown sync message kind ${kind}.`);
    }
  }

  private answerStep1(peer: DocPeer, stateVector: Uint8Array): void {
    // Answering encodes the whole document: once per connection and resync, not as often as keystrokes.
    const now = this.deps.clock.now();
    const wait = (this.lastStep1.get(peer.id) ?? -Infinity) + STEP1_EVERY_MS - now;
    if (wait > 0) throw rateLimited('Full syncs', wait);
    this.lastStep1.set(peer.id, now);
    try {
      Y.decodeStateVector(stateVector);
    } catch {
      throw new KnockError('bad_request', 'The state vector could not be decoded.');
    }
    const answer = encoding.createEncoder();
    encoding.writeVarUint(answer, messageYjsSyncStep2);
    encoding.writeVarUint8Array(answer, Y.encodeStateAsUpdate(this.ydoc, stateVector));
    peer.transport.send('sync', encoding.toUint8Array(answer));
    const ask = encoding.createEncoder();
    writeSyncStep1(ask, this.ydoc);
    peer.transport.send('sync', encoding.toUint8Array(ask));
  }

  private applyFrom(peer: DocPeer, update: Uint8Array): void {
    const { maxUpdateBytes, maxDocBytes } = this.deps.limits;
    if (update.byteLength > maxUpdateBytes) {
      throw new KnockError('too_large', `This change is too large (${update.byteLength} bytes; at most ${maxUpdateBytes}).`, { maxBytes: maxUpdateBytes });
    }
    try {
      // Reads every struct without applying any: garbage is refused before it can reach the document.
      Y.decodeUpdate(update);
    } catch {
      throw new KnockError('bad_request', 'The document update could not be decoded.');
    }
    if (this.sizeEstimate + update.byteLength > maxDocBytes) {
      this.sizeEstimate = Y.encodeStateAsUpdate(this.ydoc).byteLength;
      if (this.sizeEstimate + update.byteLength > maxDocBytes) {
        throw new KnockError('too_large', `The document is full (it may hold at most ${maxDocBytes} bytes).`, { maxBytes: maxDocBytes });
      }
    }
    Y.applyUpdate(this.ydoc, update, peer);
  }

  /** Every change to the document, whoever made it: relayed to the other connections, then stored. */
  private onDocUpdate(update: Uint8Array, origin: unknown): void {
    if (origin === STORAGE) return;
    const encoder = encoding.createEncoder();
    writeUpdate(encoder, update);
    const message = encoding.toUint8Array(encoder);
    for (const peer of this.peers.values()) if (peer !== origin) peer.transport.send('sync', message);
    this.sizeEstimate += update.byteLength;
    this.pending.push(update);
    void this.startFlush();
  }

  // --- persistence ------------------------------------------------------------------------------------------------
  /**
   * One writer at a time: `writing` is the running flush, cleared once it has settled. It starts on the next turn of
   * the event loop, so the changes of one turn (a burst of keystrokes, several people at once) share one row and one
   * commit: SQLite's commits are synchronous fsyncs.
   */
  private startFlush(): Promise<void> {
    this.writing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush()).finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  /** Writes pending updates, one row per batch, until none is left; compacts every `compactUpdates` rows. */
  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const merged = batch.length === 1 ? batch[0]! : Y.mergeUpdates(batch);
      try {
        this.lastUpdateId = await this.deps.storage.appendDocumentUpdate(this.doc.id, merged, this.deps.clock.now());
        this.storedSinceSnapshot++;
      } catch (err) {
        // The update is in memory: the next compaction stores the whole state, this one included.
        this.deps.logger.error({ err, docId: this.doc.id }, 'could not store a document update; compacting instead');
        this.storedSinceSnapshot = this.deps.limits.compactUpdates;
      }
      if (this.storedSinceSnapshot >= this.deps.limits.compactUpdates) await this.compact();
    }
  }

  private async compact(): Promise<void> {
    const snapshot = Y.encodeStateAsUpdate(this.ydoc);
    try {
      // Updates applied after this snapshot was taken are stored with higher ids and stay.
      await this.deps.storage.compactDocument(this.doc.id, snapshot, this.lastUpdateId, this.deps.clock.now());
      this.storedSinceSnapshot = 0;
      this.sizeEstimate = snapshot.byteLength + this.pending.reduce((n, u) => n + u.byteLength, 0);
    } catch (err) {
      this.deps.logger.error({ err, docId: this.doc.id }, 'could not compact a document');
    }
  }

  // --- awareness --------------------------------------------------------------------------------------------------
  private receiveAwareness(peer: DocPeer, update: Uint8Array): void {
    const entries = decodeAwareness(update);
    for (const entry of entries) {
      const owner = this.awarenessOwners.get(entry.clientId);
      if (owner !== undefined && owner !== peer.id) throw new KnockError('forbidden', 'This cursor belongs to someone else.');
    }
    const mine = [...this.awarenessOwners.values()].filter((owner) => owner === peer.id).length;
    const added = entries.filter((e) => !this.awarenessOwners.has(e.clientId)).length;
    if (mine + added > MAX_AWARENESS_IDS_PER_PEER) throw new KnockError('bad_request', 'Too many cursors for one connection.');
    for (const entry of entries) this.awarenessOwners.set(entry.clientId, peer.id);
    applyAwarenessUpdate(this.awareness, encodeAwareness(entries, peer.identity.name), peer);
  }

  private onAwarenessUpdate({ added, updated, removed }: AwarenessChange, origin: unknown): void {
    const changed = [...added, ...updated, ...removed];
    if (changed.length === 0) return;
    const message = encodeAwarenessUpdate(this.awareness, changed);
    for (const peer of this.peers.values()) if (peer !== origin) peer.transport.send('awareness', message);
  }
}

type AwarenessChange = { added: number[]; updated: number[]; removed: number[] };

/** At most one full sync (answer to step 1) per connection this often; a provider resyncs after 1 s at the soonest. */
const STEP1_EVERY_MS = 500;

/** Origin of what is loaded from storage: not relayed, not stored again. */
const STORAGE = Symbol('storage');
