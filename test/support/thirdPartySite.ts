/**
 * A company's website for the widget's browser tests (issue 19): a real HTTP server on another origin than Knock's,
 * serving a shop's pages with the embed tag. Knock runs at http://127.0.0.1:<port>; the site is addressed as
 * http://localhost:<port2>: another site for the browser (third-party frames, partitioned storage, no SameSite
 * cookies), and still a secure context, as a real https shop is.
 *
 * Two pages link to each other ("Home" `/`, "Products" `/products`); each takes its variant from its query, so a test
 * moves through the site as a visitor does:
 * - `widget: false`: the same page without the tag (the baseline for "the widget changed nothing on the page");
 * - `hostile: true`: adds a stylesheet that attacks every element, the widget's host element and iframes included;
 * - `consent: true`: the tag has `data-consent="required"`; `monitorOnly: true`: it has `data-monitor`.
 * Every page is served under a strict CSP of the kind careful shops send (no inline script or style; scripts and
 * frames from itself and Knock only), so a widget that needed more would show a CSP violation in the test.
 *
 * @example
 *   const site = await startThirdPartySite({ knockUrl: knock.url, handle: 'acme' });
 *   await storage.addSite(companyId, site.origin, Date.now());
 *   await page.goto(site.url('/', { hostile: true }));
 *   await site.close();
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SitePageOptions {
  widget?: boolean;
  hostile?: boolean;
  consent?: boolean;
  monitorOnly?: boolean;
}

export interface ThirdPartySite {
  /** `http://localhost:<port>`: what the company lists and what the widget reports as `site`. */
  origin: string;
  url(path?: '/' | '/products', options?: SitePageOptions): string;
  close(): Promise<void>;
}

const PAGES: Record<string, { title: string; heading: string; other: string; otherName: string }> = {
  '/': { title: 'Acme Shop — Home', heading: 'Welcome to the Acme Shop', other: '/products', otherName: 'Products' },
  '/products': { title: 'Acme Shop — Products', heading: 'Our products', other: '/', otherName: 'Home' },
};

/** The shop's own look: what the host page's computed styles are compared against. */
const SITE_CSS = `
html { font-size: 18px; }
body { margin: 0; font-family: Georgia, serif; color: #222; background: #fafafa; line-height: 1.6; }
header { padding: 12px 24px; background: #333; color: #fff; }
header a { color: #ffd; }
main { padding: 24px; max-width: 720px; }
#headline { font-size: 2rem; letter-spacing: 1px; margin: 0 0 12px; }
#intro { color: #444; }
#buy { padding: 10px 20px; border: 2px solid #030; border-radius: 4px; background: #060; color: #fff; font-size: 1rem; }
#box { width: 200px; height: 120px; margin-top: 24px; background: #eee; border: 1px solid #ccc; }
`;

/**
 * Everything a careless or hostile stylesheet does to elements it does not own: every element, every button and
 * iframe, the page's direct children (where widgets put themselves), the widget's own tag, the root font size and
 * inherited text properties.
 */
const HOSTILE_CSS = `
html { font-size: 40px !important; }
* { font-family: "Comic Sans MS", cursive !important; letter-spacing: 3px !important; text-transform: uppercase !important;
    line-height: 3 !important; box-sizing: content-box !important; }
body { color: magenta !important; direction: rtl; }
button, [role="button"] { background: yellow !important; color: red !important; border: 6px dashed red !important;
    padding: 30px !important; font-size: 30px !important; border-radius: 0 !important; display: block !important; }
iframe { display: block !important; width: 100% !important; height: 400px !important; border: 8px solid red !important; }
div, section, aside, span, p { padding: 20px !important; margin: 20px !important; background: pink !important; }
body > :not(header):not(main):not(script) { opacity: 0.3 !important; transform: rotate(8deg) scale(0.5) !important;
    filter: blur(2px) !important; position: static !important; display: inline !important; z-index: -1 !important; }
knock-widget { display: none !important; }
`;

export async function startThirdPartySite(config: { knockUrl: string; handle: string }): Promise<ThirdPartySite> {
  const knockOrigin = new URL(config.knockUrl).origin;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site.invalid');
    const css = url.pathname === '/site.css' ? SITE_CSS : url.pathname === '/hostile.css' ? HOSTILE_CSS : null;
    if (css !== null) {
      res.writeHead(200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'no-store' });
      return void res.end(css);
    }
    const page = PAGES[url.pathname];
    if (page === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return void res.end('Not here');
    }
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': `default-src 'self'; script-src 'self' ${knockOrigin}; frame-src ${knockOrigin}; style-src 'self'; img-src 'self'`,
    });
    res.end(pageHtml(page, url.searchParams, { knockOrigin, handle: config.handle }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url(path = '/', options = {}) {
      const query = new URLSearchParams();
      if (options.widget === false) query.set('widget', '0');
      if (options.hostile) query.set('hostile', '1');
      if (options.consent) query.set('consent', '1');
      if (options.monitorOnly) query.set('monitor', '1');
      const search = query.toString();
      return `${origin}${path}${search === '' ? '' : `?${search}`}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function pageHtml(page: (typeof PAGES)[string], query: URLSearchParams, tag: { knockOrigin: string; handle: string }): string {
  // The variant goes on to the other page, as a visitor clicking through the same site.
  const keep = query.toString();
  const attrs = [`src="${tag.knockOrigin}/_/widget.js"`, `data-knock="${tag.handle}"`];
  if (query.get('consent') === '1') attrs.push('data-consent="required"');
  if (query.get('monitor') === '1') attrs.push('data-monitor');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${page.title}</title>
<link rel="stylesheet" href="/site.css">${query.get('hostile') === '1' ? '\n<link rel="stylesheet" href="/hostile.css">' : ''}
</head>
<body>
<header><a id="nav" href="${page.other}${keep === '' ? '' : `?${keep}`}">${page.otherName}</a></header>
<main>
<h1 id="headline">${page.heading}</h1>
<p id="intro">Everything a road runner could want, delivered by rocket.</p>
<button id="buy" type="button">Buy now</button>
<div id="box"></div>
</main>${query.get('widget') === '0' ? '' : `\n<script ${attrs.join(' ')} async></script>`}
</body>
</html>
`;
}
