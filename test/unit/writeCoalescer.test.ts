/**
 * WriteCoalescer (rooms/writeCoalescer.ts) over real `ws` sockets on port 0: what rooms send to their clients in one
 * tick stays corked until the tick ends, then leaves, in order; a socket destroyed meanwhile is left alone; each
 * instance releases only what it corked itself.
 */
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { WriteCoalescer } from '../../rooms/writeCoalescer.ts';

let server: WebSocketServer;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await new Promise((resolve) => server.close(resolve));
});

/** One connection: the server's end as a Colyseus client carries it (`ref`), its TCP socket, what the far end got. */
async function connection() {
  const accepted = once(server, 'connection') as Promise<[WebSocket]>;
  const remote = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const received: string[] = [];
  remote.on('message', (data) => received.push(String(data)));
  const [[ref]] = await Promise.all([accepted, once(remote, 'open')]);
  sockets.push(remote, ref);
  const socket = (ref as unknown as { _socket: Socket })._socket;
  return { client: { ref }, ref, socket, received };
}

/** Resolves after the current tick and its process.nextTick callbacks. */
const afterThisTick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WriteCoalescer', () => {
  it("holds two rooms' clients corked while the tick runs and sends both at its end, frames in order", async () => {
    const writes = new WriteCoalescer();
    const alice = await connection();
    const bob = await connection();

    // One room writes to Alice, another to Bob, the first to Alice again: all in one tick.
    writes.coalesce(alice.client);
    alice.ref.send('1');
    writes.coalesce(bob.client);
    bob.ref.send('x');
    writes.coalesce(alice.client);
    alice.ref.send('2');
    expect(alice.socket.writableCorked).toBe(1);
    expect(bob.socket.writableCorked).toBe(1);
    expect(alice.socket.writableLength).toBeGreaterThan(0); // held, not written yet

    await afterThisTick();
    expect(alice.socket.writableCorked).toBe(0);
    expect(bob.socket.writableCorked).toBe(0);
    await vi.waitFor(() => {
      expect(alice.received).toEqual(['1', '2']);
      expect(bob.received).toEqual(['x']);
    });
  });

  it('corks a socket again in a later tick and releases it at the end of that one', async () => {
    const writes = new WriteCoalescer();
    const alice = await connection();
    writes.coalesce(alice.client);
    await afterThisTick();
    writes.coalesce(alice.client);
    expect(alice.socket.writableCorked).toBe(1);
    await afterThisTick();
    expect(alice.socket.writableCorked).toBe(0);
  });

  it('does not uncork a socket destroyed before the end of the tick, and still releases the others', async () => {
    const writes = new WriteCoalescer();
    const gone = await connection();
    const alive = await connection();
    const uncork = vi.spyOn(gone.socket, 'uncork');
    writes.coalesce(gone.client);
    writes.coalesce(alive.client);
    gone.socket.destroy();

    await afterThisTick();
    expect(uncork).not.toHaveBeenCalled();
    expect(alive.socket.writableCorked).toBe(0);
  });

  it('keeps separate instances apart: each releases only the sockets it corked', async () => {
    const first = new WriteCoalescer();
    const second = new WriteCoalescer();
    const alice = await connection();
    const bob = await connection();
    first.coalesce(alice.client);
    second.coalesce(bob.client);

    second.flush();
    expect(bob.socket.writableCorked).toBe(0);
    expect(alice.socket.writableCorked).toBe(1);

    // The same socket held by both: each corks it once, each uncorks it once.
    second.coalesce(alice.client);
    expect(alice.socket.writableCorked).toBe(2);
    await afterThisTick();
    expect(alice.socket.writableCorked).toBe(0);
  });

  it('leaves a client without a TCP socket (another transport) alone', async () => {
    const writes = new WriteCoalescer();
    expect(() => writes.coalesce({ ref: {} })).not.toThrow();
    await afterThisTick();
  });
});
