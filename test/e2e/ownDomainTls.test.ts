/**
 * Issue 21, TLS by itself, end to end: Knock with KNOCK_TLS=acme gets a certificate for Alice's own domain alice.test
 * from a real ACME CA (Pebble on loopback, resolving through Knock's DNS server, validating HTTP-01 at Knock's plain
 * listener), and Chromium, sending alice.test to 127.0.0.1 and trusting that certificate's key, opens Alice's page
 * over HTTPS with no certificate error; Alice logs in, a visitor knocks, and they chat over WSS.
 *
 * Alice's page is `https://alice.test/`: her active domain's `/` is her page (engine/domainHosts.ts).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { expectMessage, expectPresence, logInAsOwner, messageBox, openConversation, sendWithEnter } from '../support/knockUi.ts';
import { preparePebble, type RunningPebble } from '../support/pebbleProcess.ts';

/** Where Alice's page is on her own domain. */
const ALICE_PATH = '/';

let knock: TestKnock;
let pebble: RunningPebble;
let spki = '';

// Registered before useBrowser(): the browser starts once the certificate's key is known.
beforeAll(async () => {
  const prepared = await preparePebble();
  try {
    knock = await startKnock({
      tls: 'acme', httpsPort: 0, httpPort: 0, dnsPort: 0, dnsNameservers: ['ns1.knock.test'], publicIps: ['127.0.0.1'], dnsCacheMs: 0,
      acmeDirectory: prepared.directoryUrl, acmeCaFile: prepared.caFile, acmePollMs: 3600_000,
    });
    pebble = await prepared.start({ httpPort: knock.httpPort!, dnsPort: knock.dnsPort! });
  } catch (err) {
    await prepared.discard();
    throw err;
  }
  await knock.certificates!.renewDue();
  await knock.addUser('alice', 'Alice');
  const alice = await knock.storage.getAccountByHandle('alice');
  await knock.storage.addDomain({ name: 'alice.test', accountId: alice!.id, dkimSelector: 'knock1', dkimPublicKey: 'MIIB', dkimPrivateKey: 'unused', at: Date.now() });
  await knock.storage.recordDomainCheck('alice.test', { active: true, error: null, at: Date.now() });
  await knock.domainHosts.refresh();
  expect(await knock.certificates!.renewDue()).toBe(1);
  const issued = await knock.storage.getCertificate('alice.test');
  const leaf = new X509Certificate(issued!.chainPem);
  spki = createHash('sha256').update(leaf.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}, 60_000);

const browser = useBrowser({ args: () => ['--host-resolver-rules=MAP alice.test 127.0.0.1', `--ignore-certificate-errors-spki-list=${spki}`] });

afterAll(async () => {
  await knock?.close();
  await pebble?.stop();
});

describe('an own domain over TLS in the browser', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('shows Alice’s page at https://alice.test with its own certificate, and a visitor and Alice chat over WSS', async () => {
    const origin = `https://alice.test:${new URL(knock.url).port}`;
    const owner = await browser.newPage('owner');
    const visitor = await browser.newPage('visitor');
    const sockets: string[] = [];
    for (const page of [owner, visitor]) page.on('websocket', (ws) => sockets.push(ws.url()));

    const response = await visitor.goto(`${origin}${ALICE_PATH}`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['strict-transport-security']).toMatch(/max-age=/);
    // The certificate Chromium was shown is the one issued for alice.test (no error page, no interstitial).
    const security = await response!.securityDetails();
    expect(security?.subjectName).toBe('alice.test');
    await messageBox(visitor).waitFor();

    await owner.goto(`${origin}${ALICE_PATH}`);
    await logInAsOwner(owner);
    await expectPresence(visitor, 'online');

    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Bob');
    await sendWithEnter(visitor, 'Hello Alice, on your own domain.');
    await openConversation(owner, 'Bob');
    await expectMessage(owner, 'Hello Alice, on your own domain.');
    await sendWithEnter(owner, 'Hi Bob, over TLS.');
    await expectMessage(visitor, 'Hi Bob, over TLS.');

    expect(sockets.length).toBeGreaterThan(0);
    for (const url of sockets) expect(url).toMatch(/^wss:\/\/alice\.test:\d+\//);
  });
});
