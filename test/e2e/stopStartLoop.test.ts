/**
 * Stop and start, over and over (issue 13, "Done when" 5): 30 times in a row, Knock starts as `npm start` starts it
 * (the built JavaScript, test/support/knockProcess.ts, in a process group of its own), a browser opens a visitor's
 * conversation with its document and its game (one page: the conversation's, the document's and the game's rooms),
 * leaves, and SIGTERM goes to the process group. Every stop must end, with code 0, within KNOCK_SHUTDOWN_TIMEOUT_MS.
 * The game is left waiting for its players each time (its room is held open by their forfeit clocks, not by
 * sockets), and the document's room is often still closing when the signal comes.
 *
 * One Chromium for the file, a fresh context per round. A round takes about 3 s on a 2-core machine.
 */
import type { Page } from 'playwright-core';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocProvider } from '../../client/src/sdk/docProvider.ts';
import { visitorCookieName } from '../../engine/cookies.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { Person, waitFor } from '../support/clients.ts';
import { until } from '../support/docFixture.ts';
import { KnockProcess } from '../support/knockProcess.ts';
import { expectMessage } from '../support/knockUi.ts';
import { RawRoom } from '../support/rawRoom.ts';

const ROUNDS = 30;
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** A round is about 3 s here; a busy CI machine gets more than twice that. */
const ROUND_BUDGET_MS = 8_000;
/** Opening the document and the game loads chunks of their own (the editor, Phaser) in each fresh context. */
const OPEN_MS = 20_000;

const browser = useBrowser();
let knock: KnockProcess;

beforeAll(async () => {
  knock = await KnockProcess.create({ env: { KNOCK_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } });
  await knock.addUser('alice', 'Alice');
});
afterAll(() => knock?.dispose());

/**
 * A visitor's conversation with a first message, a document with some text and a Connect Four game under way,
 * made through the SDK (the browser rounds only open them). Resolves with what a round's page needs.
 */
async function conversationWithDocAndGame(): Promise<{ cookie: { name: string; value: string }; docId: string }> {
  const visitor = new Person(knock.url);
  const owner = new Person(knock.url);
  const rooms: RawRoom[] = [];
  const providers: DocProvider[] = [];
  try {
    const { session, conversationId, token } = await visitor.knock('alice', 'Bob');
    session.send('Shall we play?');
    await waitFor(session, (s) => s.messages.some((m) => m.body === 'Shall we play?' && m.seq !== null), 'the first message stored');
    const created = new Promise<string>((resolve) => {
      const off = session.onDocCreated((doc) => {
        off();
        resolve(doc.docId);
      });
    });
    session.createDocument('Rules');
    const docId = await created;
    const written = DocProvider.open({ endpoint: knock.url, docId, token });
    providers.push(written);
    await written.whenSynced();
    const paragraph = new Y.XmlElement('paragraph');
    paragraph.insert(0, [new Y.XmlText('Best of three.')]);
    written.doc.getXmlFragment('default').insert(0, [paragraph]);

    await owner.login('alice');
    // The owner's copy has it: the server applied it (and stores it).
    const read = DocProvider.open({ endpoint: knock.url, docId, headers: owner.headers });
    providers.push(read);
    await until(() => read.doc.getXmlFragment('default').toString(), (xml) => xml.includes('Best of three.'), 'the text at the owner');

    const vic = await RawRoom.join(knock.url, 'conversation', { conversationId, token });
    const alice = await RawRoom.join(knock.url, 'conversation', { conversationId }, owner.headers);
    rooms.push(vic, alice);
    await waitFor(alice, (s) => s.of('welcome').length === 1, 'the owner joined');
    vic.send('game.invite', { kind: 'connect4' });
    const invited = await waitFor(alice, (s) => s.of<{ status: string }>('game').some((g) => g.status === 'invited'), 'the invitation');
    const game = invited.of<{ id: string; status: string }>('game').find((g) => g.status === 'invited')!;
    alice.send('game.answer', { gameId: game.id, accept: true });
    await waitFor(vic, (s) => s.of<{ status: string }>('game').some((g) => g.status === 'active'), 'the game accepted');
    const name = visitorCookieName('alice');
    return { cookie: { name, value: visitor.cookies.get(name)! }, docId };
  } finally {
    await Promise.all([...rooms.map((r) => r.leave()), ...providers.map((p) => p.destroy()), visitor.closeAll(), owner.closeAll()]);
  }
}

/** The visitor comes back (their cookie, the document's address): conversation, document and game all open. */
async function openEverything(page: Page, cookie: { name: string; value: string }, docId: string): Promise<void> {
  await page.context().addCookies([{ ...cookie, url: knock.url }]);
  await page.goto(`${knock.url}/alice#doc=${docId}`);
  await expectMessage(page, 'Shall we play?');
  await page.getByRole('status').filter({ hasText: 'All changes saved' }).waitFor({ timeout: OPEN_MS });
  await expect.poll(() => page.getByRole('textbox', { name: 'Document' }).innerText()).toContain('Best of three.');
  // The game's room answered: its status line says whose turn it is.
  await page.getByRole('status').filter({ hasText: /turn/ }).waitFor({ timeout: OPEN_MS });
}

describe('stopping and starting Knock again and again', () => {
  it(`${ROUNDS} times in a row, SIGTERM to the process group ends Knock within the timeout after a browser used it`, { timeout: E2E_TEST_TIMEOUT_MS + ROUNDS * ROUND_BUDGET_MS }, async () => {
    await knock.start();
    const { cookie, docId } = await conversationWithDocAndGame();
    expect(await knock.stopWith({ group: true }), knock.log).toMatchObject({ code: 0 });

    const stops: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      await knock.start();
      const page = await browser.newPage(`visitor, round ${round}`);
      await openEverything(page, cookie, docId);
      await page.context().close();
      const ended = await knock.stopWith({ group: true });
      expect(ended, `round ${round}: Knock's output:\n${knock.log}`).toMatchObject({ code: 0, signal: null });
      expect(ended!.ms, `round ${round}: the stop took ${ended!.ms} ms`).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
      stops.push(ended!.ms);
    }
    stops.sort((a, b) => a - b);
    console.log(`${ROUNDS} stops: median ${stops[ROUNDS >> 1]} ms, slowest ${stops.at(-1)} ms`);
  });
});
