/**
 * The load processes' own XMPP client, lean so that the generator is not what limits ejabberd or Prosody: raw
 * stanzas over TCP (RFC 6120 on 127.0.0.1, no TLS: the peers are configured to allow PLAIN without it), in-band
 * registration (XEP-0077) for seeding, SASL PLAIN, resource binding, initial presence, and `<message type='chat'>`
 * with an id and a body. Incoming `<message>` stanzas are found by a small incremental scanner (their id and type
 * read from the start tag), not parsed into a DOM; everything else the server sends is skipped.
 *
 * @example
 *   const c = await XmppConnection.open({ host: '127.0.0.1', port, domain: 'localhost' }, 10_000);
 *   await c.login('p0a', 'secret', 10_000);
 *   c.onMessage = (id, type) => console.log('got', id, type);
 *   c.sendChat('p0b@localhost', 'm1', 'hello');
 *   c.close();
 */
import net from 'node:net';

export interface XmppServerAddress {
  host: string;
  port: number;
  /** The XMPP domain of the one virtual host. */
  domain: string;
}

/** `xmpp://127.0.0.1:<port>` plus the domain, as a bench server describes itself. */
export function xmppAddress(endpoint: string, domain: string): XmppServerAddress {
  const url = new URL(endpoint);
  return { host: url.hostname, port: Number(url.port), domain };
}

const STREAM_NS = "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'";
const MESSAGE_OPEN = '<message';
const MESSAGE_CLOSE = '</message>';

/** What XML text must escape; bodies from the traffic engine are plain ASCII, so this rarely allocates. */
function escapeText(s: string): string {
  return /[&<>]/.test(s) ? s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : s;
}

/** The value of `name='...'` or `name="..."` in a start tag, or null. */
function attribute(tag: string, name: string): string | null {
  const at = tag.indexOf(` ${name}=`);
  if (at < 0) return null;
  const quote = tag[at + name.length + 2];
  const start = at + name.length + 3;
  const end = tag.indexOf(quote!, start);
  return end < 0 ? null : tag.slice(start, end);
}

export class XmppConnection {
  /** Called with each incoming message's id and type (`chat`, `error`...). */
  onMessage: (id: string, type: string) => void = () => undefined;
  private buffer = '';
  /** Until the session is up, stanzas are awaited by pattern; after, only messages are scanned. */
  private waiter: { pattern: RegExp; resolve: (text: string) => void; reject: (err: Error) => void } | null = null;
  private streaming = false;
  private closed = false;

