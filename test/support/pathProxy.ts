/**
 * A small HTTP reverse proxy in front of several Knock processes, laid out as the README's nginx example for one
 * public origin: `/_/p1/…` goes to process 1 only, `/_/p2/…` to process 2 only (each process's room sockets, its
 * KNOCK_PUBLIC_ADDRESS being `<proxy>/_/pN`), everything else to any live process. It passes WebSocket upgrades,
 * adds X-Forwarded-For as nginx's `$proxy_add_x_forwarded_for` does, and answers 502 when the process a path
 * belongs to is down.
 *
 * "Any process" is the first live one of a preference list the request names in `x-knock-upstream` (e.g. `2,1`),
 * else of the configured order: a test gives each browser its own affinity (Playwright's extraHTTPHeaders), as a
 * load balancer with client affinity would (nginx `hash`), and a browser whose process died moves to the next.
 *
 * @example
 *   const proxy = await PathProxy.start([a.url, b.url]);  // a: /_/p1, b: /_/p2
 *   // start a with KNOCK_PUBLIC_ADDRESS=127.0.0.1:<proxy.port>/_/p1, b with /_/p2, both KNOCK_PUBLIC_URL=proxy.url
 *   await proxy.close();
 */
import http from 'node:http';
import net from 'node:net';

interface Upstream {
  host: string;
  port: number;
}

export class PathProxy {
  private readonly sockets = new Set<net.Socket>();
  /** Which upstream (1-based) served each request or upgrade, in order, for tests that check where people went. */
  readonly served: number[] = [];

  private constructor(
    private readonly server: http.Server,
    private readonly upstreams: Upstream[],
  ) {}

  /**
   * `port`: where to listen (default: any free port). The processes behind the proxy name its port in their
   * KNOCK_PUBLIC_ADDRESS, so a test picks it (freePort) before it starts them, and starts the proxy once their ports
   * are known.
   */
  static async start(upstreamUrls: string[], options: { port?: number } = {}): Promise<PathProxy> {
    const upstreams = upstreamUrls.map((url) => {
      const { hostname, port } = new URL(url);
      return { host: hostname, port: Number(port) };
    });
    const server = http.createServer();
    const proxy = new PathProxy(server, upstreams);
    // A browser that goes away mid-request (a closed context) ends only that request.
    server.on('request', (req, res) => void proxy.forward(req, res).catch(() => res.destroy()));
    server.on('upgrade', (req, socket, head) => void proxy.upgrade(req, socket as net.Socket, head));
    server.on('connection', (socket) => {
      proxy.sockets.add(socket);
      socket.once('close', () => proxy.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The public address of process `n` (1-based) behind this proxy: `127.0.0.1:<port>/_/p<n>`. */
  publicAddress(n: number): string {
    return `127.0.0.1:${this.port}/_/p${n}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The upstreams to try, in order: the one a `/_/pN/` path names alone, else by the request's preference. */
  private candidates(req: http.IncomingMessage): number[] {
    const pinned = /^\/_\/p(\d+)\//.exec(req.url ?? '');
    if (pinned) return [Number(pinned[1])];
    const wanted = String(req.headers['x-knock-upstream'] ?? '')
      .split(',')
      .map(Number)
      .filter((n) => n >= 1 && n <= this.upstreams.length);
    const rest = this.upstreams.map((_, i) => i + 1).filter((n) => !wanted.includes(n));
    return [...wanted, ...rest];
  }

  private headersFor(req: http.IncomingMessage): http.OutgoingHttpHeaders {
    const forwarded = req.headers['x-forwarded-for'];
    const client = req.socket.remoteAddress ?? '';
    return { ...req.headers, 'x-forwarded-for': forwarded ? `${String(forwarded)}, ${client}` : client };
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Bodies are small here (JSON API, matchmaking): read it once, so it can be sent again to the next upstream.
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    for (const n of this.candidates(req)) {
      const upstream = this.upstreams[n - 1]!;
      const answered = await new Promise<boolean>((resolve) => {
        const out = http.request({ ...upstream, method: req.method, path: req.url, headers: this.headersFor(req) }, (upRes) => {
          this.served.push(n);
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          // A process that dies mid-answer cuts the answer short, as it would through nginx (not a hang).
          upRes.once('close', () => {
            if (!upRes.complete) res.destroy();
          });
          resolve(true);
        });
        // Refused (a process that is down), or cut later: `on`, since a second error must not go unheard.
        out.on('error', () => resolve(false));
        out.end(body);
      });
      if (answered) return;
    }
    res.writeHead(502, { 'content-type': 'text/plain' }).end('No process answered.');
  }

  private async upgrade(req: http.IncomingMessage, client: net.Socket, head: Buffer): Promise<void> {
    client.on('error', () => undefined);
    for (const n of this.candidates(req)) {
      const upstream = this.upstreams[n - 1]!;
      const socket = await new Promise<net.Socket | null>((resolve) => {
        const s = net.connect(upstream, () => resolve(s));
        s.once('error', () => resolve(null));
      });
      if (!socket) continue;
      this.served.push(n);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (const [name, value] of Object.entries(this.headersFor(req))) {
        for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${String(v)}`);
      }
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) socket.write(head);
      socket.pipe(client).pipe(socket);
      // A process that dies cuts its sockets, as a real one's clients see it.
      socket.once('close', () => client.destroy());
      client.once('close', () => socket.destroy());
      socket.on('error', () => client.destroy());
      return;
    }
    client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
  }
}
