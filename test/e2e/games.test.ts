/**
 * Games in two real Chromium contexts (issue 6, "Done when" 3): the visitor invites the owner to Connect Four,
 * the owner accepts, both play to a win with the keyboard only, and the result shows in the conversation for both;
 * then Pong runs for a few seconds and both sides see the same score. Every page is watched for CSP violations
 * and uncaught errors (test/support/browser.ts), so Phaser loading under the strict CSP is checked too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually, expectMessage, openConversation, ownerAndVisitor, sendWithEnter } from '../support/knockUi.ts';

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
});
afterAll(() => knock?.close());

const status = (page: Page) => page.getByRole('status').filter({ hasText: /turn|won|Score|Game over/ });

async function invite(visitor: Page, owner: Page, game: 'Connect Four' | 'Chess' | 'Pong'): Promise<void> {
  await visitor.getByRole('button', { name: 'Play a game' }).click();
  await visitor.getByRole('button', { name: game, exact: true }).click();
  await owner.getByRole('button', { name: 'Accept' }).click();
  // The board takes keys once Phaser has loaded and started the scene (aria-busy turns false).
  for (const page of [visitor, owner]) await page.locator('[role="application"][aria-busy="false"]').waitFor({ timeout: 15_000 });
}

/** Drops a disc in `column` (0-based) with the keyboard: the cursor starts in the middle (column 3). */
async function drop(page: Page, cursor: { at: number }, column: number): Promise<void> {
  await expect.poll(() => status(page).textContent(), { timeout: 5000 }).toContain('Your turn');
  const board = page.getByRole('application');
  await board.focus();
  while (cursor.at > column) {
    await board.press('ArrowLeft');
    cursor.at -= 1;
  }
  while (cursor.at < column) {
    await board.press('ArrowRight');
    cursor.at += 1;
  }
  await board.press('Enter');
  await expect.poll(() => status(page).textContent(), { timeout: 5000 }).not.toContain('Your turn');
}

describe('games in the browser', { timeout: E2E_TEST_TIMEOUT_MS * 2 }, () => {
  it('two people play Connect Four to a win with the keyboard, and the result shows in the conversation for both', async () => {
    const { owner, visitor } = await ownerAndVisitor(browser, knock, 'alice-games');
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Bob');
    await sendWithEnter(visitor, 'Fancy a game?');
    await openConversation(owner, 'Bob');
    await expectMessage(owner, 'Fancy a game?');

    await invite(visitor, owner, 'Connect Four');
    await expectMessage(owner, 'Bob invites Alice to play Connect Four.');
    await expect.poll(() => status(visitor).textContent(), { timeout: 10_000 }).toContain('Your turn');
    await expect.poll(() => status(owner).textContent()).toContain("Bob's turn");

    // Bob stacks column 1, Alice column 2: Bob wins with four in a column.
    const bobCursor = { at: 3 };
    const aliceCursor = { at: 3 };
    for (let i = 0; i < 3; i++) {
      await drop(visitor, bobCursor, 0);
      await expect.poll(() => status(owner).textContent()).toContain('Last move: Bob dropped a disc in column 1');
      await drop(owner, aliceCursor, 1);
    }
    await drop(visitor, bobCursor, 0);

    await expect.poll(() => status(visitor).textContent()).toContain('You won (four in a row)');
    await expect.poll(() => status(owner).textContent()).toContain('Bob won (four in a row)');
    const result = 'Connect Four: Bob won (four in a row). Score: Bob 1, Alice 0, 0 draws.';
    await expectMessage(visitor, result);
    await expectMessage(owner, result);
    await expect.poll(() => visitor.getByText('Score in this conversation: Bob 1, Alice 0, draws 0').count()).toBe(1);

    // The chat kept working while playing, and a rematch can be offered.
    await sendWithEnter(owner, 'Well played!');
    await expectMessage(visitor, 'Well played!');
    await expect.poll(() => owner.getByRole('button', { name: 'Rematch' }).count()).toBe(1);
    for (const page of [visitor, owner]) await page.getByRole('button', { name: 'Close game' }).click();

    // Pong: a few seconds of play, both sides see the same score.
    await invite(visitor, owner, 'Pong');
    const board = visitor.getByRole('application');
    await board.focus();
    await board.press('ArrowUp');
    const score = (page: Page) => status(page).textContent();
    await expect.poll(() => score(visitor), { timeout: 10_000 }).toMatch(/Score: Bob \d, Alice \d/);
    // The game runs until someone scores (Bob's paddle is at the top, Alice's idle in the middle: a few seconds).
    await expect.poll(() => score(visitor), { timeout: 20_000 }).not.toContain('Bob 0, Alice 0');
    await eventually(
      async () => [await score(visitor), await score(owner)],
      ([a, b]) => expect(a).toBe(b),
    );
    // The canvas was drawn (not blank) on both sides.
    for (const page of [visitor, owner]) {
      if (process.env.KNOCK_GAMES_SCREENSHOT) await page.screenshot({ path: `${process.env.KNOCK_GAMES_SCREENSHOT}-${page === owner ? 'owner' : 'visitor'}.png` });
      const drawn = await page.locator('.game-canvas canvas').evaluate((canvas: HTMLCanvasElement) => canvas.toDataURL().length);
      expect(drawn).toBeGreaterThan(1000);
    }
  });

  it('chess is played with the keyboard from each side of the board, and a resignation ends it in the chat', async () => {
    const { owner, visitor } = await ownerAndVisitor(browser, knock, 'alice-chess');
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Bob');
    await sendWithEnter(visitor, 'Chess?');
    await openConversation(owner, 'Bob');
    await invite(visitor, owner, 'Chess');
    // Bob (white) starts on e2: Enter picks the pawn up, two squares up, Enter puts it down.
    await expect.poll(() => status(visitor).textContent(), { timeout: 10_000 }).toContain('Your turn');
    const bobBoard = visitor.getByRole('application');
    await bobBoard.focus();
    for (const key of ['Enter', 'ArrowUp', 'ArrowUp', 'Enter']) await bobBoard.press(key);
    await expect.poll(() => status(owner).textContent()).toContain('Your turn. Last move: Bob played e4.');
    // Alice (black) sees the board from her side: up goes towards white, from e7 to e5.
    const aliceBoard = owner.getByRole('application');
    await aliceBoard.focus();
    for (const key of ['Enter', 'ArrowUp', 'ArrowUp', 'Enter']) await aliceBoard.press(key);
    await expect.poll(() => status(visitor).textContent()).toContain('Your turn. Last move: Alice played e5.');
    // An illegal move (the king from e1 two squares up; the cursor is still on e4) is refused with a reason, and nothing changes.
    await bobBoard.focus();
    for (const key of ['ArrowDown', 'ArrowDown', 'ArrowDown', 'Enter', 'ArrowUp', 'ArrowUp', 'Enter']) await bobBoard.press(key);
    await visitor.getByRole('alert').filter({ hasText: 'e1 to e3 is not a legal move.' }).waitFor();
    await visitor.getByRole('button', { name: 'Resign' }).click();
    await expect.poll(() => status(owner).textContent()).toContain('You won (Bob resigned)');
    const result = 'Chess: Alice won (Bob resigned). Score: Bob 0, Alice 1, 0 draws.';
    await expectMessage(visitor, result);
    await expectMessage(owner, result);
  });
});
