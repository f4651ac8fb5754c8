/**
 * What comes in on the SMS channel, as plain logic (adapters/channels/sms/): delivery receipts read and mapped to
 * the forward they settle (deliveryReceipts.ts), MO texts gathered within bounds (moInbox.ts) on a clock and timers
 * the test moves by hand, deliver_sm read defensively from raw octets (deliverSm.ts), and the throughput bucket's
 * order (tokenBucket.ts).
 */
import smpp from 'smpp';
import { describe, expect, it } from 'vitest';
import { readDeliverSm } from '../../adapters/channels/sms/deliverSm.ts';
import { readReceipt, ReceiptTracker } from '../../adapters/channels/sms/deliveryReceipts.ts';
import { e164Of, MoInbox } from '../../adapters/channels/sms/moInbox.ts';
import { TokenBucket } from '../../adapters/channels/sms/tokenBucket.ts';
import type { Clock, Timers } from '../../engine/ports/clock.ts';

/** A clock and timers moved by hand. */
function manualTime() {
  let now = 0;
  const due: { at: number; fn: () => void; cancelled: boolean }[] = [];
  const clock: Clock = { now: () => now };
  const timers: Timers = {
    after(ms, fn) {
      const timer = { at: now + ms, fn, cancelled: false };
      due.push(timer);
      return () => void (timer.cancelled = true);
    },
  };
  const advance = (ms: number) => {
    now += ms;
    for (const timer of due.splice(0)) {
      if (timer.cancelled) continue;
      if (timer.at <= now) timer.fn();
      else due.push(timer);
    }
  };
  return { clock, timers, advance };
}

describe('delivery receipts', () => {
  it('reads id and stat from the text, and prefers the TLVs', () => {
    const text = 'id:0A1B sub:001 dlvrd:000 submit date:2601011200 done date:2601011201 stat:UNDELIV err:001 text:Hello';
    expect(readReceipt(text, null, null)).toEqual({ messageId: '0A1B', state: 'failed', stat: 'UNDELIV' });
    expect(readReceipt(text, 'ff01', 2)).toEqual({ messageId: 'ff01', state: 'delivered', stat: 'DELIVRD' });
    expect(readReceipt('id:9 stat:ENROUTE', null, null)?.state).toBe('pending');
    for (const stat of ['REJECTD', 'EXPIRED', 'DELETED', 'UNKNOWN']) expect(readReceipt(`id:9 stat:${stat}`, null, null)?.state).toBe('failed');
    expect(readReceipt('stat:DELIVRD', null, null)).toBeNull();
  });

  it('settles a forward delivered when all its parts are, failed as soon as one fails', () => {
    const tracker = new ReceiptTracker();
    tracker.track('sms:a1', ['a1', 'a2', 'a3']);
    tracker.track('sms:b1', ['b1', 'b2']);
    expect(tracker.settle('a2', 'delivered', 'DELIVRD')).toBeNull();
    expect(tracker.settle('a1', 'delivered', 'DELIVRD')).toBeNull();
    expect(tracker.settle('a3', 'delivered', 'DELIVRD')).toEqual({ externalId: 'sms:a1', state: 'delivered', error: null });
    expect(tracker.settle('b2', 'failed', 'UNDELIV')).toEqual({ externalId: 'sms:b1', state: 'failed', error: 'UNDELIV' });
    expect(tracker.size).toBe(0);
  });

  it('matches an id given in decimal to one sent in hex, and reports an unknown id as its own', () => {
    const tracker = new ReceiptTracker();
    tracker.track('sms:1f4', ['1f4']);
    expect(tracker.settle('500', 'delivered', 'DELIVRD')).toEqual({ externalId: 'sms:1f4', state: 'delivered', error: null });
    expect(tracker.settle('zz9', 'failed', 'EXPIRED')).toEqual({ externalId: 'sms:zz9', state: 'failed', error: 'EXPIRED' });
  });

  it('forgets the oldest forwards beyond its bound', () => {
    const tracker = new ReceiptTracker(4);
    for (let i = 0; i < 10; i++) tracker.track(`sms:m${i}a`, [`m${i}a`, `m${i}b`]);
    expect(tracker.size).toBeLessThanOrEqual(4);
    expect(tracker.settle('m9a', 'delivered', 'DELIVRD')).toBeNull();
  });
});

