/**
 * Signing in with two factors (issue 22). A right password of an account with a second factor opens no session: it
 * gets a ticket (random, stored as its hash, bound to the account, 5 minutes, at most MAX_TICKET_TRIES answers), and
 * the ticket with one second factor gets the session, once. A made-up ticket is nobody's, so the second step cannot
 * be reached without the first. And a passkey alone signs in (it verified its user: two factors in one), through a
 * discoverable challenge any process can check.
 *
 * @example
 *   const due = await tickets.ticketFor(alice, relyingParty);     // null: no second factor, sign in now
 *   // { ticket, methods: ['totp', 'recovery'] } -> the browser asks for a code
 *   const { account, method } = await tickets.complete({ ticket, code: '492039' }, context); // method 'password+totp'
 */
import type { AuditContext } from '../auditLog.ts';
import { KnockError } from '../errors.ts';
import type { Account, RelyingParty, Storage } from '../ports/storage.ts';
import type { SecondFactorLogin, WebAuthnOptions } from '../protocol.ts';
import { webAuthnOf, type Challenges } from './challenges.ts';
import type { Passkeys, WebAuthnAnswer } from './passkeys.ts';
import type { Proof, SecondFactor } from './secondFactor.ts';

/** Answers one ticket takes before it is void (each wrong one also counts against the account: secondFactor.ts). */
export const MAX_TICKET_TRIES = 10;

/** How a sign-in was made, as the audit log's 'login' entry says it (detail.method). */
export type SignInMethod = 'password+totp' | 'password+recovery' | 'password+passkey' | 'passkey';

export interface LoginTicketsDeps {
  storage: Pick<Storage, 'getAccountById'>;
  secondFactor: SecondFactor;
  challenges: Challenges;
  passkeys: Passkeys;
}

export class LoginTickets {
  constructor(private readonly deps: LoginTicketsDeps) {}

  /** After a right password: null when no second factor is due, else a ticket and the second factors it takes. */
  async ticketFor(account: Account, relyingParty: RelyingParty): Promise<SecondFactorLogin | null> {
    const methods = await this.deps.secondFactor.methods(account.id);
    if (methods.length === 0) return null;
    const passkey = methods.includes('passkey') ? await this.deps.passkeys.optionsFor(account, relyingParty) : null;
    const ticket = await this.deps.challenges.issue('login', account.id, passkey ? { challenge: passkey.challenge, relyingParty } : null);
    return { ticket, methods, ...(passkey ? { passkey } : {}) };
  }

  /** The ticket's account once it gives a right second factor, and how; the ticket is then used up. */
  async complete(input: Proof & { ticket: string }, context: AuditContext): Promise<{ account: Account; method: SignInMethod }> {
    const { challenges } = this.deps;
    const ticket = await challenges.find(input.ticket, 'login');
    if ((await challenges.countTry(input.ticket, 'login')) > MAX_TICKET_TRIES) {
      await challenges.take(input.ticket, 'login').catch(() => undefined); // gone already is as good
      throw new KnockError('unauthorized', 'Too many wrong answers for this sign-in: log in with your password again.');
    }
    const account = ticket.accountId === null ? null : await this.deps.storage.getAccountById(ticket.accountId);
    if (!account) throw new KnockError('unauthorized', 'This sign-in has expired: log in with your password again.');
    const used = await this.deps.secondFactor.prove(account, input, context, async () => webAuthnOf(ticket));
    // Single use: of two right answers at once, the one that takes the ticket signs in.
    await challenges.take(input.ticket, 'login', account.id);
    return { account, method: `password+${used}` };
  }

  /** Options to sign in with any passkey of this server (no handle: the passkey says whose it is). */
  passkeyOptions(relyingParty: RelyingParty): Promise<WebAuthnOptions> {
    return this.deps.passkeys.assertionOptions('passkey.login', null, relyingParty);
  }

  /** The account whose passkey signed the challenge (used up, right or wrong). */
  async passkeySignIn(input: { challengeId: string; response: WebAuthnAnswer }): Promise<Account> {
    const made = await this.deps.challenges.take(input.challengeId, 'passkey.login');
    const key = await this.deps.passkeys.verifyAssertion(input.response, webAuthnOf(made), null);
    const account = await this.deps.storage.getAccountById(key.accountId);
    if (!account) throw new KnockError('unauthorized', 'This passkey is not one of this server\u2019s.');
    return account;
  }
}
