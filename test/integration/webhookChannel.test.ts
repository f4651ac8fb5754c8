/**
 * The webhook channel (adapters/channels/webhook/) against a real HTTP receiver on 127.0.0.1 started by each test:
 * what arrives and whether its signature verifies with the README's own check (verifySignature), how each answer is
 * classified for the outbox (sent, temporary, permanent), that redirects are not followed, and that addresses inside
 * Knock's network are refused before any connection is made (SSRF), including by DNS rebinding.
 */
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Resolve } from '../../adapters/channels/webhook/addressPolicy.ts';
import { generateWebhookSecret, verifySignature } from '../../adapters/channels/webhook/signature.ts';
import { WebhookChannel, type WebhookChannelOptions } from '../../adapters/channels/webhook/webhookChannel.ts';
import { forwardPayload, verifyPayload } from '../../adapters/channels/webhook/wireFormat.ts';
import { createLogger } from '../../engine/logger.ts';
import type { ForwardMessage, OwnerChannel } from '../../engine/ports/channel.ts';
import { systemClock } from '../../engine/ports/clock.ts';

const logger = createLogger(process.env.KNOCK_TEST_LOG ?? 'silent');
const secret = generateWebhookSecret();

interface Arrived {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Receiver {
  url: string;
  port: number;
  arrived: Arrived[];
  /** TCP connections accepted, whether or not a request followed. */
  connections: number;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A receiver on a free port; `answer` plays each request (the nth, from 0) after its body arrived. */
async function startReceiver(answer: (res: ServerResponse, request: Arrived, n: number) => void = (res) => res.end('ok')): Promise<Receiver> {
  const arrived: Arrived[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      arrived.push(request);
      answer(res, request, arrived.length - 1);
    });
  });
  const receiver: Receiver = {
    url: '',
    port: 0,
    arrived,
    connections: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connection', () => receiver.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hooks/knock`;
  cleanups.push(receiver.close);
  return receiver;
}

function webhooks(options: Partial<WebhookChannelOptions> = {}): WebhookChannel {
  const channel = new WebhookChannel({
    publicUrl: 'https://knock.example.org',
    secretsOf: () => [secret],
    logger,
    clock: systemClock,
    allowHttp: true,
    allowPrivateNetworks: true,
    ...options,
  });
  cleanups.push(() => channel.close());
  return channel;
}

function ownerChannel(address: string): OwnerChannel {
  return { id: 'ch_91xq', accountId: 'acc1', kind: 'webhook', address, secret: null, verified: true, position: 0, delayMs: 0 };
}

const forward: ForwardMessage = {
  conversationId: 'c_8f3k2m',
  tag: '3',
  threadId: 'knock-c_8f3k2m',
  visitorName: 'Ada',
  texts: ['Hi! Are you around?', 'I have a question about the flat.'],
  link: 'https://knock.example.org/_/console/c/c_8f3k2m',
};

/** The README's JavaScript verification block, loaded as a module, so the documentation is what is tested. */
async function readmeVerify(): Promise<(secret: string, headers: IncomingHttpHeaders, rawBody: Buffer) => boolean> {
  const readme = readFileSync(new URL('../../adapters/channels/webhook/README.md', import.meta.url), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('The README has no ```js block.');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'knock-readme-')), 'verify.mjs');
  writeFileSync(file, `${block}\nexport { verify };\n`);
  return ((await import(pathToFileURL(file).href)) as { verify: Awaited<ReturnType<typeof readmeVerify>> }).verify;
}

