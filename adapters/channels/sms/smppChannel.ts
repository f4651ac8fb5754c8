/**
 * The SMS channel (issue 18) over SMPP 3.4, the protocol carriers and SMS aggregators speak: one transceiver bind per
 * process to the SMSC of Knock's SMPP account, kept alive with enquire_link and bound again (exponential backoff with
 * jitter) whenever the connection drops or the bind is refused. Forwards and verification codes go out as submit_sm
 * from Knock's service number, GSM-7 or UCS-2, concatenated when long (smsEncoding.ts), paced by the account's
 * throughput (tokenBucket.ts), with delivery receipts asked for and mapped back to what was sent
 * (deliveryReceipts.ts). The owner's replies to the service number come in as deliver_sm (moInbox.ts).
 *
 * @example
 *   const sms = new SmppChannel({ url: config.smppUrl, systemId: config.smppSystemId, password: config.smppPassword,
 *     sourceNumber: config.smsNumber, logger: logger.child({ channel: 'sms' }) });
 *   sms.onText(async (text) => routeInbound(text));
 *   sms.onReceipt(async (receipt) => outbox.settleReceipt(receipt));
 *   sms.start();
 *   const { externalId } = await sms.send(ownerChannel, forward);   // 'sms:<message id of the first part>'
 *   await sms.close();
 */
import type { Logger } from '../../../engine/logger.ts';
import type { Channel, ChannelPresence, ChannelReceipt, ForwardMessage, InboundText, OwnerChannel, TextSender } from '../../../engine/ports/channel.ts';
import { systemClock, systemTimers, type Clock, type Timers } from '../../../engine/ports/clock.ts';
import { readDeliverSm, type DeliverSm } from './deliverSm.ts';
import { readReceipt, ReceiptTracker } from './deliveryReceipts.ts';
import { forwardSms } from './forwardText.ts';
import { e164Of, MoInbox } from './moInbox.ts';
import { SmppConnection, ESME_RINVCMDID, ESME_RINVCMDLEN, type SmscRequest } from './smppConnection.ts';
import { DEFAULT_MAX_PARTS, encodeSms, type DefaultAlphabet } from './smsEncoding.ts';
import { SmsSendError, statusName, submitRefused } from './smsSendError.ts';
import { TokenBucket } from './tokenBucket.ts';
import { concatUdh, readUdh } from './udh.ts';

export { SmsSendError } from './smsSendError.ts';

export interface SmppChannelOptions {
  /** `smpp://host:port` (KNOCK_SMPP_URL). */
  url: string;
  /** The account's system_id and password (KNOCK_SMPP_SYSTEM_ID, KNOCK_SMPP_PASSWORD). */
  systemId: string;
  password: string;
  /** Knock's service number, E.164 (KNOCK_SMS_NUMBER): the sender of what Knock sends, where owners reply. */
  sourceNumber: string;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** SMS parts a second the account may submit. Default 10. */
  throughputPerSecond?: number;
  /** Keep-alive interval. Default 30 s. */
  enquireLinkMs?: number;
  /** First and longest wait before binding again. Defaults 1 s and 60 s. */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** How long a submit_sm (and a send waiting for a bind) may take. Default 10 s. */
  submitTimeoutMs?: number;
  /** The most parts of one forward; a longer forward is cut with an ellipsis. Default 6. */
  maxParts?: number;
  /** How the SMSC's `data_coding` 0 is read: GSM-7 (the standard) or Latin-1 (what some SMSCs send). Default GSM-7. */
  defaultAlphabet?: DefaultAlphabet;
  /** MO texts (parts) accepted from one number per minute. Default 20. */
  moPerMinute?: number;
  clock?: Clock;
  timers?: Timers;
  /** Jitter of the reconnect backoff, in [0, 1). Default Math.random. */
  random?: () => number;
}

