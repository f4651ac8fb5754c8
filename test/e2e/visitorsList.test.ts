/**
 * The operators' "Visitors" list (client/src/views/VisitorsPanel.tsx) in real Chromium with the app's stylesheet and
 * no server (issue 19): what each visitor's item says (page title or address, time on page, pages seen, returning
 * or new, chatting, the invitation), when "Invite to chat" can be pressed, the empty list, and that it reads well
 * (WCAG AA in light and dark) and fits a 360 px wide phone with a long page address.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SiteVisitorRecord } from '../../engine/protocol.ts';
import { AccessibilityAudit, PHONE } from '../support/axeAudit.ts';
import { useBrowser } from '../support/browser.ts';
import { appStylesheet, bundleTestPage } from '../support/testPages.ts';
import type { VisitorsListState } from '../support/visitorsListPage.tsx';

const browser = useBrowser();
let script = '';
let stylesheet = '';

beforeAll(async () => {
  [script, stylesheet] = await Promise.all([bundleTestPage('visitorsListPage.tsx'), appStylesheet()]);
});

const NOW = Date.UTC(2026, 11, 7, 10, 0, 0);

function visitor(id: string, overrides: Partial<SiteVisitorRecord> = {}): SiteVisitorRecord {
  return {
    visitorId: `visitor-${id}-aaaaaaaaaaaa`,
    page: { url: `https://shop.example/${id}`, title: `Page ${id}`, referrer: '' },
    pageSince: NOW - 247_000,
    pagesSeen: 3,
    returning: false,
    conversationId: null,
    invitation: 'none',
    connected: true,
    ...overrides,
  };
}

async function show(page: Page, state: Partial<VisitorsListState>): Promise<void> {
  await page.setContent('<!doctype html><html lang="en"><head><title>Visitors</title></head><body><div id="app"></div></body></html>');
  await page.addStyleTag({ content: stylesheet });
  await page.addScriptTag({ content: script });
  await page.evaluate((s) => window.showVisitors(s), { connection: 'live', visitors: [], now: NOW, ...state } satisfies VisitorsListState);
}

const list = (page: Page) => page.getByRole('list', { name: 'Visitors' });
const item = (page: Page, text: string) => list(page).getByRole('listitem').filter({ hasText: text });

describe('the Visitors list', () => {
  it('shows each visitor\u2019s page title and address, time on page, pages seen, new or returning', async () => {
    const page = await browser.newPage('operator');
    await show(page, {
      visitors: [visitor('shoes', { page: { url: 'https://shop.example/shoes', title: 'Shoes', referrer: '' } }), visitor('back', { returning: true, pagesSeen: 1, pageSince: NOW - 5_000 })],
    });

    await expect(page.getByRole('heading', { name: 'Visitors' }).count()).resolves.toBe(1);
    const shoes = item(page, 'Shoes');
    await expect(shoes.textContent()).resolves.toMatch(/Shoes.*https:\/\/shop\.example\/shoes.*4:07 on this page · 3 pages seen · New/);
    await expect(item(page, 'Page back').textContent()).resolves.toMatch(/0:05 on this page · 1 page seen · Returning/);
    await expect(shoes.getByRole('link', { name: 'https://shop.example/shoes' }).getAttribute('rel')).resolves.toBe('noopener noreferrer');
  });

  it('names a page by its address when it has no title', async () => {
    const page = await browser.newPage('operator');
    await show(page, { visitors: [visitor('untitled', { page: { url: 'https://shop.example/untitled', title: '  ', referrer: '' } })] });

    await expect(list(page).locator('.device-name').textContent()).resolves.toBe('https://shop.example/untitled');
  });

  it('offers "Invite to chat" to a visitor who can be invited, and asks for exactly that visitor', async () => {
    const page = await browser.newPage('operator');
    await show(page, { visitors: [visitor('one'), visitor('two')] });
    await item(page, 'Page two').getByRole('button', { name: 'Invite to chat', exact: true }).click();

    await expect(page.evaluate(() => window.invited)).resolves.toEqual(['visitor-two-aaaaaaaaaaaa']);
  });

  it('says who is chatting, invited or declined, and then does not offer an invitation', async () => {
    const page = await browser.newPage('operator');
    await show(page, {
      visitors: [
        visitor('chatting', { conversationId: 'conv-1' }),
        visitor('invited', { invitation: 'pending' }),
        visitor('declined', { invitation: 'declined' }),
        visitor('moving', { connected: false }),
        visitor('accepted', { invitation: 'accepted' }),
      ],
    });

    await expect(item(page, 'Page chatting').textContent()).resolves.toMatch(/· Chatting/);
    await expect(item(page, 'Page invited').textContent()).resolves.toMatch(/· Invited/);
    await expect(item(page, 'Page declined').textContent()).resolves.toMatch(/· Declined/);
    await expect(item(page, 'Page moving').textContent()).resolves.toMatch(/Moving between pages/);
    const enabled = async (name: string) => item(page, name).getByRole('button', { name: 'Invite to chat', exact: true }).isEnabled();
    expect(await Promise.all(['Page chatting', 'Page invited', 'Page declined', 'Page moving', 'Page accepted'].map(enabled))).toEqual([false, false, false, false, true]);
  });

  it('says so when nobody is on the sites', async () => {
    const page = await browser.newPage('operator');
    await show(page, { visitors: [] });

    await expect(page.getByText('Nobody is on your sites right now.').count()).resolves.toBe(1);
    await expect(list(page).count()).resolves.toBe(0);
  });

  it('reads well in light and dark and fits 360 px, with a long address and an error shown', async () => {
    const page = await browser.newPage('operator');
    // No break opportunity in 300 characters: the address must wrap anywhere rather than widen the page.
    const long = `https://shop.example/${'productwithaverylongname'.repeat(12)}?utm_source=newsletter&utm_campaign=winter`;
    await show(page, {
      visitors: [
        visitor('long', { page: { url: long, title: '', referrer: '' }, returning: true }),
        visitor('declined', { invitation: 'declined', conversationId: 'conv-2' }),
        visitor('ok'),
      ],
      error: 'This visitor said \u201cNo thanks\u201d to an invitation during this visit: they are not asked again.',
    });
    // The console's list column scrolls by itself, so the page would not widen: the column must not scroll sideways.
    await page.setViewportSize(PHONE);
    const column = await page.locator('.console-list').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(column.scroll).toBeLessThanOrEqual(column.client);
    const audit = new AccessibilityAudit();
    await audit.check(page, 'the Visitors list');
    await show(page, { visitors: [] });
    await audit.check(page, 'the empty Visitors list');
    audit.expectClean();
  });
});
