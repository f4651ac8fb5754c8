/**
 * Passkeys (WebAuthn, through @simplewebauthn/server): registering one for an account, and checking a signed answer.
 * Every passkey is discoverable (residentKey 'required': it signs in without a handle typed) and verifies its user
 * (userVerification 'required': a PIN or a fingerprint), so a passkey alone is two factors: something held and
 * something known or been. Attestation is 'none': Knock trusts no vendor list, only the key it was given.
 *
 * @example
 *   const { challengeId, options } = await passkeys.registrationOptions(alice, relyingParty);
 *   // the browser: startRegistration({ optionsJSON: options }) -> response
 *   await passkeys.register(alice, { challengeId, name: 'Laptop', response });
 *   const key = await passkeys.verifyAssertion(answer, webAuthnOf(challenge), null); // whose passkey signed, or `unauthorized`
 */
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { KnockError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Account, PasskeyRecord, RelyingParty, SecondFactorChallengeKind, Storage } from '../ports/storage.ts';
import type { PasskeyView, WebAuthnOptions } from '../protocol.ts';
import { webAuthnOf, type Challenges, type WebAuthnChallenge } from './challenges.ts';

/** What the authenticator shows the person as the site. */
const RP_NAME = 'Knock';

/** A signed answer as the protocol's webAuthnCredential checked its shape; @simplewebauthn/server checks the rest. */
export type WebAuthnAnswer = Record<string, unknown>;

export interface PasskeysDeps {
  storage: Storage;
  clock: Clock;
  challenges: Challenges;
}

export class Passkeys {
  constructor(private readonly deps: PasskeysDeps) {}

  /**
   * The WebAuthn library, loaded at the first passkey ceremony: it takes about a third of a second to load, which every
   * CLI command and every process start would otherwise pay.
   */
  private webAuthn: Promise<typeof import('@simplewebauthn/server')> | null = null;
  private library(): Promise<typeof import('@simplewebauthn/server')> {
    this.webAuthn ??= import('@simplewebauthn/server');
    return this.webAuthn;
  }

  async list(accountId: string): Promise<PasskeyView[]> {
    return (await this.deps.storage.listPasskeys(accountId)).map(({ id, name, createdAt, lastUsedAt }) => ({ id, name, createdAt, lastUsedAt }));
  }

