/**
 * The pages mail links open (issue 17), rendered by the server: no script, the app's stylesheet, a heading and a
 * sentence, so they work from any mail client and in any browser.
 *
 *   GET  /_/mail/verify/<token>        verifies the owner's address whose link this is
 *   GET  /_/mail/unsubscribe/<token>   asks (a button): a link scanner that opens every link in a mail changes nothing
 *   POST /_/mail/unsubscribe/<token>   the button, or a mail client's one-click unsubscribe (RFC 8058,
 *                                      `List-Unsubscribe=One-Click`): no more mail to the visitor of that conversation
 *
 * The token in the URL is the capability (a verify token as only its hash is stored; a conversation's reply-address
 * token), so a POST from another site does nothing its sender could not do by opening the link: no CSRF token.
 * Links are tried at most `mailLinksPerIp` times a minute from one client address.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { secretHash } from '../auth.ts';
import type { RateLimitConfig } from '../config.ts';
import { KnockError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Storage } from '../ports/storage.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';

/** Tokens as mail links carry them; anything else names nothing. */
const TOKEN = /^[A-Za-z0-9_-]{8,128}$/;
/** Read of a POST's body at most (a one-click unsubscribe sends 26 bytes): the rest is not waited for. */
const MAX_FORM_BYTES = 1024;
const PAGE_CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface MailPagesDeps {
  storage: Pick<Storage, 'verifyAccountEmail' | 'getConversationByMailToken' | 'setVisitorEmailOff'>;
  clock: Clock;
  mailLinksPerIp: RateLimitConfig;
  /** The built browser app (its index.html names the stylesheet these pages share with it). */
  assetsDir: string;
}

interface Page {
  status: number;
  title: string;
  text: string;
  /** A form posting back to this URL, with one button. */
  button?: { action: string; label: string };
}

export class MailPages {
  private readonly linksPerIp: KeyedRateLimiter;
  private stylesheet: Promise<string | null> | null = null;

  constructor(private readonly deps: MailPagesDeps) {
    this.linksPerIp = new KeyedRateLimiter(deps.mailLinksPerIp, deps.clock);
  }

  static owns(pathname: string): boolean {
    return pathname.startsWith('/_/mail/');
  }

  /** Answers a /_/mail/ URL (GET, HEAD, POST), as a page whatever happens but a refusal of the method or the rate. */
  async serve(req: IncomingMessage, res: ServerResponse, pathname: string, ip: string): Promise<void> {
    const method = req.method ?? 'GET';
    const m = /^\/_\/mail\/(verify|unsubscribe)\/([^/]+)$/.exec(pathname);
    if (!m) throw new KnockError('not_found', 'No such page.');
    const [, kind, token] = m as unknown as [string, 'verify' | 'unsubscribe', string];
    const allowed = kind === 'verify' ? ['GET', 'HEAD'] : ['GET', 'HEAD', 'POST'];
    if (!allowed.includes(method)) {
      res.setHeader('Allow', allowed.join(', '));
      throw new KnockError('method_not_allowed', 'This link is opened with GET.');
    }
    this.linksPerIp.takeOrThrow(ip, 'Mail links opened from your address');
    if (method === 'POST') await drain(req);
    const page = kind === 'verify' ? await this.verify(token) : method === 'POST' ? await this.unsubscribe(token) : await this.askUnsubscribe(token, pathname);
    await this.send(res, page);
  }

  private async verify(token: string): Promise<Page> {
    const verified = TOKEN.test(token) ? await this.deps.storage.verifyAccountEmail(secretHash(token), this.deps.clock.now()) : null;
    if (!verified) return notValid();
    return {
      status: 200,
      title: 'Your email address is verified',
      text: `Knock will write to ${verified.address} when messages wait for you.`,
    };
  }

  private async askUnsubscribe(token: string, pathname: string): Promise<Page> {
    const conversation = TOKEN.test(token) ? await this.deps.storage.getConversationByMailToken(token) : null;
    if (!conversation) return notValid();
    return {
      status: 200,
      title: 'Unsubscribe',
      text: `Stop getting email from your conversation with ${conversation.ownerName}? Their replies will no longer be mailed to you.`,
      button: { action: pathname, label: 'Unsubscribe' },
    };
  }

  private async unsubscribe(token: string): Promise<Page> {
    const conversation = TOKEN.test(token) ? await this.deps.storage.getConversationByMailToken(token) : null;
    if (!conversation || !(await this.deps.storage.setVisitorEmailOff(conversation.id, true))) return notValid();
    return {
      status: 200,
      title: 'You will get no more mail from this conversation',
      text: `Replies from ${conversation.ownerName} will no longer be mailed to you.`,
    };
  }

  private async send(res: ServerResponse, page: Page): Promise<void> {
    const html = render(page, await this.stylesheetHref());
    res.writeHead(page.status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(html),
      'Content-Security-Policy': PAGE_CSP,
      // The URL holds a secret: kept out of caches (and out of Referer: the server's no-referrer).
      'Cache-Control': 'no-store',
    });
    res.end(html);
  }

  /** The app's stylesheet, as its built index.html names it; null before the app is built (the page is then plain). */
  private stylesheetHref(): Promise<string | null> {
    this.stylesheet ??= readFile(path.join(this.deps.assetsDir, 'index.html'), 'utf8').then(
      (html) => /<link rel="stylesheet" href="(\/_\/assets\/[A-Za-z0-9._-]+\.css)">/.exec(html)?.[1] ?? null,
      () => {
        this.stylesheet = null; // look again next time (the build may still be running)
        return null;
      },
    );
    return this.stylesheet;
  }
}

function notValid(): Page {
  return {
    status: 404,
    title: 'This link is not valid any more',
    text: 'It was used already, or it was replaced by a newer one. If you need one, ask for it again.',
  };
}

function render(page: Page, stylesheet: string | null): string {
  const link = stylesheet ? `\n<link rel="stylesheet" href="${escapeHtml(stylesheet)}">` : '';
  const form = page.button
    ? `\n<form method="post" action="${escapeHtml(page.button.action)}">\n<button class="button button--primary" type="submit">${escapeHtml(page.button.label)}</button>\n</form>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex">
<title>${escapeHtml(page.title)} · Knock</title>${link}
</head>
<body>
<main class="page page--narrow">
<h1>${escapeHtml(page.title)}</h1>
<p>${escapeHtml(page.text)}</p>${form}
</main>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Reads (and forgets) a small form body; a larger one is not waited for. */
async function drain(req: IncomingMessage): Promise<void> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new KnockError('too_large', 'The request is too large.');
  }
}
