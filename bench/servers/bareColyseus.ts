/**
 * Colyseus with no Knock logic: the same @colyseus/core and ws-transport versions and transport settings as Knock
 * (engine/app.ts: frame limit, ping every 800 ms with one retry), so the difference to Knock is Knock's own code
 * (validation, authorization, storage, presence). One exception: Colyseus's transport pings every socket at that
 * rate, where Knock's (adapters/colyseus/LivenessTransport.ts) pings only owners' devices at it and visitors every
 * 10 s, so bare Colyseus's idle visitors cost more CPU than Knock's. Rooms:
 * - `relay` (filterBy pair): Knock's message shape without Knock's work: `send` -> `ack` to the sender and
 *   `message` to everyone else, in memory only;
 * - `user` (filterBy handle): an empty room per URL that sends `welcome` on join (idle visitors, owners, activation).
 * BENCH_DRIVER=indexed runs it on adapters/colyseus/IndexedDriver.ts instead of Colyseus's LocalDriver.
 *
 * Run: PORT=<port> node --expose-gc --import tsx --import ./bench/servers/memoryProbe.ts bench/servers/bareColyseus.ts
 */
import http from 'node:http';
import { Room, Server, type Client } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { IndexedDriver } from '../../adapters/colyseus/IndexedDriver.ts';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const pingIntervalMs = Number(process.env.BENCH_PING_INTERVAL_MS ?? 800);

interface SendMessage {
  clientMsgId: string;
  body: string;
}

class RelayRoom extends Room {
  private seq = 0;

  override onCreate(): void {
    this.onMessage('send', (client: Client, message: SendMessage) => {
      const seq = ++this.seq;
      const at = Date.now();
      client.send('ack', { clientMsgId: message.clientMsgId, seq, at });
      const record = { seq, senderId: client.sessionId, senderRole: 'visitor', senderName: '', body: message.body, at, clientMsgId: message.clientMsgId };
      for (const other of this.clients) if (other !== client) other.send('message', record);
    });
  }
}

class UrlRoom extends Room {
  override onJoin(client: Client): void {
    client.send('welcome', { online: false });
  }
}

const httpServer = http.createServer((req, res) => {
  if (req.url === '/health') res.writeHead(200).end();
});
const transport = new WebSocketTransport({ server: httpServer, maxPayload: 4 * 1024 * 1024, pingInterval: pingIntervalMs, pingMaxRetries: 1 });
const gameServer = new Server({
  transport,
  greet: false,
  gracefullyShutdown: false,
  ...(process.env.BENCH_DRIVER === 'indexed' ? { driver: new IndexedDriver() } : {}),
});
gameServer.define('relay', RelayRoom).filterBy(['pair']);
gameServer.define('user', UrlRoom).filterBy(['handle']);
await gameServer.listen(port, host);
if (process.env.BENCH_DRIVER === 'indexed') process.stderr.write('bench: IndexedDriver in use\n');

process.on('SIGTERM', () => {
  httpServer.closeAllConnections();
  process.exit(0);
});
