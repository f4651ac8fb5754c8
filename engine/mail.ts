/**
 * Email in Knock (issue 17): what mail means for conversations. The SMTP server and the relay are adapters
 * (adapters/channels/email, behind engine/ports/mail.ts); this module decides where a mail goes (which account,
 * which conversation: threading by Message-ID, In-Reply-To, References, or a reply address `alice+c-<token>@domain`),
 * enters it through the ConversationLog, and queues what goes out (replies, notifications, verification links)
 * in the outbox (engine/outbox.ts).
 */
import type { Account, Conversation } from './ports/storage.ts';
import type { MessageRecord } from './protocol.ts';

/** What the HTTP layer (engine/http/mailApi.ts) asks of email. */
export interface MailActions {
  /** `alice@<mail domain>`. */
  addressOf(handle: string): string;
  /**
   * Sets the owner's address (unverified; a link to verify it is mailed through the outbox), or removes it (null).
   * Setting the address already set and verified changes nothing.
   */
  setOwnerEmail(account: Account, address: string | null): Promise<void>;
  /** "New email": an email conversation with `to` as its correspondent; the owner's messages in it are mailed. */
  newEmail(account: Account, input: { to: string; subject: string }): Promise<Conversation>;
  /** A message of the conversation as an RFC 5322 message (inbound mail as received; the rest composed), for a mail client. */
  messageAsMail(conversation: Conversation, message: MessageRecord): Promise<Buffer>;
}
