/**
 * Plain-fetch helpers for tests of Knock's HTTP face: requests with chosen headers, and the Set-Cookie headers of
 * an answer read the way a browser stores them.
 */
import http from 'node:http';
import WebSocket from 'ws';

export interface SetCookie {
  name: string;
  value: string;
  /** Attribute names in lower case (`httponly`, `samesite`...) with their values ('' for flags). */
  attributes: Map<string, string>;
}

/** The Set-Cookie headers of a response, by cookie name. */
export function setCookies(res: Response): Map<string, SetCookie> {
  const out = new Map<string, SetCookie>();
  for (const header of res.headers.getSetCookie()) {
    const [pair = '', ...attrs] = header.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const attributes = new Map<string, string>();
    for (const attr of attrs) {
      const i = attr.indexOf('=');
      attributes.set((i < 0 ? attr : attr.slice(0, i)).toLowerCase(), i < 0 ? '' : attr.slice(i + 1));
    }
    out.set(name, { name, value: decodeURIComponent(pair.slice(eq + 1)), attributes });
  }
  return out;
}

export interface RequestOptions {
  cookie?: string;
  origin?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

function headersOf(opts: RequestOptions): Record<string, string> {
  return {
    ...(opts.cookie ? { cookie: opts.cookie } : {}),
    ...(opts.origin ? { origin: opts.origin } : {}),
    ...opts.headers,
  };
}

/** POSTs `body` as JSON (a string is sent as it is, for malformed bodies). */
export function post(base: string, path: string, body: unknown, opts: RequestOptions = {}): Promise<Response> {
  return fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': opts.contentType ?? 'application/json', ...headersOf(opts) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export function get(base: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  return fetch(base + path, { headers: headersOf(opts) });
}

/** The directives of a Content-Security-Policy header, by name. */
export function cspDirectives(header: string | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const directive of (header ?? '').split(';')) {
    const [name, ...values] = directive.trim().split(/\s+/);
    if (name) out.set(name, values);
  }
  return out;
}

/** `name=value` for a Cookie header. */
export function cookiePair(name: string, value: string): string {
  return `${name}=${encodeURIComponent(value)}`;
}

/** A GET with the path sent exactly as given (fetch would resolve `..` before sending). */
export function rawGet(base: string, rawPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: rawPath, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A JSON POST through node:http, which sends the headers exactly as given (fetch replaces a Host header with the
 * URL's): for requests as a browser sends them to a rebound DNS name.
 */
export function rawPost(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(base);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * How a bare WebSocket handshake with these headers ends: `open` (then closed at once), or the HTTP status it was
 * refused with. The path names no room: the handshake's checks (Origin, per-address caps) come before any room.
 */
export function wsHandshake(base: string, opts: { origin?: string; headers?: Record<string, string> } = {}): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/noprocess/noroom`, {
      ...(opts.origin ? { origin: opts.origin } : {}),
      headers: opts.headers ?? {},
    });
    socket.once('open', () => {
      socket.terminate();
      resolve('open');
    });
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', reject);
  });
}
