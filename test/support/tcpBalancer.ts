/**
 * A small TCP load balancer, in front of several Knock processes as in production (README "Running several
 * processes"): every new connection goes to a live backend, one that refuses the connection (a killed process) is
 * skipped, and a connection whose backend dies is cut, so its client reconnects and lands on a live one. It looks
 * at no bytes: HTTP, matchmaking and WebSockets pass through alike.
 *
 * - `round-robin`: backends in turn, as a plain load balancer spreads clients;
 * - `in-order`: the first live backend of the list, as a load balancer with client affinity (nginx `hash`,
 *   sticky sessions) keeps one client on one process until it dies.
 *
 * @example
 *   const lb = await TcpBalancer.start([a.url, b.url], 'in-order');
 *   const owner = new Person(lb.url);   // on process a, on b once a is gone
 *   await lb.close();
 */
import net from 'node:net';

export type BalancePolicy = 'round-robin' | 'in-order';

interface Backend {
  host: string;
  port: number;
}

export class TcpBalancer {
  private readonly connections = new Set<net.Socket>();
  private next = 0;
  /** Which backend (index) carried each connection, for tests that check where clients went. */
  readonly carried: number[] = [];

  private constructor(
    private readonly server: net.Server,
    private readonly backends: Backend[],
    private readonly policy: BalancePolicy,
  ) {}

  static async start(backendUrls: string[], policy: BalancePolicy): Promise<TcpBalancer> {
    const backends = backendUrls.map((url) => {
      const { hostname, port } = new URL(url);
      return { host: hostname, port: Number(port) };
    });
    const server = net.createServer();
    const balancer = new TcpBalancer(server, backends, policy);
    server.on('connection', (client) => balancer.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return balancer;
  }

  /** http://127.0.0.1:port of the balancer. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private order(): number[] {
    const n = this.backends.length;
    const start = this.policy === 'round-robin' ? this.next++ % n : 0;
    return Array.from({ length: n }, (_, i) => (start + i) % n);
  }

  private accept(client: net.Socket): void {
    this.connections.add(client);
    client.pause(); // hold what the client sends until a backend is connected
    client.on('error', () => client.destroy()); // a client that goes away mid-connection is the client's business
    client.on('close', () => this.connections.delete(client));
    this.connect(client, this.order());
  }

  /** Tries the backends in `order`; the first that accepts carries the connection. */
  private connect(client: net.Socket, order: number[]): void {
    const index = order[0];
    if (index === undefined || client.destroyed) {
      client.destroy(); // no backend is up: the client sees the connection fail, as with a real balancer
      return;
    }
    const backend = this.backends[index]!;
    const upstream = net.connect(backend.port, backend.host);
    this.connections.add(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.carried.push(index);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) this.connect(client, order.slice(1)); // refused: that process is down, try the next
      upstream.destroy();
    });
    upstream.on('close', () => this.connections.delete(upstream));
  }
}
