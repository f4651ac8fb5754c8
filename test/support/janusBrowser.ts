/**
 * What a browser does with an `sfu` pass from Knock, without the media: opens Janus's WebSocket API at the pass's
 * url (subprotocol `janus-protocol`), creates a session, attaches the VideoRoom and joins the room as a publisher
 * with the pass's pin and token. Tests use it to check that a pass opens its room, and only its room.
 *
 * @example
 *   expect(await tryJanusJoin(ticket.sfu)).toEqual({ joined: true });
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type { SfuJoin } from '../../engine/protocol.ts';

type JanusMessage = Record<string, unknown> & { janus?: string; transaction?: string };

export type JoinOutcome = { joined: true } | { joined: false; reason: string };

export async function tryJanusJoin(join: SfuJoin, timeoutMs = 5000): Promise<JoinOutcome> {
  const socket = await openSocket(join.url, timeoutMs);
  const token = join.params.apiToken;
  try {
    const ask = (message: JanusMessage) => request(socket, { ...message, ...(token !== undefined ? { token } : {}) }, timeoutMs);
    const created = await ask({ janus: 'create' });
    if (created.janus !== 'success') return { joined: false, reason: describe(created) };
    const sessionId = (created.data as { id: number }).id;
    const attached = await ask({ janus: 'attach', session_id: sessionId, plugin: 'janus.plugin.videoroom' });
    if (attached.janus !== 'success') return { joined: false, reason: describe(attached) };
    const handleId = (attached.data as { id: number }).id;
    const answer = await ask({
      janus: 'message',
      session_id: sessionId,
      handle_id: handleId,
      body: { request: 'join', ptype: 'publisher', room: Number(join.room), pin: join.params.pin, token: join.token, display: 'test' },
    });
    const data = (answer.plugindata as { data?: Record<string, unknown> } | undefined)?.data;
    if (data?.videoroom === 'joined') return { joined: true };
    return { joined: false, reason: describe(answer) };
  } finally {
    socket.close();
  }
}

function describe(answer: JanusMessage): string {
  const error = answer.error as { reason?: string } | undefined;
  const data = (answer.plugindata as { data?: { error?: string } } | undefined)?.data;
  return error?.reason ?? data?.error ?? JSON.stringify(answer).slice(0, 300);
}

function openSocket(url: string, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'janus-protocol');
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no WebSocket to ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Sends one request; resolves with the first answer to it that is not an `ack` (plugin events come after one). */
function request(socket: WebSocket, message: JanusMessage, timeoutMs: number): Promise<JanusMessage> {
  const transaction = randomBytes(9).toString('base64url');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error(`Janus did not answer ${String(message.janus)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (raw: WebSocket.RawData) => {
      const answer = JSON.parse(raw.toString()) as JanusMessage;
      if (answer.transaction !== transaction || answer.janus === 'ack') return;
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(answer);
    };
    socket.on('message', onMessage);
    socket.send(JSON.stringify({ ...message, transaction }));
  });
}
