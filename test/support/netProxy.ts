/**
 * A TCP proxy in front of a test server, to break a device's network the way networks break: `drop()` cuts every
 * connection with no WebSocket close handshake (a phone losing coverage), `freeze()` leaves them open but carries
 * nothing any more (a laptop lid closed: the server only learns through missed pings). Real sockets on both sides,
 * no private members of the client reached into (CONVENTIONS 13).
 *
 * @example
 *   const proxy = await startProxy(knock.url);
 *   const phone = new Person(proxy.url); // everything this person does goes through the proxy
 *   proxy.drop();
 *   proxy.setReachable(false); // and nothing gets through until setReachable(true)
 */
import net from 'node:net';

export interface NetProxy {
  /** http://127.0.0.1:port of the proxy. */
  readonly url: string;
  /** Connections currently carried. */
  readonly openConnections: number;
  /** Destroys every current connection at once (new ones are accepted). */
  drop(): void;
  /** Stops carrying bytes on every current connection but keeps them open (new ones are accepted and carried). */
  freeze(): void;
  /** Unreachable: drops every connection and refuses new ones until set reachable again (a device offline). */
  setReachable(reachable: boolean): void;
  close(): Promise<void>;
}

export interface ProxyOptions {
  /**
   * Delay of each chunk, in ms, asked per chunk (seeded tests pass a seeded draw): a slow, jittery network. Order
   * is kept per direction, as TCP keeps it.
   */
  delayMs?: () => number;
}

export async function startProxy(target: string, options: ProxyOptions = {}): Promise<NetProxy> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let reachable = true;
  const server = net.createServer((client) => {
    if (!reachable) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(port), hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // Errors here are the point of the proxy (cut connections): each side just ends the other.
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    relay(client, upstream, options.delayMs);
    relay(upstream, client, options.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  const frozen = new Set<net.Socket>();

  const proxy: NetProxy = {
    url: `http://127.0.0.1:${address.port}`,
    get openConnections() {
      return pairs.size;
    },
    drop() {
      for (const { client, upstream } of [...pairs]) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    freeze() {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        const { client, upstream } = pair;
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        // A frozen link neither carries nor notices anything until the proxy closes.
        for (const socket of [client, upstream]) {
          socket.removeAllListeners('close').removeAllListeners('error');
          socket.on('error', () => undefined);
        }
        frozen.add(client).add(upstream);
      }
    },
    setReachable(value: boolean) {
      reachable = value;
      if (!value) proxy.drop();
    },
    async close() {
      for (const socket of frozen) socket.destroy();
      frozen.clear();
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/** Carries `from` to `to`, each chunk after `delayMs()` but never before an earlier one. */
function relay(from: net.Socket, to: net.Socket, delayMs: (() => number) | undefined): void {
  if (!delayMs) {
    from.pipe(to);
    return;
  }
  const queue: Array<{ chunk: Buffer; at: number }> = [];
  let timer: NodeJS.Timeout | null = null;
  const drain = (): void => {
    timer = null;
    const now = Date.now();
    while (queue.length > 0 && queue[0]!.at <= now) {
      const { chunk } = queue.shift()!;
      if (!to.destroyed) to.write(chunk);
    }
    if (queue.length > 0) timer = setTimeout(drain, queue[0]!.at - now);
  };
  from.on('data', (chunk: Buffer) => {
    const last = queue.at(-1)?.at ?? 0;
    queue.push({ chunk, at: Math.max(last, Date.now() + Math.max(0, delayMs())) });
    timer ??= setTimeout(drain, queue[0]!.at - Date.now());
  });
  from.on('close', () => {
    if (timer) clearTimeout(timer);
    queue.length = 0;
  });
}