  /** Options to make a new passkey for the account (not one it has: they are excluded), and their challenge's id. */
  async registrationOptions(account: Account, relyingParty: RelyingParty): Promise<WebAuthnOptions> {
    const existing = await this.deps.storage.listPasskeys(account.id);
    const options = await (await this.library()).generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: relyingParty.id,
      userName: account.handle,
      // The user handle the authenticator keeps: the account's random id, never anything personal.
      userID: new TextEncoder().encode(account.id),
      userDisplayName: account.displayName,
      attestationType: 'none',
      excludeCredentials: existing.map((k) => ({ id: k.credentialId, transports: k.transports })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    const challengeId = await this.deps.challenges.issue('passkey.add', account.id, { challenge: options.challenge, relyingParty });
    return { challengeId, options: { ...options } };
  }

  /** Checks the browser's answer to registrationOptions and keeps the new passkey under `name`. */
  async register(account: Account, input: { challengeId: string; name: string; response: WebAuthnAnswer }): Promise<PasskeyRecord> {
    const made = await this.deps.challenges.take(input.challengeId, 'passkey.add', account.id);
    const { challenge, relyingParty } = webAuthnOf(made);
    const verified = await (await this.library()).verifyRegistrationResponse({
      response: input.response as unknown as RegistrationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: relyingParty.origins,
      expectedRPID: relyingParty.id,
      requireUserVerification: true,
    }).catch((err: unknown) => {
      throw new KnockError('bad_request', `The passkey could not be added: ${reason(err)}`);
    });
    if (!verified.verified) throw new KnockError('bad_request', 'The passkey could not be added: its answer did not verify.');
    const { credential } = verified.registrationInfo;
    return this.deps.storage.addPasskey({
      accountId: account.id,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports ?? [],
      name: input.name,
      createdAt: this.deps.clock.now(),
    });
  }

  /**
   * Options to sign with a passkey, and their challenge's id: any discoverable passkey for a sign-in with a passkey
   * alone (`account` null), else one of the account's.
   */
  async assertionOptions(kind: Exclude<SecondFactorChallengeKind, 'login' | 'passkey.add'>, account: Account | null, relyingParty: RelyingParty): Promise<WebAuthnOptions> {
    const options = await this.optionsFor(account, relyingParty);
    const challengeId = await this.deps.challenges.issue(kind, account?.id ?? null, { challenge: options.challenge, relyingParty });
    return { challengeId, options };
  }

  /** Options (with a new challenge) to sign with one of the account's passkeys, or with any when `account` is null. */
  async optionsFor(account: Account | null, relyingParty: RelyingParty): Promise<WebAuthnOptions['options']> {
    const keys = account ? await this.deps.storage.listPasskeys(account.id) : [];
    const options = await (await this.library()).generateAuthenticationOptions({
      rpID: relyingParty.id,
      userVerification: 'required',
      ...(account ? { allowCredentials: keys.map((k) => ({ id: k.credentialId, transports: k.transports })) } : {}),
    });
    return { ...options };
  }

  /**
   * The passkey that signed `answer` to `challenge`, its use recorded (counter and time); `unauthorized` when the
   * passkey is unknown, not `accountId`'s (when given), or its answer does not verify.
   */
  async verifyAssertion(answer: WebAuthnAnswer, challenge: WebAuthnChallenge, accountId: string | null): Promise<PasskeyRecord> {
    const response = answer as unknown as AuthenticationResponseJSON;
    const key = await this.deps.storage.getPasskeyByCredential(response.id);
    if (!key || (accountId !== null && key.accountId !== accountId)) throw new KnockError('unauthorized', 'This passkey is not one of this account\u2019s.');
    // The user handle the authenticator keeps, when it says it, must be the one registered with the key.
    const userHandle = response.response?.userHandle;
    if (userHandle && Buffer.from(userHandle, 'base64url').toString('utf8') !== key.accountId) {
      throw new KnockError('unauthorized', 'This passkey is not one of this account\u2019s.');
    }
    const verified = await (await this.library()).verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge.challenge,
      expectedOrigin: challenge.relyingParty.origins,
      expectedRPID: challenge.relyingParty.id,
      credential: { id: key.credentialId, publicKey: Buffer.from(key.publicKey, 'base64url'), counter: key.counter, transports: key.transports },
      requireUserVerification: true,
    }).catch((err: unknown) => {
      throw new KnockError('unauthorized', `The passkey\u2019s answer was refused: ${reason(err)}`);
    });
    if (!verified.verified) throw new KnockError('unauthorized', 'The passkey\u2019s answer was refused.');
    const at = this.deps.clock.now();
    // Two answers racing with one counter value: only the first moves it (a cloned authenticator shows this way too).
    if (!(await this.deps.storage.usePasskey(key.id, { previous: key.counter, counter: verified.authenticationInfo.newCounter, at }))) {
      throw new KnockError('unauthorized', 'This passkey was used at the same moment elsewhere: try again.');
    }
    return { ...key, counter: verified.authenticationInfo.newCounter, lastUsedAt: at };
  }

  async rename(accountId: string, id: string, name: string): Promise<PasskeyRecord> {
    const renamed = await this.deps.storage.renamePasskey(accountId, id, name);
    if (!renamed) throw noPasskey();
    return renamed;
  }

  async remove(accountId: string, id: string): Promise<PasskeyRecord> {
    const removed = await this.deps.storage.removePasskey(accountId, id);
    if (!removed) throw noPasskey();
    return removed;
  }
}

const noPasskey = (): KnockError => new KnockError('not_found', 'There is no such passkey.');

/** @simplewebauthn's errors say precisely what was wrong ("Unexpected authentication response origin …"). */
function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
