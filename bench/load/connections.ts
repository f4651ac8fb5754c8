/**
 * The clients of the load processes, speaking each server's real protocol:
 * - `ws`: raw `ws` sockets to the plain relay (bench/servers/plainWsRelay.ts);
 * - `colyseus`: colyseus.js to the bare Colyseus relay (bench/servers/bareColyseus.ts);
 * - `knock`: colyseus.js and the JSON API, as Knock's browser SDK does (client/src/sdk): a visitor knocks
 *   (POST /_/api/u/<handle>/knock), then visitor and owner (session cookie) join the ConversationRoom;
 * - `xmpp`: the load processes' own lean XMPP client to ejabberd and Prosody (xmppPair.ts).
 * A chat pair reports what happens to its messages to a `ChatSink`; the traffic engine (traffic.ts) owns it.
 */
import { Client, type Room } from 'colyseus.js';
import WebSocket from 'ws';
import { SESSION_COOKIE } from '../../engine/cookies.ts';
import { ROOMS_PATH } from '../../engine/protocol.ts';
import type { IdleSpec, PairSpec, WireProtocol } from './messages.ts';
import { openXmppIdle, openXmppPair } from './xmppPair.ts';

export interface ChatSink {
  /** The other party received the message. */
  delivered(clientMsgId: string): void;
  /** The server acknowledged it to its sender (Colyseus and Knock). */
  acked(clientMsgId: string): void;
  /** The server refused it (`ref` is the clientMsgId when the error is about one message). */
  refused(ref: string | undefined, text: string): void;
}

export interface ChatPair {
  /** Sends from one end (0: visitor / side a, 1: owner / side b) to the other. */
  send(from: 0 | 1, clientMsgId: string, body: string): void;
  close(): Promise<void>;
}

export interface IdleConnection {
  /** False once the server closed it (e.g. a missed pong) or it was closed here. */
  readonly open: boolean;
  close(): Promise<void>;
}

/**
 * Clients per endpoint: visitors share one (no headers); an owner needs one of their own (their cookie). Knock serves
 * matchmaking under `/_/` (engine/protocol.ts ROOMS_PATH); bare Colyseus where Colyseus puts it.
 */
export class Clients {
  private readonly anonymous = new Map<string, Client>();

  visitor(endpoint: string, protocol: WireProtocol = 'knock'): Client {
    const base = roomsEndpoint(endpoint, protocol);
    let client = this.anonymous.get(base);
    if (!client) this.anonymous.set(base, (client = new Client(base)));
    return client;
  }

  owner(endpoint: string, token: string): Client {
    return new Client(roomsEndpoint(endpoint, 'knock'), { headers: ownerHeaders(token) });
  }
}

function roomsEndpoint(endpoint: string, protocol: WireProtocol): string {
  return protocol === 'knock' ? endpoint + ROOMS_PATH : endpoint;
}

/** What an owner's logged-in browser sends with every request and WebSocket: the session cookie. */
export function ownerHeaders(token: string): Record<string, string> {
  return { cookie: `${SESSION_COOKIE}=${encodeURIComponent(token)}` };
}

export async function openPair(protocol: WireProtocol, spec: PairSpec, clients: Clients, sink: ChatSink, timeoutMs: number): Promise<ChatPair> {
  switch (protocol) {
    case 'ws':
      return openWsPair(spec, sink, timeoutMs);
    case 'colyseus':
      return openColyseusPair(spec, clients, sink, timeoutMs);
    case 'knock':
      return openKnockPair(spec, clients, sink, timeoutMs);
    case 'xmpp':
      return openXmppPair(spec, sink, timeoutMs);
  }
}

// --- plain ws ---------------------------------------------------------------------------------------------------
function wsUrl(endpoint: string, path: string): string {
  return endpoint.replace(/^http/, 'ws') + path;
}

function openSocket(url: string, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no connection to ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.terminate();
  });
}

const ID_KEY = '"clientMsgId":"';
/** The id from the JSON this process itself wrote (below): a substring, cheaper than JSON.parse for the load. */
function clientMsgIdOf(json: string): string {
  const start = json.indexOf(ID_KEY) + ID_KEY.length;
  return json.slice(start, json.indexOf('"', start));
}

async function openWsPair(spec: PairSpec, sink: ChatSink, timeoutMs: number): Promise<ChatPair> {
  const ends = await Promise.all(
    (['a', 'b'] as const).map((side) => openSocket(wsUrl(spec.endpoint, `/relay?pair=${encodeURIComponent(spec.id)}&side=${side}`), timeoutMs)),
  );
  for (const ws of ends) {
    ws.on('error', () => undefined);
    ws.on('message', (data) => sink.delivered(clientMsgIdOf(String(data))));
  }
  return {
    send(from, clientMsgId, body) {
      ends[from]!.send(`{"type":"send","clientMsgId":"${clientMsgId}","body":${JSON.stringify(body)}}`);
    },
    close: async () => {
      await Promise.all(ends.map(closeSocket));
    },
  };
}

// --- colyseus.js (bare relay and Knock) ----------------------------------------------------------------------------
/** Resolves with the first message of `type` (registered before it can arrive: Colyseus holds messages sent during
 * onJoin until the client acknowledged the join). */
