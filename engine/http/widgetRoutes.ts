/**
 * The widget's HTTP face (issue 19):
 *
 *   GET /_/widget.js                 the script companies embed (client/src/widget/widget.ts, built to a fixed name):
 *                                    any site may load it (CORS and CORP say so), cached for five minutes
 *   GET /_/widget/frame?handle=acme&site=<origin>&monitor=1|0&declined=0|1[&visitor=<id>]
 *                                    the hidden monitor frame's page (client/src/widget/frame.ts)
 *
 * and the rule both of Knock's frames on a company's site follow (this page and the chat, `/acme?embed=<origin>`):
 * they may be framed by the one site they were made for, and only when the company lists that site. The answer's
 * `frame-ancestors` names that origin and nothing else (not the company's whole list: a stranger learns nothing of the
 * company's other sites, and a listed site cannot pose as another). Anything else keeps the app's framing ban
 * (`frame-ancestors 'none'`, `X-Frame-Options: DENY`): an unlisted site gets a blocked frame, so no status, no button.
 */
import type { ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { siteListed } from '../companies.ts';
import { KnockError } from '../errors.ts';
import type { Storage } from '../ports/storage.ts';
import { HANDLE_PATTERN, siteOriginSchema, siteVisitorIdSchema } from '../protocol.ts';

export const WIDGET_SCRIPT_PATH = '/_/widget.js';
export const WIDGET_FRAME_PATH = '/_/widget/frame';
/** Built by client/build.ts into the assets directory. */
const WIDGET_FILE = 'widget.js';
const FRAME_HTML = 'widget-frame.html';
/** What an origin put in a header may contain (siteOriginSchema already holds it to scheme, host and port). */
const HEADER_SAFE_ORIGIN = /^https?:\/\/[A-Za-z0-9.[\]:-]+$/;

export interface WidgetRoutesDeps {
  storage: Pick<Storage, 'getAccountByHandle' | 'getCompany' | 'listSites'>;
  /** The built browser app (client/dist). */
  assetsDir: string;
  /** The app's Content-Security-Policy, with `frame-ancestors` set to `ancestor` instead of `'none'`. */
  pagePolicy(ancestor: string): Promise<string>;
}

/** A file of the build, read once; read again on the next request while it is missing (the build may be running). */
class BuiltFile {
  private content: Promise<Buffer | null> | null = null;

  constructor(private readonly file: string) {}

  read(): Promise<Buffer | null> {
    this.content ??= readFile(this.file).catch(() => {
      this.content = null;
      return null;
    });
    return this.content;
  }
}

export class WidgetRoutes {
  private readonly script: BuiltFile;
  private readonly frame: BuiltFile;

  constructor(private readonly deps: WidgetRoutesDeps) {
    this.script = new BuiltFile(path.join(deps.assetsDir, WIDGET_FILE));
    this.frame = new BuiltFile(path.join(deps.assetsDir, FRAME_HTML));
  }

  static owns(pathname: string): boolean {
    return pathname === WIDGET_SCRIPT_PATH || pathname === WIDGET_FRAME_PATH;
  }

  /** Answers a GET or HEAD of one of the two paths `owns` claims. */
  async serve(res: ServerResponse, url: URL, method: string): Promise<void> {
    if (url.pathname === WIDGET_SCRIPT_PATH) return this.serveScript(res, method);
    return this.serveFrame(res, url.searchParams, method);
  }

  /**
   * The origin that may frame `/<handle>?embed=<site>` or the monitor frame made for `site`: `site` itself when the
   * handle is a company listing it, else null (the page keeps `frame-ancestors 'none'`).
   */
  async allowedAncestor(handle: string, site: string): Promise<string | null> {
    if (!HANDLE_PATTERN.test(handle) || !siteOriginSchema.safeParse(site).success || !HEADER_SAFE_ORIGIN.test(site)) return null;
    const account = await this.deps.storage.getAccountByHandle(handle);
    if (account === null || (await this.deps.storage.getCompany(account.id)) === null) return null;
    return (await siteListed(this.deps.storage, account.id, site)) ? site : null;
  }

  private async serveScript(res: ServerResponse, method: string): Promise<void> {
    const body = await this.script.read();
    if (body === null) throw new KnockError('unavailable', 'The widget is not built yet: run `npm run build`.');
    res.writeHead(200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Content-Length': body.length,
      // A fixed name (the sites' tags name it): short caching, so a new Knock's widget reaches the sites soon.
      'Cache-Control': 'public, max-age=300',
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin',
    });
    res.end(method === 'HEAD' ? undefined : body);
  }

  private async serveFrame(res: ServerResponse, query: URLSearchParams, method: string): Promise<void> {
    const handle = query.get('handle') ?? '';
    const site = query.get('site') ?? '';
    const flags = ['monitor', 'declined'].map((name) => query.get(name));
    if (!HANDLE_PATTERN.test(handle)) throw new KnockError('bad_request', 'handle is not a handle.');
    if (!siteOriginSchema.safeParse(site).success) throw new KnockError('bad_request', 'site must be an origin like https://shop.example.');
    if (flags.some((f) => f !== '0' && f !== '1')) throw new KnockError('bad_request', 'monitor and declined must be 0 or 1.');
    const visitor = query.get('visitor');
    if (visitor !== null && !siteVisitorIdSchema.safeParse(visitor).success) throw new KnockError('bad_request', 'visitor is not a visitor id.');
    const ancestor = await this.allowedAncestor(handle, site);
    if (ancestor === null) throw new KnockError('forbidden', `This site may not show the live help of /${handle}.`);
    const body = await this.frame.read();
    if (body === null) throw new KnockError('unavailable', 'The widget is not built yet: run `npm run build`.');
    // frame-ancestors allows the site; X-Frame-Options (which knows no origins) would forbid it in older browsers.
    res.removeHeader('X-Frame-Options');
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': body.length,
      'Content-Security-Policy': await this.deps.pagePolicy(ancestor),
      // The answer depends on the company's list of sites, which an admin may change at any moment.
      'Cache-Control': 'no-cache',
    });
    res.end(method === 'HEAD' ? undefined : body);
  }
}
