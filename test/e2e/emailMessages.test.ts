/**
 * An email in the message list (client/src/views/EmailMessage.tsx) and the mailing line under the owner's replies,
 * in real Chromium with the app's stylesheet and no Knock server: the sanitized HTML part is answered by this test
 * (a Playwright route on a made-up origin), as the server would serve it. The card shows subject, From, To, the
 * sender's badge with its checks, the text as text and the files; "Show formatted" opens the HTML in a frame that may
 * do nothing at all (sandbox="") and "Show images" reloads it with images allowed; everything is reachable by
 * keyboard, reads at AA contrast and fits a 360 px phone.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryRecord, EmailEvent, FileRef } from '../../engine/protocol.ts';
import type { MessageView } from '../../client/src/sdk/types.ts';
import type { MessageListOptions } from '../support/messageListPage.tsx';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { useBrowser } from '../support/browser.ts';
import { contrastOf } from '../support/contrast.ts';
import { eventually } from '../support/knockUi.ts';
import { appStylesheet, bundleTestPage } from '../support/testPages.ts';

const browser = useBrowser();
const ORIGIN = 'http://knock.test';
let script = '';
let stylesheet = '';

beforeAll(async () => {
  [script, stylesheet] = await Promise.all([bundleTestPage('messageListPage.tsx'), appStylesheet()]);
});

const AT = Date.UTC(2026, 11, 6, 14, 5);
const CONVERSATION = 'conv-mail-1';
const invoice: FileRef = { id: 'file-invoice-1', name: 'Invoice 2026-114.pdf', size: 84_000, type: 'application/pdf', image: null };
const TEXT = 'Hello Alice,\n\nPlease find the invoice attached: https://billing.example.net/invoices/2026-114\n\n<b>Bob</b>';

function email(more: Partial<EmailEvent> = {}): EmailEvent {
  return {
    kind: 'email',
    subject: 'Invoice 2026-114 for the March consulting work, with the hours of every week listed',
    from: { name: 'Bob Example', address: 'bob.accounts-receivable@very-long-subdomain.example.net' },
    to: [{ name: 'Alice', address: 'alice@knock.example' }],
    messageId: 'abc123@example.net',
    auth: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none', suspicious: false },
    html: true,
    files: [invoice],
    ...more,
  };
}

function delivery(seq: number, more: Partial<DeliveryRecord>): DeliveryRecord {
  return { seq, channel: 'email', to: 'bob@example.net', state: 'sending', reason: null, attempts: 1, at: AT, ...more };
}

/** Bob's email (seq 1), then Alice's replies with how their mailing stands, as the owner's session gives them. */
function thread(first: EmailEvent = email()): MessageView[] {
  const reply = (seq: number, body: string, record: DeliveryRecord | null): MessageView => ({
    key: `reply-${seq}-abcdef`,
    seq,
    event: { kind: 'text' },
    body,
    at: AT + seq * 60_000,
    senderRole: 'owner',
    senderName: 'Alice',
    mine: true,
    status: 'sent',
    ...(record === null ? {} : { delivery: record }),
  });
  return [
    { key: 'mail-1-abcdef', seq: 1, event: first, body: TEXT, at: AT, senderRole: 'visitor', senderName: 'Bob Example', mine: false, status: 'read' },
    reply(2, 'Thanks, paid.', delivery(2, { state: 'sent' })),
    reply(3, 'And the second one?', delivery(3, { state: 'retrying', reason: '451 4.7.1 Greylisted, please try again later', attempts: 2 })),
    reply(4, 'Hello?', delivery(4, { state: 'failed', reason: '550 5.1.1 No such user here: bob.accounts-receivable@very-long-subdomain.example.net' })),
    reply(5, 'Just written', null),
  ];
}

