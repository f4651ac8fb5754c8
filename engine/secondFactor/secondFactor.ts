/**
 * Two-factor sign-in (issue 22, OWASP ASVS level 2; modelled on GitHub's): an authenticator app (TOTP), passkeys, and
 * ten recovery codes made when the first of them is turned on. What Settings → Two-factor sign-in, the login's second
 * step (engine/secondFactor/loginTickets.ts) and other confirmations (deleting the account) go through.
 *
 * The rules every second factor given here is held to (`prove`):
 * - a code of the app is accepted for the step before, the current and the next (30 s each), compared in constant
 *   time, and never for a step at or before the last one accepted (a code seen over a shoulder is spent);
 * - an account gets at most rateLimits.secondFactorTries wrong answers in its window (5 in 15 minutes), counted in
 *   storage so every process counts the same: over it codes are refused, right or wrong ("Too many wrong codes. Wait
 *   15 minutes or use a recovery code."); recovery codes (50 random bits each) and passkeys still work;
 * - a recovery code works once; a wrong answer is written in the audit log (`second_factor.failed`).
 *
 * @example
 *   const { secret, uri } = await secondFactor.enrolTotp(alice, 'chat.example.com'); // a QR code of `uri`
 *   const { recoveryCodes } = await secondFactor.confirmTotp(alice, '492039', context); // shown once
 *   await secondFactor.confirmSecondFactor(alice.id, { code: '118204' }, context);     // or throws
 */
import type { AuditContext, AuditLog } from '../auditLog.ts';
import { CLI_CONTEXT } from '../auditLog.ts';
import type { RateLimitConfig } from '../config.ts';
import { KnockError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Account, Storage } from '../ports/storage.ts';
import type { SecondFactorAnswer, SecondFactorChange, SecondFactorMethod, SecondFactorProof, TotpEnrolment } from '../protocol.ts';
import { webAuthnOf, type Challenges, type WebAuthnChallenge } from './challenges.ts';
import type { Passkeys, WebAuthnAnswer } from './passkeys.ts';
import { newRecoveryCodes, normalRecoveryCode, recoveryCodeHash } from './recoveryCodes.ts';
import { matchingStep, newTotpSecret, totpUri } from './totp.ts';

export interface SecondFactorDeps {
  storage: Storage;
  clock: Clock;
  audit: Pick<AuditLog, 'record'>;
  challenges: Challenges;
  passkeys: Passkeys;
  /** rateLimits.secondFactorTries: wrong answers one account may get in a window. */
  tries: RateLimitConfig;
}

/** The answers `prove` takes, as the protocol's secondFactorProof (a passkey's answer is checked by Passkeys). */
export type Proof = Omit<SecondFactorProof, 'passkey'> & { passkey?: WebAuthnAnswer | undefined };

export class SecondFactor {
  constructor(private readonly deps: SecondFactorDeps) {}

  /** What is on for the account (Settings). */
  async state(accountId: string): Promise<SecondFactorAnswer> {
    const { storage } = this.deps;
    const [totp, recoveryCodesLeft, passkeys] = await Promise.all([storage.getTotp(accountId), storage.countRecoveryCodes(accountId), this.deps.passkeys.list(accountId)]);
    return { totp: totp?.confirmedAt != null, recoveryCodesLeft, passkeys };
  }

  /** The second factors the account may sign in with now; none when two-factor sign-in is off. */
  async methods(accountId: string): Promise<SecondFactorMethod[]> {
    const state = await this.state(accountId);
    if (!state.totp && state.passkeys.length === 0) return [];
    const on: Record<SecondFactorMethod, boolean> = { totp: state.totp, recovery: state.recoveryCodesLeft > 0, passkey: state.passkeys.length > 0 };
    return (['totp', 'recovery', 'passkey'] as const).filter((m) => on[m]);
  }

  // --- the authenticator app ----------------------------------------------------------------------------------------
  /** A new secret for an app, pending until confirmTotp; `host` names this server in the app ("Knock (<host>)"). */
  async enrolTotp(account: Account, host: string): Promise<TotpEnrolment> {
    const secret = newTotpSecret();
    if (!(await this.deps.storage.putPendingTotp(account.id, secret, this.deps.clock.now()))) {
      throw new KnockError('conflict', 'An authenticator app is on already: turn it off first to use another.');
    }
    return { secret, uri: totpUri(secret, `Knock (${host})`, account.handle) };
  }

