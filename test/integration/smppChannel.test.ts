/**
 * The SMS channel (adapters/channels/sms/) against a loopback SMSC played by the smpp package's server
 * (test/support/smsc.ts): binding (and a refused bind, retried with backoff), what submit_sm carries (GSM-7 or UCS-2,
 * concatenation UDH, numbers), how SMSC answers become temporary or permanent errors, delivery receipts, the owner's
 * texts coming in, reconnecting after the SMSC drops the link, keep-alive, unbind on close; and hostile input (a
 * flood from one number, a malformed UDH, parts claiming 255 parts, oversized and malformed PDUs, a throwing
 * handler) that must leave the connection serving.
 */
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import smpp, { type PDU } from 'smpp';
import { afterEach, describe, expect, it } from 'vitest';
import { SmppChannel, SmsSendError, type SmppChannelOptions } from '../../adapters/channels/sms/smppChannel.ts';
import { createLogger } from '../../engine/logger.ts';
import type { ChannelReceipt, ForwardMessage, InboundText, OwnerChannel } from '../../engine/ports/channel.ts';
import { smsText, TestSmsc } from '../support/smsc.ts';

const credentials = { systemId: 'knock', password: 'secret' };
const SERVICE_NUMBER = '+15550001111';
const OWNER_NUMBER = '+15551234567';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startSmsc(): Promise<TestSmsc> {
  const smsc = await TestSmsc.start(credentials);
  cleanups.push(() => smsc.close());
  return smsc;
}

/** A logger whose JSON lines the test can read (KNOCK_TEST_LOG shows them too). */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger(process.env.KNOCK_TEST_LOG ?? 'debug', sink) };
}

interface Started {
  sms: SmppChannel;
  texts: InboundText[];
  receipts: ChannelReceipt[];
  logs: Record<string, unknown>[];
}

async function startChannel(smsc: TestSmsc, options: Partial<SmppChannelOptions> = {}, waitForBind = true): Promise<Started> {
  const { lines, logger } = capturedLogger();
  const sms = new SmppChannel({
    url: smsc.url,
    ...credentials,
    sourceNumber: SERVICE_NUMBER,
    logger,
    throughputPerSecond: 1000,
    reconnectBaseMs: 20,
    reconnectMaxMs: 200,
    submitTimeoutMs: 5000,
    ...options,
  });
  const started: Started = { sms, texts: [], receipts: [], logs: lines };
  sms.onText(async (text) => void started.texts.push(text));
  sms.onReceipt(async (receipt) => void started.receipts.push(receipt));
  sms.start();
  cleanups.push(() => sms.close());
  if (waitForBind) await sms.whenBound();
  return started;
}

function owner(address = OWNER_NUMBER): OwnerChannel {
  return { id: 'ch_sms1', accountId: 'acc1', kind: 'sms', address, secret: null, verified: true, position: 0, delayMs: 0 };
}

function forwardOf(texts: string[]): ForwardMessage {
  return { conversationId: 'c_8f3k2m', tag: '3', threadId: 'knock-c_8f3k2m', visitorName: 'Ada', texts, link: 'https://knock.example.org/_/console/c/c_8f3k2m' };
}

