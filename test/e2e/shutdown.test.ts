/**
 * Stopping Knock while people use it (issue 13, "Done when" 4), in real Chromium against Knock run as `npm start`
 * runs it (built JavaScript, a process of its own: test/support/knockProcess.ts). An owner and a visitor chat, share a
 * document, play Connect Four, and a call is ringing (the conversation's room is then held open by the call, not by
 * its sockets); SIGTERM goes to Knock's process group, as a service manager sends it. Then:
 * - the process is gone within KNOCK_SHUTDOWN_TIMEOUT_MS, exit code 0;
 * - the database file holds everything acknowledged before the stop: the messages, the document's text, the move,
 *   and the call's record, which the room writes while it closes;
 * - the pages said only that they are reconnecting (no error, no dialog), and once Knock is back on the same port
 *   they carry on by themselves: a message sent after the restart reaches the other side, the document syncs, the
 *   game takes the next move.
 */
import * as Y from 'yjs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { CALL_ARGS, E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { callButton } from '../support/callUi.ts';
import { KnockProcess } from '../support/knockProcess.ts';
import { eventually, expectMessage, messageTexts, openConversation, ownerAndVisitor, sendWithEnter } from '../support/knockUi.ts';

const SHUTDOWN_TIMEOUT_MS = 10_000;
/** The pages' reconnect backoff grows to 5 s between attempts: a restart is seen within a few of them. */
const RECONNECT_MS = 15_000;
/** Opening a document or a game loads a chunk of its own (the editor, Phaser). */
const OPEN_MS = 20_000;

const browser = useBrowser({ args: CALL_ARGS });
let knock: KnockProcess;

beforeAll(async () => {
  knock = await KnockProcess.create({ env: { KNOCK_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } });
  await knock.start();
});
afterAll(() => knock?.dispose());

const editorOf = (page: Page) => page.getByRole('textbox', { name: 'Document' });
const gameStatus = (page: Page) => page.getByRole('status').filter({ hasText: /turn|won|Game over/ });
const reconnecting = (page: Page) => page.getByText('Reconnecting…');

/** What the database file holds (read with the server stopped): messages, the document's text, the game's moves. */
async function stored(dbFile: string, docId: string): Promise<{ messages: string[]; docText: string; moves: number }> {
  const storage = SqliteStorage.open({ file: dbFile });
  try {
    const account = (await storage.getAccountByHandle('alice'))!;
    const [conversation] = await storage.listConversations(account.id, { limit: 10 });
    const messages = (await storage.messagesAfter(conversation!.id, 0, 1000)).map((m) => m.body);
    const state = await storage.loadDocumentState(docId);
    const doc = new Y.Doc();
    if (state.snapshot) Y.applyUpdate(doc, state.snapshot);
    for (const update of state.updates) Y.applyUpdate(doc, update);
    const game = await storage.openGame(conversation!.id);
    return { messages, docText: doc.getXmlFragment('default').toString(), moves: game?.moves.length ?? -1 };
  } finally {
    await storage.close();
  }
}

/** Drops a disc with the keyboard in the column the cursor is on (the middle one, for a fresh board). */
async function dropDisc(page: Page): Promise<void> {
  await expect.poll(() => gameStatus(page).textContent(), { timeout: OPEN_MS }).toContain('Your turn');
  // The board takes keys once Phaser has loaded and started the scene (aria-busy turns false).
  await page.locator('[role="application"][aria-busy="false"]').waitFor({ timeout: OPEN_MS });
  const board = page.getByRole('application');
  await board.focus();
  await board.press('Enter');
}

