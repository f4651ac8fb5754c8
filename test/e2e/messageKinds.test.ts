/**
 * How each kind of conversation event looks in the message list (client/src/views/MessageItem.tsx), in real Chromium
 * with the app's stylesheet and no server: the list is chosen by `event.kind`, never by the shape of a clientMsgId;
 * a note of the server's stands apart from the bubbles, reads well (WCAG AA contrast, light and dark) and fits a
 * 360 px wide phone.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../engine/protocol.ts';
import type { MessageView } from '../../client/src/sdk/types.ts';
import { useBrowser } from '../support/browser.ts';
import { contrastOf } from '../support/contrast.ts';
import { appStylesheet, bundleTestPage } from '../support/testPages.ts';

const browser = useBrowser();
let script = '';
let stylesheet = '';

beforeAll(async () => {
  [script, stylesheet] = await Promise.all([bundleTestPage('messageListPage.tsx'), appStylesheet()]);
});

const AT = Date.UTC(2026, 11, 6, 14, 5);
const NOTE = 'Messages before 1 March were deleted by the owner.';

interface Said {
  key?: string;
  event: ConversationEvent;
  body: string;
  from?: 'Vic' | 'Alice';
}

/** Messages as the SDK gives them to the views, in order, from Vic (the visitor, "me" here) or Alice. */
function conversation(said: Said[]): MessageView[] {
  return said.map((s, i) => {
    const mine = (s.from ?? 'Vic') === 'Vic';
    return {
      key: s.key ?? `msg-${i}-abcdef`,
      seq: i + 1,
      event: s.event,
      body: s.body,
      at: AT + i * 1000,
      senderRole: mine ? 'visitor' : 'owner',
      senderName: mine ? 'Vic' : 'Alice',
      mine,
      status: 'read',
    };
  });
}

const game = { gameId: 'game12345', game: 'connect4' } as const;
const everyKind: Said[] = [
  { event: { kind: 'text' }, body: 'Hello Alice', from: 'Alice' },
  { key: 'call:call12345', event: { kind: 'call', callId: 'call12345', media: 'video', reason: 'missed', durationMs: null }, body: 'Missed video call' },
  { key: 'doc:doc12345', event: { kind: 'doc', docId: 'doc12345' }, body: 'Trip plan' },
  { key: 'game:game12345:invite', event: { kind: 'game.invite', ...game }, body: 'Vic invites Alice to play Connect Four.' },
  { key: 'game:game12345:accepted', event: { kind: 'game.answer', ...game, answer: 'accepted' }, body: 'Alice accepted.', from: 'Alice' },
  { key: 'game:game12345:result', event: { kind: 'game.result', ...game, winnerSeat: 0, reason: 'four in a row' }, body: 'Connect Four: Vic won (four in a row). Score: Vic 1, Alice 0.' },
  { key: 'note:restore1', event: { kind: 'system' }, body: NOTE },
];

async function show(page: Page, messages: MessageView[]): Promise<void> {
  await page.setContent('<!doctype html><html lang="en"><head><title>Messages</title></head><body><div id="app"></div></body></html>');
  await page.addStyleTag({ content: stylesheet });
  await page.addScriptTag({ content: script });
  await page.evaluate((m) => window.showMessages(m), messages);
  await page.getByRole('list', { name: 'Messages' }).getByRole('listitem').nth(messages.length - 1).waitFor();
}

/** Each item of the list as a reader meets it: its kind of look, whether it is a bubble, its sender shown, its text. */
function describeItems(page: Page) {
  return page.$$eval('ol.messages > li', (items) =>
    items.map((li) => ({
      look: [...li.classList].filter((c) => /^message--(call|doc|game|system)$/.test(c)).join(' ') || 'plain',
      bubble: li.querySelector('.bubble') !== null,
      senderShown: li.querySelector('.message-sender:not(.visually-hidden)')?.textContent ?? null,
      text: li.querySelector('p')?.textContent ?? '',
    })),
  );
}

