/**
 * Issue 16, "Done when 3", as people do it in real Chromium against a real Knock: the owner is away; a visitor leaves
 * a message with an image, a PDF and their email; the owner logs in, sees the image's preview, downloads both files
 * and gets exactly the bytes that were uploaded (SHA-256 of what the browser downloaded), and replies, which the
 * visitor sees. Uploaded HTML and SVG holding scripts run nothing, neither from their links in the conversation nor
 * opened directly at their address. The owner's search finds the conversation by a word of it; Archive hides it from
 * the list, and a new message from the visitor brings it back. Then Mark as unread, and Delete conversation after a
 * confirmation, and the storage used.
 *
 * Everything is reached by the names the UI gives it (test/support/knockUi.ts and the names).
 */
import { sha256 } from '../support/uploads.ts';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_TEST_TIMEOUT_MS, UI_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import {
  conversationButtons,
  conversationList,
  eventually,
  expectDelivery,
  expectMessage,
  expectPresence,
  logInAsOwner,
  messageBox,
  openConversation,
  openProfile,
  sendWithEnter,
} from '../support/knockUi.ts';

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
});
afterAll(() => knock?.close());

/** How long a thumbnail may take to be made and shown (sharp, on a busy machine). */
const THUMBNAIL_TIMEOUT_MS = 15_000;

interface UploadFile {
  name: string;
  mimeType: string;
  buffer: Buffer;
}


/** A photo-like PNG (noise compresses badly, as photos do), and a one-page PDF. */
async function photoAndPdf(): Promise<[UploadFile, UploadFile]> {
  const png = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
  const pdf = Buffer.from(
    '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
      '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
    'latin1',
  );
  return [
    { name: 'kumquat crate.png', mimeType: 'image/png', buffer: png },
    { name: 'quarterly report.pdf', mimeType: 'application/pdf', buffer: pdf },
  ];
}

/** Files that would run script if a browser ever rendered them as a page of Knock's origin. */
const SCRIPTED: UploadFile[] = [
  {
    name: 'invoice.html',
    mimeType: 'text/html',
    buffer: Buffer.from('<!doctype html><title>x</title><script>window.xssRan = true; console.log("XSS-RAN html"); alert("xss html")</script>'),
  },
  {
    name: 'logo.svg',
    mimeType: 'image/svg+xml',
    buffer: Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" onload="window.xssRan = true; console.log(\'XSS-RAN svg onload\'); alert(1)">' +
        '<script>window.xssRan = true; console.log("XSS-RAN svg"); alert("xss svg")</script><rect width="10" height="10"/></svg>',
    ),
  },
];

async function attach(page: Page, files: UploadFile[]): Promise<void> {
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Attach files' }).click()]);
  await chooser.setFiles(files);
}

/** Clicks the link named `name` and returns the SHA-256 of what the browser downloaded. */
async function downloadHash(page: Page, name: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name, exact: true }).click()]);
  const path = await download.path();
  return sha256(await readFile(path));
}

/**
 * Opens a file's address as a page of its own (as a person pasting the link would), in the owner's browser: what the
 * server sends must be a download or a page where no script runs. Says what happened and what the page tried.
 */
async function openDirectly(context: BrowserContext, url: string): Promise<{ dialogs: string[]; console: string[]; scriptRan: boolean }> {
  const page = await context.newPage();
  const dialogs: string[] = [];
  const lines: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    dialog.dismiss().catch(() => undefined);
  });
  page.on('console', (message) => lines.push(message.text()));
  const shown = await Promise.race([
    page.waitForEvent('download').then(() => false),
    // A download aborts the navigation ("Download is starting"): that is the safe outcome too.
    page.goto(url, { waitUntil: 'load' }).then(
      () => true,
      () => false,
    ),
  ]);
  const scriptRan = shown ? await page.evaluate(() => (window as { xssRan?: boolean }).xssRan === true).catch(() => false) : false;
  await page.close();
  return { dialogs, console: lines.filter((l) => l.includes('XSS-RAN')), scriptRan };
}

