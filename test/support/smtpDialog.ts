/**
 * A bare SMTP client for tests that must see every reply as the server sent it (codes at each stage, EHLO's
 * extensions, 8-bit bytes on the wire, many mails on one connection): one command, one reply, no retries, no
 * encoding on its behalf. Real clients (swaks, nodemailer) are used beside it for the rest.
 */
import net from 'node:net';

export interface SmtpReply {
  code: number;
  /** The reply's lines without their code (`250-SIZE 1024` -> `SIZE 1024`). */
  lines: string[];
  /** The whole reply as one line: `550 5.1.1 No such user here`. */
  text: string;
}

export interface SendOutcome {
  /** Where the mail stopped, or `sent` (250 after the dot). */
  stage: 'mail' | 'rcpt' | 'data' | 'sent';
  reply: SmtpReply;
  /** The replies to each RCPT TO, in order. */
  rcptReplies: SmtpReply[];
}

export class SmtpDialog {
  private buffer = '';
  private readonly replies: SmtpReply[] = [];
  private readonly waiting: Array<{ resolve: (r: SmtpReply) => void; reject: (e: Error) => void }> = [];
  private pendingLines: string[] = [];
  private ended: Error | null = null;
  /** Resolves when the server closes the connection. */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.take(chunk));
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.ended = new Error('The server closed the connection.');
        for (const w of this.waiting.splice(0)) w.reject(this.ended);
        resolve();
      });
    });
    socket.on('error', () => {
      // Reported through 'close' (a reset after the server's 421, for instance).
    });
  }

  /** Connects to 127.0.0.1:`port` (from `localAddress` when given) and reads the greeting. */
  static async open(port: number, options: { localAddress?: string } = {}): Promise<{ dialog: SmtpDialog; greeting: SmtpReply }> {
    const socket = net.connect({ host: '127.0.0.1', port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    const dialog = new SmtpDialog(socket);
    return { dialog, greeting: await dialog.reply() };
  }

  /** Sends one command line and reads its reply. */
  command(line: string): Promise<SmtpReply> {
    this.socket.write(Buffer.from(`${line}\r\n`, 'utf8'));
    return this.reply();
  }

  /** EHLO, with the extensions of its answer. */
  async ehlo(name = 'client.test'): Promise<string[]> {
    const reply = await this.command(`EHLO ${name}`);
    if (reply.code !== 250) throw new Error(`EHLO answered ${reply.text}`);
    return reply.lines.slice(1);
  }

  /** One mail transaction: MAIL FROM, every RCPT TO, DATA and the message (dot-stuffed here), stopping at a refusal. */
  async send(mail: { from: string; to: string[]; message: Buffer | string; mailParams?: string }): Promise<SendOutcome> {
    const params = mail.mailParams ? ` ${mail.mailParams}` : '';
    const mailReply = await this.command(`MAIL FROM:<${mail.from}>${params}`);
    if (mailReply.code !== 250) return { stage: 'mail', reply: mailReply, rcptReplies: [] };
    const rcptReplies: SmtpReply[] = [];
    for (const to of mail.to) rcptReplies.push(await this.command(`RCPT TO:<${to}>`));
    if (!rcptReplies.some((r) => r.code === 250)) {
      await this.command('RSET');
      return { stage: 'rcpt', reply: rcptReplies.at(-1)!, rcptReplies };
    }
    const dataReply = await this.command('DATA');
    if (dataReply.code !== 354) return { stage: 'data', reply: dataReply, rcptReplies };
    const body = typeof mail.message === 'string' ? Buffer.from(mail.message, 'utf8') : mail.message;
    const stuffed = Buffer.from(body.toString('latin1').replace(/(^|\r\n)\./g, '$1..'), 'latin1');
    const ending = body.subarray(-2).equals(Buffer.from('\r\n')) ? '.\r\n' : '\r\n.\r\n';
    this.socket.write(Buffer.concat([stuffed, Buffer.from(ending)]));
    const reply = await this.reply();
    return { stage: reply.code === 250 ? 'sent' : 'data', reply, rcptReplies };
  }

  async quit(): Promise<void> {
    if (this.ended === null) await this.command('QUIT').catch(() => undefined);
    this.socket.destroy();
    await this.closed;
  }

  /** Ends the connection without QUIT. */
  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  private reply(): Promise<SmtpReply> {
    const ready = this.replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private take(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\r\n')) >= 0) {
      const line = Buffer.from(this.buffer.slice(0, newline), 'latin1').toString('utf8');
      this.buffer = this.buffer.slice(newline + 2);
      this.pendingLines.push(line);
      if (line[3] === '-') continue;
      const lines = this.pendingLines;
      this.pendingLines = [];
      const reply: SmtpReply = { code: Number(line.slice(0, 3)), lines: lines.map((l) => l.slice(4)), text: lines.join(' ') };
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(reply);
      else this.replies.push(reply);
    }
  }
}
