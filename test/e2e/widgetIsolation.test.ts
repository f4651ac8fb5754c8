/**
 * The widget on a company's website, in Chromium, with the site on another origin than Knock (a second local HTTP
 * server, test/support/thirdPartySite.ts, under a strict CSP of its own): what the widget does on the site's side.
 *
 * The company's real SiteRoom answers (nobody of Acme is ever online here); where a test needs the room to say more
 * (the company online, an invitation), Knock's real monitor frame in the page posts what the frame would relay from it
 * (`sayFromMonitorFrame`), after the room's own answer. What the frame and the room do with the site's messages is the
 * SiteRoom's tests' part (test/e2e/liveHelp.test.ts has them all together). Everything else is real: the widget script as built, Knock's
 * pages and their frame-ancestors, the visitor page as the chat frame, a knock, the conversation resumed on the
 * site's next page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually, expectMessage, messageBox, sendWithButton } from '../support/knockUi.ts';
import { startThirdPartySite, type SitePageOptions, type ThirdPartySite } from '../support/thirdPartySite.ts';
import {
  chatPanelFrame,
  heardByMonitorFrame,
  inviteDialog,
  monitorFrame,
  monitorFrameSrc,
  recordMonitorFrames,
  sayFromMonitorFrame,
  widgetButton,
  widgetHost,
} from '../support/widgetUi.ts';

const browser = useBrowser();
let knock: TestKnock;
/** On the company's list. */
let shop: ThirdPartySite;
/** Not on it. */
let stranger: ThirdPartySite;

beforeAll(async () => {
  knock = await startKnock();
  await knock.addUser('acme', 'Acme Ltd');
  const acme = (await knock.storage.getAccountByHandle('acme'))!;
  await knock.storage.makeCompany(acme.id, Date.now());
  shop = await startThirdPartySite({ knockUrl: knock.url, handle: 'acme' });
  stranger = await startThirdPartySite({ knockUrl: knock.url, handle: 'acme' });
  await knock.storage.addSite(acme.id, shop.origin, Date.now());
});
afterAll(async () => {
  await shop?.close();
  await stranger?.close();
  await knock?.close();
});

/** Opens a page of the shop and stands in for the SiteRoom: the company's status reaches the widget. */
async function shopWithButton(page: Page, options: SitePageOptions & { online?: boolean; path?: '/' | '/products' } = {}): Promise<void> {
  await page.goto(shop.url(options.path ?? '/', options));
  const frame = await monitorFrame(page, knock.url);
  // The company's real SiteRoom answers the frame first (nobody of Acme is here: "Leave a message"), and says nothing
  // more while nothing changes; what a test stands in for comes after it, never racing it.
  await widgetHost(page).getByRole('button', { name: 'Leave a message', exact: true }).waitFor();
  if (options.online === false) return;
  await sayFromMonitorFrame(frame, shop.origin, { type: 'status', name: 'Acme Ltd', online: true });
  await widgetHost(page).getByRole('button', { name: 'Chat with us', exact: true }).waitFor();
}

/** Resolves once the page's load is over and the browser has been idle once (the widget starts there). */
async function afterLoadAndIdle(page: Page): Promise<void> {
  await page.waitForLoadState('load');
  await page.evaluate(() => new Promise<void>((resolve) => requestIdleCallback(() => setTimeout(resolve, 0))));
}

/** What the widget could have changed on the host page: computed styles and boxes of the shop's own elements. */
async function hostLook(page: Page): Promise<unknown> {
  return page.evaluate(() => {
    const props = ['font-family', 'font-size', 'color', 'background-color', 'line-height', 'letter-spacing', 'margin', 'padding', 'display', 'position', 'overflow'];
    const look: Record<string, unknown> = {
      scroll: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
    };
    for (const selector of ['html', 'body', 'header', '#nav', 'main', '#headline', '#intro', '#buy', '#box']) {
      const el = document.querySelector(selector)!;
      const style = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      look[selector] = { ...Object.fromEntries(props.map((p) => [p, style.getPropertyValue(p)])), box: [box.x, box.y, box.width, box.height] };
    }
    return look;
  });
}

