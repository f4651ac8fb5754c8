/**
 * The HTTP face of Knock on the same server and port as the WebSockets: pages (one HTML shell for every IM URL),
 * the browser app's assets, the JSON API and health. Security headers are set here for every answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { KnockError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Storage } from '../ports/storage.ts';
import { HANDLE_PATTERN, RESERVED_HANDLES } from '../protocol.ts';
import type { Api } from './api.ts';
import type { ConversationsApi } from './conversationsApi.ts';
import type { MailApi } from './mailApi.ts';
import type { ChannelsApi } from './channelsApi.ts';
import type { CompanyApi } from './companyApi.ts';
import type { TranscriptApi } from './transcriptApi.ts';
import type { PhoneApi } from './phoneApi.ts';
import type { DomainsApi } from './domainsApi.ts';
import type { SecurityApi } from './securityApi.ts';
import type { BlocksApi } from './blocksApi.ts';
import type { AccountDataApi } from './accountDataApi.ts';
import type { SecondFactorApi } from './secondFactorApi.ts';
import { phonePath } from '../phoneNumbers.ts';
import { MailPages } from './mailPages.ts';
import { clientKeyOf } from './clientAddress.ts';
import { sendError, sendJson } from './io.ts';
import { Matchmaking } from './matchmaking.ts';
import { WidgetRoutes } from './widgetRoutes.ts';
import { PwaRoutes } from './pwaRoutes.ts';

/**
 * `connectSources`: origins besides our own the pages may open sockets to (the conference server's WebSocket API).
 * `frameAncestors`: who may frame the page; nobody, but for the live-help frames on a company's own site
 * (engine/http/widgetRoutes.ts).
 */
function contentSecurityPolicy(connectSources: readonly string[], frameAncestors = "'none'"): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    ["connect-src 'self'", ...connectSources].join(' '),
    "media-src 'self' blob:",
    // A received email's HTML is shown in a frame of our own (engine/http/mailApi.ts serves it, sandboxed).
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

export interface HttpDeps {
  api: Api;
  /** Files and the owner's inbox (engine/http/conversationsApi.ts). */
  conversationsApi: ConversationsApi;
  /** Email (engine/http/mailApi.ts, issue 17). */
  mailApi: MailApi;
  /** Settings → Channels and the webhooks' replies (engine/http/channelsApi.ts, issue 18). */
  channelsApi: ChannelsApi;
  /** Settings → Company and joining a company's team (engine/http/companyApi.ts, issue 19). */
  companyApi: CompanyApi;
  /** A conversation's transcript by email (engine/http/transcriptApi.ts, issue 19). */
  transcriptApi: TranscriptApi;
  /** Settings → Phone number (engine/http/phoneApi.ts, issue 20). */
  phoneApi: PhoneApi;
  /** Settings → Domains (engine/http/domainsApi.ts, issue 21). */
  domainsApi: DomainsApi;
  /** Settings → Password, Sessions, Audit log, and password recovery (engine/http/securityApi.ts, issue 22). */
  securityApi: SecurityApi;
  /** Blocked visitors: a conversation's Block, Settings → Blocked visitors (engine/http/blocksApi.ts, issue 22). */
  blocksApi: BlocksApi;
  /** Settings → Export my data, Delete account (engine/http/accountDataApi.ts, issue 22). */
  accountDataApi: AccountDataApi;
  /** Two-factor sign-in: the login's second step and Settings → Two-factor sign-in (engine/http/secondFactorApi.ts, issue 22). */
  secondFactorApi: SecondFactorApi;
  /** The pages of mail links (verify, unsubscribe). */
  mailPages: MailPages;
  matchmaking: Matchmaking;
  storage: Storage;
  logger: Logger;
  assetsDir: string;
  /** Reverse proxies whose X-Forwarded-For entries are believed (config.trustProxy; 0: none). */
  trustProxy: number;
  hsts: boolean;
  isAllowedOrigin(origin: string | undefined, host: string | undefined): boolean;
  isReady(): boolean;
  /** Other origins pages connect to (Janus's WebSocket API when it is on another host or port). */
  connectSources?: readonly string[];
  /** Origins of the other processes' room sockets, as of now (engine/http/processAddresses.ts). */
  processSources?: () => Promise<readonly string[]>;
  /** The handle whose page an owner's own domain serves at `/` (issue 21, engine/domainHosts.ts); null for other hosts. */
  homeOf?: (host: string | undefined) => string | null;
}

