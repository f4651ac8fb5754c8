/**
 * One conversation (alice and her visitor Vic) in a real in-memory SQLite store, with a ConversationLogic driven
 * directly, peers with recording transports and a manual clock. Unit tests of rooms/conversation start here.
 */
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { LocalPresence } from '@colyseus/core';
import { ConversationLog } from '../../engine/conversationLog.ts';
import { Files } from '../../engine/files.ts';
import type { Blobs } from '../../engine/ports/blobs.ts';
import { Hub } from '../../engine/hub.ts';
import { createLogger } from '../../engine/logger.ts';
import type { RateLimitConfig } from '../../engine/config.ts';
import type { Account, Conversation, Participant, Storage } from '../../engine/ports/storage.ts';
import type { ConversationClientMessages, ConversationServerMessages, MessageRecord } from '../../engine/protocol.ts';
import { ConversationLogic } from '../../rooms/conversation/conversationLogic.ts';
import type { CallConfig, CallNotice } from '../../rooms/conversation/callLogic.ts';
import type { MediaRouter } from '../../engine/ports/mediaRouter.ts';
import { IceServerIssuer } from '../../engine/turn.ts';
import { ManualClock, T0, gatedStorage, makePeer, type GatedStorage, type TestPeer } from './roomHarness.ts';

export type ConvPeer = TestPeer<ConversationServerMessages>;

export interface ConversationFixture {
  storage: SqliteStorage;
  gated: GatedStorage;
  clock: ManualClock;
  account: Account;
  conversation: Conversation;
  owner: Participant;
  visitor: Participant;
  logic: ConversationLogic;
  /** The conversation's log: what a knock, a game or a channel would write through. */
  log: ConversationLog;
  hub: Hub;
  /** Conversation ids whose owner's summary was marked changed, in order. */
  summaries: string[];
  /** What the owner's console was told about calls, in order. */
  notices: CallNotice[];
  /** Whether a call keeps the room open, as last told (onBusy). */
  busy: { now: boolean; changes: boolean[] };
  ownerPeer(id?: string, opts?: { sessionHash?: string; rates?: PeerRates }): ConvPeer;
  visitorPeer(id?: string, opts?: { rates?: PeerRates }): ConvPeer;
  /** Joins and waits for the catch-up to be sent. */
  join(peer: ConvPeer, since?: number): Promise<ConvPeer>;
  send(peer: ConvPeer, n: number | string, body?: string): Promise<void>;
  stored(): Promise<MessageRecord[]>;
  participant(id: string): Promise<Participant>;
  close(): Promise<void>;
}

export interface PeerRates {
  messages?: RateLimitConfig;
  signals?: RateLimitConfig;
}

/** A valid clientMsgId (8 to 64 of [A-Za-z0-9_-]) derived from a number, so a test can repeat one on purpose. */
export function cmid(n: number | string): string {
  return `cmid-${String(n).padStart(4, '0')}`;
}

/** The call settings unit tests run with, unless a test says otherwise. */
export const testCallConfig: CallConfig = {
  ringTimeoutMs: 45_000,
  rejoinGraceMs: 30_000,
  meshMax: 4,
  maxMembers: 12,
  callStarts: { perWindow: 1000, windowMs: 1000 },
  callSignals: { perWindow: 1000, windowMs: 1000 },
};

/** A STUN and a TURN server, with a TURN secret, so tickets carry minted credentials. */
export const testIce = {
  iceServers: [{ urls: ['stun:stun.knock.test:3478'] }, { urls: ['turn:turn.knock.test:3478?transport=udp'] }],
  turnSecret: 'a-test-turn-secret-of-some-length',
  turnTtlMs: 3600_000,
};

export interface CallOptions {
  config?: Partial<CallConfig>;
  mediaRouter?: MediaRouter | null;
}

