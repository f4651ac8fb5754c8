/**
 * Every page a person sees passes axe-core's WCAG 2.1 A/AA rules with no serious or critical violation, in light and
 * dark, at desktop width and on a 360 px phone, where nothing scrolls sideways (Definition of done). The pages are
 * reached as a person reaches them, in one Chromium, one after another: the start page, sign-up, someone's URL before
 * and after knocking, the owner's login and console (a conversation open, another one unread; searching, filtered, and
 * the dialog asking before a deletion), a resume link and the choice it may bring up, a shared document, a game
 * invitation and board, and a voice call (fake devices).
 *
 * A failure lists each violation once, with its rule, impact, the element's selector, axe's summary of what to fix,
 * and every page and variant it showed on (test/support/axeAudit.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { CALL_ARGS, E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { createDocument, editorOf, openDocument, typeAtEnd } from '../support/docUi.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import {
  conversationButtons,
  eventually,
  expectMessage,
  expectPresence,
  logInAsOwner,
  logOutButton,
  messageBox,
  openConversation,
  openProfile,
  sendWithEnter,
} from '../support/knockUi.ts';

// Fake camera and microphone: the call screen is audited in a voice call, with no device prompt.
const browser = useBrowser({ args: CALL_ARGS });
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
});
afterAll(() => knock?.close());

/** A visitor at `handle`'s URL in a browser of their own, named `name`, who wrote `body` (a conversation). */
async function visitorWhoWrote(handle: string, name: string, body: string): Promise<Page> {
  const page = await browser.newPage(`visitor ${name}`);
  await openProfile(page, knock.url, handle);
  await page.getByRole('textbox', { name: 'Your name' }).fill(name);
  await sendWithEnter(page, body);
  await expectMessage(page, body);
  return page;
}

/** The owner of `handle`, logged in at their URL in a browser of their own. */
async function ownerLoggedIn(handle: string): Promise<Page> {
  const owner = await browser.newPage('owner');
  await openProfile(owner, knock.url, handle);
  await logInAsOwner(owner);
  return owner;
}

