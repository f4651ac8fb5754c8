/**
 * Issue 20, phone numbers as URLs, through a real Knock and the loopback SMSC playing the carrier: the owner claims a
 * number over the console's API, the code arrives as an SMS (submit_sm) and verifies it, and `/+15551234567` is then
 * the owner's URL: the same page, profile and conversations as `/alice`. Other spellings redirect to it; an unclaimed
 * number is nobody's page; another account cannot take the number without the code sent to it; and the attacks:
 * no login, a mail device, bad and oversized input, another site's request, codes sprayed at a number.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggedInOwner, Person, refusal } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { smsText, TestSmsc } from '../support/smsc.ts';

let knock: TestKnock;
let smsc: TestSmsc;

beforeAll(async () => {
  smsc = await TestSmsc.start({ systemId: 'knock', password: 'smpp-pw' });
  knock = await startKnock({ smppUrl: smsc.url, smppSystemId: 'knock', smppPassword: 'smpp-pw', smsNumber: '+15550001111' });
});
afterAll(async () => {
  await knock?.close();
  await smsc?.close();
});

const owner = (handle: string): Promise<Person> => loggedInOwner(knock, handle);

/** The code in the newest SMS to `digits` (E.164 without +) after `since` submits. */
async function codeSentTo(digits: string, since: number): Promise<string> {
  const sms = await smsc.until(() => smsc.submits.slice(since).find((s) => String(s.pdu.destination_addr) === digits), `the code SMS to ${digits}`);
  const code = /\b(\d{6})\b/.exec(smsText(sms))?.[1];
  if (!code) throw new Error(`no code in ${smsText(sms)}`);
  return code;
}

const page = (path: string) => fetch(`${knock.url}${path}`, { redirect: 'manual' });

