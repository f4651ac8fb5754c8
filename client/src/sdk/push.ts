import { registerAppWorker } from './appWorker.ts';

/**
 * "Notify me on this device" (issue 18): registers Knock's service worker (/_/sw.js, client/src/serviceWorker.js,
 * the app's one worker, which the page has usually registered already) and subscribes this browser to push with the
 * server's VAPID key. The subscription (endpoint and keys) becomes a channel of kind push (POST /_/api/channels).
 *
 * @example
 *   const subscription = await subscribeThisDevice(answer.vapidPublicKey);
 *   await api.addChannel({ kind: 'push', subscription });
 */
export async function subscribeThisDevice(vapidPublicKey: string): Promise<{ endpoint: string; expirationTime?: number | null; keys: { p256dh: string; auth: string } }> {
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) throw new Error('This browser cannot receive push notifications.');
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new Error('Notifications are blocked for this site: allow them in the browser to be notified here.');
  await registerAppWorker();
  // The active registration: pushManager.subscribe needs an active worker, which `register` may not have yet.
  const registration = await navigator.serviceWorker.ready;
  const existing = await registration.pushManager.getSubscription();
  const subscription =
    existing ?? (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlBytes(vapidPublicKey) }));
  const json = subscription.toJSON() as { endpoint?: string; expirationTime?: number | null; keys?: { p256dh?: string; auth?: string } };
  if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth) throw new Error('The browser gave an incomplete push subscription.');
  return { endpoint: json.endpoint, expirationTime: json.expirationTime ?? null, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } };
}

function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
