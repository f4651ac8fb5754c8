/**
 * A carrier's SMSC on 127.0.0.1 for tests, played by the `smpp` package's own server (an independent implementation
 * of the other side: its decoder reads what Knock encodes). It checks system_id and password at bind, answers
 * submit_sm with message ids (or with the error statuses a test queues), records every PDU it got, pushes
 * deliver_sm (MO texts, delivery receipts, or raw octets) to the bound client, can drop every connection, and stops
 * with close().
 *
 * @example
 *   const smsc = await TestSmsc.start({ systemId: 'knock', password: 'secret' });
 *   // ... new SmppChannel({ url: smsc.url, systemId: 'knock', password: 'secret', ... })
 *   await smsc.until(() => smsc.submits[0]);
 *   await smsc.deliver({ source_addr: '15551234567', short_message: Buffer.from('Hi'), data_coding: 0 });
 *   await smsc.close();
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import smpp, { type PDU, type Server, type Session } from 'smpp';

export interface TestSmscOptions {
  systemId: string;
  password: string;
}

/** A submit_sm as the SMSC got it, and the message id it answered with (null when it answered an error). */
export interface ReceivedSubmit {
  pdu: PDU;
  messageId: string | null;
  status: number;
}

export class TestSmsc {
  /** Every bind tried, with what the SMSC answered. */
  readonly binds: { systemId: string; password: string; status: number }[] = [];
  readonly submits: ReceivedSubmit[] = [];
  /** Requests other than bind and submit_sm (enquire_link, unbind...), in order. */
  readonly requests: PDU[] = [];
  private readonly events = new EventEmitter();
  private readonly bound = new Set<Session>();
  private readonly queuedStatuses: number[] = [];
  private nextMessageId = 0x1000;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: TestSmscOptions,
  ) {}

  static async start(options: TestSmscOptions): Promise<TestSmsc> {
    const server = smpp.createServer({});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const smsc = new TestSmsc(server, `smpp://127.0.0.1:${(server.address() as AddressInfo).port}`, options);
    server.on('session', (session: Session) => smsc.serve(session));
    return smsc;
  }

  /** The next `count` submit_sm are answered with `status` (e.g. 0x58 ESME_RTHROTTLED). */
  answerSubmits(status: number, count = 1): void {
    for (let i = 0; i < count; i++) this.queuedStatuses.push(status);
  }

  /** Resolves with `check()`'s first truthy value, re-checked on every PDU the SMSC gets; rejects after `timeoutMs`. */
  until<T>(check: () => T | undefined | null | false, what = 'the expected PDUs', timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const test = () => {
        const value = check();
        if (!value) return false;
        clearTimeout(timer);
        this.events.off('change', test);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        this.events.off('change', test);
        reject(new Error(`The SMSC did not see ${what} within ${timeoutMs} ms.`));
      }, timeoutMs);
      if (!test()) this.events.on('change', test);
    });
  }

  /** Clients bound right now. */
  get boundSessions(): number {
    return this.bound.size;
  }

  /** Pushes a deliver_sm to the bound client; resolves with its deliver_sm_resp. */
  deliver(fields: Record<string, unknown>): Promise<PDU> {
    const session = this.session();
    return new Promise((resolve) => session.deliver_sm({ data_coding: 0, ...fields }, resolve));
  }

  /** Writes raw octets (a PDU the package would not build) and resolves with the response to `sequenceNumber`. */
  sendRaw(frame: Buffer, sequenceNumber: number): Promise<PDU> {
    const session = this.session();
    return new Promise((resolve) => {
      const onPdu = (pdu: PDU) => {
        if (!pdu.isResponse() || pdu.sequence_number !== sequenceNumber) return;
        session.off('pdu', onPdu);
        resolve(pdu);
      };
      session.on('pdu', onPdu);
      session.socket.write(frame);
    });
  }

  /** Sends enquire_link to the bound client; resolves with its answer. */
  enquireLink(): Promise<PDU> {
    const session = this.session();
    return new Promise((resolve) => session.send(new smpp.PDU('enquire_link', {}), resolve));
  }

  /** Cuts every connection, as a carrier's SMSC restarting does. */
  dropConnections(): void {
    for (const session of this.server.sessions) session.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private session(): Session {
    const [session] = this.bound;
    if (!session) throw new Error('No client is bound to the SMSC.');
    return session;
  }

  private serve(session: Session): void {
    session.on('error', () => undefined); // a client that vanishes mid-PDU; 'close' follows
    session.on('close', () => {
      this.bound.delete(session);
      this.events.emit('change');
    });
    session.on('pdu', (pdu: PDU) => {
      if (pdu.isResponse()) return;
      this.answer(session, pdu);
      this.events.emit('change');
    });
  }

  private answer(session: Session, pdu: PDU): void {
    switch (pdu.command) {
      case 'bind_transceiver': {
        const systemId = String(pdu.system_id);
        const password = String(pdu.password);
        const status = systemId !== this.options.systemId ? smpp.errors.ESME_RINVSYSID! : password !== this.options.password ? smpp.errors.ESME_RINVPASWD! : 0;
        this.binds.push({ systemId, password, status });
        session.send(pdu.response({ command_status: status, system_id: 'TestSMSC' }));
        if (status === 0) this.bound.add(session);
        return;
      }
      case 'submit_sm': {
        const status = this.queuedStatuses.shift() ?? 0;
        const messageId = status === 0 ? (this.nextMessageId++).toString(16) : null;
        this.submits.push({ pdu, messageId, status });
        session.send(pdu.response(status === 0 ? { message_id: messageId } : { command_status: status }));
        return;
      }
      case 'unbind':
        this.requests.push(pdu);
        session.send(pdu.response());
        this.bound.delete(session);
        return;
      default:
        this.requests.push(pdu);
        if (pdu.command !== 'generic_nack') session.send(pdu.response());
    }
  }
}

/** The text of a submit_sm of one part, as the SMSC's decoder read it (GSM-7 or UCS-2 decoded, UDH apart). */
export function smsText(submit: { pdu: PDU }): string {
  const message = (submit.pdu.short_message as { message?: string | Buffer } | undefined)?.message;
  return typeof message === 'string' ? message : message === undefined ? '' : message.toString('latin1');
}
