/**
 * Knock's one service worker (client/src/serviceWorker.js, served at /_/sw.js for the whole origin): it keeps the
 * app shell for offline use and shows web push notifications. The page registers it after load (main.tsx), and
 * "Notify me on this device" subscribes through the same registration (client/src/sdk/push.ts): a browser keeps one
 * worker per scope.
 *
 * @example
 *   const registration = await registerAppWorker();
 */
export function registerAppWorker(): Promise<ServiceWorkerRegistration> {
  return navigator.serviceWorker.register('/_/sw.js', { scope: '/' });
}
