/**
 * Two-factor sign-in in the browser (issue 22): the calls of Settings → Two-factor sign-in and of the login's second
 * step, and the passkey ceremonies. Part of the chunk the page loads on demand (views/companyViews.ts); the WebAuthn
 * library (@simplewebauthn/browser) is fetched only when a passkey is used.
 *
 * @example
 *   const { secret, uri } = await twoFactor.enrolTotp();
 *   const { recoveryCodes } = await twoFactor.confirmTotp('492039');
 *   await twoFactor.signInWithPasskey(); // the browser asks for a passkey; then the session cookie is set
 */
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import {
  secondFactorAnswer,
  secondFactorChange,
  totpEnrolment,
  webAuthnOptions,
  type SecondFactorAnswer,
  type SecondFactorChange,
  type SecondFactorLogin,
  type SecondFactorProof,
  type TotpEnrolment,
  type WebAuthnOptions,
} from '../../../engine/protocol.ts';
import { api, ApiError } from './api.ts';

const SETTINGS = '/_/api/security/second-factor';

/** A second factor as typed or made here (a passkey's answer is whatever the browser signed). */
type Proof = Omit<SecondFactorProof, 'passkey'> & { passkey?: unknown };

export const twoFactor = {
  state: (): Promise<SecondFactorAnswer> => api.request('GET', SETTINGS, undefined, secondFactorAnswer),
  enrolTotp: (): Promise<TotpEnrolment> => api.request('POST', `${SETTINGS}/totp`, {}, totpEnrolment),
  confirmTotp: (code: string, password: string): Promise<SecondFactorChange> => api.request('POST', `${SETTINGS}/totp/confirm`, { code, password }, secondFactorChange),
  turnOffTotp: (password: string, code: string): Promise<SecondFactorChange> =>
    api.request('POST', `${SETTINGS}/totp/off`, { password, ...typedCode(code) }, secondFactorChange),
  /** New recovery codes, confirmed by a code of the app, or by a passkey when there is no app. */
  async newRecoveryCodes(code: string | null): Promise<SecondFactorChange> {
    const proof: Proof = code !== null ? typedCode(code) : await confirmWithPasskey();
    return api.request('POST', `${SETTINGS}/recovery-codes`, proof, secondFactorChange);
  },
  /** A new passkey of this device, under `name` (the password first: a passkey signs in alone). */
  async addPasskey(name: string, password: string): Promise<SecondFactorChange> {
    const { challengeId, options } = await api.request('POST', `${SETTINGS}/passkeys/options`, { password }, webAuthnOptions);
    const { startRegistration } = await import('@simplewebauthn/browser');
    const response = await ceremony(() => startRegistration({ optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON }));
    return api.request('POST', `${SETTINGS}/passkeys`, { challengeId, name, response }, secondFactorChange);
  },
  removePasskey: (id: string): Promise<SecondFactorChange> => api.request('DELETE', `${SETTINGS}/passkeys/${encodeURIComponent(id)}`, undefined, secondFactorChange),

  /** The login's second step: a code of the app or a recovery code (`kind`), or a passkey. Sets the session cookie. */
  async secondStep(login: SecondFactorLogin, answer: { kind: 'totp' | 'recovery'; text: string } | { kind: 'passkey' }): Promise<void> {
    const proof: Proof =
      answer.kind === 'passkey'
        ? { passkey: await signWithPasskey(login.passkey) }
        : answer.kind === 'totp'
          ? { code: answer.text }
          : { recoveryCode: answer.text };
    await api.request('POST', '/_/api/login/second-factor', { ticket: login.ticket, ...proof }, null);
  },
  /** Signs in with a passkey alone (the browser offers this site's passkeys). Sets the session cookie. */
  async signInWithPasskey(): Promise<void> {
    const { challengeId, options } = await api.request('POST', '/_/api/login/passkey/options', {}, webAuthnOptions);
    const response = await signWithPasskey(options);
    await api.request('POST', '/_/api/login/passkey', { challengeId, response }, null);
  },
};

/** A typed code: six digits are the app's, anything else a recovery code. */
function typedCode(text: string): Proof {
  return /^\d{6}$/.test(text.replace(/\s/g, '')) ? { code: text } : { recoveryCode: text };
}

async function confirmWithPasskey(): Promise<Proof> {
  const { challengeId, options } = await api.request('POST', `${SETTINGS}/challenge`, {}, webAuthnOptions);
  return { challengeId, passkey: await signWithPasskey(options) };
}

async function signWithPasskey(options: WebAuthnOptions['options'] | undefined): Promise<unknown> {
  if (!options) throw new ApiError('bad_request', 'This account has no passkey.', 400);
  const { startAuthentication } = await import('@simplewebauthn/browser');
  return ceremony(() => startAuthentication({ optionsJSON: options as unknown as PublicKeyCredentialRequestOptionsJSON }));
}

/** The browser's WebAuthn prompt; its refusals in words a person understands. */
async function ceremony<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (name === 'NotAllowedError') throw new ApiError('bad_request', 'The passkey request was cancelled or timed out.', 0);
    if (name === 'InvalidStateError') throw new ApiError('conflict', 'This device has a passkey for your account already.', 0);
    throw new ApiError('bad_request', `The browser could not use a passkey: ${err instanceof Error ? err.message : String(err)}`, 0);
  }
}

/** For the login form (its chunk is loaded when the button is pressed): twoFactor.signInWithPasskey. */
export function signInWithPasskey(): Promise<void> {
  return twoFactor.signInWithPasskey();
}