describe('claiming a phone number', () => {
  it('sends a code by SMS; the code makes /+15551234567 open Alice\u2019s page, profile and conversations', async () => {
    const alice = await owner('alice');
    expect(await alice.api.phone()).toEqual({ number: null, pending: null, available: true });
    const before = smsc.submits.length;
    const claimed = await alice.api.claimPhone('+1 (555) 123-4567');
    expect(claimed.pending).toMatchObject({ e164: '+15551234567', display: '+1 555 123 4567' });
    const code = await codeSentTo('15551234567', before);
    // Not hers before the code.
    expect((await page('/+15551234567')).status).toBe(404);
    const wrong = await refusal(alice.api.verifyPhone(code === '000000' ? '111111' : '000000'));
    expect(wrong.message).toContain('not the code');
    expect(await alice.api.verifyPhone(code)).toEqual({ number: { e164: '+15551234567', display: '+1 555 123 4567' }, pending: null, available: true });

    const shell = await page('/+15551234567');
    expect(shell.status).toBe(200);
    expect(shell.headers.get('content-type')).toContain('text/html');
    const visitor = new Person(knock.url);
    const profile = await visitor.api.profile('+15551234567');
    expect(profile).toMatchObject({ handle: 'alice', displayName: 'Alice', isOwner: false });
    // A knock at the phone URL is a conversation with Alice, in her inbox like any other; at /alice it is the same one.
    const { conversationId } = await visitor.knock('+15551234567', 'Vic');
    expect((await visitor.api.profile('alice')).conversation?.id).toBe(conversationId);
    expect((await alice.api.inbox()).conversations.map((c) => c.id)).toContain(conversationId);
    // The owner at her phone URL is the owner.
    expect((await alice.api.profile('+15551234567')).isOwner).toBe(true);
    await visitor.closeAll();
  });

  it('redirects other spellings of a number to its one URL, keeping a resume link and the query', async () => {
    for (const spelling of ['/+1-555-123-4567', '/+1%20(555)%20123%204567', '/%2B15551234567', '/+1.555.123.4567']) {
      const answer = await page(spelling);
      expect(answer.status, spelling).toBe(301);
      expect(answer.headers.get('location'), spelling).toBe('/+15551234567');
    }
    const resume = await page('/+1-555-123-4567/c/abcdefghijklmnopqrstuvwxyz?x=1');
    expect(resume.status).toBe(301);
    expect(resume.headers.get('location')).toBe('/+15551234567/c/abcdefghijklmnopqrstuvwxyz?x=1');
  });

  it('shows a number nobody claimed, and one that is no number, as nobody\u2019s page', async () => {
    const visitor = new Person(knock.url);
    expect((await page('/+447700900123')).status).toBe(404);
    expect((await refusal(visitor.api.profile('+447700900123'))).status).toBe(404);
    expect((await refusal(visitor.api.knock('+447700900123', 'Vic'))).status).toBe(404);
    for (const path of ['/+12', '/+1234567890123456789', '/+abc', '/%2B%ZZ']) expect((await page(path)).status, path).toBe(404);
  });

  it('lets another account take a number only with the code sent to it, and moves it then', async () => {
    const carol = await owner('carol');
    const dave = await owner('dave');
    let before = smsc.submits.length;
    await carol.api.claimPhone('+44 7700 900456');
    await carol.api.verifyPhone(await codeSentTo('447700900456', before));
    // Dave asks for Carol's number: the code goes to the phone (Carol's), not to Dave.
    before = smsc.submits.length;
    await dave.api.claimPhone('+447700900456');
    const code = await codeSentTo('447700900456', before);
    const guesses = ['000001', '000002', '000003', '000004', '000005'].filter((c) => c !== code);
    for (const guess of guesses.slice(0, 5)) expect((await refusal(dave.api.verifyPhone(guess))).code).toBe('bad_request');
    // Five wrong codes spend the claim: even the right one no longer works.
    expect((await refusal(dave.api.verifyPhone(code))).code).toBe('rate_limited');
    expect((await new Person(knock.url).api.profile('+447700900456')).handle).toBe('carol');
    // Whoever has the phone can: Dave, holding it now, gets a new code and takes the number.
    before = smsc.submits.length;
    await dave.api.claimPhone('+447700900456');
    expect((await dave.api.verifyPhone(await codeSentTo('447700900456', before))).number?.e164).toBe('+447700900456');
    expect((await new Person(knock.url).api.profile('+447700900456')).handle).toBe('dave');
    expect((await carol.api.phone()).number).toBeNull();
    // Dave lets it go: nobody's page again.
    expect((await dave.api.releasePhone()).number).toBeNull();
    expect((await page('/+447700900456')).status).toBe(404);
    expect((await refusal(dave.api.releasePhone())).status).toBe(404);
  });

  it('refuses callers who are not the owner at the console, and requests from another site', async () => {
    const stranger = new Person(knock.url);
    const calls = [() => stranger.api.phone(), () => stranger.api.claimPhone('+15559876543'), () => stranger.api.verifyPhone('123456'), () => stranger.api.releasePhone()];
    for (const call of calls) expect((await refusal(call())).status).toBe(401);
    const erin = await owner('erin');
    const forged = await fetch(`${knock.url}/_/api/phone`, {
      method: 'POST',
      headers: { ...erin.headers, 'Content-Type': 'application/json', Origin: 'https://evil.example' },
      body: JSON.stringify({ number: '+15559876543' }),
    });
    expect(forged.status).toBe(403);
    expect((await erin.api.phone()).pending).toBeNull();
  });

  it('answers bad and oversized input with a clear error and stores nothing', async () => {
    const frank = await owner('frank');
    for (const number of ['hello', '5551234567', '+1', '+1'.padEnd(41, '5'), '']) {
      const err = await refusal(frank.api.claimPhone(number));
      expect(err.status, number).toBe(400);
      expect(err.message.length).toBeGreaterThan(10);
    }
    for (const code of ['12345', 'abcdef', '1234567']) expect((await refusal(frank.api.verifyPhone(code))).status).toBe(400);
    expect((await refusal(frank.api.verifyPhone('123456'))).message).toContain('No code is waiting');
    const huge = await fetch(`${knock.url}/_/api/phone`, {
      method: 'POST',
      headers: { ...frank.headers, 'Content-Type': 'application/json', Origin: knock.url },
      body: JSON.stringify({ number: '+15551234567', padding: 'x'.repeat(4096) }),
    });
    expect(huge.status).toBe(413);
    expect(await frank.api.phone()).toEqual({ number: null, pending: null, available: true });
  });

  it('sends at most three codes an hour to one number, from every account together, and five per account', async () => {
    const victim = '+15553330000';
    const accounts = await Promise.all(['gina', 'hank'].map(owner));
    const before = smsc.submits.length;
    await accounts[0]!.api.claimPhone(victim);
    await accounts[0]!.api.claimPhone(victim);
    await accounts[1]!.api.claimPhone(victim);
    const err = await refusal(accounts[1]!.api.claimPhone(victim));
    expect(err.code).toBe('rate_limited');
    expect(smsc.submits.slice(before).filter((s) => String(s.pdu.destination_addr) === '15553330000')).toHaveLength(3);
    // One account, many numbers: five codes an hour.
    const ivy = await owner('ivy');
    for (let i = 0; i < 5; i++) await ivy.api.claimPhone(`+1555444000${i}`);
    expect((await refusal(ivy.api.claimPhone('+15554440009'))).code).toBe('rate_limited');
  });
});

describe('a phone that texted STOP', () => {
  it('gets no code to claim it, and the owner reads why', async () => {
    const kim = await owner('kim');
    const stop = await smsc.deliver({ source_addr: '15557770000', source_addr_ton: 1, destination_addr: '15550001111', dest_addr_ton: 1, short_message: Buffer.from('STOP') });
    expect(stop.command_status).toBe(0);
    await expect.poll(async () => (await knock.storage.smsPhone('+15557770000'))?.stoppedAt ?? null, { timeout: 10_000 }).not.toBeNull();
    const before = smsc.submits.filter((s) => String(s.pdu.destination_addr) === '15557770000').length;
    const err = await refusal(kim.api.claimPhone('+1 555 777 0000'));
    expect(err.message).toContain('texted STOP');
    // The confirmation of STOP was the last SMS it got: no code after it.
    expect(smsc.submits.filter((s) => String(s.pdu.destination_addr) === '15557770000')).toHaveLength(before);
  });
});

describe('a server without an SMS account', () => {
  it('says numbers cannot be claimed here, and sends nothing', async () => {
    const plain = await startKnock();
    try {
      await plain.addUser('jo', 'Jo');
      const jo = new Person(plain.url);
      await jo.login('jo');
      expect(await jo.api.phone()).toEqual({ number: null, pending: null, available: false });
      expect((await refusal(jo.api.claimPhone('+15551234567'))).message).toContain('does not send SMS');
      await jo.closeAll();
    } finally {
      await plain.close();
    }
  });
});
