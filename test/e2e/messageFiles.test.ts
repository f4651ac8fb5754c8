/**
 * Files in the browser without a Knock server, in real Chromium with the app's stylesheet: how a `file` event shows in
 * the message list (client/src/views/MessageFiles.tsx), and how the composer uploads files (Attachments and the real
 * XHR uploader) against uploads this test answers itself (Playwright routes on a made-up origin): progress, the
 * server's refusal with Retry and Remove, the limits checked before a byte goes, drop and paste, and the message sent
 * only once its files are up. The server-backed journey is test/e2e/files.test.ts.
 */
import sharp from 'sharp';
import type { Page, Request, Route } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FileRef } from '../../engine/protocol.ts';
import type { MessageView } from '../../client/src/sdk/types.ts';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { UI_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { contrastOf } from '../support/contrast.ts';
import type { ComposerPageOptions } from '../support/composerPage.tsx';
import { eventually, messageBox, sendButton } from '../support/knockUi.ts';
import { appStylesheet, bundleTestPage } from '../support/testPages.ts';

const browser = useBrowser();
const ORIGIN = 'http://knock.test';
let listScript = '';
let composerScript = '';
let stylesheet = '';
let thumbnail: Buffer;

beforeAll(async () => {
  [listScript, composerScript, stylesheet] = await Promise.all([bundleTestPage('messageListPage.tsx'), bundleTestPage('composerPage.tsx'), appStylesheet()]);
  thumbnail = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 200, g: 60, b: 40 } } }).png().toBuffer();
});

const AT = Date.UTC(2026, 11, 6, 14, 5);
const photo: FileRef = { id: 'file-photo-1', name: 'beach photo.png', size: 2_400_000, type: 'image/png', image: { width: 1600, height: 1200 } };
const tall: FileRef = { id: 'file-tall-01', name: 'receipt.jpg', size: 180_000, type: 'image/jpeg', image: { width: 600, height: 1800 } };
const pdf: FileRef = { id: 'file-pdf-001', name: 'Quarterly report 2026.pdf', size: 1_258_291, type: 'application/pdf', image: null };
const zip: FileRef = { id: 'file-zip-001', name: `${'very-long-archive-name-'.repeat(6)}.zip`, size: 52_428_800, type: 'application/zip', image: null };

function message(i: number, body: string, files: FileRef[] | null, mine: boolean): MessageView {
  return {
    key: `msg-${i}-abcdef`,
    seq: i + 1,
    event: files === null ? { kind: 'text' } : { kind: 'file', files },
    body,
    at: AT + i * 1000,
    senderRole: mine ? 'visitor' : 'owner',
    senderName: mine ? 'Vic' : 'Alice',
    mine,
    status: 'read',
  };
}