/** What the SMSC's decoder read from a submit_sm's short_message. */
function shortMessageOf(pdu: PDU): { udh?: Buffer[]; message: string } {
  return pdu.short_message as { udh?: Buffer[]; message: string };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Writes a PDU, as the smpp package decodes it (buffers as hex), under adapters/channels/sms/samples/ when
 * KNOCK_SMS_WRITE_SAMPLES is set; the fields of a deliver_sm the SMSC sent are encoded and decoded first.
 */
function sample(name: string, pduOrFields: PDU | Record<string, unknown>): void {
  if (!process.env.KNOCK_SMS_WRITE_SAMPLES) return;
  const pdu = pduOrFields instanceof smpp.PDU ? pduOrFields : new smpp.PDU(new smpp.PDU('deliver_sm', { sequence_number: 7, ...pduOrFields }).toBuffer());
  const json = JSON.stringify(pdu, (_key, value: unknown) => {
    if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') return `hex:${Buffer.from((value as { data: number[] }).data).toString('hex')}`;
    return value;
  }, 2);
  writeFileSync(new URL(`../../adapters/channels/sms/samples/${name}.json`, import.meta.url), `${json}\n`);
}

describe('binding', () => {
  it('refuses a wrong password with a clear error, binds again with growing backoff, and does not crash', async () => {
    const smsc = await startSmsc();
    const { sms, logs } = await startChannel(smsc, { password: 'wrong', random: () => 0.999999, submitTimeoutMs: 300 }, false);
    await smsc.until(() => smsc.binds.length >= 5, 'five binds');
    expect(smsc.binds.every((bind) => bind.status === smpp.errors.ESME_RINVPASWD)).toBe(true);
    expect(smsc.boundSessions).toBe(0);
    const retries = logs.filter((line) => line.msg === 'not bound to the SMSC; trying again').map((line) => line.retryInMs);
    expect(retries.slice(0, 4)).toEqual([20, 40, 80, 160]);
    const error = await sms.send(owner(), forwardOf(['Hi'])).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SmsSendError);
    expect(error).toMatchObject({ permanent: false });
    expect((error as Error).message).toContain('refused the bind as knock: ESME_RINVPASWD (0x0E)');
    expect(smsc.submits).toHaveLength(0);
  });

  it('answers the SMSC\'s enquire_link, sends its own at the interval, and unbinds on close', async () => {
    const smsc = await startSmsc();
    const { sms } = await startChannel(smsc, { enquireLinkMs: 50 });
    const answer = await smsc.enquireLink();
    expect(answer).toMatchObject({ command: 'enquire_link_resp', command_status: 0 });
    await smsc.until(() => smsc.requests.filter((pdu) => pdu.command === 'enquire_link').length >= 2, 'two keep-alive enquire_links');
    await sms.close();
    expect(smsc.requests.at(-1)?.command).toBe('unbind');
    await expect(sms.send(owner(), forwardOf(['Hi']))).rejects.toMatchObject({ permanent: false });
  });

  it('binds again by itself after the SMSC drops the connection, and the next send arrives', async () => {
    const smsc = await startSmsc();
    const { sms } = await startChannel(smsc);
    smsc.dropConnections();
    await smsc.until(() => smsc.binds.length === 2 && smsc.boundSessions === 1, 'a second bind');
    await sms.send(owner(), forwardOf(['Still there?']));
    expect(smsc.submits).toHaveLength(1);
    expect(shortMessageOf(smsc.submits[0]!.pdu).message).toContain('Still there?');
  });
});