  private constructor(
    private readonly socket: net.Socket,
    readonly address: XmppServerAddress,
  ) {
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.reject(new Error('the server closed the connection'));
      this.waiter = null;
    });
  }

  /** Connects and opens the stream (the server's features received). */
  static async open(address: XmppServerAddress, timeoutMs: number): Promise<XmppConnection> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: address.host, port: address.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`no connection to ${address.host}:${address.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const connection = new XmppConnection(socket, address);
    await connection.startStream(timeoutMs);
    return connection;
  }

  get open(): boolean {
    return !this.closed;
  }

  /** XEP-0077 in-band registration; an account that already exists counts as registered. */
  async register(username: string, password: string, timeoutMs: number): Promise<void> {
    const reply = await this.request(
      `<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>${escapeText(username)}</username><password>${escapeText(password)}</password></query></iq>`,
      /<iq[^>]*id=['"]reg['"][^>]*(\/>|>[\s\S]*?<\/iq>)/,
      timeoutMs,
    );
    if (/type=['"]result['"]/.test(reply) || reply.includes('<conflict')) return;
    throw new Error(`registering ${username}: ${reply.slice(0, 300)}`);
  }

  /** SASL PLAIN, stream restart, resource binding and initial presence: a logged-in, available user. */
  async login(username: string, password: string, timeoutMs: number, resource = 'bench'): Promise<void> {
    const token = Buffer.from(`\0${username}\0${password}`).toString('base64');
    const auth = await this.request(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${token}</auth>`, /<(success|failure)[\s\S]*?(\/>|<\/(success|failure)>)/, timeoutMs);
    if (!auth.startsWith('<success')) throw new Error(`login of ${username} refused: ${auth.slice(0, 300)}`);
    await this.startStream(timeoutMs);
    const bound = await this.request(
      `<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${escapeText(resource)}</resource></bind></iq>`,
      /<iq[^>]*id=['"]bind['"][^>]*(\/>|>[\s\S]*?<\/iq>)/,
      timeoutMs,
    );
    if (!/type=['"]result['"]/.test(bound)) throw new Error(`binding a resource for ${username}: ${bound.slice(0, 300)}`);
    // Available presence: without it both servers deliver a message to the bare JID to offline storage.
    this.socket.write('<presence/>');
    this.streaming = true;
    this.scan();
  }

  /** A chat message to `to` (a bare JID), with `id` for the other end to report. */
  sendChat(to: string, id: string, body: string): void {
    this.socket.write(`<message type='chat' to='${to}' id='${id}'><body>${escapeText(body)}</body></message>`);
  }

  /** Drops the connection at once, as a lost network does (no closing handshake to wait for). */
  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private async startStream(timeoutMs: number): Promise<void> {
    const header = `<?xml version='1.0'?><stream:stream to='${this.address.domain}' ${STREAM_NS}>`;
    const features = await this.request(header, /<stream:features\s*\/>|<stream:features[\s\S]*?<\/stream:features>/, timeoutMs);
    if (!features) throw new Error('no stream features');
  }

  /** Writes `text` and resolves with the first stanza matching `pattern`, which is then removed from the buffer. */
  private request(text: string, pattern: RegExp, timeoutMs: number): Promise<string> {
    if (this.closed) return Promise.reject(new Error('the connection is closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no answer matching ${pattern.source.slice(0, 40)} within ${timeoutMs} ms (got: ${this.buffer.slice(-300)})`));
      }, timeoutMs);
      this.waiter = {
        pattern,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.socket.write(text);
      this.matchWaiter();
    });
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    if (this.streaming) this.scan();
    else this.matchWaiter();
  }

  private matchWaiter(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    const match = waiter.pattern.exec(this.buffer);
    if (!match) {
      const error = /<stream:error>[\s\S]*?<\/stream:error>/.exec(this.buffer);
      if (error) {
        this.waiter = null;
        waiter.reject(new Error(`stream error: ${error[0].slice(0, 300)}`));
      }
      return;
    }
    this.buffer = this.buffer.slice(match.index + match[0].length);
    this.waiter = null;
    waiter.resolve(match[0]);
  }

  /**
   * Reports every complete `<message>` in the buffer and keeps only what may be the start of the next one. Messages
   * are not nested here (no carbons enabled, no archive queried), so the first `</message>` after a start ends it.
   */
  private scan(): void {
    let from = 0;
    for (;;) {
      const start = this.buffer.indexOf(MESSAGE_OPEN, from);
      if (start < 0) {
        // Keep a tail that could be the beginning of "<message".
        from = Math.max(from, this.buffer.length - MESSAGE_OPEN.length);
        break;
      }
      const tagEnd = this.buffer.indexOf('>', start);
      if (tagEnd < 0) {
        from = start;
        break;
      }
      const tag = this.buffer.slice(start, tagEnd + 1);
      let end: number;
      if (tag.endsWith('/>')) end = tagEnd + 1;
      else {
        const close = this.buffer.indexOf(MESSAGE_CLOSE, tagEnd);
        if (close < 0) {
          from = start;
          break;
        }
        end = close + MESSAGE_CLOSE.length;
      }
      const id = attribute(tag, 'id');
      if (id !== null) this.onMessage(id, attribute(tag, 'type') ?? 'normal');
      from = end;
    }
    this.buffer = this.buffer.slice(from);
  }
}