const searchBox = (page: Page) => page.getByRole('searchbox', { name: 'Search conversations' });
const vicInList = (owner: Page) => conversationButtons(owner).filter({ hasText: 'Vic' });

describe('files, and the URL as a mailbox', { timeout: E2E_TEST_TIMEOUT_MS * 2 }, () => {
  it('a visitor leaves files and an email while the owner is away; the owner previews, downloads them byte for byte, replies, searches, archives', async () => {
    await knock.addUser('alice', 'Alice');
    const [photo, pdf] = await photoAndPdf();

    // The owner is away: the page says to leave a message, and asks (optionally) for an email.
    const visitor = await browser.newPage('visitor Vic');
    await openProfile(visitor, knock.url, 'alice');
    await expectPresence(visitor, 'offline');
    await visitor.getByText(/leave a message/).waitFor();
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Vic');
    await visitor.getByRole('textbox', { name: 'Your email' }).fill('vic@example.org');
    await attach(visitor, [photo, pdf]);
    const body = 'Here is the crate of kumquats, and the quarterly report.';
    await messageBox(visitor).fill(body);
    await messageBox(visitor).press('Enter');

    // Stored with its files; the page says the message was left, with the link to come back.
    await expectMessage(visitor, body);
    await expectDelivery(visitor, body, 'Sent');
    await visitor.getByRole('link', { name: 'quarterly report.pdf', exact: true }).waitFor();
    await visitor.getByText(/Your message was left for Alice/).waitFor();
    await visitor.getByRole('link', { name: /\/alice\/c\// }).waitFor();

    // The owner logs in: the conversation is there, with the visitor's email, the image's preview and the PDF.
    const owner = await browser.newPage('owner');
    await openProfile(owner, knock.url, 'alice');
    await logInAsOwner(owner);
    await openConversation(owner, 'Vic');
    await expectMessage(owner, body);
    await owner.getByRole('link', { name: 'vic@example.org' }).waitFor();
    const preview = owner.getByRole('img', { name: photo.name });
    await eventually(() => preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), (w) => expect(w).toBeGreaterThan(0), THUMBNAIL_TIMEOUT_MS);
    // A thumbnail, not the full picture.
    expect(await preview.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeLessThan(1200);

    // Both download as exactly the bytes uploaded.
    expect(await downloadHash(owner, photo.name)).toBe(sha256(photo.buffer));
    expect(await downloadHash(owner, pdf.name)).toBe(sha256(pdf.buffer));

    // The owner replies; the visitor sees it.
    await sendWithEnter(owner, 'Thanks Vic, got both.');
    await expectMessage(visitor, 'Thanks Vic, got both.');

    // HTML and SVG with scripts: their links download, and their addresses opened directly run nothing.
    await attach(visitor, SCRIPTED);
    await messageBox(visitor).fill('Two more');
    await messageBox(visitor).press('Enter');
    await expectMessage(owner, 'Two more');
    for (const file of SCRIPTED) {
      const link = owner.getByRole('link', { name: file.name, exact: true });
      await link.waitFor();
      expect(await downloadHash(owner, file.name)).toBe(sha256(file.buffer));
      const url = new URL((await link.getAttribute('href'))!, knock.url).href;
      expect(await openDirectly(owner.context(), url), `${file.name} opened at ${url}`).toEqual({ dialogs: [], console: [], scriptRan: false });
    }
    // The console itself saw no dialog either (useBrowser fails the test on one), and stays where it was.
    expect(new URL(owner.url()).pathname).toBe('/alice');

    // Search finds the conversation by a word of a message, and nothing for a word nobody wrote.
    await searchBox(owner).fill('kumquats');
    await vicInList(owner).waitFor();
    await searchBox(owner).fill('zeppelin');
    await owner.getByText('No conversation matches this search.').waitFor();
    expect(await conversationButtons(owner).count()).toBe(0);
    await searchBox(owner).fill('');
    await vicInList(owner).waitFor();

    // Archive hides it from the list; the Archived filter shows it; a new message brings it back.
    await openConversation(owner, 'Vic');
    await owner.getByRole('button', { name: 'Archive', exact: true }).click();
    await eventually(() => vicInList(owner).count(), (n) => expect(n).toBe(0));
    await owner.getByRole('button', { name: 'Archived', exact: true }).click();
    expect(await owner.getByRole('button', { name: 'Archived', exact: true }).getAttribute('aria-pressed')).toBe('true');
    await vicInList(owner).waitFor();
    await owner.getByRole('button', { name: 'Archived', exact: true }).click();
    await eventually(() => vicInList(owner).count(), (n) => expect(n).toBe(0));
    await sendWithEnter(visitor, 'One more thing!');
    await vicInList(owner).waitFor();
  });

  it('moves through the conversations with Up and Down from the search box, and opens one with Enter', async () => {
    await knock.addUser('alice-keys', 'Alice');
    for (const name of ['Uma', 'Ted']) {
      const visitor = await browser.newPage(`visitor ${name}`);
      await openProfile(visitor, knock.url, 'alice-keys');
      await visitor.getByRole('textbox', { name: 'Your name' }).fill(name);
      await sendWithEnter(visitor, `Hello from ${name}`);
      await expectMessage(visitor, `Hello from ${name}`);
    }
    const owner = await browser.newPage('owner');
    await openProfile(owner, knock.url, 'alice-keys');
    await logInAsOwner(owner);
    await eventually(() => conversationButtons(owner).count(), (n) => expect(n).toBe(2));
    const focused = () => owner.evaluate(() => document.activeElement?.textContent ?? '');
    await searchBox(owner).focus();
    await owner.keyboard.press('ArrowDown');
    expect(await focused()).toBe('Ted'); // newest first
    await owner.keyboard.press('ArrowDown');
    expect(await focused()).toBe('Uma');
    await owner.keyboard.press('ArrowDown');
    expect(await focused()).toBe('Uma'); // stays on the last
    await owner.keyboard.press('ArrowUp');
    expect(await focused()).toBe('Ted');
    await owner.keyboard.press('Enter');
    await expectMessage(owner, 'Hello from Ted');
  });

  it('marks a conversation unread, and deletes one after a confirmation in a dialog; the storage used shows', async () => {
    await knock.addUser('alice-two', 'Alice');
    const [photo] = await photoAndPdf();
    const visitor = await browser.newPage('visitor Vic');
    await openProfile(visitor, knock.url, 'alice-two');
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Vic');
    await attach(visitor, [photo]);
    await messageBox(visitor).press('Enter');
    await visitor.getByRole('img', { name: photo.name }).waitFor();

    const owner = await browser.newPage('owner');
    await openProfile(owner, knock.url, 'alice-two');
    await logInAsOwner(owner);
    await owner.getByText(/^\d+(\.\d)? (bytes|KB|MB|GB) of \d+(\.\d)? (bytes|KB|MB|GB) used$/).waitFor();
    await openConversation(owner, 'Vic');

    // Mark as unread: back to the list, shown unread, the focus on it.
    await owner.getByRole('button', { name: 'Mark as unread' }).click();
    await owner.getByRole('button', { name: /^Vic, \d+ unread$/ }).waitFor();
    await owner.getByRole('button', { name: 'Unread', exact: true }).click();
    await vicInList(owner).waitFor();
    await owner.getByRole('button', { name: 'Unread', exact: true }).click();

    // Delete: asked first (Cancel keeps it), then gone from the list.
    await openConversation(owner, 'Vic');
    await owner.getByRole('button', { name: 'Delete conversation' }).click();
    const dialog = owner.getByRole('dialog', { name: 'Delete the conversation with Vic?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await owner.getByRole('button', { name: 'Delete conversation' }).click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await eventually(() => vicInList(owner).count(), (n) => expect(n).toBe(0));
    expect(await conversationList(owner).getByRole('listitem').count()).toBe(0);
    await owner.getByText('Deleted the conversation with Vic.').waitFor({ timeout: UI_TIMEOUT_MS });
  });
});
