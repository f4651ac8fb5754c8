// Knock's service worker for web push (issue 18), served at /_/push-sw.js. A forward arrives as an encrypted push
// (RFC 8291; the browser decrypts it): its JSON { title, body, url, tag } becomes a notification, one per
// conversation (a newer forward replaces the older); clicking it opens the conversation, or focuses a tab showing it.
/* eslint-env serviceworker */
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
