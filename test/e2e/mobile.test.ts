/**
 * Knock on a phone (issue 20: the phone's browser is the app), in Chromium emulating an iPhone 13 and a Pixel 7:
 * nothing scrolls sideways, not even with a 300-character word or a long URL in a message; the message box stays in
 * view; the owner's console shows the list, then one conversation with a way back. The app is installable (a
 * manifest with real PNG icons, one service worker for the whole site) and works offline: a reload opens the kept
 * app, a page never kept shows the offline page, and a message sent offline waits on the phone and is delivered once
 * when the connection is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devices, type BrowserContextOptions, type Page } from 'playwright-core';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { AccessibilityAudit, DESKTOP } from '../support/axeAudit.ts';
import {
  conversationList,
  deliveryOf,
  eventually,
  expectDelivery,
  expectMessage,
  hasNoHorizontalScroll,
  isInViewport,
  logInAsOwner,
  messageBox,
  messageItem,
  messageList,
  messageTexts,
  openConversation,
  openProfile,
  ownerAndVisitor,
  sendButton,
  sendWithButton,
  sendWithEnter,
} from '../support/knockUi.ts';

/** A device's metrics as a context's options; `defaultBrowserType` says which engine Playwright would pick: here always Chromium. */
function phone(name: 'iPhone 13' | 'Pixel 7' | 'Galaxy S8'): BrowserContextOptions & { viewport: { width: number; height: number } } {
  const { defaultBrowserType: _engine, ...options } = devices[name];
  return options;
}
const PHONES = [
  { name: 'iPhone 13', handle: 'alice-iphone', device: phone('iPhone 13') },
  { name: 'Pixel 7', handle: 'alice-pixel', device: phone('Pixel 7') },
] as const;
/** The narrowest screen Knock promises to fit: 360 px (a Galaxy S8). */
const NARROW = { name: 'Galaxy S8 (360 px)', handle: 'alice-narrow', device: phone('Galaxy S8') } as const;
/** How much of the screen an on-screen keyboard takes, about, on these phones. */
const KEYBOARD_SHARE = 0.45;

const LONG_WORD = 'Supercalifragilistic'.repeat(15);
const LONG_URL = `https://example.com/${'a-rather-long-path-segment/'.repeat(8)}?query=${'z'.repeat(60)}`;

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
});
afterAll(() => knock?.close());

/** Nothing sticks out sideways, and the message box and Send are on screen. */
async function expectFitsThePhone(page: Page, where: string): Promise<void> {
  expect(await hasNoHorizontalScroll(page), `horizontal scrolling on ${where}`).toMatchObject({ ok: true });
  expect(await isInViewport(messageBox(page)), `message box in view on ${where}`).toBe(true);
  expect(await isInViewport(sendButton(page)), `Send in view on ${where}`).toBe(true);
}

/** The message's text wraps inside its bubble, and the bubble stays on screen: nothing runs off the right edge. */
async function expectWithinScreenWidth(page: Page, body: string): Promise<void> {
  const text = messageItem(page, body).getByText(body, { exact: true });
  const fit = await text.evaluate((el) => {
    const bubble = el.closest('li')?.querySelector('.bubble') ?? el;
    const box = bubble.getBoundingClientRect();
    return {
      left: box.left,
      right: box.right,
      screen: window.innerWidth,
      textOverflows: el.scrollWidth > el.clientWidth || bubble.scrollWidth > bubble.clientWidth,
    };
  });
  const what = `"${body.slice(0, 24)}…"`;
  expect(fit.textOverflows, `${what} runs out of its bubble`).toBe(false);
  expect(fit.left, `${what} starts off screen`).toBeGreaterThanOrEqual(0);
  expect(fit.right, `${what} ends off screen (${JSON.stringify(fit)})`).toBeLessThanOrEqual(fit.screen);
}

/** Waits until the app's service worker is active and this page is under its control. */
async function controllingWorker(page: Page): Promise<{ scope: string; script: string }> {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return { scope: registration.scope, script: navigator.serviceWorker.controller?.scriptURL ?? '' };
  });
}

/** A visitor on the owner's URL whose page the service worker controls (the first visit installs it, a reload hands over). */
async function controlledVisitor(label: string, device: BrowserContextOptions, handle: string): Promise<Page> {
  const page = await browser.newPage(label, device);
  await openProfile(page, knock.url, handle);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await messageBox(page).waitFor();
  await controllingWorker(page);
  return page;
}

/**
 * The visitor page before and after a knock, and the owner's console, on `device`: nothing scrolls sideways, and the
 * message box stays in view, also with the on-screen keyboard up (with `interactive-widget=resizes-content` the
 * keyboard shrinks the layout viewport, which is what a smaller viewport does here).
 */