describe('webhook forwards', () => {
  it('POSTs the forward as JSON whose signature the receiver verifies, and names the delivery by its id', async () => {
    const receiver = await startReceiver();
    const sent = await webhooks().send(ownerChannel(receiver.url), forward, { key: 'forward:c_8f3k2m:1' });
    const [request] = receiver.arrived;
    expect(request?.path).toBe('/hooks/knock');
    expect(request?.headers['content-type']).toBe('application/json');
    const check = verifySignature(secret, request!.headers, request!.body, Date.now());
    expect(check).toMatchObject({ ok: true, id: sent.externalId });
    expect(forwardPayload.parse(JSON.parse(request!.body.toString('utf8')))).toEqual({
      type: 'knock.forward',
      conversationId: 'c_8f3k2m',
      tag: '3',
      visitor: { name: 'Ada' },
      texts: forward.texts,
      link: forward.link,
      replyUrl: 'https://knock.example.org/_/api/channels/ch_91xq/reply',
    });
    // A forged signature on the same body is refused by the same check, and by the README's plain JavaScript.
    const forged = { ...request!.headers, 'knock-signature': `v1=${'0'.repeat(64)}` };
    expect(verifySignature(secret, forged, request!.body, Date.now())).toMatchObject({ ok: false, reason: 'signature_mismatch' });
    const verify = await readmeVerify();
    expect(verify(secret, request!.headers, request!.body)).toBe(true);
    expect(verify(secret, forged, request!.body)).toBe(false);
    expect(verify(generateWebhookSecret(), request!.headers, request!.body)).toBe(false);
  });

  it('gives a retry of one forward the same Knock-Webhook-Id, and another forward a new one', async () => {
    const receiver = await startReceiver();
    const channel = webhooks();
    await channel.send(ownerChannel(receiver.url), forward, { key: 'forward:c1:1' });
    await channel.send(ownerChannel(receiver.url), forward, { key: 'forward:c1:1' });
    await channel.send(ownerChannel(receiver.url), forward, { key: 'forward:c1:2' });
    const ids = receiver.arrived.map((r) => r.headers['knock-webhook-id']);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  it('signs with every secret while one is rotated, so a receiver holding either accepts', async () => {
    const next = generateWebhookSecret();
    const receiver = await startReceiver();
    await webhooks({ secretsOf: () => [next, secret] }).send(ownerChannel(receiver.url), forward);
    const [request] = receiver.arrived;
    expect(verifySignature(next, request!.headers, request!.body, Date.now()).ok).toBe(true);
    expect(verifySignature(secret, request!.headers, request!.body, Date.now()).ok).toBe(true);
  });

  it('makes a signed verification call carrying the code, and sees a receiver that echoes it', async () => {
    const receiver = await startReceiver((res, request) => {
      const { code } = verifyPayload.parse(JSON.parse(request.body.toString('utf8')));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ code }));
    });
    const channel = webhooks();
    expect(await channel.sendCode(ownerChannel(receiver.url), '482913')).toEqual({ echoed: true });
    expect(verifySignature(secret, receiver.arrived[0]!.headers, receiver.arrived[0]!.body, Date.now()).ok).toBe(true);
    const quiet = await startReceiver();
    expect(await channel.sendCode(ownerChannel(quiet.url), '482913')).toEqual({ echoed: false });
  });

  it('reports 500 twice as temporary failures and then the 200 as sent', async () => {
    const receiver = await startReceiver((res, _request, n) => {
      res.statusCode = n < 2 ? 500 : 200;
      res.end(n < 2 ? 'database is down' : 'ok');
    });
    const channel = webhooks();
    const owner = ownerChannel(receiver.url);
    await expect(channel.send(owner, forward, { key: 'k' })).rejects.toMatchObject({ permanent: false, status: 500, message: expect.stringContaining('database is down') });
    await expect(channel.send(owner, forward, { key: 'k' })).rejects.toMatchObject({ permanent: false, status: 500 });
    await expect(channel.send(owner, forward, { key: 'k' })).resolves.toMatchObject({ externalId: expect.stringMatching(/^msg_/) });
    expect(receiver.arrived).toHaveLength(3);
  });

  it('treats 408, 429 and 503 as temporary and passes on Retry-After', async () => {
    const answers: [number, string | null][] = [[408, null], [429, '7'], [503, new Date(Date.now() + 120_000).toUTCString()]];
    const receiver = await startReceiver((res, _request, n) => {
      const [status, retryAfter] = answers[n]!;
      res.statusCode = status;
      if (retryAfter) res.setHeader('retry-after', retryAfter);
      res.end();
    });
    const channel = webhooks();
    const owner = ownerChannel(receiver.url);
    await expect(channel.send(owner, forward)).rejects.toMatchObject({ permanent: false, status: 408, retryAfterMs: null });
    await expect(channel.send(owner, forward)).rejects.toMatchObject({ permanent: false, status: 429, retryAfterMs: 7000 });
    const unavailable = await channel.send(owner, forward).catch((err: { retryAfterMs: number }) => err);
    expect(unavailable).toMatchObject({ permanent: false, status: 503 });
    expect((unavailable as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(100_000);
    expect((unavailable as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(120_000);
  });

  it('treats 410 Gone and other 4xx as permanent', async () => {
    const statuses = [410, 400, 401, 404];
    const receiver = await startReceiver((res, _request, n) => {
      res.statusCode = statuses[n]!;
      res.end();
    });
    const channel = webhooks();
    for (const status of statuses) await expect(channel.send(ownerChannel(receiver.url), forward)).rejects.toMatchObject({ permanent: true, status });
  });

  it('does not follow a redirect: a 3xx is a permanent failure naming where it pointed', async () => {
    const receiver = await startReceiver((res, request) => {
      if (request.path === '/hooks/knock') {
        res.statusCode = 307;
        res.setHeader('location', '/elsewhere');
      }
      res.end();
    });
    await expect(webhooks().send(ownerChannel(receiver.url), forward)).rejects.toMatchObject({ permanent: true, status: 307, message: expect.stringContaining('/elsewhere') });
    expect(receiver.arrived.map((r) => r.path)).toEqual(['/hooks/knock']);
  });

  it('gives up on a receiver that does not answer within the timeout, as a temporary failure', async () => {
    let heard: () => void = () => undefined;
    const requestArrived = new Promise<void>((resolve) => (heard = resolve));
    const receiver = await startReceiver(() => heard()); // never answers
    const sending = webhooks({ timeoutMs: 300 }).send(ownerChannel(receiver.url), forward);
    await requestArrived;
    await expect(sending).rejects.toMatchObject({ permanent: false, status: null, message: expect.stringContaining('did not answer in time') });
  });

  it('treats a refused connection as temporary', async () => {
    const receiver = await startReceiver();
    await receiver.close();
    await expect(webhooks().send(ownerChannel(receiver.url), forward)).rejects.toMatchObject({ permanent: false, status: null, message: expect.stringContaining('could not be reached') });
  });

  it('reads only the start of a huge answer', async () => {
    const receiver = await startReceiver((res) => {
      res.statusCode = 400;
      res.end('x'.repeat(5_000_000));
    });
    const error = (await webhooks().send(ownerChannel(receiver.url), forward).catch((err: Error) => err)) as Error;
    expect(error).toMatchObject({ permanent: true, status: 400 });
    expect(error.message.length).toBeLessThan(400);
  });
});

describe('webhook addresses (SSRF)', () => {
  /** The channel as production runs it, except that http is allowed so the test's plain receiver could be reached. */
  const guarded = (resolve?: Resolve) => webhooks({ allowPrivateNetworks: false, ...(resolve ? { resolve } : {}) });

  it('refuses loopback, private, link-local and IPv6 loopback addresses without connecting', async () => {
    const receiver = await startReceiver();
    const channel = guarded();
    const urls = [
      receiver.url,
      `http://10.0.0.5:${receiver.port}/`,
      'http://169.254.169.254/latest/meta-data/',
      `http://[::1]:${receiver.port}/`,
      `http://[::ffff:127.0.0.1]:${receiver.port}/`,
      'http://100.64.0.1/',
      'http://192.168.1.1/',
      'http://[fd00::1]/',
      'http://0.0.0.0/',
    ];
    for (const url of urls) {
      await expect(channel.send(ownerChannel(url), forward), url).rejects.toMatchObject({ permanent: true, name: 'ForbiddenAddressError' });
    }
    expect(receiver.connections).toBe(0);
    expect(receiver.arrived).toEqual([]);
  });

  it('refuses a host name that resolves to loopback (localhost), or to any private address among public ones', async () => {
    const receiver = await startReceiver();
    await expect(guarded().send(ownerChannel(`http://localhost:${receiver.port}/`), forward)).rejects.toMatchObject({ permanent: true, name: 'ForbiddenAddressError' });
    const mixed: Resolve = async () => [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }];
    await expect(guarded(mixed).send(ownerChannel(`http://bot.example.com:${receiver.port}/`), forward)).rejects.toMatchObject({ permanent: true });
    expect(receiver.connections).toBe(0);
  });

  it('refuses a DNS answer that changes to loopback between the check and the connection (rebinding)', async () => {
    const receiver = await startReceiver();
    let lookups = 0;
    const rebinding: Resolve = async () => (lookups++ === 0 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
    await expect(guarded(rebinding).send(ownerChannel(`http://rebind.example.com:${receiver.port}/`), forward)).rejects.toMatchObject({ permanent: true, name: 'ForbiddenAddressError' });
    expect(lookups).toBe(2);
    expect(receiver.connections).toBe(0);
  });

  it('refuses http:, credentials in the URL and what is not a URL unless told otherwise', async () => {
    const receiver = await startReceiver();
    const production = webhooks({ allowHttp: false, allowPrivateNetworks: false });
    await expect(production.send(ownerChannel(receiver.url), forward)).rejects.toMatchObject({ permanent: true, message: expect.stringContaining('https://') });
    await expect(production.send(ownerChannel('https://user:pw@bot.example.com/'), forward)).rejects.toMatchObject({ permanent: true, message: expect.stringContaining('password') });
    await expect(production.send(ownerChannel('bot.example.com/hook'), forward)).rejects.toMatchObject({ permanent: true, message: expect.stringContaining('not a URL') });
    await expect(production.send(ownerChannel('ftp://bot.example.com/'), forward)).rejects.toMatchObject({ permanent: true });
    expect(receiver.connections).toBe(0);
  });

  it('says presence is unknown', () => {
    expect(webhooks().presence(ownerChannel('https://bot.example.com/'))).toBe('unknown');
  });
});