describe('sending', () => {
  it('sends a short Latin text as one GSM-7 submit_sm from the service number to the owner, asking for a receipt', async () => {
    const smsc = await startSmsc();
    const { sms } = await startChannel(smsc);
    const sent = await sms.send(owner(), forwardOf(['Hi! Are you around?', 'I have a question about the flat.']));
    expect(smsc.submits).toHaveLength(1);
    const { pdu, messageId } = smsc.submits[0]!;
    expect(sent.externalId).toBe(`sms:${messageId}`);
    expect(pdu).toMatchObject({ source_addr: '15550001111', source_addr_ton: 1, destination_addr: '15551234567', dest_addr_ton: 1, data_coding: 0, esm_class: 0, registered_delivery: 1 });
    expect(shortMessageOf(pdu)).toEqual({
      message: 'Ada (#3): Hi! Are you around?\nI have a question about the flat.\nhttps://knock.example.org/_/console/c/c_8f3k2m\nReply here; start with #3 for this visitor.',
    });
  });

  it('sends a 300-character Cyrillic message as concatenated UCS-2 parts whose UDHs reassemble the exact text', async () => {
    const smsc = await startSmsc();
    const { sms } = await startChannel(smsc);
    const visitorText = 'Здравствуйте! Я по поводу квартиры на Садовой. '.repeat(7).slice(0, 300);
    await sms.send(owner(), forwardOf([visitorText]));
    const parts = smsc.submits.map((submit) => submit.pdu);
    expect(parts.length).toBeGreaterThan(1);
    const headers = parts.map((pdu) => shortMessageOf(pdu).udh?.[0]);
    parts.forEach((pdu, index) => {
      expect(pdu).toMatchObject({ data_coding: 8, esm_class: 0x40, registered_delivery: 1 });
      expect([...headers[index]!]).toEqual([0x00, 0x03, headers[0]![2], parts.length, index + 1]);
      expect(shortMessageOf(pdu).message.length).toBeLessThanOrEqual(67);
    });
    const text = parts.map((pdu) => shortMessageOf(pdu).message).join('');
    expect(text).toBe(`Ada (#3): ${visitorText}\nhttps://knock.example.org/_/console/c/c_8f3k2m\nReply here; start with #3 for this visitor.`);
    sample('submit_sm-ucs2-part', parts[1]!);
  });

  it('never splits an emoji between parts', async () => {
    const smsc = await startSmsc();
    const { sms } = await startChannel(smsc);
    // "Ada (#3): " is 10 units and the 56 letters make 66: the first emoji would take units 67 and 68, across the boundary.
    const visitorText = `${'Ж'.repeat(56)}😀😀😀 ${'Ж'.repeat(40)}`;
    await sms.send(owner(), forwardOf([visitorText]));
    const messages = smsc.submits.map((submit) => shortMessageOf(submit.pdu).message);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) expect(message).not.toMatch(LONE_SURROGATE);
    expect(messages.join('')).toContain(visitorText);
  });

  it('sends a verification code as one SMS', async () => {
    const smsc = await startSmsc();
    const { sms } = await startChannel(smsc);
    expect(await sms.sendCode(owner(), '482913')).toEqual({ echoed: false });
    expect(shortMessageOf(smsc.submits[0]!.pdu).message).toBe('Your Knock verification code is 482913');
  });

  it('takes throttling and a full queue as temporary, an invalid destination as permanent', async () => {
    const smsc = await startSmsc();
    const { sms } = await startChannel(smsc);
    smsc.answerSubmits(smpp.errors.ESME_RTHROTTLED!);
    smsc.answerSubmits(smpp.errors.ESME_RMSGQFUL!);
    smsc.answerSubmits(smpp.errors.ESME_RINVDSTADR!);
    await expect(sms.send(owner(), forwardOf(['a']))).rejects.toMatchObject({ permanent: false, status: 0x58, message: expect.stringContaining('ESME_RTHROTTLED') });
    await expect(sms.send(owner(), forwardOf(['b']))).rejects.toMatchObject({ permanent: false, status: 0x14 });
    await expect(sms.send(owner(), forwardOf(['c']))).rejects.toMatchObject({ permanent: true, status: 0x0b, message: expect.stringContaining('ESME_RINVDSTADR') });
    await expect(sms.send(owner('0151 234'), forwardOf(['d']))).rejects.toMatchObject({ permanent: true });
    expect(smsc.submits).toHaveLength(3);
    // The link survived all of it.
    await sms.send(owner(), forwardOf(['e']));
    expect(smsc.submits.at(-1)?.status).toBe(0);
  });
});

describe('delivery receipts', () => {
  it('reports a forward of several parts delivered once every part is', async () => {
    const smsc = await startSmsc();
    const { sms, receipts } = await startChannel(smsc);
    const sent = await sms.send(owner(), forwardOf(['Привет! '.repeat(20)]));
    const ids = smsc.submits.map((submit) => submit.messageId!);
    expect(ids.length).toBeGreaterThan(1);
    for (const [index, id] of ids.entries()) {
      const receipt = { source_addr: '15551234567', destination_addr: '15550001111', esm_class: 0x04, short_message: Buffer.from(`id:${id} sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000 text:`) };
      const answer = await smsc.deliver(receipt);
      expect(answer.command_status).toBe(0);
      if (index === 0) sample('deliver_sm-receipt', receipt);
      // The answer is sent after the handler ran: until the last part, nothing is reported.
      expect(receipts).toEqual(index < ids.length - 1 ? [] : [{ kind: 'sms', externalId: sent.externalId, state: 'delivered', error: null }]);
    }
  });

  it('reports UNDELIV from the text as failed, and reads the receipted_message_id and message_state TLVs', async () => {
    const smsc = await startSmsc();
    const { sms, receipts } = await startChannel(smsc);
    const first = await sms.send(owner(), forwardOf(['one']));
    const second = await sms.send(owner(), forwardOf(['two']));
    await smsc.deliver({ source_addr: '15551234567', esm_class: 0x04, short_message: Buffer.from(`id:${smsc.submits[0]!.messageId} sub:001 dlvrd:000 submit date:2601011200 done date:2601011201 stat:UNDELIV err:001 text:`) });
    await smsc.deliver({ source_addr: '15551234567', esm_class: 0x04, receipted_message_id: smsc.submits[1]!.messageId, message_state: 2, short_message: Buffer.alloc(0) });
    expect(receipts).toEqual([
      { kind: 'sms', externalId: first.externalId, state: 'failed', error: 'UNDELIV' },
      { kind: 'sms', externalId: second.externalId, state: 'delivered', error: null },
    ]);
  });
});