/** The HTML parts asked for, by URL; each answered with a page wider than a phone and a script that must not run. */
async function openThread(page: Page, messages: MessageView[], options: MessageListOptions = { conversationId: CONVERSATION, mailed: true }): Promise<string[]> {
  const asked: string[] = [];
  await page.route(`${ORIGIN}/`, (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><html lang="en"><head><title>Mail</title></head><body><div id="app"></div></body></html>' }),
  );
  await page.route(`${ORIGIN}/_/api/conversations/**`, (route, request) => {
    asked.push(request.url());
    return route.fulfill({
      contentType: 'text/html',
      body: '<!doctype html><html><body><table width="900"><tr><td><p>Hello <b>Alice</b>, formatted.</p></td></tr></table><script>document.body.dataset.ran = "yes"</script></body></html>',
    });
  });
  await page.goto(`${ORIGIN}/`);
  await page.addStyleTag({ content: stylesheet });
  await page.addScriptTag({ content: script });
  await page.evaluate(([m, o]) => window.showMessages(m, o), [messages, options] as const);
  await page.getByRole('list', { name: 'Messages' }).locator(':scope > li').nth(messages.length - 1).waitFor();
  return asked;
}

const card = (page: Page) => page.getByRole('article', { name: email().subject });

describe('an email in the message list', () => {
  it('shows subject, From and To, the verified badge with its checks, the text as text and the attachments', async () => {
    const page = await browser.newPage('owner');
    await openThread(page, thread());
    const mail = card(page);
    expect(await mail.getByRole('heading', { name: email().subject }).count()).toBe(1);
    expect(await mail.getByText('From: Bob Example <bob.accounts-receivable@very-long-subdomain.example.net>').count()).toBe(1);
    expect(await mail.getByText('To: Alice <alice@knock.example>').count()).toBe(1);
    // Text, never HTML: the tags in it are shown as written, its link is a link.
    expect(await mail.locator('.email-text').innerText()).toBe(TEXT);
    expect(await mail.locator('.email-text b').count()).toBe(0);
    expect(await mail.getByRole('link', { name: 'https://billing.example.net/invoices/2026-114' }).count()).toBe(1);
    expect(await mail.getByRole('link', { name: 'Invoice 2026-114.pdf', exact: true }).getAttribute('href')).toBe('/_/files/file-invoice-1/Invoice%202026-114.pdf');

    const badge = mail.getByText('Verified sender', { exact: true });
    expect(await badge.getAttribute('title')).toBe('SPF pass, DKIM pass, DMARC pass, ARC none');
    await badge.focus();
    await page.keyboard.press('Enter');
    await mail.getByText('The domain of its From address vouches for this mail (DMARC passed).').waitFor();
    expect(await mail.locator('.email-check-details dl').innerText()).toMatch(/SPF\s+pass\s+DKIM\s+pass\s+DMARC\s+pass\s+ARC\s+none/);
  });

  it('marks a mail that failed DMARC as suspicious, and one without a DMARC pass as unverified', async () => {
    const page = await browser.newPage('owner');
    await openThread(page, thread(email({ auth: { spf: 'softfail', dkim: 'fail', dmarc: 'fail', arc: 'none', suspicious: true } })));
    expect(await card(page).getByText('Suspicious', { exact: true }).getAttribute('title')).toBe('SPF softfail, DKIM fail, DMARC fail, ARC none');
    await openThread(page, thread(email({ auth: { spf: 'pass', dkim: 'none', dmarc: 'none', arc: 'none', suspicious: false } })));
    expect(await card(page).getByText('Unverified sender', { exact: true }).count()).toBe(1);
  });

  it('opens the HTML part by keyboard in a frame that may do nothing, and reloads it with images when asked', async () => {
    const page = await browser.newPage('owner');
    const asked = await openThread(page, thread());
    expect(asked, 'nothing is fetched before the owner asks').toEqual([]);
    const formatted = card(page).getByRole('button', { name: 'Show formatted' });
    await formatted.focus();
    await page.keyboard.press('Enter');
    expect(await formatted.getAttribute('aria-pressed')).toBe('true');

    const frame = page.locator('iframe[title="Email from Bob Example"]');
    expect(await frame.getAttribute('sandbox')).toBe('');
    expect(await frame.getAttribute('src')).toBe(`/_/api/conversations/${CONVERSATION}/emails/1.html`);
    const inside = page.frameLocator('iframe[title="Email from Bob Example"]');
    await inside.getByText('formatted.').waitFor();
    expect(await inside.locator('body').getAttribute('data-ran'), 'no script runs in the frame').toBeNull();
    // The text gives way to the formatted part; the files stay.
    expect(await card(page).locator('.email-text').count()).toBe(0);
    expect(await card(page).getByRole('link', { name: 'Invoice 2026-114.pdf', exact: true }).count()).toBe(1);

    // Tab: "Show images", then into the frame.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Show images');
    await page.keyboard.press('Enter');
    await eventually(async () => frame.getAttribute('src'), (src) => expect(src).toBe(`/_/api/conversations/${CONVERSATION}/emails/1.html?images=1`));
    await eventually(async () => asked, (urls) => expect(urls.at(-1)).toBe(`${ORIGIN}/_/api/conversations/${CONVERSATION}/emails/1.html?images=1`));
    // Into the frame (though the mail has no link to stop at), where the arrow keys scroll the mail wider than the
    // card; on to the attachment, and back the same way.
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('title') ?? document.activeElement?.textContent);
    const loaded = await eventually(
      async () => page.frames().find((f) => f.url().endsWith('images=1')),
      (frame) => expect(frame, 'the frame loaded with images').toBeDefined(),
    );
    if (loaded === undefined) throw new Error('unreachable');
    await loaded.getByText('formatted.').waitFor();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Email from Bob Example');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await eventually(() => loaded.evaluate(() => window.scrollX), (x) => expect(x).toBeGreaterThan(0));
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Invoice 2026-114.pdf');
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('Email from Bob Example');
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('Show images');

    // "Show formatted" again: back to the text.
    await formatted.click();
    expect(await card(page).locator('.email-text').count()).toBe(1);
    expect(await frame.count()).toBe(0);
  });

  it('names the sender again on a bubble that follows their email', async () => {
    const page = await browser.newPage('owner');
    const [mail] = thread();
    if (mail === undefined) throw new Error('no mail');
    const after: MessageView = { ...mail, key: 'chat-2-abcdef', seq: 2, event: { kind: 'text' }, body: 'Did you get it?', at: AT + 60_000 };
    await openThread(page, [mail, after]);
    expect(await page.locator('ol.messages > li').nth(1).locator('.message-sender:not(.visually-hidden)').innerText()).toBe('Bob Example');
  });

  it('offers no formatted view for a mail without an HTML part', async () => {
    const page = await browser.newPage('owner');
    await openThread(page, thread(email({ html: false })));
    expect(await page.getByRole('button', { name: 'Show formatted' }).count()).toBe(0);
  });
});

