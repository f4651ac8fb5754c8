/**
 * Just enough of STUN/TURN (RFC 5389, RFC 5766) to ask a TURN server for a relay the way a browser does: an
 * Allocate, answered 401 with a realm and a nonce, then again with the long-term credential (USERNAME, REALM, NONCE,
 * MESSAGE-INTEGRITY keyed with MD5(username:realm:password)). Tests use it to check that the credentials Knock mints
 * open coturn, and that expired or forged ones do not.
 *
 * @example
 *   expect(await allocate({ host: '127.0.0.1', port }, { username, credential })).toEqual({ ok: true });
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';

const MAGIC_COOKIE = 0x2112a442;
const BINDING = 0x0001;
const ALLOCATE = 0x0003;
const SUCCESS = 0x0100;
const ERROR = 0x0110;
const Attr = { username: 0x0006, integrity: 0x0008, errorCode: 0x0009, realm: 0x0014, nonce: 0x0015, transport: 0x0019 } as const;

export type AllocateOutcome = { ok: true } | { ok: false; code: number; reason: string };

interface Answer {
  type: number;
  attrs: Map<number, Buffer>;
}

function attribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

function message(type: number, transactionId: Buffer, attrs: Buffer[], integrityKey?: Buffer): Buffer {
  const body = Buffer.concat(attrs);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length + (integrityKey ? 24 : 0), 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  const unsigned = Buffer.concat([header, body]);
  if (!integrityKey) return unsigned;
  const mac = createHmac('sha1', integrityKey).update(unsigned).digest();
  return Buffer.concat([unsigned, attribute(Attr.integrity, mac)]);
}

function parse(buffer: Buffer): Answer {
  const attrs = new Map<number, Buffer>();
  const length = buffer.readUInt16BE(2);
  let offset = 20;
  while (offset + 4 <= 20 + length) {
    const type = buffer.readUInt16BE(offset);
    const size = buffer.readUInt16BE(offset + 2);
    attrs.set(type, buffer.subarray(offset + 4, offset + 4 + size));
    offset += 4 + Math.ceil(size / 4) * 4;
  }
  return { type: buffer.readUInt16BE(0), attrs };
}

function exchange(socket: dgram.Socket, server: { host: string; port: number }, bytes: Buffer, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error(`no STUN answer from ${server.host}:${server.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (data: Buffer) => {
      if (!data.subarray(8, 20).equals(bytes.subarray(8, 20))) return;
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(parse(data));
    };
    socket.on('message', onMessage);
    socket.send(bytes, server.port, server.host);
  });
}

function errorOf(answer: Answer): { code: number; reason: string } {
  const value = answer.attrs.get(Attr.errorCode);
  if (!value) return { code: 0, reason: 'no ERROR-CODE' };
  return { code: (value[2]! & 0x7) * 100 + value[3]!, reason: value.subarray(4).toString('utf8') };
}

async function withSocket<T>(work: (socket: dgram.Socket) => Promise<T>): Promise<T> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  try {
    return await work(socket);
  } finally {
    socket.close();
  }
}

/** True once the server answers a STUN Binding request. */
export function stunAnswers(server: { host: string; port: number }, timeoutMs = 300): Promise<boolean> {
  return withSocket((socket) =>
    exchange(socket, server, message(BINDING, randomBytes(12), []), timeoutMs).then(
      (answer) => answer.type === (BINDING | SUCCESS),
      () => false,
    ),
  );
}

/** Asks for a UDP relay with a TURN username and credential (as in an RTCIceServer). */
export function allocate(server: { host: string; port: number }, auth: { username: string; credential: string }, timeoutMs = 2000): Promise<AllocateOutcome> {
  const transport = attribute(Attr.transport, Buffer.from([17, 0, 0, 0]));
  return withSocket(async (socket) => {
    const challenge = await exchange(socket, server, message(ALLOCATE, randomBytes(12), [transport]), timeoutMs);
    if (challenge.type !== (ALLOCATE | ERROR)) return { ok: false, code: 0, reason: 'no challenge' };
    const realm = challenge.attrs.get(Attr.realm);
    const nonce = challenge.attrs.get(Attr.nonce);
    if (!realm || !nonce) return { ok: false, ...errorOf(challenge) };
    const key = createHash('md5').update(`${auth.username}:${realm.toString('utf8')}:${auth.credential}`).digest();
    const attrs = [transport, attribute(Attr.username, Buffer.from(auth.username)), attribute(Attr.realm, realm), attribute(Attr.nonce, nonce)];
    const answer = await exchange(socket, server, message(ALLOCATE, randomBytes(12), attrs, key), timeoutMs);
    if (answer.type === (ALLOCATE | SUCCESS)) return { ok: true };
    return { ok: false, ...errorOf(answer) };
  });
}
