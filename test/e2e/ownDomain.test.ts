/**
 * Issue 21, "the domain is the URL", in Chromium (its resolver sends alice.example and pending.example to 127.0.0.1,
 * as the Internet's DNS would once the domains point at Knock): Alice's active domain shows her page at `/`; a
 * visitor knocks and chats there (API writes and sockets from that origin pass the Origin rule, even with
 * KNOCK_PUBLIC_URL naming another host); Alice logs in at her domain and answers. A domain that is still pending
 * shows nobody's page: Knock serves nothing for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { loggedInOwner } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { expectMessage, expectPresence, logInAsOwner, messageBox, openConversation, sendWithButton } from '../support/knockUi.ts';
import { WorldDns } from '../support/worldDns.ts';

const NS = ['ns1.knock.test', 'ns2.knock.test'];
const browser = useBrowser({ args: ['--host-resolver-rules=MAP alice.example 127.0.0.1, MAP pending.example 127.0.0.1'] });
let knock: TestKnock;
let world: WorldDns;
let port: string;

beforeAll(async () => {
  world = await WorldDns.start();
  knock = await startKnock({ publicUrl: 'http://knock.test', dnsNameservers: NS, publicIps: ['127.0.0.1'], dnsCheckResolver: world.address });
  port = new URL(knock.url).port;
  const alice = await loggedInOwner(knock, 'alice');
  await alice.api.addDomain('alice.example');
  await alice.api.addDomain('pending.example');
  world.delegate('alice.example', NS);
  expect((await alice.api.checkDomain('alice.example')).domains.find((d) => d.name === 'alice.example')?.state).toBe('active');
});
afterAll(async () => {
  await knock?.close();
  await world?.close();
});

describe('an own domain', () => {
  it('serves its owner\u2019s page at /, where a visitor and the owner chat', async () => {
    const visitor = await browser.newPage('visitor');
    await visitor.goto(`http://alice.example:${port}/`);
    await visitor.getByRole('heading', { name: 'Alice' }).waitFor();
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Vic');
    await messageBox(visitor).fill('Hello at your own domain!');
    await messageBox(visitor).press('Enter');
    await expectMessage(visitor, 'Hello at your own domain!');

    const owner = await browser.newPage('owner');
    await owner.goto(`http://alice.example:${port}/`);
    await messageBox(owner).waitFor();
    await logInAsOwner(owner);
    await expectPresence(visitor, 'online');
    await openConversation(owner, 'Vic');
    await expectMessage(owner, 'Hello at your own domain!');
    await sendWithButton(owner, 'Welcome to alice.example!');
    await expectMessage(visitor, 'Welcome to alice.example!');
    expect(new URL(visitor.url()).host).toBe(`alice.example:${port}`);
  }, E2E_TEST_TIMEOUT_MS);

  it('serves nothing of anyone\u2019s for a domain still pending', async () => {
    const page = await browser.newPage('stranger');
    await page.goto(`http://pending.example:${port}/`);
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    expect(await page.getByRole('heading', { name: 'Alice' }).count()).toBe(0);
    expect(await messageBox(page).count()).toBe(0);
  }, E2E_TEST_TIMEOUT_MS);
});