/** A blank page on a made-up origin whose files' thumbnails this test serves, with the app's stylesheet and `script`. */
async function openPage(page: Page, script: string): Promise<void> {
  await page.route(`${ORIGIN}/`, (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><html lang="en"><head><title>Files</title></head><body><div id="app"></div></body></html>' }),
  );
  await page.route(`${ORIGIN}/_/files/*/thumb`, (route) => route.fulfill({ contentType: 'image/png', body: thumbnail }));
  await page.goto(`${ORIGIN}/`);
  await page.addStyleTag({ content: stylesheet });
  await page.addScriptTag({ content: script });
}

async function showMessages(page: Page, messages: MessageView[]): Promise<void> {
  await openPage(page, listScript);
  await page.evaluate((m) => window.showMessages(m), messages);
  await page.getByRole('list', { name: 'Messages' }).locator(':scope > li').nth(messages.length - 1).waitFor();
}

describe('the message list shows a message with files', () => {
  it('shows its text above its files: an image as a thumbnail inside a link to the full image, others as a card with name, size and type', async () => {
    const page = await browser.newPage('reader');
    await showMessages(page, [message(0, 'The photo and the report', [photo, pdf], false)]);

    const item = page.getByRole('list', { name: 'Messages' }).getByRole('listitem');
    // The text first, then the files.
    const order = await item.evaluate((li) => [...li.querySelectorAll('.bubble, .message-files')].map((el) => el.className));
    expect(order).toEqual(['bubble', 'message-files']);
    expect(await item.locator('.message-body').innerText()).toBe('The photo and the report');

    // The image: its name is its alt text, the link around it leads to the full file.
    const image = page.getByRole('img', { name: 'beach photo.png' });
    const imageLink = page.getByRole('link', { name: 'beach photo.png' });
    expect(await imageLink.getAttribute('href')).toBe('/_/files/file-photo-1/beach%20photo.png');
    expect(await imageLink.locator('img').count()).toBe(1);
    expect(await image.getAttribute('src')).toBe('/_/files/file-photo-1/thumb');
    // Sized from the image's proportions before the thumbnail loads (240 px on its longest side), then loaded.
    expect([await image.getAttribute('width'), await image.getAttribute('height')]).toEqual(['240', '180']);
    await eventually(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth), (w) => expect(w).toBe(320));

    // The other file: a card whose link, named by the file, downloads it; size in human units and its type.
    const download = page.getByRole('link', { name: 'Quarterly report 2026.pdf', exact: true });
    expect(await download.getAttribute('href')).toBe('/_/files/file-pdf-001/Quarterly%20report%202026.pdf');
    expect(await download.getAttribute('download')).toBe('Quarterly report 2026.pdf');
    expect(await page.locator('.file-card-meta').innerText()).toBe('1.2 MB · PDF document');
  });

  it('shows a message of files alone without an empty bubble, on my side, with its delivery state', async () => {
    const page = await browser.newPage('reader');
    await showMessages(page, [message(0, 'Hello', null, false), message(1, '', [tall, zip], true)]);
    const mine = page.locator('ol.messages > li.message--mine');
    expect(await mine.locator('.bubble').count()).toBe(0);
    expect(await mine.getByRole('img', { name: 'receipt.jpg' }).getAttribute('height')).toBe('240');
    expect(await mine.getByRole('link', { name: zip.name }).count()).toBe(1);
    expect(await mine.locator('.file-card-meta').innerText()).toBe('50 MB · ZIP archive');
    expect(await mine.getByText('Read', { exact: true }).count()).toBe(1);
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`fits a 360 px phone (${colorScheme}): long names wrap inside the screen, text reads at AA contrast`, async () => {
      const page = await browser.newPage(`phone-${colorScheme}`, { viewport: { width: 360, height: 640 }, colorScheme });
      await showMessages(page, [message(0, 'Files for you', [photo, zip], false), message(1, 'And back', [tall, pdf], true)]);
      const fit = await page.evaluate(() => {
        const scroller = document.querySelector('.message-scroller')!.getBoundingClientRect();
        const boxes = [...document.querySelectorAll('.file-card, .file-image')].map((el) => el.getBoundingClientRect());
        return { page: document.documentElement.scrollWidth, outside: boxes.filter((b) => b.left < scroller.left || b.right > scroller.right).length };
      });
      expect(fit).toEqual({ page: 360, outside: 0 });
      const ratios = [];
      for (const selector of ['.file-card-name', '.file-card-meta']) ratios.push({ selector, ratio: await contrastOf(page, selector) });
      expect(ratios.filter((r) => r.ratio < 4.5)).toEqual([]);
    });
  }
});

/** The uploads the composer makes, held until the test answers each. */
interface Upload {
  name: string;
  authorization: string | null;
  contentType: string;
  route: Route;
  request: Request;
}

async function composerPage(label: string, options: Partial<ComposerPageOptions> = {}): Promise<{ page: Page; uploads: Upload[] }> {
  const page = await browser.newPage(label);
  const uploads: Upload[] = [];
  await page.route(`${ORIGIN}/_/api/conversations/*/files`, async (route, request) => {
    const body = request.postDataBuffer()?.toString('latin1') ?? '';
    const name = /name="file"; filename="([^"]*)"/.exec(body)?.[1] ?? '(no file part)';
    uploads.push({ name, authorization: await request.headerValue('authorization'), contentType: (await request.headerValue('content-type')) ?? '', route, request });
  });
  await openPage(page, composerScript);
  await page.evaluate((o) => window.showComposer(o), { conversationId: 'conv-1234', ...options });
  return { page, uploads };
}

/** Answers the `index`-th upload as the server would store it. */
function stored(upload: Upload, ref: Partial<FileRef> = {}): Promise<void> {
  const answer: FileRef = { id: `f-${upload.name.replace(/[^A-Za-z0-9]/g, '')}-01234567`.slice(0, 40), name: upload.name, size: 5, type: 'text/plain', image: null, ...ref };
  return upload.route.fulfill({ status: 201, contentType: 'application/json', json: answer });
}

