/**
 * Email as a forwarding channel (issue 18): a forward is a mail to the owner's verified address through the relay of
 * issue 17 (adapters/channels/email/smtpRelay.ts), with the owner's reply address of the conversation as Reply-To
 * (engine/mail.ts ownerReplyAddress), so answering the mail answers the visitor. A verification code is mailed the
 * same way. Email knows no presence.
 *
 * @example
 *   const email = new EmailForwardChannel({ relay: () => relay, domain, replyAddressOf: (id) => mail.ownerReplyAddress(id) });
 *   await email.send(channel, forward);
 */
import { randomBytes } from 'node:crypto';
import type { Channel, ChannelPresence, ForwardMessage, OwnerChannel } from '../ports/channel.ts';
import { MailSendError, type MailRelay } from '../ports/mail.ts';

export interface EmailForwardChannelOptions {
  /** The relay, or null while none is configured (a forward then waits in the outbox, retried). */
  relay: () => MailRelay | null;
  /** The mail domain: forwards come from `knock@<domain>`. */
  domain: string;
  /** The owner's reply address of a conversation. */
  replyAddressOf: (conversationId: string) => Promise<string>;
}

export class EmailForwardChannel implements Channel {
  readonly kind = 'email' as const;

  constructor(private readonly options: EmailForwardChannelOptions) {}

  async send(channel: OwnerChannel, message: ForwardMessage): Promise<{ externalId: string | null }> {
    const relay = this.relayOrWait();
    const messageId = `knock.forward.${randomBytes(12).toString('hex')}@${this.options.domain}`;
    const quoted = message.texts.map((t) => `> ${t.replace(/\n/g, '\n> ')}`);
    await relay.send({
      from: { name: 'Knock', address: `knock@${this.options.domain}` },
      to: [{ name: '', address: channel.address }],
      replyTo: await this.options.replyAddressOf(message.conversationId),
      subject: `${message.visitorName} (${message.tag}) knocked while you were away`,
      text: [
        `${message.visitorName} wrote:`,
        '',
        ...quoted,
        '',
        `Reply to this email to answer ${message.visitorName}: your answer appears in the conversation.`,
        `Or answer at ${message.link}`,
      ].join('\n'),
      messageId,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    return { externalId: messageId };
  }

  async sendCode(channel: OwnerChannel, code: string): Promise<{ echoed: boolean }> {
    const relay = this.relayOrWait();
    await relay.send({
      from: { name: 'Knock', address: `knock@${this.options.domain}` },
      to: [{ name: '', address: channel.address }],
      subject: `Your Knock verification code: ${code}`,
      text: `Type ${code} under "Verification code" in Settings → Channels to receive knocks at this address.\n\nIf you did not ask for this, ignore this mail.`,
      messageId: `knock.code.${randomBytes(12).toString('hex')}@${this.options.domain}`,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    return { echoed: false };
  }

  presence(): ChannelPresence {
    return 'unknown';
  }

  async close(): Promise<void> {}

  private relayOrWait(): MailRelay {
    const relay = this.options.relay();
    if (relay === null) throw new MailSendError('No mail relay is configured (KNOCK_SMTP_RELAY_URL).', false, null);
    return relay;
  }
}