export class HttpHandler {
  private shell: Promise<string | null> | null = null;
  /** The policy for the last set of process sources (they rarely change). */
  private csp: { key: string; value: string } | null = null;

  constructor(private readonly deps: HttpDeps) {
    this.widget = new WidgetRoutes({
      storage: deps.storage,
      assetsDir: deps.assetsDir,
      pagePolicy: (ancestor) => this.framedPolicy(ancestor),
    });
    this.pwa = new PwaRoutes({ assetsDir: deps.assetsDir, pagePolicy: () => this.contentSecurityPolicy() });
  }

  /** The app's policy for a page one site may frame (engine/http/widgetRoutes.ts says which). */
  private async framedPolicy(ancestor: string): Promise<string> {
    return contentSecurityPolicy(await this.connectSources(), ancestor);
  }

  private async connectSources(): Promise<string[]> {
    return [...(this.deps.connectSources ?? []), ...((await this.deps.processSources?.()) ?? [])];
  }

  private async contentSecurityPolicy(): Promise<string> {
    const sources = await this.connectSources();
    const key = sources.join(' ');
    if (this.csp?.key !== key) this.csp = { key, value: contentSecurityPolicy(sources) };
    return this.csp.value;
  }

  /** The `request` listener; never throws (errors are answered and logged). */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    this.handle(req, res).catch((err: unknown) => sendError(res, err, this.deps.logger, { url: req.url }));
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Resume links carry a secret in the path: never leak it through Referer.
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    if (this.deps.hsts) res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    const url = new URL(req.url ?? '/', 'http://knock.invalid');
    const pathname = url.pathname;
    const method = req.method ?? 'GET';