export function nextMessage<T>(room: Room, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unbind();
      reject(new Error(`no "${type}" within ${timeoutMs} ms (room ${room.name})`));
    }, timeoutMs);
    const unbind = room.onMessage(type, (payload: T) => {
      clearTimeout(timer);
      unbind();
      resolve(payload);
    });
  });
}

/**
 * joinOrCreate that rejects with the server's refusal, or a timeout, instead of hanging. Messages of types nobody
 * listens to are taken and dropped (colyseus.js would print a warning for each).
 */
async function join(client: Client, roomName: string, options: Record<string, unknown>, timeoutMs: number): Promise<Room> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`joining ${roomName} took over ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const room = await Promise.race([client.joinOrCreate(roomName, options), timeout]);
    room.onMessage('*', () => undefined);
    return room;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Drops the connection as a closed tab or a lost network does: the socket is destroyed at once, with no LEAVE and
 * no closing handshake to wait for, so a busy server (a backlog of messages, thousands of disconnections) cannot
 * hold the load process up; the server handles the disconnection at its own pace.
 */
function leave(room: Room): Promise<void> {
  const ws = (room.connection.transport as { ws?: WebSocket }).ws;
  if (ws) {
    ws.terminate();
    return Promise.resolve();
  }
  return room.leave(false).then(
    () => undefined,
    () => undefined,
  );
}

/** Routes a chat room's messages to the sink. */
function wireChat(room: Room, sink: ChatSink): void {
  room.onMessage('ack', (m: { clientMsgId: string }) => sink.acked(m.clientMsgId));
  room.onMessage('message', (m: { clientMsgId: string }) => sink.delivered(m.clientMsgId));
  room.onMessage('error', (m: { ref?: string; code?: string; message?: string }) => sink.refused(m.ref, `${m.code}: ${m.message}`));
}

async function openColyseusPair(spec: PairSpec, clients: Clients, sink: ChatSink, timeoutMs: number): Promise<ChatPair> {
  const client = clients.visitor(spec.endpoint, 'colyseus');
  const a = await join(client, 'relay', { pair: spec.id }, timeoutMs);
  const b = await join(client, 'relay', { pair: spec.id }, timeoutMs);
  if (a.roomId !== b.roomId) throw new Error(`pair ${spec.id} landed in two rooms`);
  const ends = [a, b] as const;
  for (const room of ends) wireChat(room, sink);
  return {
    send(from, clientMsgId, body) {
      ends[from].send('send', { clientMsgId, body });
    },
    close: async () => {
      await Promise.all(ends.map(leave));
    },
  };
}

/** A visitor knocks at /<handle> (POST /_/api/u/<handle>/knock), as the page does: a new conversation and its token. */
export async function knockAt(endpoint: string, handle: string, name: string, timeoutMs: number): Promise<{ conversationId: string; token: string }> {
  const res = await fetch(`${endpoint}/_/api/u/${handle}/knock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`knock on /${handle}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { conversationId: string; token: string };
}

async function openKnockPair(spec: PairSpec, clients: Clients, sink: ChatSink, timeoutMs: number): Promise<ChatPair> {
  if (!spec.owner) throw new Error('a Knock pair needs an owner');
  const { conversationId, token } = await knockAt(spec.endpoint, spec.owner.handle, `Visitor ${spec.id}`, timeoutMs);
  const visitor = await join(clients.visitor(spec.endpoint), 'conversation', { conversationId, token }, timeoutMs);
  const visitorLive = nextMessage(visitor, 'messages', timeoutMs);
  const owner = await join(clients.owner(spec.endpoint, spec.owner.token), 'conversation', { conversationId }, timeoutMs);
  const ownerLive = nextMessage(owner, 'messages', timeoutMs);
  await Promise.all([visitorLive, ownerLive]);
  const ends = [visitor, owner] as const;
  for (const room of ends) wireChat(room, sink);
  return {
    send(from, clientMsgId, body) {
      ends[from].send('send', { clientMsgId, body });
    },
    close: async () => {
      await Promise.all(ends.map(leave));
    },
  };
}

// --- idle connections ----------------------------------------------------------------------------------------------
/**
 * A visitor with a URL open (joined its UserRoom, welcome received), an owner online at their URL (the same, with
 * their session), or a plain socket held open.
 */
export async function openIdle(protocol: WireProtocol, role: 'visitor' | 'owner', spec: IdleSpec, clients: Clients, timeoutMs: number): Promise<IdleConnection> {
  if (protocol === 'ws') {
    const ws = await openSocket(wsUrl(spec.endpoint, '/idle'), timeoutMs);
    ws.on('error', () => undefined);
    return {
      get open() {
        return ws.readyState === ws.OPEN;
      },
      close: () => closeSocket(ws),
    };
  }
  if (protocol === 'xmpp') return openXmppIdle(spec, timeoutMs);
  if (!spec.handle) throw new Error('an idle room connection needs a handle');
  const client = role === 'owner' ? clients.owner(spec.endpoint, spec.token ?? '') : clients.visitor(spec.endpoint, protocol);
  const room = await join(client, 'user', { handle: spec.handle }, timeoutMs);
  let open = true;
  room.onLeave(() => (open = false));
  const message = await nextMessage<{ role?: string }>(room, 'welcome', timeoutMs);
  if (role === 'owner' && protocol === 'knock' && message.role !== 'owner') throw new Error(`/${spec.handle}: joined, but not as its owner`);
  return {
    get open() {
      return open;
    },
    close: () => leave(room),
  };
}

export { join, leave };
