/**
 * The mails of account safety (issue 22), to the account's verified address, through the outbox (so a relay that is
 * down, or a restart, delays them but loses none): the notice after every password change ("was this you?"), and the
 * recovery link `<public URL>/_/reset#<token>` (the token in the fragment, so it never reaches a server log or a
 * Referer). Jobs are made by the pure functions below, so the CLI, which has storage but no outbox loop, queues them
 * too (storage.enqueueJob): a running server's outbox sends them within KNOCK_OUTBOX_POLL_MS.
 *
 * The recovery job carries the link's token until it is sent, as the address verification job does (engine/mail.ts):
 * the mail must hold it. Storage keeps only its hash otherwise; the link works once, for 30 minutes.
 *
 * @example
 *   new SecurityMail({ storage, outbox, relay, clock, domain, publicUrl });           // sends the jobs
 *   await outbox.enqueue(passwordNoticeJob({ account, kind: 'password.changed', context, at: clock.now() }));
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { deviceName, type AuditContext } from './auditLog.ts';
import type { MailOutbox } from './mail.ts';
import type { Clock } from './ports/clock.ts';
import { MailSendError, type MailRelay } from './ports/mail.ts';
import type { Account, NewOutboxJob, OutboxJob, Storage } from './ports/storage.ts';

export const SecurityJob = { notice: 'mail.password_notice', recovery: 'mail.recovery_link' } as const;

/** What a password notice tells of. */
export type PasswordEvent = 'password.changed' | 'password.recovered';

const noticePayload = z.object({
  accountId: z.string(),
  event: z.enum(['password.changed', 'password.recovered']),
  at: z.number(),
  ip: z.string().nullable(),
  device: z.string().nullable(),
});
const recoveryPayload = z.object({ accountId: z.string(), token: z.string(), expiresAt: z.number() });

/** The job of the notice mailed after the account's password changed (`context`: where the change came from). */
export function passwordNoticeJob(input: { account: Account; event: PasswordEvent; context: AuditContext; at: number }): NewOutboxJob {
  const { account, event, context, at } = input;
  const payload: z.infer<typeof noticePayload> = { accountId: account.id, event, at, ip: context.ip, device: deviceName(context.userAgent) };
  return { kind: SecurityJob.notice, key: `${SecurityJob.notice}:${account.id}:${randomUUID()}`, payload, runAt: at, at };
}

/** The job of a recovery link's mail. */
export function recoveryLinkJob(input: { accountId: string; token: string; expiresAt: number; at: number }): NewOutboxJob {
  const { accountId, token, expiresAt, at } = input;
  const payload: z.infer<typeof recoveryPayload> = { accountId, token, expiresAt };
  return { kind: SecurityJob.recovery, key: `${SecurityJob.recovery}:${accountId}:${randomUUID()}`, payload, runAt: at, at };
}

export interface SecurityMailDeps {
  storage: Pick<Storage, 'getAccountById' | 'getAccountEmail'>;
  outbox: Pick<MailOutbox, 'handle'>;
  /** The relay, or null when none is configured: the mails wait in the outbox, retried, until one is. */
  relay: MailRelay | null;
  clock: Clock;
  /** Every URL's mail domain: the mails are from `knock@<domain>`. */
  domain: string;
  /** Where links in mail point: KNOCK_PUBLIC_URL, else the address the server listens at (no trailing slash). */
  publicUrl: () => string;
}

export class SecurityMail {
  constructor(private readonly deps: SecurityMailDeps) {
    deps.outbox.handle(SecurityJob.notice, (job) => this.sendNotice(job));
    deps.outbox.handle(SecurityJob.recovery, (job) => this.sendRecoveryLink(job));
  }

  private async sendNotice(job: OutboxJob): Promise<{ ref: string | null }> {
    const { accountId, event, at, ip, device } = noticePayload.parse(job.payload);
    const to = await this.recipientOf(accountId);
    if (!to) return { ref: null };
    const url = this.deps.publicUrl();
    const what = event === 'password.changed' ? 'was changed' : 'was set anew with a recovery link sent to this address';
    const where = [device ?? (ip === null ? 'the server\u2019s command line (by its operator)' : 'an unknown browser'), ip === null ? null : `at ${ip}`].filter(Boolean).join(' ');
    const ref = `knock.security.${job.id}@${this.deps.domain}`;
    await this.relayOrWait().send({
      from: { name: 'Knock', address: `knock@${this.deps.domain}` },
      to: [{ name: to.account.displayName, address: to.address }],
      subject: 'Your Knock password was changed',
      text: [
        `The password of ${url}/${to.account.handle} ${what} on ${new Date(at).toUTCString()}, from ${where}.`,
        'Every other session was logged out.',
        '',
        'If this was you, there is nothing more to do.',
        '',
        `If it was not you, someone else can sign in as you. Get a recovery link at ${url}/_/reset now: setting a new`,
        'password with it logs everyone out. Then look at Settings → Sessions and Settings → Audit log.',
      ].join('\n'),
      messageId: ref,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    return { ref };
  }

  private async sendRecoveryLink(job: OutboxJob): Promise<{ ref: string | null }> {
    const { accountId, token, expiresAt } = recoveryPayload.parse(job.payload);
    // Retried past its expiry (a relay down for long): the link would only disappoint.
    if (this.deps.clock.now() >= expiresAt) return { ref: null };
    const to = await this.recipientOf(accountId);
    if (!to) return { ref: null };
    const url = this.deps.publicUrl();
    const ref = `knock.recovery.${job.id}@${this.deps.domain}`;
    await this.relayOrWait().send({
      from: { name: 'Knock', address: `knock@${this.deps.domain}` },
      to: [{ name: to.account.displayName, address: to.address }],
      subject: 'Set a new password for Knock',
      text: [
        `Someone, hopefully you, asked to set a new password for ${url}/${to.account.handle}.`,
        '',
        `Open this link to choose it. It works once, until ${new Date(expiresAt).toUTCString()}:`,
        '',
        `${url}/_/reset#${token}`,
        '',
        'If you did not ask for this, ignore this mail: your password stays as it is.',
      ].join('\n'),
      messageId: ref,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    return { ref };
  }

  /** The account and its verified address, or null when either is gone (nothing to send, nothing to retry). */
  private async recipientOf(accountId: string): Promise<{ account: Account; address: string } | null> {
    const [account, email] = await Promise.all([this.deps.storage.getAccountById(accountId), this.deps.storage.getAccountEmail(accountId)]);
    return account && email && email.verifiedAt !== null ? { account, address: email.address } : null;
  }

  private relayOrWait(): MailRelay {
    // Temporary: the mail waits in the outbox until a relay is configured and the process restarted.
    if (this.deps.relay === null) throw new MailSendError('No mail relay is configured (KNOCK_SMTP_RELAY_URL).', false, null);
    return this.deps.relay;
  }
}
