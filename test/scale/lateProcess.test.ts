/**
 * A process that starts while pages are open, with processes at their own addresses (README "Running several
 * processes"): a page's Content-Security-Policy names the processes live when it was served, so a page served before
 * process C started refuses a socket to a room on C. The page then reloads itself once (client/src/stalePolicy.ts),
 * gets a policy naming C, and reaches the room; the person keeps their conversation and sees the document.
 */
import { describe, expect, it } from 'vitest';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { createDocument, openDocument, textIn, typeAtEnd } from '../support/docUi.ts';
import { eventually, expectMessage, logInAsOwner, openConversation, openProfile, sendWithEnter } from '../support/knockUi.ts';
import { TestCluster } from '../support/testCluster.ts';

const browser = useBrowser();

describe('a process that starts while pages are open', { timeout: E2E_TEST_TIMEOUT_MS * 2 }, () => {
  it('reloads a page whose policy predates the process holding its room, once, and the page then reaches that room', async (test) => {
    const cluster = await TestCluster.open(test, 'scale/lateProcess');
    const a = await cluster.add();
    const b = await cluster.add();
    const c = await cluster.add();
    await cluster.addUser('alice', 'Alice');
    await Promise.all([a.start(), b.start()]);

    // The visitor's page is served by B while A and B are the whole cluster.
    const visitor = await browser.newPage('visitor, served by B before C started');
    let loads = 0;
    visitor.on('load', () => loads++);
    await openProfile(visitor, b.url, 'alice');
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Bob');
    await sendWithEnter(visitor, 'Hello Alice');
    await expectMessage(visitor, 'Hello Alice');

    // C starts; the owner works through it, and the document they make has its room on C.
    await c.start();
    const owner = await browser.newPage('owner, served by C');
    await openProfile(owner, c.url, 'alice');
    await logInAsOwner(owner);
    await openConversation(owner, 'Bob');
    await expectMessage(owner, 'Hello Alice');
    await createDocument(owner, 'Notes');
    await typeAtEnd(owner, 'Written through C.');
    await eventually(() => cluster.whereAre('doc'), (where) => expect(where).toEqual(['C']));

    // The visitor opens it: the old page's policy refuses C, the page reloads by itself, and the document opens.
    const loadsBefore = loads;
    await openDocument(visitor, 'Notes');
    await eventually(() => textIn(visitor), (text) => expect(text).toBe('Written through C.'));
    expect(loads - loadsBefore, 'the page reloaded once').toBe(1);
    const problems = browser.problemsOf(visitor);
    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) expect(problem.startsWith(`CSP violation: Connecting to 'ws://${c.publicAddress}/`), problem).toBe(true);
    browser.forgetProblems(visitor); // what the old page did, on purpose; anything after this fails the test

    // Both write in the document and see each other; the conversation goes on in the reloaded page.
    await typeAtEnd(visitor, ' And by Bob.');
    await eventually(() => textIn(owner), (text) => expect(text).toBe('Written through C. And by Bob.'));
    await visitor.getByRole('button', { name: 'Close document' }).click();
    await expectMessage(visitor, 'Hello Alice');
    await sendWithEnter(visitor, 'After the reload');
    await expectMessage(owner, 'After the reload');
  });
});
