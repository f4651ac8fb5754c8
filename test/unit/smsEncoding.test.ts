/**
 * How texts become SMS parts (adapters/channels/sms/smsEncoding.ts, udh.ts): GSM-7 detection with the extension
 * table, the part counts at the 160/161 and 70/71 boundaries, characters never split between parts (surrogate pairs,
 * extension escapes), the part cap with its ellipsis, and decoding what comes in.
 */
import { describe, expect, it } from 'vitest';
import { decodeGsm7, decodeSms, encodeSms, gsm7Length, isGsm7 } from '../../adapters/channels/sms/smsEncoding.ts';
import { concatUdh, readUdh } from '../../adapters/channels/sms/udh.ts';
import { forwardSms } from '../../adapters/channels/sms/forwardText.ts';

const ucs2Text = (part: Buffer) => Buffer.from(part).swap16().toString('utf16le');

describe('GSM-7 detection', () => {
  it('takes the default alphabet and the extension table, and counts extension characters as two septets', () => {
    expect(isGsm7('Hello @ £5, é ü Ñ ΔΩ _ !')).toBe(true);
    expect(isGsm7('{[~]}|\\^€')).toBe(true);
    expect(gsm7Length('{[~]}|\\^€')).toBe(18);
    expect(gsm7Length('a€b')).toBe(4);
  });

  it('refuses characters outside it', () => {
    for (const text of ['ê', 'Привет', 'Γεια σου', '😀', '`', 'ç']) expect(isGsm7(text), text).toBe(false);
    expect(gsm7Length('Привет')).toBeNull();
  });
});

describe('splitting', () => {
  it('sends 160 GSM-7 septets as one SMS and 161 as two parts of at most 153', () => {
    expect(encodeSms('a'.repeat(160))).toMatchObject({ dataCoding: 0, truncated: false, parts: [Buffer.alloc(160, 0x61)] });
    const two = encodeSms('a'.repeat(161));
    expect(two.parts.map((part) => part.length)).toEqual([153, 8]);
  });

  it('counts an extension character as two: 159 letters and a € do not fit one SMS', () => {
    expect(encodeSms(`${'a'.repeat(158)}€`).parts).toHaveLength(1);
    expect(encodeSms(`${'a'.repeat(159)}€`).parts).toHaveLength(2);
  });

  it('never splits an extension character from its escape', () => {
    const { parts } = encodeSms(`${'a'.repeat(152)}€${'b'.repeat(20)}`);
    expect(parts[0]).toHaveLength(152);
    expect([...parts[1]!.subarray(0, 2)]).toEqual([0x1b, 0x65]);
    expect(parts.map((part) => decodeGsm7(part)).join('')).toBe(`${'a'.repeat(152)}€${'b'.repeat(20)}`);
  });

  it('sends 70 UCS-2 units as one SMS and 71 as two parts of at most 67', () => {
    const one = encodeSms('Ж'.repeat(70));
    expect(one).toMatchObject({ dataCoding: 8, truncated: false });
    expect(one.parts).toHaveLength(1);
    expect(one.parts[0]).toHaveLength(140);
    expect(encodeSms('Ж'.repeat(71)).parts.map((part) => part.length / 2)).toEqual([67, 4]);
  });

  it('counts a surrogate pair as two units and never splits it', () => {
    expect(encodeSms(`${'Ж'.repeat(68)}😀`).parts).toHaveLength(1); // 70 units
    expect(encodeSms(`${'Ж'.repeat(69)}😀`).parts).toHaveLength(2); // 71 units
    const text = `${'Ж'.repeat(66)}😀${'Ж'.repeat(10)}`;
    const { parts } = encodeSms(text);
    expect(parts.map(ucs2Text)).toEqual(['Ж'.repeat(66), `😀${'Ж'.repeat(10)}`]);
  });

  it('cuts a text beyond the part cap, ending with an ellipsis', () => {
    const gsm = encodeSms('a'.repeat(2000), 3);
    expect(gsm.truncated).toBe(true);
    expect(gsm.parts).toHaveLength(3);
    expect(decodeGsm7(gsm.parts[2]!).endsWith('...')).toBe(true);
    const ucs2 = encodeSms('Ж'.repeat(500), 2);
    expect(ucs2.parts.map(ucs2Text).join('')).toBe(`${'Ж'.repeat(133)}…`);
  });

  it('keeps the link and the reply instructions of a forward whose words are cut', () => {
    const text = forwardSms({ conversationId: 'c1', tag: '7', threadId: 't', visitorName: 'Ada', texts: ['Привет! '.repeat(200)], link: 'https://k.example/c/1' }, 6);
    expect(text.endsWith('…\nhttps://k.example/c/1\nReply here; start with #7 for this visitor.')).toBe(true);
    expect(encodeSms(text, 6)).toMatchObject({ truncated: false });
    expect(encodeSms(text, 6).parts).toHaveLength(6);
  });
});

describe('UDH', () => {
  it('writes and reads the 8-bit concatenation element, and reads the 16-bit one', () => {
    expect([...concatUdh(0x2a, 3, 1)]).toEqual([0x05, 0x00, 0x03, 0x2a, 0x03, 0x01]);
    expect(readUdh(Buffer.from([0x05, 0x00, 0x03, 0x2a, 0x03, 0x01, 0x41]))).toEqual({ ok: true, bodyOffset: 6, concat: { reference: 0x2a, total: 3, sequence: 1 } });
    expect(readUdh(Buffer.from([0x06, 0x08, 0x04, 0x01, 0x02, 0x02, 0x02]))).toEqual({ ok: true, bodyOffset: 7, concat: { reference: 0x0102, total: 2, sequence: 2 } });
  });

  it('refuses headers that overrun, and parts numbered outside 1..total', () => {
    for (const bytes of [[0x0a, 0x00, 0x03], [0x03, 0x00, 0x05, 0x01], [0x05, 0x00, 0x03, 0x01, 0x02, 0x03], [0x05, 0x00, 0x03, 0x01, 0x00, 0x00], [0x00], []]) {
      expect(readUdh(Buffer.from(bytes)).ok, JSON.stringify(bytes)).toBe(false);
    }
  });
});

describe('decoding', () => {
  it('reads GSM-7 septets, extension characters included', () => {
    expect(decodeSms(encodeSms('Price: 5€ {ok} @home').parts[0]!, 0)).toBe('Price: 5€ {ok} @home');
  });

  it('reads Latin-1 for data_coding 0 when a byte shows 8-bit text, or when told to', () => {
    expect(decodeSms(Buffer.from('Café', 'latin1'), 0)).toBe('Café');
    expect(decodeSms(Buffer.from('a@b_c', 'latin1'), 0, 'latin1')).toBe('a@b_c');
    expect(decodeSms(Buffer.from('a@b_c', 'latin1'), 0)).toBe('a¡b§c');
  });

  it('reads UCS-2 (dropping an odd last octet) and Latin-1, and nothing binary', () => {
    expect(decodeSms(Buffer.concat([Buffer.from('Привет 😀', 'utf16le').swap16(), Buffer.from([0x41])]), 8)).toBe('Привет 😀');
    expect(decodeSms(Buffer.from('Grüße', 'latin1'), 3)).toBe('Grüße');
    expect(decodeSms(Buffer.from([1, 2, 3]), 4)).toBeNull();
  });
});
