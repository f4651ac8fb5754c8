/**
 * Scale-out as people see it, in real Chromium (issue 14): two Knock processes on one PostgreSQL schema and one Redis
 * database, in each layout the README's "Running several processes" documents. The owner's page is served by
 * process A, a visitor's by process B, so their sockets cross processes all the time: the owner's UserRoom and the
 * document are made on A, the conversation on B (Colyseus makes a room where its first client was matched), and
 * each page opens sockets at the other process's public address. Before the fix of issue 14, the page's own
 * Content-Security-Policy (`connect-src 'self'`) blocked those sockets when the processes were at their own
 * addresses; test/support/browser.ts fails a test on any CSP violation a page logs.
 *
 * Each layout's test goes the way two people would: presence, chat both ways with delivery marks, a video call
 * started by the visitor and answered from the owner's console (media through loopback with Chromium's fake
 * devices), a shared document; then A is killed (SIGKILL) and both carry on through B, losing nothing; at last
 * the owner logs out and the visitor sees them offline.
 *
 * It runs in the `calls` project (test/vitest.config.ts): its pages encode and decode live video.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import type { BrowserContextOptions, Page } from 'playwright-core';
import { callButton, expectMediaFlowing, videoOf, watchMedia } from '../support/callUi.ts';
import { createDocument, docSaved, openDocument, textIn, typeAtEnd } from '../support/docUi.ts';
import { freePort, type KnockProcess } from '../support/knockProcess.ts';
import { PathProxy } from '../support/pathProxy.ts';
import { TestCluster, type RoomType } from '../support/testCluster.ts';
import { CALL_ARGS, CALL_TEST_PING_INTERVAL_MS, CALL_UI_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import {
  conversationList,
  eventually,
  expectDelivery,
  expectMessage,
  expectPresence,
  logInAsOwner,
  logOutButton,
  messageList,
  openConversation,
  openProfile,
  sendWithEnter,
} from '../support/knockUi.ts';

const OWNER = 'alice';
/**
 * A room whose process died, until its clients are in a new one on the survivor: their reconnect backoff, then
 * Colyseus's recovery from the dead room's listing (2 s for the seat reservation to time out, 2 s for the health
 * check that removes the dead process's rooms), then the new room (README "When a process dies").
 */
const RECOVERY_MS = 20_000;

const browser = useBrowser({ args: CALL_ARGS, timeoutMs: CALL_UI_TIMEOUT_MS });

type Layout = 'one origin' | 'own addresses';

interface TwoProcesses {
  cluster: TestCluster;
  a: KnockProcess;
  /** Where the owner opens their URL (a page served by A), and the context options that make it so. */
  ownerSite: string;
  owner: BrowserContextOptions;
  /** Where the visitor opens it (a page served by B). */
  visitorSite: string;
  visitor: BrowserContextOptions;
}

/**
 * Two processes on a fresh schema and Redis database, the owner's account made with the CLI, laid out as `layout`:
 * - 'one origin': the README's nginx example, PathProxy in front (`/_/p1/` to A only, `/_/p2/` to B only, the rest to
 *   the first live process of the browser's affinity, given per context in `x-knock-upstream`); both processes have
 *   KNOCK_PUBLIC_URL=<the proxy>, KNOCK_TRUST_PROXY=true and KNOCK_PUBLIC_ADDRESS=<proxy host:port>/_/pN.
 * - 'own addresses': each process reached at its own 127.0.0.1:<port>, which is its KNOCK_PUBLIC_ADDRESS; no proxy,
 *   and no KNOCK_PUBLIC_URL: there is no one address people use (the issue's own setup). A page's requests to the
 *   process that served it pass the Origin rule by the Host; its sockets to the other process (Origin B, Host A)
 *   pass only because B announced its address through Redis (engine/http/processAddresses.ts).
 */
async function startCluster(layout: Layout, test: Pick<TestContext, 'onTestFailed' | 'onTestFinished'>): Promise<TwoProcesses> {
  const cluster = await TestCluster.open(test, `scale/browsers, ${layout}`);
  // The call tests' ping interval: a page busy with video answers pings late (test/support/chromium.ts).
  const env = { KNOCK_PING_INTERVAL_MS: String(CALL_TEST_PING_INTERVAL_MS) };
  const proxyPort = layout === 'one origin' ? await freePort() : null;
  const behindProxy = (n: number): Record<string, string> =>
    proxyPort === null
      ? {}
      : { KNOCK_PUBLIC_URL: `http://127.0.0.1:${proxyPort}`, KNOCK_PUBLIC_ADDRESS: `127.0.0.1:${proxyPort}/_/p${n}`, KNOCK_TRUST_PROXY: 'true' };
  const a = await cluster.add({ ...env, ...behindProxy(1) });
  const b = await cluster.add({ ...env, ...behindProxy(2) });
  await cluster.addUser(OWNER, 'Alice');
  await Promise.all([a.start(), b.start()]);

  if (proxyPort === null) {
    return { cluster, a, ownerSite: a.url, owner: {}, visitorSite: b.url, visitor: {} };
  }
  const proxy = await PathProxy.start([a.url, b.url], { port: proxyPort });
  cluster.stopAtEnd(() => proxy.close());
  const affinity = (order: string): BrowserContextOptions => ({ extraHTTPHeaders: { 'x-knock-upstream': order } });
  return { cluster, a, ownerSite: proxy.url, owner: affinity('1,2'), visitorSite: proxy.url, visitor: affinity('2,1') };
}