/** Where the one connection to the SMSC stands. */
type Link =
  | { state: 'idle' }
  | { state: 'connecting' }
  | { state: 'bound'; connection: SmppConnection; cancelKeepAlive: () => void }
  | { state: 'waiting'; cancel: () => void }
  | { state: 'closed' };

interface BindWaiter {
  resolve: (connection: SmppConnection) => void;
  reject: (error: Error) => void;
  cancel: () => void;
}

const E164 = /^\+[1-9][0-9]{5,14}$/;
/** How long a deliver_sm's answer waits for the handler (Knock storing the text) before it is sent anyway. */
const HANDLER_WAIT_MS = 5000;

export class SmppChannel implements Channel, TextSender {
  readonly kind = 'sms' as const;
  private link: Link = { state: 'idle' };
  private readonly host: string;
  private readonly port: number;
  private readonly o: Required<Omit<SmppChannelOptions, 'url' | 'systemId' | 'password' | 'sourceNumber' | 'logger'>>;
  private readonly bucket: TokenBucket;
  private readonly receipts = new ReceiptTracker();
  private readonly inbox: MoInbox;
  private readonly bindWaiters = new Set<BindWaiter>();
  private attempt = 0;
  private lastBindError: string | null = null;
  private reference: number;
  private textHandler: ((text: InboundText) => Promise<void>) | null = null;
  private receiptHandler: ((receipt: ChannelReceipt) => Promise<void>) | null = null;

