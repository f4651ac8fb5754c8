/**
 * One TCP connection to an SMSC, speaking SMPP 3.4 PDUs: framing, sequence numbers, requests awaiting their
 * responses (with a timeout), and the SMSC's own requests handed up. PDUs are encoded and decoded by the `smpp`
 * package's PDU class; the framing is ours because the package's Session stops reading for good after one PDU it
 * cannot parse (its `_busy` flag stays set, lib/smpp.js `_extractPDUs`) and throws on a PDU above 16 KiB. Here a
 * PDU that does not parse is answered with generic_nack (or deliver_sm_resp with an error) and the connection goes
 * on; an oversized one is skipped as it streams in (never buffered) and answered the same way. Only a length below
 * the 16-octet header, after which the stream cannot be framed, ends the connection.
 *
 * @example
 *   const connection = await SmppConnection.open({ host: '127.0.0.1', port: 2775, connectTimeoutMs: 5000 });
 *   connection.onRequest = (request) => { ... };
 *   const resp = await connection.request('enquire_link', {}, 10_000);
 *   await connection.end();
 */
import net from 'node:net';
import smpp, { type PDU } from 'smpp';

/** deliver_sm's command_id: handed up raw (deliverSm.ts reads it). */
export const DELIVER_SM = 0x00000005;
const GENERIC_NACK = 0x80000000;
const HEADER_OCTETS = 16;
/** The largest PDU read (the smpp package's own limit); bigger ones are skipped and refused. */
export const MAX_PDU_OCTETS = 16_384;
export const ESME_RINVCMDLEN = 0x02;
export const ESME_RINVCMDID = 0x03;

/** A request from the SMSC: a deliver_sm as its raw octets, anything else decoded. */
export type SmscRequest = { kind: 'deliver_sm'; frame: Buffer; sequenceNumber: number } | { kind: 'pdu'; pdu: PDU };

export interface SmppConnectionOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
}

interface Pending {
  resolve: (pdu: PDU) => void;
  reject: (error: Error) => void;
  cancel: () => void;
}

/** A request that got no response in time, or whose connection ended first. */
export class SmppRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmppRequestError';
  }
}