  /** The app's first code turns it on; resolves with new recovery codes (shown once). */
  async confirmTotp(account: Account, code: string, context: AuditContext): Promise<SecondFactorChange> {
    const { storage, clock } = this.deps;
    const totp = await storage.getTotp(account.id);
    if (!totp) throw new KnockError('bad_request', 'Add an authenticator app first.');
    if (totp.confirmedAt !== null) throw new KnockError('conflict', 'Your authenticator app is on already.');
    const step = matchingStep(totp.secret, code.replace(/\s/g, ''), clock.now());
    if (step === null || !(await storage.acceptTotpStep(account.id, step, { pending: true, at: clock.now() }))) {
      throw new KnockError('bad_request', `That is not the app\u2019s current code. Check that it shows ${account.handle} and type the code it shows now.`);
    }
    await this.deps.audit.record(account.id, 'totp.enabled', context);
    return { recoveryCodes: await this.freshRecoveryCodes(account, context), state: await this.state(account.id) };
  }

  /** Turns the app off, after a second factor (the caller has checked the password). */
  async turnOffTotp(account: Account, proof: Proof, context: AuditContext): Promise<SecondFactorChange> {
    const totp = await this.deps.storage.getTotp(account.id);
    if (totp?.confirmedAt == null) throw new KnockError('bad_request', 'Your authenticator app is not on.');
    await this.prove(account, proof, context, () => this.confirmationChallenge(account, proof));
    await this.deps.storage.removeTotp(account.id);
    await this.dropRecoveryCodesIfOff(account.id);
    await this.deps.audit.record(account.id, 'totp.disabled', context);
    return { recoveryCodes: null, state: await this.state(account.id) };
  }

  /** New recovery codes in place of the old ones, after a second factor. */
  async regenerateRecoveryCodes(account: Account, proof: Proof, context: AuditContext): Promise<SecondFactorChange> {
    if ((await this.methods(account.id)).length === 0) throw new KnockError('bad_request', 'Turn on two-factor sign-in first.');
    await this.prove(account, proof, context, () => this.confirmationChallenge(account, proof));
    return { recoveryCodes: await this.freshRecoveryCodes(account, context), state: await this.state(account.id) };
  }

  // --- passkeys ----------------------------------------------------------------------------------------------------
  /** Keeps a passkey the browser made (Passkeys.registrationOptions); the first second factor brings recovery codes. */
  async addPasskey(account: Account, input: { challengeId: string; name: string; response: WebAuthnAnswer }, context: AuditContext): Promise<SecondFactorChange> {
    const key = await this.deps.passkeys.register(account, input);
    await this.deps.audit.record(account.id, 'passkey.added', context, { name: key.name });
    const recoveryCodes = (await this.deps.storage.countRecoveryCodes(account.id)) === 0 ? await this.freshRecoveryCodes(account, context) : null;
    return { recoveryCodes, state: await this.state(account.id) };
  }

  async renamePasskey(account: Account, id: string, name: string): Promise<SecondFactorChange> {
    await this.deps.passkeys.rename(account.id, id, name);
    return { recoveryCodes: null, state: await this.state(account.id) };
  }

  async removePasskey(account: Account, id: string, context: AuditContext): Promise<SecondFactorChange> {
    const removed = await this.deps.passkeys.remove(account.id, id);
    await this.deps.audit.record(account.id, 'passkey.removed', context, { name: removed.name });
    await this.dropRecoveryCodesIfOff(account.id);
    return { recoveryCodes: null, state: await this.state(account.id) };
  }

  // --- checking a second factor ------------------------------------------------------------------------------------
  /**
   * Re-authentication before a grave action (deleting the account): passes when the account has no second factor,
   * else needs one (a code of the app, a recovery code, or a passkey's answer with its `challengeId` from
   * POST /_/api/security/second-factor/challenge) and throws a KnockError that says what is missing or wrong.
   */
  async confirmSecondFactor(accountId: string, input: Proof, context: AuditContext = CLI_CONTEXT): Promise<void> {
    const account = await this.deps.storage.getAccountById(accountId);
    if (!account) throw new KnockError('not_found', 'There is no such account.');
    const methods = await this.methods(accountId);
    if (methods.length === 0) return;
    if (input.code === undefined && input.recoveryCode === undefined && input.passkey === undefined) {
      throw new KnockError(
        'unauthorized',
        methods.includes('totp') ? 'Confirm with a code of your authenticator app (or a recovery code).' : 'Confirm with your passkey (or a recovery code).',
      );
    }
    await this.prove(account, input, context, () => this.confirmationChallenge(account, input));
  }