async function expectFitsOn(device: ReturnType<typeof phone>, handle: string): Promise<void> {
  expect(LONG_WORD).toHaveLength(300);
  const { owner, visitor } = await ownerAndVisitor(browser, knock, handle, { owner: device, visitor: device });
  expect(await visitor.evaluate(() => window.innerWidth)).toBe(device.viewport.width);
  await expectFitsThePhone(visitor, 'the visitor page before any message');

  await sendWithEnter(visitor, LONG_WORD);
  await sendWithEnter(visitor, `See ${LONG_URL}`);
  await expectDelivery(visitor, LONG_WORD, 'Sent');
  await expectDelivery(visitor, `See ${LONG_URL}`, 'Sent');
  await expectFitsThePhone(visitor, 'the visitor page with long messages');
  await expectWithinScreenWidth(visitor, LONG_WORD);
  await expectWithinScreenWidth(visitor, `See ${LONG_URL}`);

  // The owner's console on the phone: the list first, without sideways scrolling.
  await conversationList(owner).getByRole('button').first().waitFor();
  expect(await hasNoHorizontalScroll(owner), 'horizontal scrolling on the console list').toMatchObject({ ok: true });
  expect(await messageList(owner).count()).toBe(0);

  // Then the conversation alone, with a way back.
  await openConversation(owner, 'Visitor');
  await expectMessage(owner, LONG_WORD);
  await expectMessage(owner, `See ${LONG_URL}`);
  expect(await conversationList(owner).isVisible(), 'the list hides while a conversation is open').toBe(false);
  await expectFitsThePhone(owner, 'the open conversation in the console');
  await expectWithinScreenWidth(owner, LONG_WORD);
  await expectWithinScreenWidth(owner, `See ${LONG_URL}`);

  await owner.getByRole('button', { name: 'Back' }).click();
  await conversationList(owner).waitFor();
  await messageList(owner).waitFor({ state: 'detached' });
  expect(await hasNoHorizontalScroll(owner), 'horizontal scrolling on the console list').toMatchObject({ ok: true });

  // The on-screen keyboard comes up while typing: the message box and Send stay above it.
  const { width, height } = device.viewport;
  for (const [page, where] of [[visitor, 'the visitor page'], [owner, 'the console']] as const) {
    if (where === 'the console') await openConversation(owner, 'Visitor');
    await messageBox(page).focus();
    await page.setViewportSize({ width, height: Math.round(height * (1 - KEYBOARD_SHARE)) });
    await expectFitsThePhone(page, `${where} with the keyboard up`);
    await page.setViewportSize({ width, height });
  }
}

it(`fits the visitor page and the console to a 360 px wide screen (${NARROW.name})`, { timeout: E2E_TEST_TIMEOUT_MS }, async () => {
  await expectFitsOn(NARROW.device, NARROW.handle);
});