describe('any text to any number (issue 20)', () => {
  it('sends from the service number or a hosted number, refuses a source that is no number, and its receipt names it', async () => {
    const smsc = await startSmsc();
    const { sms, receipts } = await startChannel(smsc);
    const plain = await sms.sendText('+447700900123', 'Alice: hello');
    const hosted = await sms.sendText('+447700900123', 'from my number', { from: '+15551234567' });
    expect(smsc.submits.map((s) => [String(s.pdu.source_addr), String(s.pdu.destination_addr), smsText(s), s.pdu.registered_delivery])).toEqual([
      ['15550001111', '447700900123', 'Alice: hello', 1],
      ['15551234567', '447700900123', 'from my number', 1],
    ]);
    await expect(sms.sendText('+447700900123', 'x', { from: 'Knock' })).rejects.toMatchObject({ permanent: true });
    await expect(sms.sendText('0770', 'x')).rejects.toMatchObject({ permanent: true });
    expect(smsc.submits).toHaveLength(2);
    await smsc.deliver({ source_addr: '447700900123', esm_class: 0x04, receipted_message_id: smsc.submits[1]!.messageId, message_state: 5, short_message: Buffer.alloc(0) });
    expect(receipts).toEqual([{ kind: 'sms', externalId: hosted.externalId, state: 'failed', error: 'UNDELIV' }]);
    expect(plain.externalId).toBe(`sms:${smsc.submits[0]!.messageId}`);
  });
});

describe('texts from owners', () => {
  it('hands an SMS from the owner\'s number to onText with its text, and a redelivery the same externalId', async () => {
    const smsc = await startSmsc();
    const { texts } = await startChannel(smsc);
    const mo = { source_addr: '15551234567', source_addr_ton: 1, destination_addr: '15550001111', short_message: Buffer.from('#3 On my way!'), data_coding: 0 };
    expect((await smsc.deliver(mo)).command_status).toBe(0);
    sample('deliver_sm-mo-text', mo);
    await smsc.deliver(mo);
    expect(texts).toHaveLength(2);
    // `to`: the deliver_sm's destination, so Knock tells its service number from an owner's hosted number (issue 20).
    expect(texts[0]).toEqual({ kind: 'sms', from: '+15551234567', to: '+15550001111', text: '#3 On my way!', threadId: null, externalId: expect.stringMatching(/^sms:mo-/) });
    expect(texts[1]!.externalId).toBe(texts[0]!.externalId);
  });

  it('reassembles a concatenated UCS-2 text, whatever order its parts come in', async () => {
    const smsc = await startSmsc();
    const { texts } = await startChannel(smsc);
    const whole = `${'Я буду через час. '.repeat(5)}😀`;
    const units = Buffer.from(whole, 'utf16le').swap16();
    const halves = [units.subarray(0, 81), units.subarray(81)]; // splits inside a character: joined before decoding
    for (const sequence of [2, 1]) {
      const udh = Buffer.from([0x05, 0x00, 0x03, 0x42, 0x02, sequence]);
      await smsc.deliver({ source_addr: '+15551234567', esm_class: 0x40, data_coding: 8, short_message: Buffer.concat([udh, halves[sequence - 1]!]) });
    }
    expect(texts.map((text) => text.text)).toEqual([whole]);
  });

  it('reads 8-bit Latin-1 sent with data_coding 0, as many SMSCs do', async () => {
    const smsc = await startSmsc();
    const { texts } = await startChannel(smsc);
    await smsc.deliver({ source_addr: '15551234567', data_coding: 0, short_message: Buffer.from('Café à côté, ok', 'latin1') });
    expect(texts[0]?.text).toBe('Café à côté, ok');
  });
});