    if (pathname === '/_/health') {
      const ready = this.deps.isReady();
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ok' : 'starting' });
    }
    if (Matchmaking.owns(pathname)) return this.deps.matchmaking.serve(req, res, pathname, clientKeyOf(req, this.deps.trustProxy));
    if (pathname.startsWith('/_/api/')) {
      if (method !== 'GET' && method !== 'HEAD' && !this.deps.isAllowedOrigin(req.headers.origin, req.headers.host)) {
        throw new KnockError('forbidden', 'Requests from other sites are not allowed.');
      }
      const info = { req, res, url, ip: clientKeyOf(req, this.deps.trustProxy) };
      if (await this.deps.api.route(info, pathname)) return;
      if (await this.deps.conversationsApi.route(info, pathname)) return;
      if (await this.deps.mailApi.route(info, pathname)) return;
      if (await this.deps.channelsApi.route(info, pathname)) return;
      if (await this.deps.companyApi.route(info, pathname)) return;
      if (await this.deps.transcriptApi.route(info, pathname)) return;
      if (await this.deps.phoneApi.route(info, pathname)) return;
      if (await this.deps.domainsApi.route(info, pathname)) return;
      if (await this.deps.securityApi.route(info, pathname)) return;
      if (await this.deps.blocksApi.route(info, pathname)) return;
      if (await this.deps.accountDataApi.route(info, pathname)) return;
      if (await this.deps.secondFactorApi.route(info, pathname)) return;
      throw new KnockError('not_found', 'No such API.');
    }
    // Before the GET-only rule: the unsubscribe button and mail clients' one-click unsubscribe POST here.
    if (MailPages.owns(pathname)) return this.deps.mailPages.serve(req, res, pathname, clientKeyOf(req, this.deps.trustProxy));
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      throw new KnockError('method_not_allowed', 'Pages and files are read with GET.');
    }
    if (pathname.startsWith('/_/assets/')) return this.asset(res, pathname.slice('/_/assets/'.length), method);
    if (PwaRoutes.owns(pathname)) return this.pwa.serve(res, pathname, method);
    if (WidgetRoutes.owns(pathname)) return this.widget.serve(res, url, method);
    if (pathname.startsWith('/_/files/')) return this.deps.conversationsApi.download(req, res, pathname);
    return this.page(res, pathname, url.searchParams.get('embed'), url.search, this.deps.homeOf?.(req.headers.host) ?? null);
  }

  /** `embed`: the `?embed=<site origin>` of the live-help chat in a company's widget, which that site may frame. */
  /**
   * `home`: the request came to an owner's own domain (issue 21), whose `/` and `/c/<token>` are that owner's page
   * and resume links; the shell names the owner for the app's router (a meta tag), everything else is as on any host.
   */
  private async page(res: ServerResponse, pathname: string, embed: string | null, search = '', home: string | null = null): Promise<void> {
    if (pathname === '/favicon.ico') {
      res.writeHead(204, { 'Cache-Control': 'public, max-age=86400' });
      return void res.end();
    }
    let status = 404;
    let policy: Promise<string> | null = null;
    // An invitation to a company's team (issue 19): its page takes it, once the person is signed in.
    if (pathname === '/' || pathname === '/_/signup' || /^\/_\/join\/[A-Za-z0-9_-]{16,128}$/.test(pathname)) status = 200;
    // Password recovery (issue 22): asked for here, and set here by a mailed link (its token in the fragment).
    if (pathname === '/_/reset') status = 200;
    // A phone URL (issue 20): other spellings of a number go to its one URL; a number nobody claimed is nobody's page.
    const phone = phonePath(pathname);
    if (phone?.e164 && !phone.canonical) {
      res.writeHead(301, { Location: `/${phone.e164}${phone.rest}${search}`, 'Cache-Control': 'public, max-age=3600' });
      return void res.end();
    }
    if (phone?.e164) status = (await this.deps.storage.getPhoneNumber(phone.e164)) ? 200 : 404;
    const m = pathname.match(/^\/([^/]+)(\/c\/[A-Za-z0-9_-]{16,128})?\/?$/);
    if (m && HANDLE_PATTERN.test(m[1]!) && !RESERVED_HANDLES.has(m[1]!)) {
      status = (await this.deps.storage.getAccountByHandle(m[1]!)) ? 200 : 404;
      // Only the company's own URL, not a resume link: the embedded chat resumes through the API.
      const ancestor = embed !== null && m[2] === undefined && status === 200 ? await this.widget.allowedAncestor(m[1]!, embed) : null;
      if (ancestor !== null) {
        policy = this.framedPolicy(ancestor);
        res.removeHeader('X-Frame-Options');
      }
    }
    const atHome = home !== null && /^\/(c\/[A-Za-z0-9_-]{16,128}\/?)?$/.test(pathname);
    if (atHome) status = 200;
    const shell = await this.loadShell();
    // A handle is [a-z0-9._-]: safe in an attribute as it is.
    const html = shell !== null && atHome ? shell.replace('<head>', `<head>\n<meta name="knock-home" content="${home}">`) : shell;
    if (html === null) {
      return sendJson(res, 503, { error: { code: 'internal', message: 'The browser app is not built yet: run `npm run build`.' } });
    }
    res.writeHead(status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': await (policy ?? this.contentSecurityPolicy()),
      'Cache-Control': 'no-cache',
      'Content-Length': Buffer.byteLength(html),
    });
    res.end(html);
  }

  private async asset(res: ServerResponse, name: string, method: string): Promise<void> {
    const ext = path.extname(name);
    const type = CONTENT_TYPES[ext];
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.') || !type) throw new KnockError('not_found', 'No such asset.');
    let body: Buffer;
    try {
      body = await readFile(path.join(this.deps.assetsDir, name));
    } catch {
      throw new KnockError('not_found', 'No such asset.');
    }
    // Built files carry a content hash in their name, so they never change: cache them for a year.
    const hashed = /-[A-Za-z0-9]{8,}\.[a-z0-9]+$/.test(name);
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': body.length,
      'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    res.end(method === 'HEAD' ? undefined : body);
  }

  /** The widget's script and monitor frame, and who may frame the chat (issue 19). */
  private readonly widget: WidgetRoutes;
  /** The installable app: manifest, service worker, offline page (issue 20). */
  private readonly pwa: PwaRoutes;

  private loadShell(): Promise<string | null> {
    this.shell ??= readFile(path.join(this.deps.assetsDir, 'index.html'), 'utf8').catch(() => {
      this.shell = null; // try again on the next request (the build may still be running)
      return null;
    });
    return this.shell;
  }
}