describe('MO texts', () => {
  const part = (from: string, text: string, reference: number, total: number, sequence: number) =>
    ({ from, dataCoding: 0, body: Buffer.from(text), concat: { reference, total, sequence } });

  it('gathers parts in any order, and drops an incomplete text after the timeout', () => {
    const time = manualTime();
    const inbox = new MoInbox({ ...time, reassemblyTimeoutMs: 1000 });
    expect(inbox.accept(part('+15551234567', 'world', 1, 2, 2)).kind).toBe('waiting');
    expect(inbox.accept(part('+15551234567', 'hello ', 1, 2, 1))).toMatchObject({ kind: 'text', text: { from: '+15551234567', text: 'hello world' } });
    inbox.accept(part('+15551234567', 'lost ', 2, 2, 1));
    expect(inbox.pending).toBe(1);
    time.advance(1000);
    expect(inbox.pending).toBe(0);
    expect(inbox.accept(part('+15551234567', 'half', 2, 2, 2)).kind).toBe('waiting');
  });

  it('drops texts claiming more than maxParts parts and bounds what is gathered, per number and in all', () => {
    const time = manualTime();
    const inbox = new MoInbox({ ...time, ratePerMinute: 10_000, maxPending: 20, maxPendingPerSource: 3 });
    expect(inbox.accept(part('+15551234567', 'x', 1, 255, 1))).toMatchObject({ kind: 'dropped' });
    for (let reference = 0; reference < 10; reference++) inbox.accept(part('+15551234567', 'x', reference, 2, 1));
    expect(inbox.pending).toBe(3);
    for (let n = 0; n < 100; n++) inbox.accept(part(`+1555000${1000 + n}`, 'x', 1, 2, 1));
    expect(inbox.pending).toBe(20);
    inbox.close();
  });

  it('caps one number at ratePerMinute parts until the minute is over', () => {
    const time = manualTime();
    const inbox = new MoInbox({ ...time, ratePerMinute: 3 });
    const kinds = Array.from({ length: 5 }, (_, i) => inbox.accept({ from: '+15551234567', dataCoding: 0, body: Buffer.from(`m${i}`), concat: null }).kind);
    expect(kinds).toEqual(['text', 'text', 'text', 'dropped', 'dropped']);
    time.advance(60_000);
    expect(inbox.accept({ from: '+15551234567', dataCoding: 0, body: Buffer.from('again'), concat: null }).kind).toBe('text');
  });

  it('gives the same text from the same number the same externalId, and another text another', () => {
    const inbox = new MoInbox({ ...manualTime(), ratePerMinute: 100 });
    const idOf = (text: string, from = '+15551234567') => {
      const got = inbox.accept({ from, dataCoding: 0, body: Buffer.from(text), concat: null });
      return got.kind === 'text' ? got.text.externalId : null;
    };
    expect(idOf('ok')).toBe(idOf('ok'));
    expect(idOf('ok')).not.toBe(idOf('ok!'));
    expect(idOf('ok')).not.toBe(idOf('ok', '+15557654321'));
  });

  it('spells senders as E.164 and refuses what is not a phone number', () => {
    expect(e164Of('15551234567', 1)).toBe('+15551234567');
    expect(e164Of('+49 151 2345678', 1)).toBe('+491512345678');
    expect(e164Of('00441234567890', 0)).toBe('+441234567890');
    expect(e164Of('BANK', 5)).toBeNull();
    expect(e164Of('123', 1)).toBeNull();
  });
});

describe('reading deliver_sm', () => {
  const frame = (fields: Record<string, unknown>) => new smpp.PDU('deliver_sm', { sequence_number: 5, ...fields }).toBuffer();

  it('reads the fields and TLVs Knock uses', () => {
    const read = readDeliverSm(frame({ source_addr: '15551234567', source_addr_ton: 1, destination_addr: '15550001111', dest_addr_ton: 1, esm_class: 4, data_coding: 8, short_message: Buffer.from([0, 0x41]), receipted_message_id: 'abc', message_state: 5 }));
    expect(read).toEqual({ ok: true, pdu: { sequenceNumber: 5, sourceAddrTon: 1, sourceAddr: '15551234567', destAddrTon: 1, destinationAddr: '15550001111', esmClass: 4, dataCoding: 8, message: Buffer.from([0, 0x41]), receiptedMessageId: 'abc', messageState: 5, sar: null } });
  });

  it('refuses a TLV or a short message running past the end, without reading beyond it', () => {
    const good = frame({ source_addr: '15551234567', short_message: Buffer.from('Hi') });
    const overrunTlv = Buffer.concat([good, Buffer.from([0x04, 0x24, 0x10, 0x00, 0x41])]);
    overrunTlv.writeUInt32BE(overrunTlv.length, 0);
    expect(readDeliverSm(overrunTlv)).toMatchObject({ ok: false });
    expect(readDeliverSm(good.subarray(0, good.length - 1))).toMatchObject({ ok: false });
    expect(readDeliverSm(good.subarray(0, 20))).toMatchObject({ ok: false });
  });
});

describe('throughput', () => {
  it('lets a second\'s worth through at once and the rest in the order asked, as tokens refill', async () => {
    const time = manualTime();
    const bucket = new TokenBucket(2, time.clock, time.timers);
    const order: number[] = [];
    const takes = [0, 1, 2, 3].map((n) => bucket.take().then(() => order.push(n)));
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual([0, 1]);
    time.advance(500);
    await takes[2];
    expect(order).toEqual([0, 1, 2]);
    time.advance(500);
    await Promise.all(takes);
    expect(order).toEqual([0, 1, 2, 3]);
    bucket.close(new Error('closed'));
    await expect(bucket.take()).rejects.toThrow('closed');
  });
});