async function uploadNumber(uploads: Upload[], n: number): Promise<Upload> {
  await eventually(async () => uploads.length, (count) => expect(count).toBeGreaterThanOrEqual(n));
  return uploads[n - 1]!;
}

async function uploadOf(uploads: Upload[], name: string): Promise<Upload> {
  const found = await eventually(async () => uploads.find((u) => u.name === name), (u) => expect(u, `an upload of ${name}`).toBeDefined());
  return found!;
}

async function choose(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]): Promise<void> {
  const [chooser] = await Promise.all([page.waitForEvent('filechooser', { timeout: UI_TIMEOUT_MS }), page.getByRole('button', { name: 'Attach files' }).click()]);
  expect(chooser.isMultiple()).toBe(true);
  await chooser.setFiles(files);
}

const text = (name: string, bytes = 5) => ({ name, mimeType: 'text/plain', buffer: Buffer.alloc(bytes, 'x') });
const sent = (page: Page) => page.evaluate(() => window.sent);

describe("the composer's files", () => {
  it('uploads each chosen file with its progress and the visitor token, then sends the message with the stored files once all are up', async () => {
    const { page, uploads } = await composerPage('visitor', { token: 'visitor-token-0123456789abcdef' });
    await choose(page, [text('notes.txt'), text('plan.txt')]);

    // Both upload at once, each showing its progress; the request is multipart with one `file` part and the token.
    const [notes, plan] = [await uploadOf(uploads, 'notes.txt'), await uploadOf(uploads, 'plan.txt')];
    expect(notes.authorization).toBe('Bearer visitor-token-0123456789abcdef');
    expect(notes.contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(notes.request.url()).toBe(`${ORIGIN}/_/api/conversations/conv-1234/files`);
    await page.getByRole('progressbar', { name: 'Uploading notes.txt' }).waitFor();
    await page.getByRole('progressbar', { name: 'Uploading plan.txt' }).waitFor();

    // Send while they upload: the message waits, and says so.
    await messageBox(page).fill('Two files');
    await messageBox(page).press('Enter');
    await page.getByText('Your message goes as soon as its files are uploaded…').waitFor();
    await stored(notes);
    await page.getByRole('list', { name: 'Attachments' }).getByText('Uploaded').waitFor();
    expect(await sent(page)).toEqual([]);
    await stored(plan);

    // Sent once both were stored, with both files, in the order they were chosen; the composer is empty again.
    await eventually(() => sent(page), (s) => expect(s).toHaveLength(1));
    const [message] = await sent(page);
    expect(message?.body).toBe('Two files');
    expect(message?.files.map((f) => f.name)).toEqual(['notes.txt', 'plan.txt']);
    expect(await page.getByRole('list', { name: 'Attachments' }).count()).toBe(0);
    expect(await messageBox(page).inputValue()).toBe('');
    await page.getByRole('link', { name: 'plan.txt', exact: true }).waitFor();
  });

  it("shows the server's refusal on the file, with Retry and Remove named by it, and sends only once it is up", async () => {
    const { page, uploads } = await composerPage('owner');
    await choose(page, [text('big.bin', 40)]);
    const first = await uploadNumber(uploads, 1);
    expect(first.authorization).toBeNull(); // the owner's cookie, not a token
    await first.route.fulfill({
      status: 413,
      contentType: 'application/json',
      json: { error: { code: 'too_large', message: 'Your files use all of your 1 GB: delete conversations to make room.' } },
    });
    const chip = page.getByRole('list', { name: 'Attachments' }).getByRole('listitem');
    await chip.getByText('Your files use all of your 1 GB: delete conversations to make room.').waitFor();
    expect(await chip.getByRole('alert').count()).toBe(1);
    // A failed file keeps the message from going.
    expect(await sendButton(page).isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Retry big.bin' }).click();
    const second = await uploadNumber(uploads, 2);
    await stored(second, { size: 40 });
    await chip.getByText('Uploaded').waitFor();
    await sendButton(page).click();
    await eventually(() => sent(page), (s) => expect(s.map((m) => [m.body, m.files.length])).toEqual([['', 1]]));

    // Remove: the file leaves the message before it is sent, its upload stopped.
    await choose(page, [text('oops.txt')]);
    await uploadNumber(uploads, 3);
    await page.getByRole('button', { name: 'Remove oops.txt' }).click();
    expect(await page.getByRole('list', { name: 'Attachments' }).count()).toBe(0);
    expect(await sendButton(page).isDisabled()).toBe(true);
  });

  it("refuses files over the server's limits before uploading a byte, naming the limit", async () => {
    const { page, uploads } = await composerPage('visitor', { token: 'visitor-token-0123456789abcdef', limits: { maxFileBytes: 10 * 1024 * 1024, maxFilesPerMessage: 2 } });
    await choose(page, [{ name: 'film.mov', mimeType: 'video/quicktime', buffer: Buffer.alloc(10 * 1024 * 1024 + 1) }]);
    await page.getByRole('alert').getByText('film.mov is too large: a file may be at most 10 MB.').waitFor();
    expect(await page.getByRole('list', { name: 'Attachments' }).count()).toBe(0);

    await choose(page, [text('a.txt'), text('b.txt'), text('c.txt')]);
    await page.getByRole('alert').getByText('A message carries at most 2 files: 1 file was left out.').waitFor();
    expect(await page.getByRole('list', { name: 'Attachments' }).getByRole('listitem').count()).toBe(2);
    await eventually(async () => uploads.map((u) => u.name).sort(), (names) => expect(names).toEqual(['a.txt', 'b.txt']));
  });

  it('takes files dropped on the conversation and an image pasted into the message box', async () => {
    const { page, uploads } = await composerPage('visitor', { token: 'visitor-token-0123456789abcdef' });
    const list = page.locator('.message-scroller');
    // A drag carrying files shows where to drop them; the drop attaches them.
    await list.evaluate((el) => {
      const files = new DataTransfer();
      files.items.add(new File(['dropped'], 'dropped.txt', { type: 'text/plain' }));
      el.dispatchEvent(new DragEvent('dragenter', { dataTransfer: files, bubbles: true, cancelable: true }));
    });
    await page.getByText('Drop files to attach them').waitFor();
    await list.evaluate((el) => {
      const files = new DataTransfer();
      files.items.add(new File(['dropped'], 'dropped.txt', { type: 'text/plain' }));
      el.dispatchEvent(new DragEvent('drop', { dataTransfer: files, bubbles: true, cancelable: true }));
    });
    await page.getByRole('list', { name: 'Attachments' }).getByText('dropped.txt').waitFor();
    expect(await page.getByText('Drop files to attach them').count()).toBe(0);

    // A pasted screenshot becomes a file; the text box gets nothing.
    await messageBox(page).evaluate((el) => {
      const clipboard = new DataTransfer();
      clipboard.items.add(new File([new Uint8Array([137, 80, 78, 71])], 'image.png', { type: 'image/png' }));
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: clipboard, bubbles: true, cancelable: true }));
    });
    await page.getByRole('list', { name: 'Attachments' }).getByText('image.png').waitFor();
    expect(await messageBox(page).inputValue()).toBe('');
    await eventually(async () => uploads.map((u) => u.name).sort(), (names) => expect(names).toEqual(['dropped.txt', 'image.png']));
  });

  it('passes axe (WCAG 2.1 AA) with files uploading, refused and stored, and a message of files in the list', async () => {
    const audit = new AccessibilityAudit();
    const { page, uploads } = await composerPage('visitor', { token: 'visitor-token-0123456789abcdef' });
    await choose(page, [text('first.txt')]);
    await stored(await uploadNumber(uploads, 1));
    await sendButton(page).click();
    await page.getByRole('link', { name: 'first.txt', exact: true }).waitFor();
    await choose(page, [text('uploading.txt'), text('refused.txt')]);
    const [refused, pending] = [await uploadOf(uploads, 'refused.txt'), await uploadOf(uploads, 'uploading.txt')];
    await refused.route.fulfill({ status: 400, contentType: 'application/json', json: { error: { code: 'bad_request', message: 'This file cannot be stored.' } } });
    await page.getByRole('button', { name: 'Retry refused.txt' }).waitFor();
    await page.getByRole('progressbar', { name: 'Uploading uploading.txt' }).waitFor();
    await audit.check(page, 'the composer with files');
    audit.expectClean();
    await pending.route.abort();
  });
});
