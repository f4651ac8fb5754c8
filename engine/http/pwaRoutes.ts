/**
 * The installable app's HTTP face (issue 20), files the build writes (client/pwa.ts) served at fixed addresses:
 *
 *   GET /_/manifest.webmanifest   the web app manifest (its icons are assets: /_/assets/icon-*.png)
 *   GET /_/sw.js                  the service worker, for the whole origin (`Service-Worker-Allowed: /`)
 *   GET /_/push-sw.js             the same script, for browsers that registered it for web push before issue 20
 *                                 (client/src/serviceWorker.js says why it is not retired)
 *   GET /_/offline                the page the worker shows when a page cannot load offline
 *
 * None of them carries a content hash: a browser keeps a worker registration by its script URL, and the manifest's
 * address is the app's identity on the home screen. So they are revalidated on every use (`no-cache`), and read
 * from disk on every request (they are small and rarely asked for), so a rebuild is served at once.
 *
 * @example
 *   if (PwaRoutes.owns(pathname)) return pwa.serve(res, pathname, method);
 */
import type { ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { KnockError } from '../errors.ts';

export const MANIFEST_PATH = '/_/manifest.webmanifest';
export const WORKER_PATH = '/_/sw.js';
export const LEGACY_PUSH_WORKER_PATH = '/_/push-sw.js';
export const OFFLINE_PATH = '/_/offline';

/** Address -> the build's file and how it is served. */
const ROUTES: Record<string, { file: string; type: string; headers?: Record<string, string>; page?: true }> = {
  [MANIFEST_PATH]: { file: 'manifest.webmanifest', type: 'application/manifest+json; charset=utf-8' },
  // The worker lives under /_/ (no handle can take that path) but serves the whole origin: the header allows scope /.
  [WORKER_PATH]: { file: 'sw.js', type: 'text/javascript; charset=utf-8', headers: { 'Service-Worker-Allowed': '/' } },
  [LEGACY_PUSH_WORKER_PATH]: { file: 'sw.js', type: 'text/javascript; charset=utf-8' },
  [OFFLINE_PATH]: { file: 'offline.html', type: 'text/html; charset=utf-8', page: true },
};

/**
 * The policy of the worker (what it may fetch: its own origin only, it never reaches another) and of the manifest
 * (no document: nothing to allow).
 */
const WORKER_POLICY = "default-src 'self'";

export interface PwaRoutesDeps {
  /** The built browser app (client/dist). */
  assetsDir: string;
  /** The app pages' Content-Security-Policy (the offline page is one). */
  pagePolicy(): Promise<string>;
}

export class PwaRoutes {
  constructor(private readonly deps: PwaRoutesDeps) {}

  static owns(pathname: string): boolean {
    return Object.hasOwn(ROUTES, pathname);
  }

  /** Answers a GET or HEAD of a path `owns` claims. */
  async serve(res: ServerResponse, pathname: string, method: string): Promise<void> {
    const route = ROUTES[pathname];
    if (route === undefined) throw new KnockError('not_found', 'No such file.');
    let body: Buffer;
    try {
      body = await readFile(path.join(this.deps.assetsDir, route.file));
    } catch {
      throw new KnockError('unavailable', 'The browser app is not built yet: run `npm run build`.');
    }
    res.writeHead(200, {
      'Content-Type': route.type,
      'Content-Length': body.length,
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': route.page ? await this.deps.pagePolicy() : WORKER_POLICY,
      ...route.headers,
    });
    res.end(method === 'HEAD' ? undefined : body);
  }
}