export async function conversationFixture(
  opts: { seedMessages?: number; ownerOnline?: boolean; storage?: (real: Storage) => Storage; calls?: CallOptions; summaryIntervalMs?: number } = {},
): Promise<ConversationFixture> {
  const storage = SqliteStorage.open({ file: ':memory:' });
  const clock = new ManualClock();
  const account = await storage.createAccount({ handle: 'alice', displayName: 'Alice', passwordHash: 'not-a-hash', at: T0 });
  const created = await storage.createConversation({ ownerAccountId: account.id, tokenHash: 'token-hash-1', visitorName: 'Vic', at: T0 });
  const { owner, visitor } = created;
  for (let i = 1; i <= (opts.seedMessages ?? 0); i++) {
    await storage.appendMessage({ conversationId: created.conversation.id, senderId: visitor.id, clientMsgId: cmid(`seed${i}`), body: `seed ${i}`, event: { kind: 'text' }, at: T0 + i });
  }
  const conversation = (await storage.getConversation(created.conversation.id))!;
  const gated = gatedStorage(opts.storage ? opts.storage(storage) : storage);
  const summaries: string[] = [];
  const notices: CallNotice[] = [];
  const busy = { now: false, changes: [] as boolean[] };
  // The same door as in the server: a real ConversationLog on an in-memory Hub, whose topic feeds the logic's relay.
  const hub = new Hub(new LocalPresence(), { presenceTtlMs: 6000, logger: createLogger('silent') });
  const log = new ConversationLog({ storage: gated.storage, hub, clock, timers: clock, logger: createLogger('silent'), summaryDelayMs: 50, ...(opts.summaryIntervalMs !== undefined ? { summaryIntervalMs: opts.summaryIntervalMs } : {}) });
  const summaryChanged = log.summaryChanged.bind(log);
  log.summaryChanged = (id) => {
    summaries.push(id);
    summaryChanged(id);
  };
  // The conversation logic only looks files up (uploads are HTTP's): blobs are never touched here, and say so if they are.
  const noBlobs = new Proxy({} as Blobs, {
    get: () => () => Promise.reject(new Error('the conversation logic does not read or write file contents')),
  });
  const files = new Files({ storage: gated.storage, blobs: noBlobs, clock, logger: createLogger('silent'), limits: { maxUploadBytes: 1024, maxFilesPerMessage: 10, ownerQuotaBytes: 1024 ** 2 } });
  const logic = new ConversationLogic(
    {
      storage: gated.storage,
      log,
      files,
      clock,
      logger: createLogger('silent'),
      calls: {
        timers: clock,
        config: { ...testCallConfig, ...opts.calls?.config },
        ice: new IceServerIssuer(testIce, clock),
        mediaRouter: opts.calls?.mediaRouter ?? null,
        notifyOwner: (notice) => notices.push(notice),
        onBusy: (b) => {
          busy.now = b;
          busy.changes.push(b);
        },
      },
    },
    conversation,
    [owner, visitor],
    opts.ownerOnline ?? false,
  );
  await hub.onConversation(conversation.id, (message) => logic.relay(message));

  const fixture: ConversationFixture = {
    storage,
    gated,
    clock,
    account,
    conversation,
    owner,
    visitor,
    logic,
    log,
    hub,
    summaries,
    notices,
    busy,
    ownerPeer: (id = 'owner-1', o = {}) =>
      makePeer(
        id,
        { role: 'owner', participantId: owner.id, accountId: account.id, sessionHash: o.sessionHash ?? 'session-1', name: owner.name },
        clock,
        o.rates,
      ),
    visitorPeer: (id = 'visitor-1', o = {}) =>
      makePeer(id, { role: 'visitor', participantId: visitor.id, accountId: null, sessionHash: null, name: visitor.name }, clock, o.rates),
    async join(peer, since) {
      await logic.join(peer, since);
      return peer;
    },
    send(peer, n, body = `message ${n}`) {
      const message: ConversationClientMessages['send'] = { clientMsgId: cmid(n), body };
      return logic.dispatch(peer, 'send', message);
    },
    stored: () => storage.messagesAfter(conversation.id, 0, 1000),
    async participant(id) {
      const found = (await storage.getParticipants(conversation.id)).find((p) => p.id === id);
      if (!found) throw new Error(`no participant ${id}`);
      return found;
    },
    close: () => storage.close(),
  };
  return fixture;
}