describe('the mailing line under the owner’s replies', () => {
  it('says Sent, Retrying with the reason, Not delivered with the reason, and Sending… until the server reports', async () => {
    const page = await browser.newPage('owner');
    await openThread(page, thread());
    const lines = await page.$$eval('ol.messages > li.message--mine .delivery', (spans) => spans.map((s) => s.textContent));
    expect(lines).toEqual([
      'Sent',
      '⚠ Retrying: 451 4.7.1 Greylisted, please try again later',
      '⚠ Not delivered: 550 5.1.1 No such user here: bob.accounts-receivable@very-long-subdomain.example.net',
      'Sending…',
    ]);
    expect(await page.locator('.delivery--retrying').getAttribute('title')).toBe('To bob@example.net, 2 attempts');
  });

  it('keeps the ordinary line in a conversation that is not mailed', async () => {
    const page = await browser.newPage('owner');
    const plain = thread().map((m) => (m.mine ? { ...m, delivery: undefined } : m));
    await openThread(page, plain, { conversationId: CONVERSATION });
    const lines = await page.$$eval('ol.messages > li.message--mine .delivery', (spans) => spans.map((s) => s.textContent));
    expect(lines).toEqual(['Sent', 'Sent', 'Sent', 'Sent']);
  });
});

describe('an email on a phone', () => {
  for (const colorScheme of ['light', 'dark'] as const) {
    it(`fits 360 px (${colorScheme}) with the frame open: nothing scrolls sideways, text reads at AA contrast`, async () => {
      const page = await browser.newPage(`phone-${colorScheme}`, { viewport: { width: 360, height: 740 }, colorScheme });
      await openThread(page, thread(email({ auth: { spf: 'fail', dkim: 'fail', dmarc: 'fail', arc: 'none', suspicious: true } })));
      await card(page).getByRole('button', { name: 'Show formatted' }).click();
      await page.frameLocator('iframe[title="Email from Bob Example"]').getByText('formatted.').waitFor();
      const fit = await page.evaluate(() => {
        const scroller = document.querySelector('.message-scroller')!.getBoundingClientRect();
        const boxes = [...document.querySelectorAll('.email, .email-frame, .delivery')].map((el) => el.getBoundingClientRect());
        return { page: document.documentElement.scrollWidth, outside: boxes.filter((b) => b.left < scroller.left - 0.5 || b.right > scroller.right + 0.5).length };
      });
      expect(fit).toEqual({ page: 360, outside: 0 });
      const frameHeight = await page.locator('.email-frame').evaluate((el) => el.getBoundingClientRect().height);
      expect(frameHeight).toBeGreaterThanOrEqual(250);
      const ratios = [];
      for (const selector of ['.email-subject', '.email-address', '.email-address-label', '.email-check summary', '.file-card-name', '.delivery--retrying', '.delivery--failed']) {
        ratios.push({ selector, ratio: await contrastOf(page, selector) });
      }
      expect(ratios.filter((r) => r.ratio < 4.5)).toEqual([]);
    });
  }

  it('passes the accessibility audit with the badge and the frame open', async () => {
    const audit = new AccessibilityAudit();
    const page = await browser.newPage('owner');
    await openThread(page, thread());
    await card(page).getByText('Verified sender', { exact: true }).click();
    await card(page).getByRole('button', { name: 'Show formatted' }).click();
    await page.frameLocator('iframe[title="Email from Bob Example"]').getByText('formatted.').waitFor();
    await audit.check(page, 'an email thread');
    audit.expectClean();
  });
});