  constructor(private readonly options: SmppChannelOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'smpp:' || !url.hostname) throw new Error(`KNOCK_SMPP_URL must be smpp://host:port; got ${options.url}`);
    if (!E164.test(options.sourceNumber)) throw new Error(`KNOCK_SMS_NUMBER must be an E.164 number (+15551234567); got ${options.sourceNumber}`);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || 2775);
    this.o = {
      throughputPerSecond: 10,
      enquireLinkMs: 30_000,
      reconnectBaseMs: 1000,
      reconnectMaxMs: 60_000,
      submitTimeoutMs: 10_000,
      maxParts: DEFAULT_MAX_PARTS,
      defaultAlphabet: 'gsm7',
      moPerMinute: 20,
      clock: systemClock,
      timers: systemTimers,
      random: Math.random,
      ...stripUndefined(options),
    };
    this.bucket = new TokenBucket(this.o.throughputPerSecond, this.o.clock, this.o.timers);
    this.inbox = new MoInbox({ clock: this.o.clock, timers: this.o.timers, ratePerMinute: this.o.moPerMinute, defaultAlphabet: this.o.defaultAlphabet });
    this.reference = Math.floor(this.o.random() * 256);
  }

  /** Connects and binds, in the background; binds again by itself whenever the link is lost. Idempotent. */
  start(): void {
    if (this.link.state === 'idle') void this.connect();
  }

  /** Resolves once bound (at once if it is); rejects after `timeoutMs` with the last bind error, temporary. */
  async whenBound(timeoutMs = this.o.submitTimeoutMs): Promise<void> {
    await this.boundConnection(timeoutMs);
  }

  /** Sends the forward as one SMS (or a few concatenated parts); resolves with `sms:<first part's message_id>`. */
  async send(channel: OwnerChannel, message: ForwardMessage): Promise<{ externalId: string | null }> {
    const ids = await this.submit(channel.address, forwardSms(message, this.o.maxParts));
    const externalId = `sms:${ids[0]}`;
    this.receipts.track(externalId, ids);
    return { externalId };
  }

  /** Knock's service number (KNOCK_SMS_NUMBER). */
  get serviceNumber(): string {
    return this.options.sourceNumber;
  }

  /**
   * Any text to any number (issue 20: an owner's reply to a phone, a text passed on to the owner's phone), from the
   * service number or from `from`, a number hosted on the same account; encoded, split and paced as forwards are,
   * cut at `maxParts`. Its receipt comes to onReceipt as `sms:<first part's message_id>`, as a forward's does.
   */
  async sendText(to: string, text: string, options: { from?: string } = {}): Promise<{ externalId: string }> {
    const from = options.from ?? this.options.sourceNumber;
    if (!E164.test(from)) throw new SmsSendError(`"${from}" is not an E.164 phone number to send from.`, true);
    const ids = await this.submit(to, text, from);
    const externalId = `sms:${ids[0]}`;
    this.receipts.track(externalId, ids);
    return { externalId };
  }

  /** One SMS with the code; nothing can echo it. */
  async sendCode(channel: OwnerChannel, code: string): Promise<{ echoed: boolean }> {
    await this.submit(channel.address, `Your Knock verification code is ${code}`);
    return { echoed: false };
  }

  /** A short notice to the owner's phone (a reply that could not be posted, and why). */
  async say(channel: OwnerChannel, text: string): Promise<void> {
    await this.submit(channel.address, text);
  }

  presence(_channel: OwnerChannel): ChannelPresence {
    return 'unknown';
  }

  onText(handler: (text: InboundText) => Promise<void>): void {
    this.textHandler = handler;
  }

  onReceipt(handler: (receipt: ChannelReceipt) => Promise<void>): void {
    this.receiptHandler = handler;
  }

  /** Unbinds and disconnects; sends waiting for a bind or for throughput fail as temporary. Idempotent. */
  async close(): Promise<void> {
    const link = this.link;
    if (link.state === 'closed') return;
    this.link = { state: 'closed' };
    const closing = new SmsSendError('The SMS channel is closed (Knock is stopping).', false);
    this.bucket.close(closing);
    for (const waiter of this.bindWaiters) {
      waiter.cancel();
      waiter.reject(closing);
    }
    this.bindWaiters.clear();
    this.inbox.close();
    if (link.state === 'waiting') link.cancel();
    if (link.state !== 'bound') return;
    link.cancelKeepAlive();
    try {
      await link.connection.request('unbind', {}, Math.min(this.o.submitTimeoutMs, 2000));
    } catch (err) {
      this.options.logger.debug({ err }, 'SMSC did not answer unbind');
    }
    await link.connection.end();
  }

  private async connect(): Promise<void> {
    this.link = { state: 'connecting' };
    let connection: SmppConnection | null = null;
    try {
      connection = await SmppConnection.open({ host: this.host, port: this.port, connectTimeoutMs: this.o.submitTimeoutMs });
      connection.onRequest = (request) => this.onSmscRequest(connection!, request);
      const resp = await connection.request(
        'bind_transceiver',
        { system_id: this.options.systemId, password: this.options.password, system_type: '', interface_version: 0x34, addr_ton: 0, addr_npi: 0, address_range: '' },
        this.o.submitTimeoutMs,
      );
      if (resp.command_status !== 0) throw new Error(`the SMSC refused the bind as ${this.options.systemId}: ${statusName(resp.command_status)}`);
    } catch (err) {
      connection?.destroy('bind failed');
      this.lastBindError = err instanceof Error ? err.message : String(err);
      this.retryLater();
      return;
    }
    // close() may have run while the bind was under way.
    if ((this.link as Link).state === 'closed') {
      await connection.end();
      return;
    }
    this.bound(connection);
  }

  private bound(connection: SmppConnection): void {
    this.attempt = 0;
    this.lastBindError = null;
    this.link = { state: 'bound', connection, cancelKeepAlive: this.keepAlive(connection) };
    connection.onClose = (reason) => {
      if (this.link.state !== 'bound' || this.link.connection !== connection) return;
      this.link.cancelKeepAlive();
      this.lastBindError = `the SMPP connection was lost: ${reason}`;
      this.options.logger.warn({ reason }, 'SMPP connection lost; binding again');
      this.retryLater();
    };
    this.options.logger.info({ host: this.host, port: this.port, systemId: this.options.systemId }, 'bound to the SMSC as a transceiver');
    for (const waiter of this.bindWaiters) {
      waiter.cancel();
      waiter.resolve(connection);
    }
    this.bindWaiters.clear();
  }

  /** enquire_link every `enquireLinkMs`; no answer in time drops the connection (and so binds again). */
  private keepAlive(connection: SmppConnection): () => void {
    let cancel = () => undefined as void;
    const tick = () => {
      cancel = this.o.timers.after(this.o.enquireLinkMs, () => {
        connection.request('enquire_link', {}, this.o.submitTimeoutMs).then(tick, (err: Error) => {
          if (connection.isOpen) connection.destroy(`no enquire_link_resp: ${err.message}`);
        });
      });
    };
    tick();
    return () => cancel();
  }

  private retryLater(): void {
    if (this.link.state === 'closed') return;
    this.attempt++;
    const ceiling = Math.min(this.o.reconnectMaxMs, this.o.reconnectBaseMs * 2 ** Math.min(this.attempt - 1, 30));
    const delayMs = Math.round(ceiling * (0.5 + this.o.random() / 2));
    this.options.logger.warn({ error: this.lastBindError, attempt: this.attempt, retryInMs: delayMs }, 'not bound to the SMSC; trying again');
    this.link = { state: 'waiting', cancel: this.o.timers.after(delayMs, () => void this.connect()) };
  }

  private boundConnection(timeoutMs: number): Promise<SmppConnection> {
    const link = this.link;
    if (link.state === 'bound') return Promise.resolve(link.connection);
    if (link.state === 'closed') return Promise.reject(new SmsSendError('The SMS channel is closed (Knock is stopping).', false));
    return new Promise((resolve, reject) => {
      const waiter: BindWaiter = {
        resolve,
        reject,
        cancel: this.o.timers.after(timeoutMs, () => {
          this.bindWaiters.delete(waiter);
          const why = this.lastBindError ?? (link.state === 'idle' ? 'the channel was not started' : 'still connecting');
          reject(new SmsSendError(`Not bound to the SMSC within ${timeoutMs} ms (${why}).`, false));
        }),
      };
      this.bindWaiters.add(waiter);
    });
  }

  /** Submits `text` to `to` as one or more parts; resolves with each part's message_id. */
  private async submit(to: string, text: string, from = this.options.sourceNumber): Promise<string[]> {
    if (!E164.test(to)) throw new SmsSendError(`"${to}" is not an E.164 phone number (+15551234567).`, true);
    const { dataCoding, parts } = encodeSms(text, this.o.maxParts);
    this.reference = (this.reference + 1) % 256;
    const reference = this.reference;
    const ids: string[] = [];
    for (const [index, payload] of parts.entries()) {
      await this.bucket.take();
      const connection = await this.boundConnection(this.o.submitTimeoutMs);
      const concatenated = parts.length > 1;
      const fields = {
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: from.slice(1),
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: to.slice(1),
        esm_class: concatenated ? 0x40 : 0,
        registered_delivery: 1,
        data_coding: dataCoding,
        short_message: concatenated ? Buffer.concat([concatUdh(reference, parts.length, index + 1), payload]) : payload,
      };
      let resp;
      try {
        resp = await connection.request('submit_sm', fields, this.o.submitTimeoutMs);
      } catch (err) {
        throw new SmsSendError(`The SMS to ${to} was not accepted: ${(err as Error).message}`, false);
      }
      if (resp.command_status !== 0) {
        // "Not bound" from the SMSC: its idea of the session and ours differ; a fresh bind settles it.
        if (resp.command_status === 0x04) connection.destroy('the SMSC says the session is not bound');
        throw submitRefused(resp.command_status, to);
      }
      ids.push(String(resp.message_id ?? ''));
    }
    this.options.logger.debug({ to, parts: parts.length, dataCoding, ids }, 'SMS submitted');
    return ids;
  }

  private onSmscRequest(connection: SmppConnection, request: SmscRequest): void {
    if (request.kind === 'deliver_sm') {
      void this.onDeliverSm(connection, request.frame, request.sequenceNumber);
      return;
    }
    const { pdu } = request;
    if (pdu.command === 'enquire_link') connection.respond('enquire_link_resp', pdu.sequence_number);
    else if (pdu.command === 'unbind') {
      connection.respond('unbind_resp', pdu.sequence_number);
      void connection.end();
    } else if (pdu.command !== 'alert_notification') connection.respond('generic_nack', pdu.sequence_number, ESME_RINVCMDID);
  }

  /** Reads a deliver_sm, hands it on, and always answers it: status 0 unless the PDU itself is malformed. */
  private async onDeliverSm(connection: SmppConnection, frame: Buffer, sequenceNumber: number): Promise<void> {
    const read = readDeliverSm(frame);
    if (!read.ok) {
      this.options.logger.warn({ reason: read.reason }, 'malformed deliver_sm refused');
      connection.respond('deliver_sm_resp', sequenceNumber, ESME_RINVCMDLEN);
      return;
    }
    let cancelWait = () => undefined as void;
    try {
      const waited = new Promise<void>((resolve) => (cancelWait = this.o.timers.after(HANDLER_WAIT_MS, resolve)));
      await Promise.race([this.handleDeliverSm(read.pdu), waited]);
    } catch (err) {
      this.options.logger.error({ err }, 'handling a deliver_sm failed (answered as accepted)');
    } finally {
      cancelWait();
    }
    connection.respond('deliver_sm_resp', sequenceNumber, 0, { message_id: '' });
  }

  private async handleDeliverSm(pdu: DeliverSm): Promise<void> {
    const messageType = pdu.esmClass & 0x3c;
    if (messageType === 0x04) return this.handleReceipt(pdu);
    if (messageType !== 0) return; // SME acknowledgements and intermediate notifications: nothing to do.
    const from = e164Of(pdu.sourceAddr, pdu.sourceAddrTon);
    if (!from) {
      this.options.logger.warn({ source: pdu.sourceAddr.slice(0, 32), ton: pdu.sourceAddrTon }, 'SMS from a sender that is not a phone number dropped');
      return;
    }
    let body = pdu.message;
    let concat = pdu.sar;
    if (pdu.esmClass & 0x40) {
      const udh = readUdh(body);
      if (!udh.ok) {
        this.options.logger.warn({ from, reason: udh.reason }, 'SMS with a malformed UDH dropped');
        return;
      }
      body = body.subarray(udh.bodyOffset);
      concat = udh.concat ?? concat;
    }
    const accepted = this.inbox.accept({ from, dataCoding: pdu.dataCoding, body, concat });
    if (accepted.kind === 'dropped') this.options.logger.warn({ from, reason: accepted.reason }, 'SMS dropped');
    if (accepted.kind !== 'text') return;
    if (!this.textHandler) {
      this.options.logger.warn({ from }, 'SMS received with no handler for it');
      return;
    }
    // The destination tells Knock's service number from an owner's number hosted on the same account (issue 20).
    const to = e164Of(pdu.destinationAddr, pdu.destAddrTon);
    await this.textHandler({ kind: 'sms', from, to, text: accepted.text.text, threadId: null, externalId: accepted.text.externalId });
  }

  private async handleReceipt(pdu: DeliverSm): Promise<void> {
    const report = readReceipt(pdu.message.toString('latin1'), pdu.receiptedMessageId, pdu.messageState);
    if (!report) {
      this.options.logger.warn('delivery receipt without a message id ignored');
      return;
    }
    if (report.state === 'pending') return;
    const settled = this.receipts.settle(report.messageId, report.state, report.stat);
    if (!settled) return;
    if (!this.receiptHandler) return;
    await this.receiptHandler({ kind: 'sms', ...settled });
  }
}

/** Options without the keys set to undefined, so they do not override the defaults. */
function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
