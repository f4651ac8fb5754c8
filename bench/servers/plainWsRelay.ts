/**
 * The wire's limit: the least a relay can do on this machine with the `ws` library Colyseus itself uses. A client
 * connects to `/relay?pair=<id>&side=a|b`; every frame one side sends is forwarded, untouched and unparsed, to the
 * other side. `/idle` connections are accepted and held (the memory baseline: one plain socket). No pings, no
 * rooms, no storage. `GET /health` answers 200.
 *
 * Run: PORT=<port> node --expose-gc --import ./bench/servers/memoryProbe.ts bench/servers/plainWsRelay.ts
 */
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
/** The same frame limit Knock sets (KNOCK_MAX_FRAME_BYTES default). */
const MAX_PAYLOAD = 4 * 1024 * 1024;

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404).end();
});
const wss = new WebSocketServer({ server, maxPayload: MAX_PAYLOAD, perMessageDeflate: false });
const pairs = new Map<string, [WebSocket | null, WebSocket | null]>();

wss.on('connection', (ws, req) => {
  const url = new URL(req.url ?? '/', 'http://relay');
  ws.on('error', () => ws.terminate());
  if (url.pathname !== '/relay') return; // an idle connection: held, nothing else
  const pair = url.searchParams.get('pair') ?? '';
  const side = url.searchParams.get('side') === 'b' ? 1 : 0;
  let ends = pairs.get(pair);
  if (!ends) pairs.set(pair, (ends = [null, null]));
  const mine = ends;
  mine[side] = ws;
  ws.on('message', (data, isBinary) => {
    const other = mine[1 - side];
    if (other && other.readyState === other.OPEN) other.send(data as Buffer, { binary: isBinary });
  });
  ws.on('close', () => {
    if (mine[side] === ws) mine[side] = null;
    if (!mine[0] && !mine[1] && pairs.get(pair) === mine) pairs.delete(pair);
  });
});

server.listen(port, host);
process.on('SIGTERM', () => {
  for (const client of wss.clients) client.terminate();
  server.close(() => process.exit(0));
});
