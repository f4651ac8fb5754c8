/**
 * How a text becomes SMS parts and how SMS bytes become a text again (3GPP TS 23.038, SMPP 3.4 §5.2.19).
 *
 * A text whose every character is in the GSM 03.38 default alphabet (or its extension table, whose characters take
 * two septets: an escape and the character) goes as GSM-7, `data_coding` 0, one unpacked septet per octet as SMPP
 * carries it: 160 septets in one SMS, 153 per part of a concatenated one. Anything else goes as UCS-2 (`data_coding`
 * 8, UTF-16BE): 70 units in one SMS, 67 per part; a character outside the BMP (an emoji) takes two units and is never
 * split between parts, nor is an extension character's escape split from it. A text needing more than `maxParts`
 * parts is cut, ending with an ellipsis (`...` in GSM-7, `…` in UCS-2).
 *
 * @example
 *   const { dataCoding, parts } = encodeSms('Ada: Hi! Are you around?');   // 0, one part
 *   encodeSms('Привет, '.repeat(40)).parts.length;                          // 5 parts of 67 units
 *   decodeSms(Buffer.from([0x48, 0x69]), 0);                                // 'Hi'
 */

/** The GSM 03.38 default alphabet, by septet. */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1BÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** The extension table: character → the septet after the escape (0x1B). */
const GSM_EXTENSION: ReadonlyMap<string, number> = new Map([
  ['\f', 0x0a], ['^', 0x14], ['{', 0x28], ['}', 0x29], ['\\', 0x2f], ['[', 0x3c], ['~', 0x3d], [']', 0x3e], ['|', 0x40], ['€', 0x65],
]);
const ESCAPE = 0x1b;
const GSM_BASIC_SEPTET: ReadonlyMap<string, number> = new Map(
  [...GSM_BASIC].flatMap((char, septet) => (septet === ESCAPE ? [] : [[char, septet] as const])),
);
const GSM_EXTENSION_CHAR: ReadonlyMap<number, string> = new Map([...GSM_EXTENSION].map(([char, septet]) => [septet, char]));

/** SMPP `data_coding` values Knock sends. */
export const DATA_CODING_GSM7 = 0;
export const DATA_CODING_UCS2 = 8;

/** Capacity of one SMS and of one part of a concatenated SMS (the UDH takes 6 octets). */
export const GSM7_SINGLE = 160;
export const GSM7_PART = 153;
export const UCS2_SINGLE = 70;
export const UCS2_PART = 67;
/** The default cap on the parts of one text (each part is billed as one SMS). */
export const DEFAULT_MAX_PARTS = 6;

/** A text encoded for SMS: the payload of each part, without its UDH. */
export interface EncodedSms {
  dataCoding: typeof DATA_CODING_GSM7 | typeof DATA_CODING_UCS2;
  parts: Buffer[];
  /** The text needed more than `maxParts` parts and was cut (ending with an ellipsis). */
  truncated: boolean;
}

/** The septets of one character in GSM-7, or null when the alphabet lacks it. */
function gsmSeptets(char: string): number[] | null {
  const basic = GSM_BASIC_SEPTET.get(char);
  if (basic !== undefined) return [basic];
  const extension = GSM_EXTENSION.get(char);
  return extension === undefined ? null : [ESCAPE, extension];
}

/** Whether every character is in the GSM default alphabet or its extension table. */
export function isGsm7(text: string): boolean {
  for (const char of text) if (gsmSeptets(char) === null) return false;
  return true;
}

/** The septets `text` takes in GSM-7 (extension characters count two), or null when it is not GSM-7. */
export function gsm7Length(text: string): number | null {
  let length = 0;
  for (const char of text) {
    const septets = gsmSeptets(char);
    if (septets === null) return null;
    length += septets.length;
  }
  return length;
}

/** One character as the units it takes in the chosen coding (septets, or UTF-16BE octets). */
type Unit = number[];

function unitsOf(chars: string[], gsm: boolean): Unit[] {
  if (gsm) return chars.map((char) => gsmSeptets(char) ?? []);
  return chars.map((char) => [...Buffer.from(char, 'utf16le').swap16()]);
}