async function expectRooms(c: TwoProcesses, type: RoomType, expected: string[], timeout = 5000): Promise<void> {
  await eventually(() => c.cluster.whereAre(type), (where) => expect(where, `where the ${type} rooms are`).toEqual(expected), timeout);
}

/** `from` writes `body`; `to` reads it, and `from` sees it read (`to` has the conversation open). */
async function says(from: Page, to: Page, body: string): Promise<void> {
  await sendWithEnter(from, body);
  await expectMessage(to, body);
  await expectDelivery(from, body, 'Read');
}

/** A page in a context of its own, its WebRTC connections watched (callUi.ts), at the owner's URL. */
async function personAt(label: string, site: string, options: BrowserContextOptions): Promise<Page> {
  const page = await browser.newPage(label, options);
  await watchMedia(page);
  await openProfile(page, site, OWNER);
  return page;
}

const HELLO = 'Hello Alice, it is Bob.';
const REPLY = 'Hi Bob, good to hear from you.';
const SECOND = 'Shall we plan the trip?';
const TITLE = 'Trip plan';
const OWNER_LINE = 'Alice books the rooms.';
const VISITOR_LINE = 'Bob plans the route.';
const AFTER_VISITOR = 'Still there after the crash?';
const AFTER_OWNER = 'Yes, nothing is missing.';
/** The call's record in the conversation, from the caller: "Video call, 7 s". */
const CALL_RECORD = /^Video call, \d+ s$/;

/** The conversation as a person reads it, in order: each message's text, a document's card as "Document: <title>". */
const conversationIn = (page: Page) =>
  messageList(page)
    .getByRole('listitem')
    .evaluateAll((items) =>
      items.map((item) => item.querySelector('article')?.getAttribute('aria-label') ?? item.querySelector('p')?.textContent?.trim() ?? ''),
    );

/** Waits until the page shows exactly these messages, in this order (a pattern for the call's record). */
async function expectConversation(page: Page, expected: Array<string | RegExp>, timeout = RECOVERY_MS): Promise<void> {
  await eventually(
    () => conversationIn(page),
    (texts) => {
      expect(texts, JSON.stringify(texts)).toHaveLength(expected.length);
      expected.forEach((e, i) => (typeof e === 'string' ? expect(texts[i]).toBe(e) : expect(texts[i]).toMatch(e)));
    },
    timeout,
  );
}

/**
 * What both people do and see, in any layout: everything before the crash crosses processes (the visitor's page on B
 * reads presence from A's UserRoom; the owner's page on A writes in B's conversation room; the visitor edits in A's
 * document room), then A dies and both finish on B.
 */
