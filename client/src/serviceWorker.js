// Knock's one service worker (issue 20), for the whole origin (scope `/`), served at /_/sw.js. The build
// (client/pwa.ts) puts `self.KNOCK_SHELL = { version, precache }` in front of this file: the app shell, the files
// every page loads, the icons, the manifest and the offline page, which it keeps so that the app opens offline.
//
// - Pages (navigations) come from the network first, so a person always gets the current Knock; when the network
//   fails, the kept shell opens the app (which keeps unsent messages and sends them on reconnect), and when even
//   that is missing, the offline page says so.
// - Hashed assets never change: they come from the cache first, and those loaded later (the editor, games) are kept
//   on first use.
// - Nothing else is touched: the API (/_/api/), matchmaking, file downloads (/_/files/) and WebSockets always go
//   to the network, never through a cache, and live-help frames on other sites (`?embed=`, /_/widget/frame) keep
//   their own headers.
//
// It also shows web push (issue 18): a forward arrives as an encrypted push (RFC 8291; the browser decrypts it):
// its JSON { title, body, url, tag } becomes a notification, one per conversation (a newer forward replaces the
// older); clicking it opens the conversation, or focuses a tab showing it.
//
// /_/push-sw.js serves this same script: browsers that subscribed before issue 20 registered that URL at scope
// /_/push/, and a push subscription lives and dies with its registration. Making the old worker unregister itself
// would silently end those subscriptions (the owner's Push channel would stop); running this script there keeps
// them working. At that scope it controls no page, so it keeps no files (see `atRoot`).
/* eslint-env serviceworker */
const SHELL = self.KNOCK_SHELL || { version: 'dev', precache: [] };
const CACHE = `knock-${SHELL.version}`;
const SHELL_URL = '/';
const OFFLINE_URL = '/_/offline';
/** The build's scripts and stylesheets: a content hash in the name, so a kept copy is never stale. */
const HASHED = /^\/_\/assets\/[A-Za-z0-9_-]+-[A-Z0-9]{8,}\.(js|css)$/;
const atRoot = self.registration.scope === `${self.location.origin}/`;

self.addEventListener('install', (event) => {
  if (!atRoot) return;
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.precache))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  if (!atRoot) return;
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith('knock-') && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (!atRoot || request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    if (url.searchParams.has('embed') || isNeverKept(url.pathname)) return;
    event.respondWith(page(request, isAppPage(url.pathname)));
  } else if (HASHED.test(url.pathname)) {
    event.respondWith(hashedAsset(request));
  } else if (SHELL.precache.includes(url.pathname)) {
    // The icons, the manifest, the offline page: fixed addresses whose content may change, so the network first.
    event.respondWith(fetch(request).catch(() => caches.match(request).then((kept) => kept || Response.error())));
  }
});

/**
 * The API, matchmaking and downloads: always live, and a download may be large and private. The widget's frames
 * live on companies' sites, under those sites' framing rules: their answers pass untouched.
 */
function isNeverKept(pathname) {
  return ['/_/api/', '/_/files/', '/_/matchmake/', '/_/widget'].some((prefix) => pathname.startsWith(prefix));
}

/** The addresses the app itself shows (a person's URL, a resume link, sign-up, a team invitation). */
function isAppPage(pathname) {
  return !pathname.startsWith('/_/') || pathname === '/_/signup' || pathname.startsWith('/_/join/');
}

async function page(request, appPage) {
  try {
    const response = await fetch(request);
    // Every app page is the same shell: keep the newest, so the copy matches the assets the server has now.
    if (appPage && response.ok && (response.headers.get('Content-Type') || '').startsWith('text/html')) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(SHELL_URL, copy)).catch(() => undefined);
    }
    return response;
  } catch {
    const kept = (appPage && (await caches.match(SHELL_URL))) || (await caches.match(OFFLINE_URL));
    return kept || Response.error();
  }
}

async function hashedAsset(request) {
  const kept = await caches.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) {
    const copy = response.clone();
    caches.open(CACHE).then((cache) => cache.put(request, copy)).catch(() => undefined);
  }
  return response;
}

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { title: 'Knock', body: event.data ? event.data.text() : '' };
  }
  const title = typeof data.title === 'string' ? data.title : 'Someone knocked';
  event.waitUntil(
    self.registration.showNotification(title, {
      body: typeof data.body === 'string' ? data.body : '',
      tag: typeof data.tag === 'string' ? data.tag : undefined,
      data: { url: typeof data.url === 'string' ? data.url : '/' },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL(event.notification.data && event.notification.data.url ? event.notification.data.url : '/', self.location.origin);
  // Only pages of this server are opened.
  if (target.origin !== self.location.origin) return;
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((tabs) => {
      const open = tabs.find((tab) => new URL(tab.url).pathname === target.pathname);
      if (open) return open.focus().then(() => open.navigate(target.href));
      return self.clients.openWindow(target.href);
    }),
  );
});
