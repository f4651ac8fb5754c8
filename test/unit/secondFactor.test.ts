/**
 * The plain logic of two-factor sign-in (engine/secondFactor/) on an in-memory store and a clock the test moves:
 * which time steps a code is taken for, and `confirmSecondFactor`, the re-authentication other features (deleting the
 * account) call before a grave action: it passes when the account has no second factor, and otherwise needs one.
 */
import { Secret, TOTP } from 'otpauth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { AuditLog, CLI_CONTEXT } from '../../engine/auditLog.ts';
import { createLogger } from '../../engine/logger.ts';
import type { Account } from '../../engine/ports/storage.ts';
import { Challenges } from '../../engine/secondFactor/challenges.ts';
import { Passkeys } from '../../engine/secondFactor/passkeys.ts';
import { SecondFactor } from '../../engine/secondFactor/secondFactor.ts';
import { matchingStep, newTotpSecret, totpStep } from '../../engine/secondFactor/totp.ts';

const T0 = 1_700_000_000_000;
const STEP_MS = 30_000;

const appCode = (secret: string, at: number) => new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: at });

describe('codes of an authenticator app', () => {
  it('are taken for the step before, the current and the next one, and no further', () => {
    // A fixed secret and time: the five codes around it are all different (a random pair is equal one time in a million).
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const now = T0 + 12_345;
    const current = totpStep(now);
    const codes = [-2, -1, 0, 1, 2].map((offset) => appCode(secret, now + offset * STEP_MS));
    expect(new Set(codes).size).toBe(5);
    expect(codes.map((code) => matchingStep(secret, code, now))).toEqual([null, current - 1, current, current + 1, null]);
  });

  it('are six digits: anything else matches nothing', () => {
    const secret = newTotpSecret();
    for (const typed of ['', '12345', '1234567', 'abcdef', ' 123456']) expect(matchingStep(secret, typed, T0)).toBeNull();
  });
});

describe('confirmSecondFactor', () => {
  let storage: SqliteStorage;
  let secondFactor: SecondFactor;
  let alice: Account;
  const clock = { now: () => T0 };

  beforeEach(async () => {
    storage = SqliteStorage.open({ file: ':memory:' });
    const audit = new AuditLog({ storage, clock, logger: createLogger('silent') });
    const challenges = new Challenges({ storage, clock });
    secondFactor = new SecondFactor({ storage, clock, audit, challenges, passkeys: new Passkeys({ storage, clock, challenges }), tries: { perWindow: 5, windowMs: 15 * 60_000 } });
    alice = await storage.createAccount({ handle: 'alice', displayName: 'Alice', passwordHash: 'x', at: T0 });
  });
  afterEach(() => storage.close());

  it('passes for an account without a second factor, even one with an app not yet confirmed', async () => {
    await expect(secondFactor.confirmSecondFactor(alice.id, {})).resolves.toBeUndefined();
    await secondFactor.enrolTotp(alice, 'chat.example.com');
    await expect(secondFactor.confirmSecondFactor(alice.id, {})).resolves.toBeUndefined();
  });

  it('needs a right code of the app, or a recovery code once, when the app is on', async () => {
    const { secret } = await secondFactor.enrolTotp(alice, 'chat.example.com');
    const { recoveryCodes } = await secondFactor.confirmTotp(alice, appCode(secret, T0), CLI_CONTEXT);
    await expect(secondFactor.confirmSecondFactor(alice.id, {})).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'Confirm with a code of your authenticator app (or a recovery code).',
    });
    const next = appCode(secret, T0 + STEP_MS);
    await expect(secondFactor.confirmSecondFactor(alice.id, { code: next === '000000' ? '111111' : '000000' })).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(secondFactor.confirmSecondFactor(alice.id, { code: next })).resolves.toBeUndefined();
    // The same code again is a replay.
    await expect(secondFactor.confirmSecondFactor(alice.id, { code: next })).rejects.toMatchObject({ message: 'This code was used already: wait for the next one of your app.' });
    await expect(secondFactor.confirmSecondFactor(alice.id, { recoveryCode: recoveryCodes?.[3] })).resolves.toBeUndefined();
    await expect(secondFactor.confirmSecondFactor(alice.id, { recoveryCode: recoveryCodes?.[3] })).rejects.toMatchObject({ code: 'unauthorized' });
    const kinds = (await storage.listAudit(alice.id, { limit: 20 })).map((e) => e.kind);
    expect(kinds.filter((k) => k === 'second_factor.failed')).toHaveLength(3);
  });

  it('asks a passkey (or a recovery code) of an account whose only second factor is a passkey', async () => {
    await storage.addPasskey({ accountId: alice.id, credentialId: 'cred', publicKey: 'key', counter: 0, transports: [], name: 'Laptop', createdAt: T0 });
    await expect(secondFactor.confirmSecondFactor(alice.id, {})).rejects.toMatchObject({ code: 'unauthorized', message: 'Confirm with your passkey (or a recovery code).' });
    // A code is no answer where there is no app.
    await expect(secondFactor.confirmSecondFactor(alice.id, { code: '123456' })).rejects.toMatchObject({ code: 'bad_request' });
    // A passkey's answer without the challenge it answers is refused before anything is checked.
    await expect(secondFactor.confirmSecondFactor(alice.id, { passkey: { id: 'cred' } })).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('refuses an account that does not exist', async () => {
    await expect(secondFactor.confirmSecondFactor('no-such-id', {})).rejects.toMatchObject({ code: 'not_found' });
  });
});