/** Splits characters into parts of at most `capacity` (in weight), never splitting one; null beyond `maxParts`. */
function chunk(units: Unit[], capacity: number, weight: (unit: Unit) => number, maxParts: number): Unit[][] | null {
  const parts: Unit[][] = [];
  let current: Unit[] = [];
  let used = 0;
  for (const unit of units) {
    const w = weight(unit);
    if (used + w > capacity) {
      parts.push(current);
      if (parts.length >= maxParts) return null;
      current = [];
      used = 0;
    }
    current.push(unit);
    used += w;
  }
  parts.push(current);
  return parts;
}

/**
 * Encodes `text` as SMS parts: GSM-7 when it can, else UCS-2; concatenated parts when it does not fit one SMS;
 * at most `maxParts` parts, cut with an ellipsis beyond.
 */
export function encodeSms(text: string, maxParts = DEFAULT_MAX_PARTS): EncodedSms {
  const gsm = isGsm7(text);
  const dataCoding = gsm ? DATA_CODING_GSM7 : DATA_CODING_UCS2;
  const [single, perPart] = gsm ? [GSM7_SINGLE, GSM7_PART] : [UCS2_SINGLE, UCS2_PART];
  // Septets weigh one each; UCS-2 octets come in pairs, and a capacity counts UTF-16 units.
  const weight = gsm ? (unit: Unit) => unit.length : (unit: Unit) => unit.length / 2;
  const chars = [...text];
  const units = unitsOf(chars, gsm);
  const total = units.reduce((sum, unit) => sum + weight(unit), 0);
  const toBuffers = (parts: Unit[][]) => parts.map((part) => Buffer.from(part.flat()));
  if (total <= single) return { dataCoding, parts: toBuffers([units]), truncated: false };
  const whole = chunk(units, perPart, weight, maxParts);
  if (whole) return { dataCoding, parts: toBuffers(whole), truncated: false };
  // Too long: the longest prefix that fits with the ellipsis. Every unit weighs at least one, so no more than
  // maxParts * perPart characters can fit, and each shorter try loses at most a few characters to the boundaries.
  const ellipsis = unitsOf([...(gsm ? '...' : '…')], gsm);
  for (let keep = Math.min(units.length, maxParts * perPart); keep > 0; keep--) {
    const parts = chunk([...units.slice(0, keep), ...ellipsis], perPart, weight, maxParts);
    if (parts) return { dataCoding, parts: toBuffers(parts), truncated: true };
  }
  return { dataCoding, parts: toBuffers([ellipsis]), truncated: true };
}

/** How bytes with `data_coding` 0 (the SMSC's default alphabet) are read. */
export type DefaultAlphabet = 'gsm7' | 'latin1';

/** Decodes unpacked GSM-7 septets; an unknown escape shows its basic character (TS 23.038 §6.2.1.1). */
export function decodeGsm7(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) {
    const septet = bytes[i]! & 0x7f;
    if (septet === ESCAPE) {
      const next = bytes[i + 1];
      if (next === undefined) break;
      i++;
      text += GSM_EXTENSION_CHAR.get(next & 0x7f) ?? GSM_BASIC[next & 0x7f];
    } else {
      text += GSM_BASIC[septet];
    }
  }
  return text;
}

/**
 * Decodes the text of a received SMS by its `data_coding`: 0 GSM-7 (or Latin-1, when `defaultAlphabet` says so or a
 * byte above 0x7F shows the SMSC sent 8-bit text, as many do), 1 ASCII, 3 Latin-1, 8 UCS-2; null for a coding that
 * is not text (binary, or one Knock does not read).
 */
export function decodeSms(bytes: Buffer, dataCoding: number, defaultAlphabet: DefaultAlphabet = 'gsm7'): string | null {
  switch (dataCoding) {
    case 0:
      return defaultAlphabet === 'latin1' || bytes.some((byte) => byte > 0x7f) ? bytes.toString('latin1') : decodeGsm7(bytes);
    case 1: // IA5 (ASCII)
    case 3:
      return bytes.toString('latin1');
    case 8:
      // An odd last octet cannot be a UTF-16 unit: dropped.
      return Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2))).swap16().toString('utf16le');
    default:
      return null;
  }
}