describe('the message list shows each kind of event as its own', () => {
  it('shows text and call bubbles, a document card, game steps in bubbles, and a note of the server apart', async () => {
    const page = await browser.newPage('reader');
    await show(page, conversation(everyKind));
    expect(await describeItems(page)).toEqual([
      { look: 'plain', bubble: true, senderShown: 'Alice', text: 'Hello Alice' },
      { look: 'message--call', bubble: true, senderShown: null, text: 'Missed video call' },
      { look: 'message--doc', bubble: false, senderShown: null, text: 'Trip plan' },
      { look: 'message--game', bubble: true, senderShown: null, text: 'Vic invites Alice to play Connect Four.' },
      { look: 'message--game', bubble: true, senderShown: 'Alice', text: 'Alice accepted.' },
      { look: 'message--game', bubble: true, senderShown: null, text: 'Connect Four: Vic won (four in a row). Score: Vic 1, Alice 0.' },
      { look: 'message--system', bubble: false, senderShown: null, text: NOTE },
    ]);
    // The card opens the document of its event.
    const open = page.getByRole('article', { name: 'Document: Trip plan' }).getByRole('link', { name: 'Open Trip plan' });
    expect(await open.getAttribute('href')).toBe('#doc=doc12345');
  });

  it('goes by the event, not by the clientMsgId: text with a call:/doc:-looking id is a plain bubble', async () => {
    const page = await browser.newPage('reader');
    await show(
      page,
      conversation([
        { key: 'call:abcdefgh', event: { kind: 'text' }, body: 'not a call record', from: 'Alice' },
        { key: 'doc:abcdefgh', event: { kind: 'text' }, body: 'not a card', from: 'Alice' },
        { key: 'plainid12345', event: { kind: 'doc', docId: 'd-42abcdef' }, body: 'Budget' },
      ]),
    );
    expect((await describeItems(page)).map((i) => i.look)).toEqual(['plain', 'plain', 'message--doc']);
    expect(await page.getByRole('link', { name: 'Open Budget' }).getAttribute('href')).toBe('#doc=d-42abcdef');
  });

  it('gives a server note no sender: screen readers hear "Note:", and the next bubble names its sender again', async () => {
    const page = await browser.newPage('reader');
    await show(
      page,
      conversation([
        { event: { kind: 'text' }, body: 'Before the note', from: 'Alice' },
        { event: { kind: 'system' }, body: NOTE },
        { event: { kind: 'text' }, body: 'After the note', from: 'Alice' },
      ]),
    );
    const note = page.getByRole('listitem').filter({ hasText: NOTE });
    expect((await note.textContent())?.startsWith(`Note:${NOTE}`)).toBe(true);
    expect(await note.locator('.message-sender').count()).toBe(0);
    expect((await describeItems(page)).map((i) => i.senderShown)).toEqual(['Alice', null, 'Alice']);
    // Centred in the list, not on either side.
    const [noteBox, listBox] = await Promise.all([note.locator('.system-note').boundingBox(), page.locator('ol.messages').boundingBox()]);
    if (noteBox === null || listBox === null) throw new Error('the note or the list is not on screen');
    expect(Math.abs(noteBox.x + noteBox.width / 2 - (listBox.x + listBox.width / 2))).toBeLessThan(2);
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`keeps a server note readable on a 360 px phone (${colorScheme}): AA contrast, wrapped within the screen`, async () => {
      const page = await browser.newPage(`phone-${colorScheme}`, { viewport: { width: 360, height: 640 }, colorScheme });
      const long = `${NOTE} See https://knock.example/${'a'.repeat(120)} and ${'x'.repeat(90)}.`;
      await show(page, conversation([...everyKind.slice(0, 6), { event: { kind: 'system' }, body: long }]));
      const fit = await page.$eval('.system-note', (el) => {
        const scroller = el.closest('.message-scroller');
        return {
          page: document.documentElement.scrollWidth,
          noteRight: el.getBoundingClientRect().right,
          scrollerRight: scroller?.getBoundingClientRect().right ?? 0,
          noteOverflows: el.scrollWidth > el.clientWidth,
        };
      });
      expect(fit.page).toBeLessThanOrEqual(360);
      expect(fit.noteRight).toBeLessThanOrEqual(fit.scrollerRight);
      expect(fit.noteOverflows).toBe(false);
      // WCAG 2.1 AA, 1.4.3: 4.5:1 for text of this size.
      const ratios = [];
      for (const selector of ['.system-note', '.message--system time', '.message--game .message-body']) ratios.push({ selector, ratio: await contrastOf(page, selector) });
      expect(ratios.filter((r) => r.ratio < 4.5)).toEqual([]);
    });
  }
});
