/**
 * The User Data Header of a concatenated SMS (3GPP TS 23.040 §9.2.3.24): written on each part Knock sends (IE 0x00,
 * an 8-bit reference) and read, defensively, from each part that comes in (IE 0x00, or IE 0x08 with a 16-bit
 * reference). A header that claims more octets than there are, or a part numbered outside 1..total, is malformed.
 *
 * @example
 *   concatUdh(0x2a, 3, 1);                 // <05 00 03 2a 03 01>
 *   readUdh(shortMessage);                 // { ok: true, bodyOffset: 6, concat: { reference: 42, total: 3, sequence: 1 } }
 */

/** Which concatenated message a part belongs to, and where. */
export interface ConcatInfo {
  reference: number;
  total: number;
  sequence: number;
}

export type UdhRead =
  | { ok: true; bodyOffset: number; concat: ConcatInfo | null }
  | { ok: false; reason: string };

/** The 6-octet UDH of part `sequence` of `total`, with an 8-bit `reference` shared by all parts. */
export function concatUdh(reference: number, total: number, sequence: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, reference & 0xff, total, sequence]);
}

/** Reads the UDH at the start of `message` (the UDHI bit of esm_class said there is one). */
export function readUdh(message: Uint8Array): UdhRead {
  const length = message[0];
  if (length === undefined || length === 0) return { ok: false, reason: 'empty UDH' };
  if (length + 1 > message.length) return { ok: false, reason: `UDH claims ${length} octets; the message has ${message.length - 1}` };
  let concat: ConcatInfo | null = null;
  for (let at = 1; at < length + 1; ) {
    const id = message[at];
    const size = message[at + 1];
    if (id === undefined || size === undefined || at + 2 + size > length + 1) return { ok: false, reason: 'an information element overruns the UDH' };
    const data = message.subarray(at + 2, at + 2 + size);
    if (id === 0x00 && size === 3) concat = { reference: data[0]!, total: data[1]!, sequence: data[2]! };
    else if (id === 0x08 && size === 4) concat = { reference: (data[0]! << 8) | data[1]!, total: data[2]!, sequence: data[3]! };
    else if (id === 0x00 || id === 0x08) return { ok: false, reason: `concatenation element of ${size} octets` };
    at += 2 + size;
  }
  if (concat && (concat.total === 0 || concat.sequence === 0 || concat.sequence > concat.total)) {
    return { ok: false, reason: `part ${concat.sequence} of ${concat.total}` };
  }
  return { ok: true, bodyOffset: length + 1, concat };
}