describe.each(PHONES)('on an $name', { timeout: E2E_TEST_TIMEOUT_MS }, ({ handle, device }) => {
  /** The URL the app tests below open (each test makes its own owner and visitor otherwise). */
  const appHandle = `${handle}-app`;
  beforeAll(() => knock.addUser(appHandle, 'Alice'));

  it('fits the visitor page (before and after a knock) and the console to the screen, long words and URLs included', async () => {
    await expectFitsOn(device, handle);
  });

  it('shows the owner everything on the phone and on the computer at once, in both directions', async () => {
    const owned = `${handle}-two`;
    const { owner: onPhone, visitor } = await ownerAndVisitor(browser, knock, owned, { owner: device, visitor: device });
    const onComputer = await browser.newPage('owner on the computer', { viewport: DESKTOP });
    await openProfile(onComputer, knock.url, owned);
    await logInAsOwner(onComputer);

    await sendWithButton(visitor, 'Knock knock');
    await openConversation(onPhone, 'Visitor');
    await openConversation(onComputer, 'Visitor');
    await expectMessage(onPhone, 'Knock knock');
    await expectMessage(onComputer, 'Knock knock');

    await sendWithButton(onPhone, 'Who is there? (phone)');
    await expectMessage(onComputer, 'Who is there? (phone)');
    await sendWithButton(onComputer, 'Still here (computer)');
    await expectMessage(onPhone, 'Still here (computer)');
    const all = ['Knock knock', 'Who is there? (phone)', 'Still here (computer)'];
    await expectMessage(visitor, 'Still here (computer)');
    for (const page of [visitor, onPhone, onComputer]) expect(await messageTexts(page)).toEqual(all);
  });

  it('is installable: the page links the manifest, which names the app and its icons, real PNGs of the sizes it states', async () => {
    const page = await browser.newPage('visitor', device);
    await openProfile(page, knock.url, appHandle);
    const href = await page.locator('link[rel="manifest"]').getAttribute('href');
    expect(href).toBe('/_/manifest.webmanifest');
    const manifest = await page.evaluate(async (url) => {
      const response = await fetch(url);
      return { type: response.headers.get('Content-Type'), body: (await response.json()) as Record<string, unknown> };
    }, href!);
    expect(manifest.type).toMatch(/^application\/manifest\+json/);
    expect(manifest.body).toMatchObject({ name: 'Knock', short_name: 'Knock', start_url: '/', scope: '/', display: 'standalone' });
    const icons = manifest.body.icons as { src: string; sizes: string; type: string; purpose: string }[];
    expect(icons.map((i) => `${i.sizes} ${i.purpose}`).sort()).toEqual(['192x192 any', '512x512 any', '512x512 maskable']);
    for (const icon of icons) {
      // Decoded by the browser itself: a PNG it can draw, of the size the manifest promises.
      const drawn = await page.evaluate(async (src) => {
        const response = await fetch(src);
        const bytes = new Uint8Array(await response.clone().arrayBuffer());
        const bitmap = await createImageBitmap(await response.blob());
        return { type: response.headers.get('Content-Type'), signature: [...bytes.slice(1, 4)], width: bitmap.width, height: bitmap.height };
      }, icon.src);
      const [width, height] = icon.sizes.split('x').map(Number);
      expect(drawn, icon.src).toEqual({ type: 'image/png', signature: [0x50, 0x4e, 0x47], width, height });
    }
    expect(await page.locator('meta[name="theme-color"]').count()).toBeGreaterThan(0);
    expect(await page.locator('link[rel="apple-touch-icon"]').getAttribute('href')).toBe('/_/assets/icon-192.png');
    expect(await page.locator('meta[name="viewport"]').getAttribute('content')).toContain('interactive-widget=resizes-content');
  });

  it('registers one service worker for the whole site, which controls the page after a reload', async () => {
    const page = await controlledVisitor('visitor', device, appHandle);
    expect(await controllingWorker(page)).toEqual({ scope: `${knock.url}/`, script: `${knock.url}/_/sw.js` });
    // One registration: the push channel (client/src/sdk/push.ts) subscribes through the same one.
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length)).toBe(1);
    // Chromium's own verdict, as its "Install app" menu item uses it: nothing of the site's stands in the way. (A
    // test's browser context is an incognito one, where Chromium installs nothing: that reason alone remains.)
    const devtools = await page.context().newCDPSession(page);
    const { installabilityErrors } = (await devtools.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
    expect(installabilityErrors.map((e) => e.errorId)).toEqual(['in-incognito']);
    const { errors } = (await devtools.send('Page.getAppManifest')) as { errors: { message: string }[] };
    expect(errors.map((e) => e.message)).toEqual([]);
  });

  it('shows a knock pushed while no Knock page is open as a notification, from the same worker', async () => {
    const page = await controlledVisitor('visitor', device, appHandle);
    const context = page.context();
    await context.grantPermissions(['notifications'], { origin: knock.url });
    // A blank tab of the same browser profile hosts the DevTools session; the Knock page is then closed.
    const blank = await context.newPage();
    const devtools = await context.newCDPSession(blank);
    const registered = new Promise<string>((resolve) => {
      devtools.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
        const ours = registrations.find((r) => r.scopeURL === `${knock.url}/` && !r.isDeleted);
        if (ours) resolve(ours.registrationId);
      });
    });
    await devtools.send('ServiceWorker.enable');
    const registrationId = await registered;
    await page.close();

    // What the push channel sends (adapters/channels/push), as the browser hands it to the worker once decrypted.
    const push = { title: 'Bob knocked', body: 'Are you there?', url: `/${appHandle}`, tag: 'conversation-1' };
    await devtools.send('ServiceWorker.deliverPushMessage', { origin: knock.url, registrationId, data: JSON.stringify(push) });

    await blank.goto(`${knock.url}/_/offline`);
    const shown = await eventually(
      () => blank.evaluate(async () => (await navigator.serviceWorker.ready).getNotifications().then((all) => all.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data as unknown })))),
      (list) => expect(list).toHaveLength(1),
    );
    expect(shown).toEqual([{ title: 'Bob knocked', body: 'Are you there?', tag: 'conversation-1', data: { url: `/${appHandle}` } }]);
  });

  it('offline, a reload opens the kept app; a page not kept shows the offline page, which tells what still works', async () => {
    const page = await controlledVisitor('visitor', device, appHandle);
    await page.context().setOffline(true);
    await page.reload();
    // The app itself, from the phone's copy (not the browser's error page), saying what is wrong and offering a retry.
    await page.getByRole('alert').getByText('The server cannot be reached').waitFor();
    await page.getByRole('button', { name: 'Try again' }).waitFor();

    // Without the kept app (as if the phone had dropped it): the worker's own page, not the browser's error page.
    await page.evaluate(async () => {
      for (const name of await caches.keys()) await (await caches.open(name)).delete('/');
    });
    await page.reload();
    await page.getByRole('heading', { name: 'You are offline', level: 1 }).waitFor();
    await page.getByText('Messages you write while offline stay on this device').waitFor();
    expect(await hasNoHorizontalScroll(page)).toMatchObject({ ok: true });
    const audit = new AccessibilityAudit();
    await audit.check(page, 'the offline page');
    audit.expectClean();

    // Back online, "Try again" brings the page back.
    await page.context().setOffline(false);
    await page.getByRole('link', { name: 'Try again' }).click();
    await messageBox(page).waitFor();
  });

  it('opened offline from its copy, the app loads the page by itself once the network is back', async () => {
    const page = await controlledVisitor('visitor', device, appHandle);
    await page.context().setOffline(true);
    await page.reload();
    await page.getByRole('alert').getByText('The server cannot be reached').waitFor();
    await page.context().setOffline(false);
    await messageBox(page).waitFor();
  });

  it('keeps a message sent offline, shown as not yet sent, and delivers it once the connection is back', async () => {
    const { owner, visitor } = await ownerAndVisitor(browser, knock, `${handle}-offline`, { owner: device, visitor: device });
    await sendWithButton(visitor, 'Hello, anyone there?');
    await expectDelivery(visitor, 'Hello, anyone there?', 'Sent');
    await openConversation(owner, 'Visitor');
    await expectMessage(owner, 'Hello, anyone there?');

    await visitor.context().setOffline(true);
    // The phone knows it is cut off, and says so.
    await visitor.getByText('Connection lost. Reconnecting…').waitFor();
    await sendWithButton(visitor, 'Written in the tunnel');
    const item = await expectMessage(visitor, 'Written in the tunnel');
    expect(await deliveryOf(item)).toBe('Sending…');
    expect(await messageBox(visitor).inputValue(), 'the box is free for the next message').toBe('');
    expect(await messageTexts(owner)).toEqual(['Hello, anyone there?']);

    await visitor.context().setOffline(false);
    await expectMessage(owner, 'Written in the tunnel');
    // The owner has the conversation open: read at once.
    await expectDelivery(visitor, 'Written in the tunnel', 'Read');
    await visitor.getByText('Connection lost. Reconnecting…').waitFor({ state: 'detached' });
    expect(await messageTexts(owner)).toEqual(['Hello, anyone there?', 'Written in the tunnel']);
    expect(await messageTexts(visitor)).toEqual(['Hello, anyone there?', 'Written in the tunnel']);
  });

  it('keeps a message sent offline through a reload while offline, and delivers it once when the network is back', async () => {
    const { owner, visitor } = await ownerAndVisitor(browser, knock, `${handle}-reload`, { owner: device, visitor: device });
    await sendWithButton(visitor, 'First, online');
    await expectDelivery(visitor, 'First, online', 'Sent');
    await openConversation(owner, 'Visitor');
    await visitor.evaluate(() => navigator.serviceWorker.ready);

    await visitor.context().setOffline(true);
    await visitor.getByText('Connection lost. Reconnecting…').waitFor();
    await sendWithButton(visitor, 'Kept on the phone');
    expect(await deliveryOf(await expectMessage(visitor, 'Kept on the phone'))).toBe('Sending…');
    // The phone reloads the page with no network: the app's copy opens; the message waits in the phone's storage.
    await visitor.reload();
    await visitor.getByRole('alert').getByText('The server cannot be reached').waitFor();
    expect(await messageTexts(owner)).toEqual(['First, online']);

    await visitor.context().setOffline(false);
    await expectMessage(owner, 'Kept on the phone');
    await expectDelivery(visitor, 'Kept on the phone', 'Read');
    expect(await messageTexts(visitor)).toEqual(['First, online', 'Kept on the phone']);
    // Exactly once, as stored: the owner's fresh page shows what the server holds.
    await owner.reload();
    await openConversation(owner, 'Visitor');
    await expectMessage(owner, 'Kept on the phone');
    expect(await messageTexts(owner)).toEqual(['First, online', 'Kept on the phone']);
  });
});
