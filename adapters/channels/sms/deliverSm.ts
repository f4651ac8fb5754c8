/**
 * Reads a `deliver_sm` PDU (SMPP 3.4 §4.6.1) from its raw octets, bounded at every step: a field or TLV that runs
 * past the PDU's end is an error, never an exception or a read beyond it. Knock reads it itself rather than through
 * the smpp package's decoder because that decoder turns `data_coding` 0 into GSM characters octet by octet (so the
 * Latin-1 many SMSCs send there is lost) and leaves the UDH half-parsed; the raw short message is what we need.
 *
 * @example
 *   const read = readDeliverSm(frame);
 *   if (read.ok) console.log(read.pdu.sourceAddr, read.pdu.esmClass, read.pdu.shortMessage);
 */

/** The parts of a deliver_sm that Knock uses. */
export interface DeliverSm {
  sequenceNumber: number;
  sourceAddrTon: number;
  sourceAddr: string;
  destAddrTon: number;
  destinationAddr: string;
  esmClass: number;
  dataCoding: number;
  /** `short_message`, or the `message_payload` TLV when the short message is empty (then up to 64 KiB). */
  message: Buffer;
  /** TLV 0x001E, on delivery receipts. */
  receiptedMessageId: string | null;
  /** TLV 0x0427, on delivery receipts. */
  messageState: number | null;
  /** TLVs 0x020C/0x020E/0x020F: concatenation without a UDH. */
  sar: { reference: number; total: number; sequence: number } | null;
}

export type DeliverSmRead = { ok: true; pdu: DeliverSm } | { ok: false; reason: string };

class Malformed extends Error {}

/** A cursor over the PDU that refuses to move past its end. */
class Reader {
  constructor(
    private readonly frame: Buffer,
    public at: number,
  ) {}

  get remaining(): number {
    return this.frame.length - this.at;
  }

  int8(field: string): number {
    if (this.remaining < 1) throw new Malformed(`${field} is missing`);
    return this.frame[this.at++]!;
  }

  int16(field: string): number {
    if (this.remaining < 2) throw new Malformed(`${field} is missing`);
    const value = this.frame.readUInt16BE(this.at);
    this.at += 2;
    return value;
  }

  cstring(field: string, max: number): string {
    const end = this.frame.indexOf(0, this.at);
    if (end === -1 || end - this.at > max) throw new Malformed(`${field} is not a C string of at most ${max} octets`);
    const value = this.frame.toString('latin1', this.at, end);
    this.at = end + 1;
    return value;
  }

  octets(field: string, length: number): Buffer {
    if (this.remaining < length) throw new Malformed(`${field} claims ${length} octets; ${this.remaining} are left`);
    const value = this.frame.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }
}

/** Reads the deliver_sm in `frame` (header included; its length is the frame's). */
export function readDeliverSm(frame: Buffer): DeliverSmRead {
  try {
    const r = new Reader(frame, 16);
    const sequenceNumber = frame.readUInt32BE(12);
    r.cstring('service_type', 5);
    const sourceAddrTon = r.int8('source_addr_ton');
    r.int8('source_addr_npi');
    const sourceAddr = r.cstring('source_addr', 64);
    const destAddrTon = r.int8('dest_addr_ton');
    r.int8('dest_addr_npi');
    const destinationAddr = r.cstring('destination_addr', 64);
    const esmClass = r.int8('esm_class');
    r.int8('protocol_id');
    r.int8('priority_flag');
    r.cstring('schedule_delivery_time', 16);
    r.cstring('validity_period', 16);
    r.int8('registered_delivery');
    r.int8('replace_if_present_flag');
    const dataCoding = r.int8('data_coding');
    r.int8('sm_default_msg_id');
    let message = r.octets('short_message', r.int8('sm_length'));
    let receiptedMessageId: string | null = null;
    let messageState: number | null = null;
    const sar = { reference: -1, total: -1, sequence: -1 };
    while (r.remaining > 0) {
      const tag = r.int16('TLV tag');
      const value = r.octets(`TLV 0x${tag.toString(16)}`, r.int16('TLV length'));
      if (tag === 0x001e) receiptedMessageId = value.toString('latin1').replace(/\0.*$/s, '');
      else if (tag === 0x0427 && value.length === 1) messageState = value[0]!;
      else if (tag === 0x0424 && message.length === 0) message = value;
      else if (tag === 0x020c && value.length === 2) sar.reference = value.readUInt16BE(0);
      else if (tag === 0x020e && value.length === 1) sar.total = value[0]!;
      else if (tag === 0x020f && value.length === 1) sar.sequence = value[0]!;
    }
    const hasSar = sar.reference >= 0 && sar.total >= 0 && sar.sequence >= 0;
    return {
      ok: true,
      pdu: { sequenceNumber, sourceAddrTon, sourceAddr, destAddrTon, destinationAddr, esmClass, dataCoding, message, receiptedMessageId, messageState, sar: hasSar ? sar : null },
    };
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, reason: err.message };
    throw err;
  }
}
