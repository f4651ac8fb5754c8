/**
 * Settings → Phone number over HTTP (issue 20, engine/phoneNumbers.ts): the owner claims a number by a code sent to it
 * by SMS, and releases it. Who may: the owner at the console (a mail device token is refused: a stolen laptop config
 * must not move the owner's URL); for a company, its admins. Checks first, then does (CONVENTIONS 7).
 *
 *   GET    /_/api/phone                                  -> phoneAnswer
 *   POST   /_/api/phone          claimPhoneBody { number } -> phoneAnswer (a code was sent; `pending` names the number)
 *   POST   /_/api/phone/verify   { code }                -> phoneAnswer (the number is the account's)
 *   DELETE /_/api/phone                                  -> phoneAnswer (no number)
 */
import type { Auth } from '../auth.ts';
import type { PhoneNumbers } from '../phoneNumbers.ts';
import type { Account, Storage } from '../ports/storage.ts';
import { claimPhoneBody, verifyPhoneBody, type PhoneAnswer } from '../protocol.ts';
import type { RequestInfo } from './api.ts';
import { readJson, sendJson } from './io.ts';
import { Requesters } from './requesters.ts';
import { runMatched, type Handler } from './routing.ts';

/** A number or a code, and nothing else. */
const MAX_BODY_BYTES = 1024;

export interface PhoneApiDeps {
  storage: Storage;
  auth: Auth;
  phones: PhoneNumbers;
}

export class PhoneApi {
  private readonly requesters: Requesters;

  constructor(private readonly deps: PhoneApiDeps) {
    this.requesters = new Requesters(deps);
  }

  /** Routes the API above; false when no route matches. */
  route(r: RequestInfo, path: string): Promise<boolean> {
    return runMatched(this.match(r.req.method ?? 'GET', path, r));
  }

  private match(method: string, path: string, r: RequestInfo): Handler | null {
    if (path === '/_/api/phone') {
      if (method === 'GET') return async () => this.answer(r, await this.deps.phones.state(await this.console(r, false)));
      if (method === 'POST') return () => this.claim(r);
      if (method === 'DELETE') return async () => this.answer(r, await this.deps.phones.release(await this.console(r)));
    }
    if (method === 'POST' && path === '/_/api/phone/verify') return () => this.verify(r);
    return null;
  }

  /** The owner at the console; changing a company's number is for its admins. */
  private async console(r: RequestInfo, change = true): Promise<Account> {
    const owner = await this.requesters.requireOwner(r.req, {
      console: 'A mail device cannot change your phone number: use the console.',
      ...(change ? { admin: 'change its phone number' } : {}),
    });
    return owner.account;
  }

  private async claim(r: RequestInfo): Promise<void> {
    const account = await this.console(r);
    const { number } = await readJson(r.req, claimPhoneBody, MAX_BODY_BYTES);
    this.answer(r, await this.deps.phones.claim(account, number));
  }

  private async verify(r: RequestInfo): Promise<void> {
    const account = await this.console(r);
    const { code } = await readJson(r.req, verifyPhoneBody, MAX_BODY_BYTES);
    this.answer(r, await this.deps.phones.verify(account, code));
  }

  private answer(r: RequestInfo, answer: PhoneAnswer): void {
    sendJson(r.res, 200, answer, { 'Cache-Control': 'no-store' });
  }
}