export class SmppConnection {
  /** The SMSC's requests; set before any arrive (the connection reads nothing until `open` resolved). */
  onRequest: (request: SmscRequest) => void = () => undefined;
  /** Called once, when the connection is gone, with why. */
  onClose: (reason: string) => void = () => undefined;
  private readonly pending = new Map<number, Pending>();
  private sequence = 0;
  private buffered: Buffer = Buffer.alloc(0);
  /** Octets of an oversized PDU still to be skipped. */
  private skipping = 0;
  private closeReason: string | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.closeReason ??= `connection error (${err.code ?? err.message})`;
    });
    socket.on('close', () => {
      const reason = (this.closeReason ??= 'the SMSC closed the connection');
      for (const pending of this.pending.values()) {
        pending.cancel();
        pending.reject(new SmppRequestError(`The SMPP connection ended before a response: ${reason}.`));
      }
      this.pending.clear();
      this.onClose(reason);
    });
  }

  /** Connects to the SMSC (TCP only; bind is the caller's first request). */
  static open(options: SmppConnectionOptions): Promise<SmppConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new SmppRequestError(`Cannot connect to the SMSC at ${options.host}:${options.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}.`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new SmppConnection(socket));
      });
    });
  }

  get isOpen(): boolean {
    return this.closeReason === null && !this.socket.destroyed;
  }

  /** Sends a request; resolves with its response (whatever its command_status: the caller judges it). */
  request(command: string, fields: Record<string, unknown>, timeoutMs: number): Promise<PDU> {
    if (!this.isOpen) return Promise.reject(new SmppRequestError(`The SMPP connection is closed (${this.closeReason ?? 'closing'}).`));
    this.sequence = this.sequence >= 0x7fffffff ? 1 : this.sequence + 1;
    const sequenceNumber = this.sequence;
    const frame = new smpp.PDU(command, { ...fields, sequence_number: sequenceNumber }).toBuffer();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(sequenceNumber);
        reject(new SmppRequestError(`The SMSC did not answer ${command} within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.pending.set(sequenceNumber, { resolve, reject, cancel: () => clearTimeout(timer) });
      this.socket.write(frame);
    });
  }

  /** Answers the SMSC's request `sequenceNumber` with `command` (e.g. deliver_sm_resp). */
  respond(command: string, sequenceNumber: number, status = 0, fields: Record<string, unknown> = {}): void {
    if (!this.isOpen) return;
    this.socket.write(new smpp.PDU(command, { ...fields, sequence_number: sequenceNumber, command_status: status }).toBuffer());
  }

  /** Half-closes and waits (at most `timeoutMs`) for the SMSC to close its side. */
  end(timeoutMs = 2000): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    this.closeReason ??= 'closed by Knock';
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end();
    });
  }

  /** Drops the connection at once. */
  destroy(reason: string): void {
    this.closeReason ??= reason;
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    if (this.skipping > 0) {
      const skipped = Math.min(this.skipping, chunk.length);
      this.skipping -= skipped;
      chunk = chunk.subarray(skipped);
      if (chunk.length === 0) return;
    }
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 4 && this.isOpen) {
      const length = this.buffered.readUInt32BE(0);
      if (length < HEADER_OCTETS) {
        this.destroy(`the SMSC sent a PDU of ${length} octets, shorter than a header: the stream cannot be framed`);
        return;
      }
      if (length > MAX_PDU_OCTETS) {
        if (this.buffered.length < HEADER_OCTETS) return;
        this.refuseOversized(this.buffered, length);
        const held = Math.min(length, this.buffered.length);
        this.skipping = length - held;
        this.buffered = this.buffered.subarray(held);
        continue;
      }
      if (this.buffered.length < length) return;
      // A copy: the frame outlives this chunk (a deliver_sm's text is kept while its parts are gathered).
      const frame = Buffer.from(this.buffered.subarray(0, length));
      this.buffered = this.buffered.subarray(length);
      this.handle(frame);
    }
  }

  private refuseOversized(header: Buffer, length: number): void {
    const commandId = header.readUInt32BE(4);
    const sequenceNumber = header.readUInt32BE(12);
    if (commandId & 0x80000000) {
      this.settle(sequenceNumber, new SmppRequestError(`The SMSC answered with a PDU of ${length} octets (at most ${MAX_PDU_OCTETS}).`));
      return;
    }
    this.respond(commandId === DELIVER_SM ? 'deliver_sm_resp' : 'generic_nack', sequenceNumber, ESME_RINVCMDLEN);
  }

  private handle(frame: Buffer): void {
    const commandId = frame.readUInt32BE(4);
    const sequenceNumber = frame.readUInt32BE(12);
    if (commandId === DELIVER_SM) {
      this.onRequest({ kind: 'deliver_sm', frame, sequenceNumber });
      return;
    }
    let pdu: PDU;
    try {
      pdu = new smpp.PDU(frame);
    } catch (err) {
      if (commandId & 0x80000000) this.settle(sequenceNumber, new SmppRequestError(`The SMSC's response could not be read: ${(err as Error).message}`));
      else this.respond('generic_nack', sequenceNumber, ESME_RINVCMDLEN);
      return;
    }
    if (commandId === GENERIC_NACK || pdu.isResponse()) this.settle(sequenceNumber, pdu);
    else if (pdu.command === 'unknown') this.respond('generic_nack', sequenceNumber, ESME_RINVCMDID);
    else this.onRequest({ kind: 'pdu', pdu });
  }

  private settle(sequenceNumber: number, outcome: PDU | Error): void {
    const pending = this.pending.get(sequenceNumber);
    if (!pending) return;
    this.pending.delete(sequenceNumber);
    pending.cancel();
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }
}