describe('stopping Knock while people use it', { timeout: E2E_TEST_TIMEOUT_MS * 3 }, () => {
  it('SIGTERM ends it within the timeout, loses nothing acknowledged, and the browsers carry on by themselves once it is back', async () => {
    const { owner, visitor } = await ownerAndVisitor(browser, knock, 'alice');
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Bob');
    for (const text of ['Before the stop, one', 'Before the stop, two']) {
      await sendWithEnter(visitor, text);
      // On the owner's screen: stored and acknowledged (the server broadcasts only what it has stored).
      if (text.endsWith('one')) await openConversation(owner, 'Bob');
      await expectMessage(owner, text);
    }

    // A game, with one move made.
    await visitor.getByRole('button', { name: 'Play a game' }).click();
    await visitor.getByRole('button', { name: 'Connect Four', exact: true }).click();
    await owner.getByRole('button', { name: 'Accept' }).click();
    await dropDisc(visitor);
    await expect.poll(() => gameStatus(owner).textContent(), { timeout: OPEN_MS }).toContain('Last move: Bob dropped a disc in column 4');

    // A call ringing: the conversation's room is held open by the call's ring timer.
    await callButton(visitor, 'Voice call').click();
    await callButton(owner, 'Accept').waitFor();

    // A document, typed in by the visitor and seen by the owner (the server has applied it).
    await visitor.getByRole('button', { name: 'New document' }).click();
    await visitor.getByRole('textbox', { name: 'Title' }).fill('Trip plan');
    await visitor.getByRole('button', { name: 'Create document' }).click();
    await editorOf(visitor).waitFor({ timeout: OPEN_MS });
    const docId = new URL(visitor.url()).hash.replace('#doc=', '');
    await owner.getByRole('article', { name: 'Document: Trip plan' }).getByRole('link', { name: 'Open Trip plan' }).click();
    await editorOf(owner).waitFor({ timeout: OPEN_MS });
    await editorOf(visitor).click();
    await visitor.keyboard.type('Lyon, then Turin.', { delay: 10 });
    await eventually(() => editorOf(owner).innerText(), (text) => expect(text).toContain('Lyon, then Turin.'));

    const ended = await knock.stopWith({ group: true });
    expect(ended, `Knock's output:\n${knock.log}`).toMatchObject({ code: 0, signal: null });
    expect(ended!.ms).toBeLessThan(SHUTDOWN_TIMEOUT_MS);

    const onDisk = await stored(knock.dbFile, docId);
    expect(onDisk.messages).toEqual(expect.arrayContaining(['Before the stop, one', 'Before the stop, two', 'Trip plan']));
    // The ringing call ended with the room, which recorded it before the database closed.
    expect(onDisk.messages.at(-1)).toBe('Missed call');
    expect(onDisk.docText).toContain('Lyon, then Turin.');
    expect(onDisk.moves).toBe(1);

    // While Knock is away the pages say, quietly, that they are reconnecting; nothing reads as an error.
    for (const page of [owner, visitor]) {
      await reconnecting(page).first().waitFor({ timeout: RECONNECT_MS });
      expect(await page.getByRole('alert').count()).toBe(0);
    }

    await knock.start();
    for (const page of [owner, visitor]) {
      await eventually(() => reconnecting(page).count(), (n) => expect(n).toBe(0), RECONNECT_MS);
      await expectMessage(page, 'Missed call');
    }
    await sendWithEnter(visitor, 'After the restart');
    await expectMessage(owner, 'After the restart');
    await sendWithEnter(owner, 'Welcome back');
    await expectMessage(visitor, 'Welcome back');
    // The document reconnected too: what the owner types now reaches the visitor.
    await editorOf(owner).click();
    await owner.keyboard.press('End');
    await owner.keyboard.type(' Booked.', { delay: 10 });
    await eventually(() => editorOf(visitor).innerText(), (text) => expect(text).toContain('Lyon, then Turin. Booked.'), RECONNECT_MS);
    // And the game: the owner's move after the restart reaches the visitor.
    await dropDisc(owner);
    await expect.poll(() => gameStatus(visitor).textContent(), { timeout: RECONNECT_MS }).toContain('Last move: Alice dropped a disc in column 4');
    for (const page of [owner, visitor]) {
      expect(await page.getByRole('alert').count()).toBe(0);
      expect(await messageTexts(page)).toEqual(expect.arrayContaining(['Before the stop, one', 'Before the stop, two', 'Missed call', 'After the restart', 'Welcome back']));
    }
  });
});
