/**
 * How a webhook call is signed, both ways (issue 18): Knock signs what it POSTs to the owner's URL, and the owner's
 * bot signs the replies it POSTs back to `/_/api/channels/<id>/reply`, with the same secret and the same scheme. The
 * scheme is Stripe's and Standard Webhooks' (https://www.standardwebhooks.com/): three headers,
 *
 *   Knock-Webhook-Id: msg_2bQ9...            unique per delivery, the same on every retry: receivers dedupe on it
 *   Knock-Webhook-Timestamp: 1767225600      unix seconds when this try was signed
 *   Knock-Signature: v1=<hex>[,v1=<hex>...]  HMAC-SHA256(secret, "<id>.<timestamp>.<raw body>"), one per secret
 *
 * The HMAC key is the secret string as it is shown (`whsec_...`, UTF-8), as with Stripe, so a receiver can check a
 * call with `openssl dgst -sha256 -hmac "$SECRET"` without decoding anything. The timestamp inside the signed text
 * bounds a replay to the tolerance (5 minutes); the id lets the receiver drop a replay within it. While a secret is
 * rotated the sender signs with both, and a receiver holding either accepts (any `v1=` that matches).
 *
 * @example
 *   const secret = generateWebhookSecret();
 *   const headers = signatureHeaders([secret], { id: 'msg_1', timestampMs: Date.now(), body });
 *   verifySignature(secret, headers, body, Date.now()); // { ok: true, id: 'msg_1', timestamp: 1767225600 }
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const ID_HEADER = 'Knock-Webhook-Id';
export const TIMESTAMP_HEADER = 'Knock-Webhook-Timestamp';
export const SIGNATURE_HEADER = 'Knock-Signature';

/** How far a timestamp may be from now, either way, before a call counts as a replay (or a badly wrong clock). */
export const DEFAULT_TOLERANCE_MS = 5 * 60_000;

const SECRET_PREFIX = 'whsec_';
/**
 * Ids are letters, digits, `_`, `-` and `:`: never a `.`, the separator of the signed text, so one signed text cannot
 * be read as another id and timestamp.
 */
const ID_PATTERN = /^[A-Za-z0-9_:-]{1,200}$/;
/** Unix seconds, as digits only (no sign, no exponent, no fraction). */
const TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;
const V1_PATTERN = /^v1=([0-9a-f]{64})$/;

/** A new signing secret: 32 random bytes, base64url, prefixed `whsec_` (shown once to the owner). */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/** Whether a string looks like a secret made by generateWebhookSecret (config and storage check what they hold). */
export function isWebhookSecret(secret: string): boolean {
  return /^whsec_[A-Za-z0-9_-]{43}$/.test(secret);
}

export type SignedBody = string | Uint8Array;

/** The hex HMAC-SHA256 of `<id>.<timestamp>.<raw body>` under `secret`. */
export function computeSignature(secret: string, id: string, timestamp: number, rawBody: SignedBody): string {
  return createHmac('sha256', secret).update(`${id}.${timestamp}.`).update(rawBody).digest('hex');
}

/**
 * The three headers of a signed call, one `v1=` per secret (the current one first; the previous one too while it is
 * being rotated).
 */
export function signatureHeaders(
  secrets: readonly string[],
  call: { id: string; timestampMs: number; body: SignedBody },
): Record<string, string> {
  if (secrets.length === 0) throw new Error('A webhook call needs at least one secret to be signed with.');
  if (!ID_PATTERN.test(call.id)) throw new Error(`A webhook id is 1 to 200 letters, digits, "_", "-" or ":"; got "${call.id}".`);
  const timestamp = Math.floor(call.timestampMs / 1000);
  return {
    [ID_HEADER]: call.id,
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: secrets.map((secret) => `v1=${computeSignature(secret, call.id, timestamp, call.body)}`).join(','),
  };
}

/** Why a call's signature was refused, for logs and for the 4xx answer (never which secret was tried). */
export type SignatureRefusal = 'missing_header' | 'malformed_header' | 'timestamp_out_of_tolerance' | 'signature_mismatch';

export type SignatureCheck =
  | { ok: true; id: string; timestamp: number }
  | { ok: false; reason: SignatureRefusal; message: string };

/** Request headers as Node (lowercased names, maybe arrays), fetch's Headers, or a plain record give them. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function headerOf(headers: HeaderSource, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : record[key];
  // A header sent twice is refused as malformed below rather than guessed at.
  return Array.isArray(value) ? value.join('\n') : value;
}

function refuse(reason: SignatureRefusal, message: string): SignatureCheck {
  return { ok: false, reason, message };
}

/**
 * Checks a signed call: the three headers present and well formed, the timestamp within `toleranceMs` of `nowMs`
 * (either way), and one of its `v1=` signatures made with one of `secrets` over exactly `rawBody` (the bytes
 * received, before any JSON parsing). Compares in constant time. Signatures of other schemes (`v2=`...) are ignored,
 * so a later scheme can be sent beside v1.
 *
 * @example
 *   const check = verifySignature(secret, req.headers, rawBody, Date.now());
 *   if (!check.ok) return reply(401, check.message);
 *   if (seen.has(check.id)) return reply(200); // a retry of what was already handled
 */
export function verifySignature(
  secrets: string | readonly string[],
  headers: HeaderSource,
  rawBody: SignedBody,
  nowMs: number,
  toleranceMs: number = DEFAULT_TOLERANCE_MS,
): SignatureCheck {
  const id = headerOf(headers, ID_HEADER);
  const timestampText = headerOf(headers, TIMESTAMP_HEADER);
  const signatureText = headerOf(headers, SIGNATURE_HEADER);
  if (id === undefined || timestampText === undefined || signatureText === undefined) {
    const missing = [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER].filter((name) => headerOf(headers, name) === undefined);
    return refuse('missing_header', `The call is not signed: ${missing.join(', ')} missing.`);
  }
  if (!ID_PATTERN.test(id)) return refuse('malformed_header', `${ID_HEADER} must be 1 to 200 letters, digits, "_", "-" or ":".`);
  if (!TIMESTAMP_PATTERN.test(timestampText)) return refuse('malformed_header', `${TIMESTAMP_HEADER} must be unix seconds (digits only).`);
  const signatures: Buffer[] = [];
  for (const part of signatureText.split(',').map((p) => p.trim())) {
    if (!part.startsWith('v1=')) continue;
    const match = V1_PATTERN.exec(part);
    if (!match?.[1]) return refuse('malformed_header', `${SIGNATURE_HEADER}: a v1 signature is 64 lowercase hex digits.`);
    signatures.push(Buffer.from(match[1], 'hex'));
  }
  if (signatures.length === 0) return refuse('malformed_header', `${SIGNATURE_HEADER} holds no v1= signature.`);
  const timestamp = Number(timestampText);
  if (Math.abs(nowMs - timestamp * 1000) > toleranceMs) {
    return refuse('timestamp_out_of_tolerance', `${TIMESTAMP_HEADER} is more than ${Math.round(toleranceMs / 1000)} s away from now: a replay, or a clock that is wrong.`);
  }
  const expected = (typeof secrets === 'string' ? [secrets] : secrets).map((secret) => Buffer.from(computeSignature(secret, id, timestamp, rawBody), 'hex'));
  // Every pair is compared (no early exit), so the time taken says nothing about which one matched.
  let matched = false;
  for (const want of expected) for (const got of signatures) matched = timingSafeEqual(want, got) || matched;
  return matched ? { ok: true, id, timestamp } : refuse('signature_mismatch', `${SIGNATURE_HEADER} does not match the body: a wrong secret, or a body changed on the way.`);
}