/** The widget's own look: its host element and its button, as computed. */
async function widgetLook(page: Page): Promise<unknown> {
  const host = await widgetHost(page).evaluate((el) => {
    const s = getComputedStyle(el);
    return { position: s.position, display: s.display, opacity: s.opacity, transform: s.transform, filter: s.filter, zIndex: s.zIndex, right: s.right, bottom: s.bottom };
  });
  const button = await widgetButton(page).evaluate((el) => {
    const s = getComputedStyle(el);
    const props = ['font-family', 'font-size', 'font-weight', 'color', 'background-color', 'border', 'border-radius', 'padding', 'letter-spacing', 'text-transform', 'line-height', 'box-sizing'];
    const box = el.getBoundingClientRect();
    return { ...Object.fromEntries(props.map((p) => [p, s.getPropertyValue(p)])), box: [box.x, box.y, box.width, box.height] };
  });
  return { host, button };
}

describe('the widget on a third-party site', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('gives a site not on the company\u2019s list a blocked frame, no button and no chat', async () => {
    const page = await browser.newPage('stranger');
    // The browser refuses to show Knock's answer in the stranger's page (X-Frame-Options: DENY), and says so.
    const refused = page.waitForEvent('console', { predicate: (m) => /Refused to display '.*' in a frame/.test(m.text()) });
    await page.goto(stranger.url('/'));
    const src = await monitorFrameSrc(page);
    expect(src.origin).toBe(knock.url);
    expect(Object.fromEntries(src.searchParams)).toMatchObject({ handle: 'acme', site: stranger.origin, monitor: '1', declined: '0' });
    expect((await refused).text()).toContain(`${knock.url}/`);
    await page.evaluate(() => (window as unknown as { Knock: { open(): void } }).Knock.open());
    await afterLoadAndIdle(page);
    await expect(widgetHost(page).getByRole('button').count()).resolves.toBe(0);
    await expect(widgetHost(page).locator('iframe.chat').count()).resolves.toBe(0);
  });

  it('changes none of the host page\u2019s computed styles or boxes, and hostile CSS changes nothing of the widget', async () => {
    const page = await browser.newPage('shop');
    const looks: Record<string, unknown> = {};
    for (const hostile of [false, true]) {
      await page.goto(shop.url('/', { hostile, widget: false }));
      const before = await hostLook(page);
      await shopWithButton(page, { hostile });
      expect(await hostLook(page)).toEqual(before);
      await expect(widgetButton(page).isVisible()).resolves.toBe(true);
      looks[hostile ? 'hostile' : 'plain'] = await widgetLook(page);
    }
    expect(looks.hostile).toEqual(looks.plain);
    expect(looks.plain).toMatchObject({ host: { position: 'fixed', display: 'block', opacity: '1', transform: 'none' } });
  });

  it('names the button by the company\u2019s presence, and only Knock\u2019s monitor frame can change it', async () => {
    const page = await browser.newPage('visitor');
    await shopWithButton(page, { online: false });
    await widgetHost(page).getByRole('button', { name: 'Leave a message', exact: true }).waitFor();

    // The site's own window (or anything in it) posting a status is not Knock.
    await page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          window.postMessage({ tag: 'knock-widget', type: 'status', name: 'Evil', online: true }, '*');
          window.addEventListener('message', (e) => e.data === 'after' && resolve());
          window.postMessage('after', '*');
        }),
    );
    await expect(widgetHost(page).getByRole('button', { name: 'Leave a message', exact: true }).count()).resolves.toBe(1);

    await sayFromMonitorFrame(await monitorFrame(page, knock.url), shop.origin, { type: 'status', name: 'Acme Ltd', online: true });
    await widgetHost(page).getByRole('button', { name: 'Chat with us', exact: true }).waitFor();
    await expect(widgetButton(page).count()).resolves.toBe(1);
  });

  it('opens the chat in Knock\u2019s frame on a click, and the conversation goes on on the site\u2019s next page', async () => {
    const page = await browser.newPage('visitor');
    await recordMonitorFrames(page);
    const knocks: unknown[] = [];
    page.on('request', (req) => {
      if (req.url() === `${knock.url}/_/api/u/acme/knock`) knocks.push(req.postDataJSON());
    });
    await shopWithButton(page, { online: false });
    await widgetButton(page).click();
    await expect(widgetButton(page).getAttribute('aria-expanded')).resolves.toBe('true');

    const chat = chatPanelFrame(page, 'Acme Ltd');
    const src = new URL((await widgetHost(page).locator('iframe.chat').getAttribute('src'))!);
    expect(`${src.origin}${src.pathname}`).toBe(`${knock.url}/acme`);
    expect(src.searchParams.get('embed')).toBe(shop.origin);
    expect(new URLSearchParams(src.hash.slice(1)).get('from')).toBe(shop.url('/'));
    await sendWithButton(chat, 'Do you ship to the desert?');
    await expectMessage(chat, 'Do you ship to the desert?');
    // The knock says which page of the site the chat began on.
    expect(knocks).toEqual([{ startedOn: { url: shop.url('/'), title: 'Acme Shop — Home' } }]);

    // The chat frame tells the widget its conversation, which passes it to the monitor frame.
    const chatting = await heardByMonitorFrame(await monitorFrame(page, knock.url), (m) => m.data.type === 'chatting', 'chatting');
    expect(chatting).toMatchObject({ origin: shop.origin, fromParent: true });
    expect(chatting.data).toMatchObject({ type: 'chatting', conversationId: expect.stringMatching(/^[A-Za-z0-9_-]+$/) });

    // The next page of the site: the chat is open again at once, on the same conversation. (This browser context,
    // like an incognito window, blocks the frame's own storage: the widget hands the token over.)
    const visitor = (await monitorFrameSrc(page)).searchParams.get('visitor');
    expect(visitor).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await page.locator('#nav').click();
    await page.waitForURL(shop.url('/products'));
    await chatPanelFrame(page, 'Acme Ltd').getByRole('textbox', { name: 'Message' }).waitFor();
    await expectMessage(chatPanelFrame(page, 'Acme Ltd'), 'Do you ship to the desert?');
    // One visitor moving through the site, for the operators.
    expect((await monitorFrameSrc(page)).searchParams.get('visitor')).toBe(visitor);
  });

  it('closes the chat with "Close chat", gives focus back to the button, and the next page stays closed', async () => {
    const page = await browser.newPage('visitor');
    await shopWithButton(page);
    await widgetButton(page).click();
    await messageBox(chatPanelFrame(page, 'Acme Ltd')).waitFor();
    await widgetHost(page).getByRole('button', { name: 'Close chat', exact: true }).click();
    await widgetHost(page).locator('iframe.chat').waitFor({ state: 'hidden' });
    await expect(widgetButton(page).evaluate((el) => (el.getRootNode() as ShadowRoot).activeElement === el)).resolves.toBe(true);
    await expect(widgetButton(page).getAttribute('aria-expanded')).resolves.toBe('false');

    await page.locator('#nav').click();
    await page.waitForURL(shop.url('/products'));
    await afterLoadAndIdle(page);
    await monitorFrame(page, knock.url);
    await expect(widgetHost(page).locator('iframe.chat').count()).resolves.toBe(0);
  });

  it('is reached with the keyboard, shows a focus ring, opens with Enter; Escape in the chat closes it', async () => {
    const page = await browser.newPage('visitor');
    await shopWithButton(page);
    const focused = () => widgetButton(page).evaluate((el) => (el.getRootNode() as ShadowRoot).activeElement === el);
    // The shop's link and button come first, then the widget (its host is the last element of the page).
    for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
    await expect(focused()).resolves.toBe(true);
    const ring = await widgetButton(page).evaluate((el) => {
      const s = getComputedStyle(el);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    expect(ring.style).toBe('solid');
    expect(ring.width).toBeGreaterThanOrEqual(2);

    await page.keyboard.press('Enter');
    const box = messageBox(chatPanelFrame(page, 'Acme Ltd'));
    await box.waitFor();
    await box.press('Escape');
    await widgetHost(page).locator('iframe.chat').waitFor({ state: 'hidden' });
    await expect(widgetButton(page).getAttribute('aria-expanded')).resolves.toBe('false');
  });

  it('does its work after the page has loaded, never during the page’s own loading', async () => {
    const page = await browser.newPage('visitor');
    await page.addInitScript(() => {
      const marks = { loadAt: -1, widgetAt: -1 };
      (window as unknown as { __marks: typeof marks }).__marks = marks;
      addEventListener('load', () => (marks.loadAt = performance.now()));
      new MutationObserver(() => {
        if (marks.widgetAt < 0 && document.querySelector('knock-widget') !== null) marks.widgetAt = performance.now();
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(shop.url('/'));
    await monitorFrameSrc(page);
    const marks = await page.evaluate(() => (window as unknown as { __marks: { loadAt: number; widgetAt: number } }).__marks);
    expect(marks.loadAt).toBeGreaterThan(0);
    expect(marks.widgetAt).toBeGreaterThan(marks.loadAt);
  });

  it('shows an invitation as a dialog with "Start chat" and "No thanks"; Escape declines, and that holds for the visit', async () => {
    const page = await browser.newPage('visitor');
    await recordMonitorFrames(page);
    await shopWithButton(page);
    await sayFromMonitorFrame(await monitorFrame(page, knock.url), shop.origin, { type: 'invited', text: 'Can we help?' });
    const dialog = inviteDialog(page);
    await dialog.waitFor();
    await expect(page.getByRole('dialog', { name: 'Can we help?' }).count()).resolves.toBe(1);
    const start = dialog.getByRole('button', { name: 'Start chat', exact: true });
    await expect(dialog.getByRole('button', { name: 'No thanks', exact: true }).count()).resolves.toBe(1);
    await expect(start.evaluate((el) => (el.getRootNode() as ShadowRoot).activeElement === el)).resolves.toBe(true);

    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    const answer = await heardByMonitorFrame(await monitorFrame(page, knock.url), (m) => m.data.type === 'invite.answer', 'the answer');
    expect(answer.data).toEqual({ tag: 'knock-widget', type: 'invite.answer', accepted: false });

    await page.locator('#nav').click();
    await page.waitForURL(shop.url('/products'));
    expect((await monitorFrameSrc(page)).searchParams.get('declined')).toBe('1');
  });

  it('opens the chat when the visitor accepts an invitation with "Start chat"', async () => {
    const page = await browser.newPage('visitor');
    await recordMonitorFrames(page);
    await shopWithButton(page);
    const frame = await monitorFrame(page, knock.url);
    await sayFromMonitorFrame(frame, shop.origin, { type: 'invited', text: 'Can we help?' });
    await inviteDialog(page).getByRole('button', { name: 'Start chat', exact: true }).click();
    await messageBox(chatPanelFrame(page, 'Acme Ltd')).waitFor();
    await expect(inviteDialog(page).count()).resolves.toBe(0);
    const answer = await heardByMonitorFrame(frame, (m) => m.data.type === 'invite.answer', 'the answer');
    expect(answer.data).toMatchObject({ accepted: true });
  });

  it('reports the page it is on to the monitor frame, and the next page with where the visitor came from', async () => {
    const page = await browser.newPage('visitor');
    await recordMonitorFrames(page);
    await shopWithButton(page);
    const first = await heardByMonitorFrame(await monitorFrame(page, knock.url), (m) => m.data.type === 'page', 'the page');
    expect(first).toEqual({
      origin: shop.origin,
      fromParent: true,
      data: { tag: 'knock-widget', type: 'page', url: shop.url('/'), title: 'Acme Shop — Home', referrer: '' },
    });
    await page.locator('#nav').click();
    await page.waitForURL(shop.url('/products'));
    const second = await heardByMonitorFrame(await monitorFrame(page, knock.url), (m) => m.data.type === 'page', 'the next page');
    expect(second.data).toMatchObject({ url: shop.url('/products'), title: 'Acme Shop — Products', referrer: shop.url('/') });
  });

  it('does nothing at all under data-consent="required" until the page calls Knock.consent()', async () => {
    const page = await browser.newPage('visitor');
    const toKnock: string[] = [];
    page.on('request', (req) => {
      if (req.url().startsWith(knock.url)) toKnock.push(new URL(req.url()).pathname);
    });
    await page.goto(shop.url('/', { consent: true }));
    await afterLoadAndIdle(page);
    await expect(widgetHost(page).count()).resolves.toBe(0);
    expect(toKnock).toEqual(['/_/widget.js']);

    await page.evaluate(() => (window as unknown as { Knock: { consent(): void } }).Knock.consent());
    expect(Object.fromEntries((await monitorFrameSrc(page)).searchParams)).toMatchObject({ handle: 'acme', monitor: '1' });
  });

  it('turns monitoring off under Global Privacy Control or Do Not Track: monitor=0 and no page is sent', async () => {
    for (const signal of ['globalPrivacyControl', 'doNotTrack'] as const) {
      const page = await browser.newPage(`visitor with ${signal}`);
      await page.addInitScript((name) => {
        Object.defineProperty(Navigator.prototype, name, { get: () => (name === 'doNotTrack' ? '1' : true), configurable: true });
      }, signal);
      await recordMonitorFrames(page);
      await shopWithButton(page);
      const src = await monitorFrameSrc(page);
      // Not monitored: no id kept on the site, none sent.
      expect({ signal, monitor: src.searchParams.get('monitor'), visitor: src.searchParams.get('visitor') }).toEqual({ signal, monitor: '0', visitor: null });
      await expect(page.evaluate(() => localStorage.getItem('knock:acme:visitor'))).resolves.toBeNull();
      // Something the widget does send (an answer): once heard, a page would have been heard before it.
      const frame = await monitorFrame(page, knock.url);
      await sayFromMonitorFrame(frame, shop.origin, { type: 'invited', text: 'Can we help?' });
      await inviteDialog(page).getByRole('button', { name: 'No thanks', exact: true }).click();
      await heardByMonitorFrame(frame, (m) => m.data.type === 'invite.answer', 'the answer');
      const heard = await frame.evaluate(() => (window as unknown as { __heard: Array<{ data: { type: string } }> }).__heard.map((m) => m.data.type));
      expect({ signal, heard }).toEqual({ signal, heard: ['invite.answer'] });
    }
  });

  it('with data-monitor reports pages but shows no button, no chat and no invitation', async () => {
    const page = await browser.newPage('visitor');
    await recordMonitorFrames(page);
    await page.goto(shop.url('/', { monitorOnly: true }));
    const frame = await monitorFrame(page, knock.url);
    await heardByMonitorFrame(frame, (m) => m.data.type === 'page', 'the page');
    await sayFromMonitorFrame(frame, shop.origin, { type: 'invited', text: 'Can we help?' });
    await sayFromMonitorFrame(frame, shop.origin, { type: 'status', name: 'Acme Ltd', online: true });
    // The status was taken (the widget keeps the name for the visit), so the invitation before it too; nothing shows.
    await eventually(
      () => page.evaluate(() => sessionStorage.getItem('knock:acme:name')),
      (name) => expect(name).toBe('Acme Ltd'),
    );
    await page.evaluate(() => (window as unknown as { Knock: { open(): void } }).Knock.open());
    await expect(widgetHost(page).getByRole('button').count()).resolves.toBe(0);
    await expect(widgetHost(page).getByRole('dialog').count()).resolves.toBe(0);
    await expect(widgetHost(page).locator('iframe.chat').count()).resolves.toBe(0);
  });

  it('passes axe (WCAG 2.1 AA) with the button, the invitation and the open chat, at desktop and 360 px', async () => {
    const page = await browser.newPage('visitor');
    const audit = new AccessibilityAudit();
    await shopWithButton(page, { online: false });
    await audit.check(page, 'the shop with the button (nobody online)');
    await sayFromMonitorFrame(await monitorFrame(page, knock.url), shop.origin, { type: 'invited', text: 'Can we help?' });
    await inviteDialog(page).waitFor();
    await audit.check(page, 'the shop with an invitation');
    await inviteDialog(page).getByRole('button', { name: 'Start chat', exact: true }).click();
    await messageBox(chatPanelFrame(page, 'Acme Ltd')).waitFor();
    await audit.check(page, 'the shop with the chat open');
    audit.expectClean();
  });
});