/** A deliver_sm's octets with fields the smpp package would not write: `smLength` may lie about the message. */
function rawDeliverSm(sequenceNumber: number, message: Buffer, smLength = message.length): Buffer {
  const body = Buffer.concat([
    Buffer.from([0, 1, 1]), Buffer.from('15551234567\0'), Buffer.from([1, 1]), Buffer.from('15550001111\0'),
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, smLength]), message,
  ]);
  const header = Buffer.alloc(16);
  header.writeUInt32BE(16 + body.length, 0);
  header.writeUInt32BE(0x05, 4);
  header.writeUInt32BE(sequenceNumber, 12);
  return Buffer.concat([header, body]);
}

describe('hostile input', () => {
  it('caps a flood from one number at 20 texts a minute, answering every deliver_sm, while others still get through', async () => {
    const smsc = await startSmsc();
    const { texts } = await startChannel(smsc);
    for (let i = 0; i < 25; i++) {
      expect((await smsc.deliver({ source_addr: '15559999999', short_message: Buffer.from(`spam ${i}`) })).command_status).toBe(0);
    }
    await smsc.deliver({ source_addr: '15551234567', short_message: Buffer.from('real reply') });
    expect(texts.filter((text) => text.from === '+15559999999')).toHaveLength(20);
    expect(texts.at(-1)?.text).toBe('real reply');
  });

  it('drops a text whose UDH is malformed, and parts claiming 255 parts, and goes on serving', async () => {
    const smsc = await startSmsc();
    const { texts } = await startChannel(smsc);
    const badUdh = Buffer.from([0x0a, 0x00, 0x03, 0x01]);
    expect((await smsc.deliver({ source_addr: '15551234567', esm_class: 0x40, short_message: badUdh })).command_status).toBe(0);
    const zeroPart = Buffer.from([0x05, 0x00, 0x03, 0x01, 0x02, 0x00, 0x41]);
    expect((await smsc.deliver({ source_addr: '15551234567', esm_class: 0x40, short_message: zeroPart })).command_status).toBe(0);
    for (let reference = 0; reference < 15; reference++) {
      const part = Buffer.concat([Buffer.from([0x05, 0x00, 0x03, reference, 255, 1]), Buffer.alloc(150, 0x41)]);
      expect((await smsc.deliver({ source_addr: `1555000${1000 + reference}`, esm_class: 0x40, short_message: part })).command_status).toBe(0);
    }
    expect(texts).toEqual([]);
    await smsc.deliver({ source_addr: '15551234567', short_message: Buffer.from('after the junk') });
    expect(texts.map((text) => text.text)).toEqual(['after the junk']);
  });

  it('refuses an oversized deliver_sm and a malformed one with an error status, keeping the connection', async () => {
    const smsc = await startSmsc();
    const { texts } = await startChannel(smsc);
    const huge = new smpp.PDU('deliver_sm', { sequence_number: 9001, source_addr: '15551234567', message_payload: Buffer.alloc(40_000, 0x41) }).toBuffer();
    expect(huge.length).toBeGreaterThan(40_000);
    const refused = await smsc.sendRaw(huge, 9001);
    expect(refused).toMatchObject({ command: 'deliver_sm_resp', command_status: 0x02 });
    const lying = await smsc.sendRaw(rawDeliverSm(9002, Buffer.from('Hello'), 200), 9002);
    expect(lying).toMatchObject({ command: 'deliver_sm_resp', command_status: 0x02 });
    const big = new smpp.PDU('deliver_sm', { sequence_number: 9003, source_addr: '15551234567', data_coding: 3, message_payload: Buffer.alloc(15_000, 0x61) }).toBuffer();
    expect((await smsc.sendRaw(big, 9003)).command_status).toBe(0);
    expect((await smsc.deliver({ source_addr: '15551234567', short_message: Buffer.from('still here') })).command_status).toBe(0);
    expect(texts.map((text) => text.text.length)).toEqual([15_000, 10]);
    expect(smsc.binds).toHaveLength(1);
  });

  it('answers a deliver_sm as accepted even when the handler throws, and logs it', async () => {
    const smsc = await startSmsc();
    const { sms, logs } = await startChannel(smsc);
    sms.onText(async () => {
      throw new Error('storage is down');
    });
    expect((await smsc.deliver({ source_addr: '15551234567', short_message: Buffer.from('hello') })).command_status).toBe(0);
    expect(logs.some((line) => line.msg === 'handling a deliver_sm failed (answered as accepted)')).toBe(true);
    expect(smsc.boundSessions).toBe(1);
  });
});