// Four axe runs per page (two schemes, two widths) on a 2-core machine shared with other test files.
describe('accessibility of every page (axe-core, WCAG 2.1 A/AA)', { timeout: E2E_TEST_TIMEOUT_MS * 3 }, () => {
  it('the start page, sign-up, an address nobody has and one that does not exist pass, in both schemes and at 360 px', async () => {
    const audit = new AccessibilityAudit();
    const page = await browser.newPage('stranger');
    await page.goto(knock.url);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await audit.check(page, 'the start page');

    await page.getByRole('link', { name: 'Sign up' }).click();
    await page.getByRole('heading', { name: 'Get your Knock URL' }).waitFor();
    await audit.check(page, 'the sign-up page');

    await page.goto(`${knock.url}/nobody-here`);
    await page.getByRole('heading', { name: 'There is nobody at /nobody-here.' }).waitFor();
    await audit.check(page, 'an address nobody has');

    await page.goto(`${knock.url}/nobody-here/no/such/page`);
    await page.getByRole('heading', { name: 'Nothing here' }).waitFor();
    await audit.check(page, 'an address that does not exist');
    audit.expectClean();
  });

  it('reports what it finds: grey text on white and a button without a name fail, with the element and the fix', async () => {
    const audit = new AccessibilityAudit();
    const page = await browser.newPage('stranger');
    await page.goto(knock.url);
    await page.getByRole('heading', { level: 1 }).waitFor();
    // Through the CSSOM, which the page's CSP allows (a style attribute in markup it would refuse).
    await page.evaluate(() => {
      const faint = document.createElement('p');
      faint.id = 'faint';
      faint.textContent = 'Barely readable';
      faint.style.color = '#bbbbbb';
      faint.style.background = '#ffffff';
      const nameless = document.createElement('button');
      nameless.id = 'nameless';
      document.querySelector('main')?.append(faint, nameless);
    });
    await audit.check(page, 'the start page, spoiled');
    const report = audit.report().join('\n');
    expect(report).toMatch(/color-contrast \(serious\)[^\n]*\n  element: #faint .*\n.*\n.*insufficient color contrast/);
    expect(report).toMatch(/button-name \(critical\)[^\n]*\n  element: #nameless/);
    expect(report).toContain('the start page, spoiled (light, desktop)');
    expect(() => audit.expectClean()).toThrow(/accessibility problem/);
  });

  it('the visitor page before and after knocking, the owner login and the console pass, with the resume link and its choice', async () => {
    const audit = new AccessibilityAudit();
    await knock.addUser('alice', 'Alice');

    // Someone's URL as a stranger sees it, owner away, then the owner's login open on it.
    const owner = await browser.newPage('owner');
    await openProfile(owner, knock.url, 'alice');
    await audit.check(owner, 'the visitor page, owner offline');
    await owner.getByRole('button', { name: 'Owner? Log in' }).click();
    await owner.getByRole('textbox', { name: 'Password' }).waitFor();
    await audit.check(owner, 'the owner login at the URL');
    await owner.getByRole('button', { name: 'Cancel' }).click();
    await logInAsOwner(owner);
    await audit.check(owner, 'the console with no conversation');

    // Bob sees the owner online and knocks; the owner answers in the open conversation.
    const bob = await browser.newPage('visitor Bob');
    await openProfile(bob, knock.url, 'alice');
    await expectPresence(bob, 'online');
    await audit.check(bob, 'the visitor page before knocking');
    await bob.getByRole('textbox', { name: 'Your name' }).fill('Bob');
    await sendWithEnter(bob, 'Hello Alice, it is Bob.');
    await sendWithEnter(bob, 'Do you have a minute?');
    const carol = await visitorWhoWrote('alice', 'Carol', 'Carol here, call me back please.');

    await eventually(() => conversationButtons(owner).count(), (n) => expect(n).toBe(2));
    await conversationButtons(owner).filter({ hasText: 'Carol' }).waitFor();
    await audit.check(owner, 'the console with two unread conversations');
    await openConversation(owner, 'Bob');
    await sendWithEnter(owner, 'Hi Bob! Sure, go ahead.');
    await expectMessage(bob, 'Hi Bob! Sure, go ahead.');
    await sendWithEnter(bob, 'Great, thanks.');
    await expectMessage(owner, 'Great, thanks.');
    // Carol's conversation still shows its unread badge beside the open one.
    await owner.getByRole('button', { name: 'Carol, 1 unread', exact: true }).waitFor();
    await audit.check(owner, 'the console with a conversation open and another unread');
    await audit.check(bob, 'the visitor page in a conversation');

    // The inbox's tools (issue 16): a filter pressed, a search typed, and the question before deleting a conversation.
    await owner.getByRole('button', { name: 'Unread', exact: true }).click();
    await owner.getByRole('searchbox', { name: 'Search conversations' }).fill('Carol');
    await owner.getByRole('button', { name: 'Delete conversation' }).click();
    await owner.getByRole('dialog', { name: 'Delete the conversation with Bob?' }).waitFor();
    await audit.check(owner, 'the console searching, filtered, asking before a deletion');
    await owner.getByRole('button', { name: 'Cancel' }).click();
    await owner.getByRole('searchbox', { name: 'Search conversations' }).fill('');
    await owner.getByRole('button', { name: 'Unread', exact: true }).click();

    // Bob's resume link, opened in a new browser: the conversation continues there.
    const link = bob.getByRole('link', { name: /\/alice\/c\// });
    const resumePath = (await link.getAttribute('href'))!;
    const elsewhere = await browser.newPage('Bob elsewhere');
    await elsewhere.goto(`${knock.url}${resumePath}`);
    await expectMessage(elsewhere, 'Great, thanks.');
    await audit.check(elsewhere, 'a resume link page');

    // The same link in Carol's browser, which holds another conversation: she is asked which one to continue.
    await carol.goto(`${knock.url}${resumePath}`);
    await carol.getByRole('heading', { name: 'Which conversation do you want to continue?' }).waitFor();
    await audit.check(carol, 'the choice a resume link brings up');
    audit.expectClean();
  });

  it('a shared document, a game invitation and board, and a voice call pass', async () => {
    const audit = new AccessibilityAudit();
    await knock.addUser('alice-shared', 'Alice');
    const [owner, bob] = await Promise.all([
      ownerLoggedIn('alice-shared'),
      visitorWhoWrote('alice-shared', 'Bob', 'Shall we plan the trip?'),
    ]);
    await openConversation(owner, 'Bob');
    await sendWithEnter(owner, 'Yes, let us write it down.');
    await expectMessage(bob, 'Yes, let us write it down.');

    // A shared document: created by Bob (opens for him), opened by Alice from its card; Bob writes, so Alice sees
    // his cursor with his name on it.
    await createDocument(bob, 'Trip plan');
    await audit.check(bob, 'a shared document open (visitor)');
    await openDocument(owner, 'Trip plan');
    await typeAtEnd(bob, 'Day one: the coast.');
    await owner.locator('.collaboration-carets__label').filter({ hasText: 'Bob' }).waitFor();
    await audit.check(owner, 'a shared document open, another person writing (console)');
    for (const page of [bob, owner]) {
      await page.getByRole('button', { name: 'Close document' }).click();
      await editorOf(page).waitFor({ state: 'detached' });
    }

    // A game: Bob opens the choice, invites Alice; Alice sees the invitation, accepts; both see the board.
    await bob.getByRole('button', { name: 'Play a game' }).click();
    await bob.getByRole('button', { name: 'Connect Four', exact: true }).click();
    await owner.getByRole('button', { name: 'Accept' }).waitFor();
    await audit.check(owner, 'a game invitation');
    await audit.check(bob, 'a game invitation sent');
    await owner.getByRole('button', { name: 'Accept' }).click();
    for (const page of [bob, owner]) await page.locator('[role="application"][aria-busy="false"]').waitFor({ timeout: 15_000 });
    await audit.check(bob, 'a game board');
    await bob.getByRole('button', { name: 'Resign' }).click();
    await bob.getByRole('button', { name: 'Close game' }).click();
    await owner.getByRole('button', { name: 'Close game' }).click();

    // A voice call: ringing in the console, then the call screen on both sides.
    await bob.getByRole('button', { name: 'Voice call', exact: true }).click();
    await owner.getByRole('button', { name: 'Accept' }).waitFor();
    await audit.check(owner, 'an incoming call');
    await owner.getByRole('button', { name: 'Accept' }).click();
    for (const page of [bob, owner]) await page.getByLabel(/^Call time \d+:\d\d$/).waitFor({ timeout: 15_000 });
    await audit.check(bob, 'the call screen (visitor)');
    await audit.check(owner, 'the call screen (console)');
    await owner.getByRole('button', { name: 'Hang up' }).click();
    await messageBox(owner).waitFor();
    expect(await logOutButton(owner).isVisible()).toBe(true);
    audit.expectClean();
  });
});
