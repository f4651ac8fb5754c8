/**
 * The SMS gateway's decisions (issue 20) on an injected clock, over a real SQLite store in memory: what a first word
 * names, the keywords, and every limit with the time it takes to lift. The sender records what would go out; the
 * log appends straight to storage (the ConversationLog's publishing is tested elsewhere).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import type { InboundText } from '../../engine/ports/channel.ts';
import type { Storage } from '../../engine/ports/storage.ts';
import { SmsGateway, ANSWER_INTERVAL_MS } from '../../engine/sms/smsGateway.ts';
import { maskedName, readSmsText, shownNumber } from '../../engine/sms/smsText.ts';
import { ManualClock } from '../support/roomHarness.ts';

const SERVICE = '+15550001111';
const HOUR = 3_600_000;

describe('reading a text', () => {
  it('takes STOP, START and HELP (and their synonyms) only as the whole message, in any case', () => {
    for (const word of ['STOP', 'stop', ' Stop. ', 'unsubscribe', 'CANCEL', 'end', 'quit', 'stopall']) expect(readSmsText(word)).toEqual({ kind: 'keyword', keyword: 'stop' });
    for (const word of ['START', 'unstop']) expect(readSmsText(word)).toEqual({ kind: 'keyword', keyword: 'start' });
    for (const word of ['help', 'INFO']) expect(readSmsText(word)).toEqual({ kind: 'keyword', keyword: 'help' });
    expect(readSmsText('stop by later')).toMatchObject({ kind: 'message', rest: 'by later' });
  });

  it('names an owner by a handle, @handle, /handle or a phone URL in the first word; the rest is the message', () => {
    expect(readSmsText('alice hello')).toEqual({ kind: 'message', target: { kind: 'handle', handle: 'alice', explicit: false }, rest: 'hello', text: 'alice hello' });
    expect(readSmsText('@Alice: hi\nthere')).toMatchObject({ target: { kind: 'handle', handle: 'alice', explicit: true }, rest: 'hi\nthere' });
    expect(readSmsText('/bob, hi')).toMatchObject({ target: { kind: 'handle', handle: 'bob', explicit: true }, rest: 'hi' });
    expect(readSmsText('+15551234567 hi')).toMatchObject({ target: { kind: 'phone', number: '+15551234567' }, rest: 'hi' });
    // Not a name: too short, reserved, not a possible number, a word of punctuation.
    for (const text of ['a hi', '@_ hi', '+12 hi', '!!! hi', '+1 555 hi']) expect(readSmsText(text)).toMatchObject({ target: null, rest: text });
  });

  it('masks the number to its last four digits for everyone but the owner, who reads it formatted', () => {
    expect(maskedName('+447700900123')).toBe('SMS ••••0123');
    expect(shownNumber('+447700900123')).toBe('+44 7700 900123');
    expect(shownNumber('+15551234567')).toBe('+1 555 123 4567');
  });
});

describe('the gateway', () => {
  let storage: Storage;
  let clock: ManualClock;
  let sent: Array<{ to: string; text: string }>;
  let gateway: SmsGateway;
  let seq = 0;

  const sms = (from: string, text: string, to: string | null = SERVICE): InboundText => ({ kind: 'sms', from, to, text, threadId: null, externalId: `sms:mo-${++seq}` });

  beforeEach(async () => {
    storage = await SqliteStorage.open({ file: ':memory:' });
    clock = new ManualClock();
    sent = [];
    for (const handle of ['alice', 'bob', 'carol', 'dave']) await storage.createAccount({ handle, displayName: handle, passwordHash: 'x', at: clock.now() });
    gateway = new SmsGateway({
      storage,
      log: { append: (conversationId, entry) => storage.appendMessage({ conversationId, senderId: entry.senderId, clientMsgId: entry.idempotencyKey!, body: entry.body, event: entry.event, at: clock.now() }) },
      forwarding: { inbound: async () => ({ kind: 'noOpenForward' }) },
      outbound: { passOn: async () => undefined },
      sender: { serviceNumber: SERVICE, sendText: async (to, text) => (sent.push({ to, text }), { externalId: `sms:${sent.length}` }) },
      clock,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      limits: {
        conversationsPerPhone: { perWindow: 2, windowMs: HOUR },
        textsPerPhone: { perWindow: 5, windowMs: HOUR },
        conversationsPerOwner: { perWindow: 3, windowMs: HOUR },
      },
      publicUrl: () => 'https://knock.example',
    });
  });

  const ownerOf = async (phone: string) => (await storage.smsPhone(phone))?.currentAccountId;
  const idOf = async (handle: string) => (await storage.getAccountByHandle(handle))!.id;

  it('sends a bare first word to the named owner only while the phone talks to nobody', async () => {
    expect(await gateway.inbound(sms('+447700900123', 'hello there'))).toEqual({ kind: 'answered', why: 'usage' });
    expect(await gateway.inbound(sms('+447700900123', 'alice hello'))).toMatchObject({ kind: 'posted', via: 'service' });
    expect(await ownerOf('+447700900123')).toBe(await idOf('alice'));
    // "bob hi" now is a message to Alice: only @bob, /bob or a phone URL switch.
    expect(await gateway.inbound(sms('+447700900123', 'bob hi'))).toMatchObject({ kind: 'posted' });
    expect(await ownerOf('+447700900123')).toBe(await idOf('alice'));
    expect(await gateway.inbound(sms('+447700900123', '@nobody hi'))).toEqual({ kind: 'answered', why: 'unknownName' });
    expect(await ownerOf('+447700900123')).toBe(await idOf('alice'));
  });

  it('answers automatically at most once per interval, and again after it', async () => {
    await gateway.inbound(sms('+447700900123', 'help'));
    await gateway.inbound(sms('+447700900123', 'hello'));
    expect(sent).toHaveLength(1);
    clock.t += ANSWER_INTERVAL_MS;
    await gateway.inbound(sms('+447700900123', 'hello again'));
    expect(sent.map((s) => s.text)).toEqual([expect.stringContaining('Start your text'), expect.stringContaining('Start your text')]);
  });

  it('confirms STOP once, answers nothing else to a stopped phone but HELP, and START lifts it', async () => {
    expect(await gateway.inbound(sms('+447700900123', 'STOP'))).toEqual({ kind: 'keyword', keyword: 'stop', changed: true });
    expect(await gateway.inbound(sms('+447700900123', 'stop'))).toEqual({ kind: 'keyword', keyword: 'stop', changed: false });
    clock.t += ANSWER_INTERVAL_MS;
    await gateway.inbound(sms('+447700900123', 'who is this'));
    expect(sent.map((s) => s.text)).toEqual([expect.stringContaining('no more texts')]);
    await gateway.inbound(sms('+447700900123', 'START'));
    expect((await storage.smsPhone('+447700900123'))?.stoppedAt).toBeNull();
    expect(sent[1]?.text).toContain('on again');
  });

  it('caps switches per phone, and lets them again as the hour passes', async () => {
    await gateway.inbound(sms('+447700900123', 'alice 1'));
    await gateway.inbound(sms('+447700900123', '@bob 2'));
    expect(await gateway.inbound(sms('+447700900123', '@carol 3'))).toEqual({ kind: 'answered', why: 'limited' });
    expect(await ownerOf('+447700900123')).toBe(await idOf('bob'));
    clock.t += HOUR / 2 + 1000; // half the window: one switch earned back
    expect(await gateway.inbound(sms('+447700900123', '@carol 4'))).toMatchObject({ kind: 'posted' });
  });

  it('caps texts per phone', async () => {
    await gateway.inbound(sms('+447700900123', 'alice 1'));
    for (let i = 2; i <= 5; i++) expect(await gateway.inbound(sms('+447700900123', `more ${i}`))).toMatchObject({ kind: 'posted' });
    expect(await gateway.inbound(sms('+447700900123', 'one too many'))).toEqual({ kind: 'dropped', reason: 'too many texts from this phone' });
  });

  it('caps new conversations per owner across phones; continuing ones still come', async () => {
    for (let i = 0; i < 3; i++) expect(await gateway.inbound(sms(`+4477009000${10 + i}`, `alice hi ${i}`))).toMatchObject({ kind: 'posted' });
    expect(await gateway.inbound(sms('+447700900020', 'alice hi'))).toEqual({ kind: 'answered', why: 'limited' });
    expect(await gateway.inbound(sms('+447700900010', 'still here'))).toMatchObject({ kind: 'posted' });
    clock.t += HOUR;
    expect(await gateway.inbound(sms('+447700900021', 'alice later'))).toMatchObject({ kind: 'posted' });
  });

  it('drops what comes from the service number, hands an owner\u2019s channel to forwarding, and a text to a claimed number to its owner', async () => {
    expect(await gateway.inbound(sms(SERVICE, 'alice loop'))).toMatchObject({ kind: 'dropped' });
    const alice = await idOf('alice');
    await storage.addChannel({ accountId: alice, kind: 'sms', address: '+15557654321', secret: null, delayMs: 0, verified: true, at: clock.now() });
    expect(await gateway.inbound(sms('+15557654321', '#1 on my way'))).toEqual({ kind: 'owner', outcome: { kind: 'noOpenForward' } });
    await storage.assignPhoneNumber(await idOf('dave'), '+15551234567', clock.now());
    expect(await gateway.inbound(sms('+447700900123', 'STOP', '+15551234567'))).toMatchObject({ kind: 'posted', via: 'number' });
    expect((await storage.smsPhone('+447700900123'))?.stoppedAt ?? null).toBeNull(); // a text to a person, not a keyword
    expect(sent).toEqual([]);
  });
});
