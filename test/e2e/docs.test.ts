/**
 * Co-editing a document in two real Chromium contexts (issue 5, test 4): the visitor creates one from the
 * conversation ("New document"), the owner opens its card; both type at once and end with the same text, each sees
 * the other's cursor under their name, an edit made offline merges when the network returns, and a reload shows the
 * content, and so does an edit made offline in a tab closed before the network returned. Then formatting, undo of one's own edits only, and Markdown and HTML export. Pages are watched for CSP
 * violations (the editor must inject no style) and uncaught errors (test/support/browser.ts).
 */
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually, openConversation, ownerAndVisitor, sendWithEnter } from '../support/knockUi.ts';

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
});
afterAll(() => knock?.close());

const editorOf = (page: Page) => page.getByRole('textbox', { name: 'Document' });
/** Opening a document fetches and parses the editor chunk (about 500 KB of script): slower than a UI change. */
const OPEN_TIMEOUT_MS = 20_000;
/** The document's text as its reader sees it, without the other people's cursor labels drawn inside it. */
const textIn = (page: Page) =>
  editorOf(page).evaluate((element) => {
    const copy = element.cloneNode(true) as HTMLElement;
    for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove();
    return [...copy.children].map((block) => block.textContent ?? '').join('\n');
  });
const caretNames = (page: Page) => page.locator('.collaboration-carets__label').allInnerTexts();

/** The visitor (Bob) knocks, creates a document, and the owner opens it from its card. */
async function coEditing(handle: string, title: string): Promise<{ owner: Page; visitor: Page }> {
  const { owner, visitor } = await ownerAndVisitor(browser, knock, handle);
  await visitor.getByRole('textbox', { name: 'Your name' }).fill('Bob');
  await sendWithEnter(visitor, 'Shall we plan it together?');
  await openConversation(owner, 'Bob');

  await visitor.getByRole('button', { name: 'New document' }).click();
  await visitor.getByRole('textbox', { name: 'Title' }).fill(title);
  await visitor.getByRole('button', { name: 'Create document' }).click();
  await editorOf(visitor).waitFor({ timeout: OPEN_TIMEOUT_MS });
  await visitor.getByRole('status').filter({ hasText: 'All changes saved' }).waitFor({ timeout: OPEN_TIMEOUT_MS });

  // The card shows the title; opening it loads the editor chunk.
  const card = owner.getByRole('article', { name: `Document: ${title}` });
  await card.waitFor();
  await card.getByRole('link', { name: `Open ${title}` }).click();
  await editorOf(owner).waitFor({ timeout: OPEN_TIMEOUT_MS });
  await owner.getByRole('status').filter({ hasText: 'All changes saved' }).waitFor({ timeout: OPEN_TIMEOUT_MS });
  return { owner, visitor };
}