async function twoPeopleAcrossProcesses(c: TwoProcesses, layout: Layout): Promise<void> {
  // The owner opens their URL first (not logged in yet): the URL's room (one per URL, made where its first client
  // is matched) is on A. The visitor's page, served by B, follows it live there: the owner logs in, the visitor
  // sees them come online.
  const owner = await personAt('owner, served by A', c.ownerSite, c.owner);
  const visitor = await personAt('visitor, served by B', c.visitorSite, c.visitor);
  await expectRooms(c, 'user', ['A']);
  await expectPresence(visitor, 'offline');
  await logInAsOwner(owner);
  await expectPresence(visitor, 'online');

  // The visitor knocks: the conversation is made on B, and appears in the owner's list (through Redis).
  await visitor.getByRole('textbox', { name: 'Your name' }).fill('Bob');
  await sendWithEnter(visitor, HELLO);
  await expectMessage(visitor, HELLO);
  await conversationList(owner).getByRole('button', { name: 'Bob, 1 unread' }).waitFor();
  await expectRooms(c, 'conversation', ['B']);
  await expectPresence(visitor, 'online'); // now from the conversation's room, on B

  // A video call from the visitor: the owner has no conversation open, so their console rings (the ring travels
  // from B's conversation to A's UserRoom); Accept opens the conversation and answers there.
  await callButton(visitor, 'Video call').click();
  await visitor.getByText('Ringing…').waitFor();
  const ring = owner.getByRole('alertdialog', { name: 'Incoming call' });
  await ring.filter({ hasText: 'Bob is calling you (video call)' }).waitFor();
  await ring.getByRole('button', { name: 'Accept' }).click();
  await videoOf(visitor, 'Alice').waitFor();
  await videoOf(owner, 'Bob').waitFor();
  await Promise.all([expectMediaFlowing(visitor, { videoFrom: 1 }), expectMediaFlowing(owner, { videoFrom: 1 })]);
  for (const page of [visitor, owner]) await page.getByLabel(/^Call time \d+:\d\d$/).waitFor();
  await callButton(visitor, 'Hang up').click();
  for (const page of [visitor, owner]) await page.getByText('Call ended').waitFor();

  // Chat both ways, in the conversation the call opened for the owner: each reads the other, and sees it read.
  await expectMessage(owner, HELLO);
  await says(owner, visitor, REPLY);
  await says(visitor, owner, SECOND);
  const chat = [HELLO, CALL_RECORD, REPLY, SECOND];
  for (const page of [visitor, owner]) await expectConversation(page, chat);

  // A document: the owner makes it (its room on A, where the owner is matched), the visitor opens its card.
  await createDocument(owner, TITLE);
  await expectRooms(c, 'doc', ['A']);
  await typeAtEnd(owner, `${OWNER_LINE} `);
  await openDocument(visitor, TITLE);
  await eventually(() => textIn(visitor), (text) => expect(text).toContain(OWNER_LINE));
  await typeAtEnd(visitor, VISITOR_LINE);
  await eventually(() => textIn(owner), (text) => expect(text).toBe(`${OWNER_LINE} ${VISITOR_LINE}`));
  await eventually(() => textIn(visitor), (text) => expect(text).toBe(`${OWNER_LINE} ${VISITOR_LINE}`));

  // Process A dies: the owner's UserRoom and the document's room with it.
  const before = [...chat, `Document: ${TITLE}`];
  await c.a.kill();
  const killedAt = Date.now();

  // Behind the proxy the owner's page goes on by itself: the proxy sends its requests to B now.
  if (layout === 'own addresses') {
    // The owner's page was served by A, which is gone: they open the owner's URL at B instead. (On 127.0.0.1
    // cookies ignore the port, so the session goes along; at another host the owner would log in once more.)
    await owner.goto(`${c.visitorSite}/${OWNER}`);
    await logOutButton(owner).waitFor();
    await openConversation(owner, 'Bob');
    await openDocument(owner, TITLE);
  }
  // The document lives on in a new room on B: it has everything written before, and takes edits both ways.
  await docSaved(visitor, RECOVERY_MS);
  await docSaved(owner, RECOVERY_MS);
  await expectRooms(c, 'doc', ['B'], RECOVERY_MS);
  for (const page of [visitor, owner]) {
    await eventually(() => textIn(page), (text) => expect(text).toBe(`${OWNER_LINE} ${VISITOR_LINE}`), RECOVERY_MS);
  }
  // Either side may still be reconnecting to the new room: what it types then merges when it is back.
  await typeAtEnd(visitor, ' Back on B.');
  await eventually(() => textIn(owner), (text) => expect(text).toBe(`${OWNER_LINE} ${VISITOR_LINE} Back on B.`), RECOVERY_MS);
  await typeAtEnd(owner, ' Me too.');
  await eventually(() => textIn(visitor), (text) => expect(text).toBe(`${OWNER_LINE} ${VISITOR_LINE} Back on B. Me too.`), RECOVERY_MS);
  console.info(`[scale/browsers] ${layout}: the document took edits both ways on B ${Date.now() - killedAt} ms after A was killed`);
  for (const page of [visitor, owner]) await page.getByRole('button', { name: 'Close document' }).click();

  // Every message acknowledged before the crash is still there, and new ones cross both ways.
  for (const page of [visitor, owner]) await expectConversation(page, before);
  await says(visitor, owner, AFTER_VISITOR);
  await says(owner, visitor, AFTER_OWNER);
  const after = [...before, AFTER_VISITOR, AFTER_OWNER];
  for (const page of [visitor, owner]) await expectConversation(page, after);

  // Presence on the survivor: the owner is online (their console's room now on B), then logs out: offline.
  await expectRooms(c, 'user', ['B'], RECOVERY_MS);
  await expectPresence(owner, 'online', RECOVERY_MS); // "You are online" in the owner's console
  await expectPresence(visitor, 'online', RECOVERY_MS);
  await logOutButton(owner).click();
  await owner.getByRole('button', { name: 'Owner? Log in' }).waitFor();
  await expectPresence(visitor, 'offline');
}

// Two pages with live video, a crash and the recovery from it: far longer than a chat test.
describe('two Knock processes in the browser', { timeout: 180_000 }, () => {
  it('one origin with a path per process (README nginx): owner on A, visitor on B chat, see presence, call, co-edit, and carry on through B when A is killed', async (test) => {
    const c = await startCluster('one origin', test);
    await twoPeopleAcrossProcesses(c, 'one origin');
  });

  it('processes at their own addresses: owner on A, visitor on B chat, see presence, call, co-edit, and carry on at B when A is killed', async (test) => {
    const c = await startCluster('own addresses', test);
    await twoPeopleAcrossProcesses(c, 'own addresses');
  });
});
