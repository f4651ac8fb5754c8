/**
 * What the controller (bench/run.ts) and the load processes (bench/load/worker.ts) say to each other over IPC.
 * Every request carries an id; the worker answers each with the same id, once.
 */
import type { HistogramData } from '../lib/histogram.ts';

/**
 * How clients talk to the server under test: raw `ws` frames, colyseus.js (bare relay rooms or Knock's), or XMPP
 * (ejabberd, Prosody) with the load processes' own client (xmppClient.ts).
 */
export type WireProtocol = 'ws' | 'colyseus' | 'knock' | 'xmpp';

/** An XMPP account on the server under test (registered before the load: bench/peers/xmppPeer.ts). */
export interface XmppAccount {
  /** The XMPP domain of the server's one virtual host. */
  domain: string;
  username: string;
  password: string;
}

/** One chat pair: two people in one conversation (Knock: the owner's device and a visitor). */
export interface PairSpec {
  id: string;
  /** http://127.0.0.1:<port> of the process this pair is matched by. */
  endpoint: string;
  /** Knock only: the owner, logged in (session token for the knock_session cookie). */
  owner?: { handle: string; token: string };
  /** XMPP only: the two users (side 0 and side 1), each logged in on its own connection. */
  xmpp?: [XmppAccount, XmppAccount];
}

/** One idle connection: a visitor with a URL open, an owner online, or a plain socket. */
export interface IdleSpec {
  endpoint: string;
  /** The URL's handle (absent for plain ws). */
  handle?: string;
  /** Owners: their session token. */
  token?: string;
  /** XMPP only: the user logged in on this connection (available presence sent, then idle). */
  xmpp?: XmppAccount;
}

export type TrafficPlan =
  /** Open loop: `ratePerSec` messages per second from this process, whatever the answers do. */
  | { mode: 'open'; ratePerSec: number; warmupMs: number; measureMs: number; drainMs: number }
  /** Closed loop: `window` messages in flight per pair; each delivery sends the next (saturation). */
  | { mode: 'closed'; window: number; warmupMs: number; measureMs: number; drainMs: number };

/** What a pair is: two ends of a conversation (chat), or two editors of one document (Knock only, docPair.ts). */
export type PairKind = 'chat' | 'doc';

/** One Pong game (Knock only): a visitor knocks at the owner's URL and invites them; the owner accepts. */
export interface GameSpec {
  id: string;
  endpoint: string;
  owner: { handle: string; token: string };
}

export type Command =
  | { cmd: 'openPairs'; protocol: WireProtocol; pairs: PairSpec[]; concurrency: number; timeoutMs: number; kind?: PairKind }
  | { cmd: 'closePairs'; timeoutMs: number }
  | { cmd: 'traffic'; plan: TrafficPlan }
  /** `deadline` (epoch ms): no join is started after it; the specs left are reported as skipped. */
  | { cmd: 'openIdle'; protocol: WireProtocol; role: 'visitor' | 'owner'; specs: IdleSpec[]; concurrency: number; timeoutMs: number; deadline?: number }
  | { cmd: 'closeIdle'; timeoutMs: number }
  /** How many idle connections are still open, and how many the server closed. */
  | { cmd: 'idleStatus' }
  | { cmd: 'openUrl'; specs: Array<{ endpoint: string; handle: string }>; concurrency: number; timeoutMs: number }
  /** Starts games (added to those this process already plays); they play until left. */
  | { cmd: 'openGames'; games: GameSpec[]; concurrency: number; timeoutMs: number }
  /** Counts what the games this process plays receive over `measureMs`. */
  | { cmd: 'gameWindow'; measureMs: number }
  /** Leaves every game (the conversation sockets stay), or leaves them and closes everything. */
  | { cmd: 'leaveGames'; close: boolean; timeoutMs: number }
  | { cmd: 'exit' };

export interface OpenResult {
  opened: number;
  failed: number;
  /** Not attempted: the deadline passed first. */
  skipped: number;
  /** From the first attempt to the last completion. */
  elapsedMs: number;
  /** Per connection: from asking to join until ready (welcome received, or socket open for plain ws). */
  latency: HistogramData;
  firstErrors: string[];
}

export interface IdleStatus {
  open: number;
  dropped: number;
}

export interface TrafficResult {
  /** Messages sent during the measurement window, and in all (warm-up and window). */
  sentInWindow: number;
  sent: number;
  /** Deliveries (the other party received `message`) that happened during the window, and in all (drain included). */
  deliveredInWindow: number;
  delivered: number;
  acked: number;
  /** Refused by the server (`error` naming the clientMsgId). */
  errors: number;
  /** Sent (any time) and still not delivered when the drain ended. */
  undelivered: number;
  /** Send-to-receipt latency of messages sent during the window. */
  latency: HistogramData;
  /** Send-to-ack latency (Colyseus and Knock), same messages. */
  ackLatency: HistogramData;
  /** Open loop: how far behind its schedule this process fell at worst (ms). */
  maxLagMs: number;
  windowMs: number;
  firstErrors: string[];
}

export interface OpenUrlResult {
  done: number;
  failed: number;
  /** GET /<handle>, GET its profile, join its UserRoom, welcome received: the page is ready to chat. */
  openToReady: HistogramData;
  /** Knock (POST), join the new conversation, catch-up received, first message sent and acknowledged. */
  knockToFirstAck: HistogramData;
  firstErrors: string[];
}

export interface GameWindowResult {
  /** Games this process plays, and those of them not over (by score) at the end of the window. */
  games: number;
  running: number;
  /** States the first player of each running game received in the window: ticks served to one player. */
  ticks: number;
  /** States both players of the running games received. */
  states: number;
  /** Inputs the players sent (a paddle changing direction). */
  inputs: number;
  windowMs: number;
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
export type Request = { id: number } & Command;