  /**
   * Checks one second factor of the account: resolves with which one it was, or throws (`unauthorized` for a wrong
   * one, counted and written in the audit log; `rate_limited` for a code after too many wrong answers).
   * `passkeyChallenge` gives what a passkey's answer must have signed (a login ticket's challenge, or a confirmation's).
   */
  async prove(account: Account, proof: Proof, context: AuditContext, passkeyChallenge: () => Promise<WebAuthnChallenge>): Promise<SecondFactorMethod> {
    const method: SecondFactorMethod | null = proof.code !== undefined ? 'totp' : proof.recoveryCode !== undefined ? 'recovery' : proof.passkey !== undefined ? 'passkey' : null;
    const given = [proof.code, proof.recoveryCode, proof.passkey].filter((p) => p !== undefined).length;
    if (method === null || given !== 1) throw new KnockError('bad_request', 'Give one of: a code of your authenticator app, a recovery code, or a passkey.');
    const challenge = method === 'passkey' ? await passkeyChallenge() : null;
    try {
      if (method === 'totp') await this.proveCode(account, proof.code ?? '');
      else if (method === 'recovery') await this.proveRecoveryCode(account, proof.recoveryCode ?? '', context);
      else if (challenge && proof.passkey) await this.deps.passkeys.verifyAssertion(proof.passkey, challenge, account.id);
    } catch (err) {
      if (err instanceof KnockError && err.code === 'unauthorized') await this.wrongAnswer(account.id, method, context);
      throw err;
    }
    await this.deps.storage.clearSecondFactorFailures(account.id);
    return method;
  }

  /** The operator's way back in for an owner who lost their phone (`npx knock user 2fa <handle> --disable`). */
  async turnOffEverything(account: Account, context: AuditContext): Promise<{ totp: boolean; passkeys: number; recoveryCodes: number }> {
    const { storage } = this.deps;
    const before = await this.state(account.id);
    await storage.removeTotp(account.id);
    const passkeys = await storage.removePasskeys(account.id);
    await storage.setRecoveryCodes(account.id, [], this.deps.clock.now());
    await storage.clearSecondFactorFailures(account.id);
    await this.deps.audit.record(account.id, 'totp.disabled', context, { by: 'operator', passkeys });
    return { totp: before.totp, passkeys, recoveryCodes: before.recoveryCodesLeft };
  }

  // --- inside ------------------------------------------------------------------------------------------------------
  private async proveCode(account: Account, code: string): Promise<void> {
    const { storage, clock, tries } = this.deps;
    const totp = await storage.getTotp(account.id);
    if (totp?.confirmedAt == null) throw new KnockError('bad_request', 'This account has no authenticator app: use a passkey or a recovery code.');
    const now = clock.now();
    if ((await storage.secondFactorFailures(account.id, now - tries.windowMs)) >= tries.perWindow) {
      const minutes = Math.round(tries.windowMs / 60_000);
      throw new KnockError('rate_limited', `Too many wrong codes. Wait ${minutes} minutes or use a recovery code.`, { retryAfterMs: tries.windowMs });
    }
    const step = matchingStep(totp.secret, code.replace(/\s/g, ''), now);
    if (step === null) throw new KnockError('unauthorized', 'That code is not right. Type the code your authenticator app shows now.');
    if (!(await storage.acceptTotpStep(account.id, step, { pending: false, at: now }))) {
      throw new KnockError('unauthorized', 'This code was used already: wait for the next one of your app.');
    }
  }

  private async proveRecoveryCode(account: Account, typed: string, context: AuditContext): Promise<void> {
    const code = normalRecoveryCode(typed);
    if (code === null || !(await this.deps.storage.useRecoveryCode(account.id, recoveryCodeHash(account.id, code)))) {
      throw new KnockError('unauthorized', 'That recovery code is not right, or it was used already.');
    }
    await this.deps.audit.record(account.id, 'recovery_code.used', context, { left: await this.deps.storage.countRecoveryCodes(account.id) });
  }

  private async wrongAnswer(accountId: string, method: SecondFactorMethod, context: AuditContext): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.storage.recordSecondFactorFailure(accountId, now, now - this.deps.tries.windowMs);
    await this.deps.audit.record(accountId, 'second_factor.failed', context, { method });
  }

  /** Outside a login, a passkey answers a 'passkey.confirm' challenge of the account, named by its id. */
  private async confirmationChallenge(account: Account, proof: Proof): Promise<WebAuthnChallenge> {
    if (proof.challengeId === undefined) throw new KnockError('bad_request', 'A passkey\u2019s answer needs the challengeId it answers.');
    return webAuthnOf(await this.deps.challenges.take(proof.challengeId, 'passkey.confirm', account.id));
  }

  private async freshRecoveryCodes(account: Account, context: AuditContext): Promise<string[]> {
    const codes = newRecoveryCodes();
    await this.deps.storage.setRecoveryCodes(account.id, codes.map((c) => recoveryCodeHash(account.id, c)), this.deps.clock.now());
    await this.deps.audit.record(account.id, 'recovery_codes.created', context);
    return codes;
  }

  /** Recovery codes go when the last second factor goes: they belong to two-factor sign-in, which is off then. */
  private async dropRecoveryCodesIfOff(accountId: string): Promise<void> {
    if ((await this.methods(accountId)).every((m) => m === 'recovery')) await this.deps.storage.setRecoveryCodes(accountId, [], this.deps.clock.now());
  }
}