describe('co-editing a document in the browser', { timeout: E2E_TEST_TIMEOUT_MS * 2 }, () => {
  it('both type at once and agree, see each other’s cursor, merge offline edits (a closed tab’s too), and keep it across a reload', async () => {
    const { owner, visitor } = await coEditing('alice-docs', 'Trip plan');

    // At the same time, each at their own place: Bob has begun the text and goes on at its end while Alice writes
    // before it. (Both typing into an empty document start at the same place, where a CRDT may interleave their
    // letters: convergence holds, but neither sentence would stay whole.)
    await editorOf(visitor).click();
    await visitor.keyboard.type('Route: ');
    await eventually(() => textIn(owner), (text) => expect(text).toContain('Route:'));
    await editorOf(owner).click();
    await owner.keyboard.press('Control+Home');
    await Promise.all([
      visitor.keyboard.type('Bob writes the route. ', { delay: 15 }),
      owner.keyboard.type('Alice books the rooms. ', { delay: 15 }),
    ]);
    const agreed = await eventually(
      async () => [await textIn(owner), await textIn(visitor)],
      ([a, b]) => {
        expect(a).toBe(b);
        expect(a).toContain('Bob writes the route.');
        expect(a).toContain('Alice books the rooms.');
      },
    );
    expect(agreed[0]).toBeTruthy();
    // Each sees the other's cursor, under the name the conversation knows them by.
    await eventually(() => caretNames(owner), (names) => expect(names).toContain('Bob'));
    await eventually(() => caretNames(visitor), (names) => expect(names).toContain('Alice'));
    await visitor.getByRole('status').filter({ hasText: 'Also here: Alice' }).waitFor();

    // The visitor goes offline, keeps writing; the owner writes too; the network returns and both edits merge.
    await visitor.context().setOffline(true);
    await visitor.getByRole('status').filter({ hasText: 'Offline' }).waitFor();
    await editorOf(visitor).press('End');
    await visitor.keyboard.type('Written on the train.', { delay: 10 });
    await editorOf(owner).press('Control+Home');
    await owner.keyboard.type('Online meanwhile. ', { delay: 10 });
    expect(await textIn(owner)).not.toContain('Written on the train.');
    await visitor.context().setOffline(false);
    await eventually(
      async () => [await textIn(owner), await textIn(visitor)],
      ([a, b]) => {
        expect(a).toBe(b);
        expect(a).toContain('Written on the train.');
        expect(a).toContain('Online meanwhile.');
      },
      10_000,
    );

    // A reload reopens the document (it is in the address) with everything in it.
    const before = await textIn(owner);
    await visitor.reload();
    await editorOf(visitor).waitFor({ timeout: OPEN_TIMEOUT_MS });
    await eventually(() => textIn(visitor), (text) => expect(text).toBe(before), OPEN_TIMEOUT_MS);

    // Offline again, the visitor writes and closes the tab; back online, opening the document again delivers it.
    const context = visitor.context();
    await context.setOffline(true);
    await visitor.getByRole('status').filter({ hasText: 'Offline' }).waitFor();
    const copy = () => visitor.evaluate(() => Object.entries(localStorage).find(([key]) => key.startsWith('knock:doc:'))?.[1] ?? '');
    const copyBefore = await copy();
    await editorOf(visitor).press('Control+End');
    await visitor.keyboard.type(' Closed the lid.', { delay: 10 });
    await eventually(copy, (now) => expect(now).not.toBe(copyBefore)); // the browser's copy has it
    const address = visitor.url();
    await visitor.close();
    await context.setOffline(false);
    const again = await context.newPage();
    await again.goto(address);
    await eventually(() => textIn(owner), (text) => expect(text).toContain('Closed the lid.'), OPEN_TIMEOUT_MS);
    const final = await textIn(owner);
    await eventually(() => textIn(again), (text) => expect(text).toBe(final), OPEN_TIMEOUT_MS);
  });

  it('formats, undoes only one’s own edits, keeps the shape of pasted HTML, and exports Markdown and HTML', async () => {
    const { owner, visitor } = await coEditing('alice-docs2', 'Shopping list');
    await editorOf(owner).click();
    await owner.getByRole('button', { name: 'Heading 1' }).click();
    await owner.keyboard.type('Groceries');
    await owner.keyboard.press('Enter');
    await owner.getByRole('button', { name: 'Task list' }).click();
    await owner.keyboard.type('Bread');
    await owner.keyboard.press('Enter');
    await owner.keyboard.type('Milk');
    await owner.keyboard.press('Enter');
    await owner.keyboard.press('Enter'); // leaves the list
    await owner.getByRole('button', { name: 'Bold' }).click();
    await owner.keyboard.type('Soon');
    await eventually(() => textIn(visitor), (t) => expect(t).toContain('Soon'));

    // The visitor writes a line; the owner's Undo takes back the owner's last edit, not the visitor's.
    await editorOf(visitor).press('Control+End');
    await visitor.keyboard.press('Enter');
    await visitor.keyboard.type('Also eggs');
    await eventually(() => textIn(owner), (t) => expect(t).toContain('Also eggs'));
    await owner.getByRole('button', { name: 'Undo' }).click();
    await eventually(() => textIn(visitor), (t) => {
      expect(t).not.toContain('Soon');
      expect(t).toContain('Also eggs');
    });
    await owner.getByRole('button', { name: 'Redo' }).click();
    await eventually(() => textIn(visitor), (t) => expect(t).toContain('Soon'));

    // Pasting from another app (HTML on the clipboard) keeps headings, lists and links.
    await editorOf(owner).press('Control+End');
    await owner.keyboard.press('Enter');
    await editorOf(owner).evaluate((element) => {
      const data = new DataTransfer();
      data.setData('text/html', '<h2>Pasted plan</h2><ul><li>first stop</li></ul><p>see <a href="https://example.com/map">the map</a></p>');
      data.setData('text/plain', 'Pasted plan\nfirst stop\nsee the map');
      element.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    });
    await eventually(() => textIn(visitor), (t) => expect(t).toContain('the map'));

    const [markdown] = await Promise.all([owner.waitForEvent('download'), owner.getByRole('button', { name: 'Export Markdown' }).click()]);
    expect(markdown.suggestedFilename()).toBe('Shopping-list.md');
    const md = await readFile((await markdown.path())!, 'utf8');
    expect(md).toContain('# Groceries');
    expect(md).toContain('- [ ] Bread');
    expect(md).toContain('- [ ] Milk');
    expect(md).toContain('**Soon**');
    expect(md).toContain('Also eggs');
    expect(md).toContain('## Pasted plan');
    expect(md).toContain('- first stop');
    expect(md).toContain('see [the map](https://example.com/map)');

    const [html] = await Promise.all([owner.waitForEvent('download'), owner.getByRole('button', { name: 'Export HTML' }).click()]);
    expect(html.suggestedFilename()).toBe('Shopping-list.html');
    const page = await readFile((await html.path())!, 'utf8');
    expect(page).toContain('<title>Shopping list</title>');
    expect(page).toContain('<h1>Groceries</h1>');
    expect(page).toContain('<strong>Soon</strong>');
    expect(page).toMatch(/data-type="taskList"/);
  });
});
