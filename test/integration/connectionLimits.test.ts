/**
 * Per-address caps and request timeouts (engine/http/connectionLimits.ts), attacked with real sockets: one client
 * opening WebSocket after WebSocket, one address opening TCP connection after connection, and a slow-loris that
 * sends its headers a byte at a time. Each server runs in its own describe block (Colyseus: one per process at once).
 */
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NO_PINGS, testRateLimits } from '../support/cast.ts';
import { waitFor } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { RawRoom } from '../support/rawRoom.ts';
import { wsHandshake } from '../support/httpClient.ts';

function handshake(base: string, headers: Record<string, string>): Promise<'open' | number> {
  return wsHandshake(base, { headers });
}

/** A raw TCP connection to the server, and a way to learn whether the server closed it. */
async function tcp(base: string): Promise<{ socket: net.Socket; closed: Promise<{ received: string }> }> {
  const url = new URL(base);
  const socket = net.connect(Number(url.port), url.hostname);
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => undefined); // a reset is a close here
  const closed = new Promise<{ received: string }>((resolve) => socket.once('close', () => resolve({ received })));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed };
}

/** What `closed` resolved with, or null if the server has not closed the connection within `ms`. */
function closedWithin<T>(closed: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  return Promise.race([closed, late]).finally(() => clearTimeout(timer));
}

/** Sends a health request on `socket` and resolves with the status line of the answer, or null if none comes. */
function health(socket: net.Socket): Promise<string | null> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n')) done(text.split('\r\n')[0]!);
    };
    const done = (line: string | null) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(line);
    };
    const onClose = () => done(null);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write('GET /_/health HTTP/1.1\r\nHost: knock.test\r\n\r\n');
  });
}

describe('WebSockets per client address, behind a trusted proxy', () => {
  let knock: TestKnock;
  const rooms: RawRoom[] = [];
  beforeAll(async () => {
    knock = await startKnock({ trustProxy: true, maxWebSocketsPerIp: 3, pingIntervalMs: NO_PINGS, rateLimits: testRateLimits() });
    await knock.addUser('alice', 'Alice');
  });
  afterEach(async () => {
    await Promise.all(rooms.splice(0).map((r) => r.leave()));
  });
  afterAll(() => knock?.close());

  const from = (client: string) => ({ 'x-forwarded-for': `10.6.6.6, ${client}` });

  it('refuses a client\u2019s WebSocket beyond its share with 429, not others\u2019, and admits it again once one closes', async () => {
    for (let i = 0; i < 3; i++) {
      const room = await RawRoom.join(knock.url, 'user', { handle: 'alice' }, from('203.0.113.5'));
      rooms.push(room);
      await waitFor(room, (s) => s.of('welcome').length === 1, `socket ${i + 1} joined`);
    }

    expect(await handshake(knock.url, from('203.0.113.5'))).toBe(429);
    // The entries the client wrote itself change nothing: it is counted by the address its proxy added.
    expect(await handshake(knock.url, { 'x-forwarded-for': '10.9.9.9, 203.0.113.5' })).toBe(429);
    expect(await handshake(knock.url, from('203.0.113.6'))).toBe('open');

    await rooms.shift()!.leave();
    await expect.poll(() => handshake(knock.url, from('203.0.113.5')), { timeout: 5000, interval: 50 }).toBe('open');
  });
});

describe('TCP connections per remote address, without a proxy', () => {
  let knock: TestKnock;
  const sockets: net.Socket[] = [];
  beforeAll(async () => {
    knock = await startKnock({ maxConnectionsPerIp: 5 });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });
  afterAll(() => knock?.close());

  it('closes a connection beyond the cap before answering it, and accepts one again once another closes', async () => {
    const held = [];
    for (let i = 0; i < 5; i++) {
      const c = await tcp(knock.url);
      sockets.push(c.socket);
      held.push(c);
    }
    expect(await health(held[0]!.socket)).toBe('HTTP/1.1 200 OK');

    const extra = await tcp(knock.url);
    sockets.push(extra.socket);
    expect(await closedWithin(extra.closed, 3000)).toMatchObject({ received: '' });

    held[1]!.socket.destroy();
    await held[1]!.closed;
    await expect
      .poll(async () => {
        const again = await tcp(knock.url);
        sockets.push(again.socket);
        return health(again.socket);
      }, { timeout: 5000, interval: 50 })
      .toBe('HTTP/1.1 200 OK');
  });
});

describe('request timeouts', () => {
  let knock: TestKnock;
  beforeAll(async () => {
    knock = await startKnock({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
  });
  afterAll(() => knock?.close());

  it('answers 408 and closes a request whose headers trickle in (slow-loris) once its headers time is up', async () => {
    const { socket, closed } = await tcp(knock.url);
    socket.write('GET / HTTP/1.1\r\nHost: knock.test\r\n');
    const trickle = setInterval(() => socket.writable && socket.write('X-Slow: y\r\n'), 200);
    try {
      const end = await closedWithin(closed, 1000 + 2500);
      expect(end?.received).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes a connection that never sends a byte', async () => {
    const { closed } = await tcp(knock.url);
    expect(await closedWithin(closed, 1000 + 2500)).not.toBeNull();
  });
});
