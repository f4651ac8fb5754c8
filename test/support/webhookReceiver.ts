/**
 * A bot's webhook for the tests of issue 18: a real HTTP server on 127.0.0.1 that records every call Knock makes with
 * whether its signature held (Knock-Signature, with the secret the test gives it once Settings showed it), and
 * `signedReply`, the bot's signed answer to a forward's `replyUrl`.
 *
 * @example
 *   const receiver = await WebhookReceiver.start();
 *   receiver.secret = added.secret;
 *   const call = await receiver.next((c) => c.body.type === 'knock.forward', 'the forward');
 *   await signedReply(String(call.body.replyUrl), receiver.secret, { text: 'Hi', id: 'm1' });
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signatureHeaders, verifySignature } from '../../adapters/channels/webhook/signature.ts';

const WAIT_MS = 15_000;

export interface WebhookCall {
  body: Record<string, unknown>;
  /** What the receiver answered. */
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Whether the call is signed with the receiver's secret (as it is now: the first call comes before it is known). */
  readonly signatureOk: boolean;
}

/** A bot's webhook: records every call with whether its signature held, answers 200. */
export class WebhookReceiver {
  readonly calls: WebhookCall[] = [];
  secret = '';
  /** The HTTP status it answers with (a bot that is down answers 503). */
  status = 200;
  private waiters: Array<() => void> = [];
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<WebhookReceiver> {
    const server = http.createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const at = Date.now();
        receiver.calls.push({
          status: receiver.status,
          body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>,
          headers: req.headers,
          get signatureOk() {
            return receiver.secret !== '' && verifySignature(receiver.secret, req.headers, raw, at).ok;
          },
        });
        res.writeHead(receiver.status, { 'content-type': 'application/json' }).end('{}');
        for (const w of receiver.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async next(match: (call: WebhookCall) => boolean, what: string): Promise<WebhookCall> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = this.calls.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.calls.map((c) => c.body)).slice(0, 800)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}


/** The bot's answer to a forward, signed with the channel's secret as Knock checks it. */
export async function signedReply(url: string, secret: string, body: unknown, id = `r${Math.random().toString(36).slice(2)}`): Promise<Response> {
  const raw = JSON.stringify(body);
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...signatureHeaders([secret], { id, timestampMs: Date.now(), body: raw }) }, body: raw });
}
