/**
 * A shared document as a person uses it in the browser (the editor's accessible names: the "Document" text box, its
 * status line, the card in the conversation with its "Open <title>" link).
 */
import type { Page } from 'playwright-core';

/** Opening a document fetches and parses the editor chunk (about 500 KB of script): slower than a UI change. */
export const OPEN_DOC_MS = 20_000;

export const editorOf = (page: Page) => page.getByRole('textbox', { name: 'Document' });

/** The document's text as its reader sees it, without the other people's cursor labels drawn inside it. */
export const textIn = (page: Page): Promise<string> =>
  editorOf(page).evaluate((element) => {
    const copy = element.cloneNode(true) as HTMLElement;
    for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove();
    return [...copy.children].map((block) => block.textContent ?? '').join('\n');
  });

/** Waits until the editor says "All changes saved" (connected, and in step with the server). */
export async function docSaved(page: Page, timeout = OPEN_DOC_MS): Promise<void> {
  await page.getByRole('status').filter({ hasText: 'All changes saved' }).waitFor({ timeout });
}

/** Creates a document from the conversation ("New document"); it opens here. */
export async function createDocument(page: Page, title: string): Promise<void> {
  await page.getByRole('button', { name: 'New document' }).click();
  await page.getByRole('textbox', { name: 'Title' }).fill(title);
  await page.getByRole('button', { name: 'Create document' }).click();
  await editorOf(page).waitFor({ timeout: OPEN_DOC_MS });
  await docSaved(page);
}

/** Opens the document from its card in the conversation, and waits until it is loaded. */
export async function openDocument(page: Page, title: string): Promise<void> {
  await page.getByRole('article', { name: `Document: ${title}` }).getByRole('link', { name: `Open ${title}` }).click();
  await editorOf(page).waitFor({ timeout: OPEN_DOC_MS });
  await docSaved(page);
}

/** Types at the end of the document. */
export async function typeAtEnd(page: Page, text: string): Promise<void> {
  await editorOf(page).click();
  await editorOf(page).press('Control+End');
  await page.keyboard.type(text, { delay: 10 });
}
