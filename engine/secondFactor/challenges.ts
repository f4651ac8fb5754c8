/**
 * Login tickets and WebAuthn challenges (engine/ports/storage.ts SecondFactorChallenge): each made with a random id
 * the browser gets once and hands back, stored only as its hash, good for 5 minutes, in the database so that any
 * process answers what another made (several processes behind a balancer).
 *
 * @example
 *   const id = await challenges.issue('passkey.login', null, { challenge: options.challenge, relyingParty });
 *   const made = await challenges.take(id, 'passkey.login'); // once; then `unauthorized`
 */
import { newSecret, secretHash } from '../auth.ts';
import { KnockError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { RelyingParty, SecondFactorChallenge, SecondFactorChallengeKind, Storage } from '../ports/storage.ts';

export const CHALLENGE_TTL_MS = 5 * 60_000;

/** A challenge with what a WebAuthn answer is checked against. */
export interface WebAuthnChallenge {
  challenge: string;
  relyingParty: RelyingParty;
}

/** Why a ticket or challenge is refused; the same words whether it never existed, expired or was used. */
const GONE: Record<SecondFactorChallengeKind, string> = {
  login: 'This sign-in has expired: log in with your password again.',
  'passkey.login': 'This passkey sign-in has expired: try again.',
  'passkey.add': 'Adding this passkey took too long: try again.',
  'passkey.confirm': 'This passkey confirmation has expired: try again.',
};

export class Challenges {
  constructor(private readonly deps: { storage: Pick<Storage, 'putSecondFactorChallenge' | 'getSecondFactorChallenge' | 'countSecondFactorTry' | 'takeSecondFactorChallenge'>; clock: Clock }) {}

  /** A new challenge of `kind` for the account (null: none yet); resolves with its id, which only the caller gets. */
  async issue(kind: SecondFactorChallengeKind, accountId: string | null, webAuthn: WebAuthnChallenge | null): Promise<string> {
    const id = newSecret();
    const now = this.deps.clock.now();
    await this.deps.storage.putSecondFactorChallenge(
      { idHash: secretHash(id), kind, accountId, challenge: webAuthn?.challenge ?? null, relyingParty: webAuthn?.relyingParty ?? null, expiresAt: now + CHALLENGE_TTL_MS, createdAt: now },
      now,
    );
    return id;
  }

  /** The live challenge of this id and kind (of this account when given), not used up; else `unauthorized`. */
  async find(id: string, kind: SecondFactorChallengeKind, accountId?: string): Promise<SecondFactorChallenge> {
    return this.mine(await this.deps.storage.getSecondFactorChallenge(secretHash(id), this.deps.clock.now()), kind, accountId);
  }

  /** Counts an answer against the challenge: its tries with this one; `unauthorized` when it is gone. */
  async countTry(id: string, kind: SecondFactorChallengeKind): Promise<number> {
    const tries = await this.deps.storage.countSecondFactorTry(secretHash(id), this.deps.clock.now());
    if (tries === null) throw new KnockError('unauthorized', GONE[kind]);
    return tries;
  }

  /** Takes the challenge (single use: nobody gets it again); `unauthorized` when gone, of another kind or account. */
  async take(id: string, kind: SecondFactorChallengeKind, accountId?: string): Promise<SecondFactorChallenge> {
    return this.mine(await this.deps.storage.takeSecondFactorChallenge(secretHash(id), this.deps.clock.now()), kind, accountId);
  }

  private mine(found: SecondFactorChallenge | null, kind: SecondFactorChallengeKind, accountId: string | undefined): SecondFactorChallenge {
    if (!found || found.kind !== kind || (accountId !== undefined && found.accountId !== accountId)) throw new KnockError('unauthorized', GONE[kind]);
    return found;
  }
}

/** The WebAuthn part of a challenge (a login ticket has none when the account has no passkey). */
export function webAuthnOf(found: Pick<SecondFactorChallenge, 'challenge' | 'relyingParty'>): WebAuthnChallenge {
  if (found.challenge === null || found.relyingParty === null) throw new KnockError('bad_request', 'This sign-in offers no passkey: use a code.');
  return { challenge: found.challenge, relyingParty: found.relyingParty };
}
